"""Loopback endpoints and a private dlt environment per test.

Every test runs Python in child processes (the engine is per process) with temporary global,
project and data folders, dlt's global dir pointed at the temporary one (support/
sitecustomize.py), and telemetry sent to a loopback endpoint started here. Nothing reaches the
machine's real dlt folders or the network beyond loopback.
"""

from __future__ import annotations

import http.server
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import pytest

TESTS = Path(__file__).resolve().parent
SCRIPTS = TESTS / "scripts"
SUPPORT = TESTS / "support"
BIN = Path(sys.executable).parent
# dlt's markers of a CI run: removed from the children's environment unless a test sets one.
CI_VARIABLES = (
    "bamboo.buildKey BUILD_ID BUILD_NUMBER BUILDKITE CI CIRCLECI CONTINUOUS_INTEGRATION GITHUB_ACTIONS"
    " HUDSON_URL JENKINS_URL TEAMCITY_VERSION TRAVIS CODEBUILD_BUILD_ARN CODEBUILD_BUILD_ID"
    " CODEBUILD_BATCH_BUILD_IDENTIFIER"
).split()
WAIT = 30.0


class Recorder:
    """A loopback endpoint that answers 200 at once and keeps every request."""

    def __init__(self) -> None:
        self.requests: List[Dict[str, Any]] = []
        self._lock = threading.Lock()
        recorder = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with recorder._lock:
                    recorder.requests.append({"headers": {k.lower(): v for k, v in self.headers.items()}, "body": json.loads(body)})
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"success": true}')

            def log_message(self, *args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def messages(self) -> List[Dict[str, Any]]:
        with self._lock:
            return [request["body"] for request in self.requests]

    def wait_for(self, count: int, timeout: float = WAIT) -> List[Dict[str, Any]]:
        """The messages once at least ``count`` arrived; fails after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            messages = self.messages()
            if len(messages) >= count:
                return messages
            time.sleep(0.05)
        raise AssertionError(f"{len(self.messages())} of {count} messages arrived: {self.messages()}")

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class HangingEndpoint:
    """Accepts connections and reads requests, never answers."""

    def __init__(self) -> None:
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(64)
        self._held: List[socket.socket] = []
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}/"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._socket.accept()
            except OSError:
                return
            self._held.append(connection)

    def close(self) -> None:
        self._socket.close()
        for connection in self._held:
            connection.close()


class DltEnv:
    """Temporary dlt folders and the environment of the processes a test starts."""

    def __init__(self, root: Path, endpoint: str) -> None:
        self.root = root
        self.global_dir = root / "global"
        self.project = root / "project"
        self.home = root / "home"
        for folder in (self.global_dir, self.project, self.home):
            folder.mkdir()
        env = {
            name: value
            for name, value in os.environ.items()
            if name not in CI_VARIABLES
            and not name.startswith(("RUNTIME__", "DLT_", "OTEL_", "DESTINATION__", "PIPELINES__"))
            and name not in ("DO_NOT_TRACK", "ENABLE_RUNTIME_TRACE", "TRACEPARENT")
        }
        env.update(
            {
                "HOME": str(self.home),
                "PYTHONPATH": str(SUPPORT),
                "DLT_TELEMETRY_TEST_GLOBAL_DIR": str(self.global_dir),
                "DLT_GLOBAL_DIR": str(self.global_dir),
                "DLT_PROJECT_DIR": str(self.project),
                "DLT_DATA_DIR": str(root / "data"),
                "RUNTIME__DLTHUB_TELEMETRY_ENDPOINT": endpoint,
                # dlt's dummy destination completes every job at once.
                "DESTINATION__DUMMY__COMPLETED_PROB": "1.0",
            }
        )
        self.env = env

    def run(self, args: List[str], extra_env: Optional[Dict[str, str]] = None, timeout: float = 120) -> subprocess.CompletedProcess:
        """Runs ``args`` (``python`` stands for this interpreter) in the project folder."""
        args = [sys.executable if arg == "python" else arg for arg in args]
        env = dict(self.env, **(extra_env or {}))
        return subprocess.run(args, cwd=self.project, env=env, capture_output=True, text=True, timeout=timeout)

    def script(self, name: str, *args: str, extra_env: Optional[Dict[str, str]] = None) -> subprocess.CompletedProcess:
        """Runs scripts/<name> and fails with its output when it fails."""
        done = self.run(["python", str(SCRIPTS / name), *args], extra_env)
        assert done.returncode == 0, f"{name} {args} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
        return done

    def status(self, extra_env: Optional[Dict[str, str]] = None) -> Dict[str, Any]:
        """``dlt_telemetry.status()`` in a process of its own, as a tool named ``probe``."""
        return json.loads(self.script("status.py", extra_env=extra_env).stdout)


@pytest.fixture
def recorder():
    endpoint = Recorder()
    yield endpoint
    endpoint.close()


@pytest.fixture
def hanging_endpoint():
    endpoint = HangingEndpoint()
    yield endpoint
    endpoint.close()


@pytest.fixture
def dlt_env(tmp_path: Path, recorder: Recorder) -> DltEnv:
    return DltEnv(tmp_path, recorder.url)


@pytest.fixture
def new_env(tmp_path: Path) -> Callable[[str, str], DltEnv]:
    """Another private environment, in a subfolder, sending to ``endpoint``."""

    def make(name: str, endpoint: str) -> DltEnv:
        root = tmp_path / name
        root.mkdir()
        return DltEnv(root, endpoint)

    return make


INLINE = {"CI": "true"}
"""Delivery from the process itself within the exit deadline (as in CI): once it exited, every
message it will ever send has been sent."""


OBSERVER = {"RUNTIME__DLTHUB_TELEMETRY_ENDPOINT": "http://127.0.0.1:9/"}
"""A status probe's endpoint, used by nobody: its engine has no outbox of its own to take over
(and hand back at its exit, starting a sender), so it only looks at everyone's outboxes."""


def wait_until_delivered(env: DltEnv, timeout: float = WAIT) -> None:
    """Waits until no message waits in an outbox and no detached sender runs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        waiting = env.status(OBSERVER)["waiting"]
        if all(r["messages"] == 0 and not r["sender_running"] for r in waiting):
            return
        time.sleep(0.1)
    raise AssertionError(f"still waiting: {env.status(OBSERVER)['waiting']}\n{_who_holds_the_outboxes(env)}")


def _who_holds_the_outboxes(env: DltEnv) -> str:
    """The engine's processes and the kernel's locks on the outboxes' files (Linux)."""
    processes = subprocess.run(["ps", "-eo", "pid,ppid,etimes,args"], capture_output=True, text=True).stdout
    lines = [line for line in processes.splitlines() if "dlt_telemetry" in line or str(env.root) in line]
    inodes = {f":{path.stat().st_ino}": path.name for path in env.global_dir.rglob("*") if path.is_file()}
    locks = Path("/proc/locks")
    for lock in locks.read_text().splitlines() if locks.exists() else []:
        inode = next((name for suffix, name in inodes.items() if lock.split()[-3].endswith(suffix)), None)
        if inode:
            lines.append(f"{inode}: {lock}")
    return "\n".join(lines)


_REAL_FOLDERS = [Path("/var/dlt"), Path.home() / ".dlt"]


@pytest.fixture(scope="session", autouse=True)
def real_dlt_folders_untouched():
    """The machine's own dlt folders are not created by the tests."""
    absent = [folder for folder in _REAL_FOLDERS if not folder.exists()]
    yield
    created = [str(folder) for folder in absent if folder.exists()]
    assert not created, f"the tests created {created}"
