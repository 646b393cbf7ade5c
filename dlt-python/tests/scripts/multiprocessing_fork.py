"""Tracks `parent`, then runs two children with multiprocessing's fork start method, each
tracking `child_<n>`."""

import multiprocessing

import dlt_telemetry


def work(n: int) -> None:
    dlt_telemetry.track("command", f"child_{n}")


if __name__ == "__main__":
    dlt_telemetry.start("my_tool", "0.3.0")
    dlt_telemetry.track("command", "parent")
    context = multiprocessing.get_context("fork")
    children = [context.Process(target=work, args=(n,)) for n in (1, 2)]
    for child in children:
        child.start()
    for child in children:
        child.join()
        assert child.exitcode == 0, child.exitcode
