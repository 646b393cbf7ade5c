"""dlt (Python) 1.31 switched to the engine by dlt_telemetry.install()."""

from __future__ import annotations

import json

import pytest

from conftest import BIN, INLINE, wait_until_delivered

PIPELINE_EVENTS = ["pipeline_extract", "pipeline_normalize", "pipeline_load", "pipeline_run"]


def by_event(messages):
    return {message["event"]: message for message in messages}


def test_a_pipeline_run_sends_the_same_events_as_dlts_own_tracker(dlt_env, recorder, new_env):
    from conftest import Recorder

    dlt_recorder = Recorder()
    try:
        own = new_env("own_tracker", dlt_recorder.url)
        own.script("pipeline.py")
        theirs = dlt_recorder.wait_for(4)
    finally:
        dlt_recorder.close()

    dlt_env.script("pipeline.py", "--engine")
    ours = recorder.wait_for(4)
    wait_until_delivered(dlt_env)

    assert [m["event"] for m in theirs] == PIPELINE_EVENTS
    # A request abandoned in flight at exit is sent again by the sender with the same messageId
    # (Segment drops the duplicate): count messages, not requests.
    distinct = {(m["event"], m["messageId"]) for m in recorder.messages()}
    assert sorted(event for event, _ in distinct) == sorted(PIPELINE_EVENTS), "each event once"
    theirs, ours = by_event(theirs), by_event(ours)
    for event in PIPELINE_EVENTS:
        assert list(ours[event]["properties"]) == list(theirs[event]["properties"]), event
        for key in ("destination_name", "destination_type", "pipeline_name_hash", "dataset_name_hash"):
            assert ours[event]["properties"][key] == theirs[event]["properties"][key], (event, key)
        # dlt's context, as dlt built it, but run_context names the library (never a folder).
        for key in ("ci_run", "python", "cpu", "exec_info", "os", "library"):
            assert ours[event]["context"][key] == theirs[event]["context"][key], (event, key)
        assert ours[event]["context"]["library"] == {"name": "dlt", "version": "1.31.0"}
        # The engine's own fields: Segment's, and a fresh id per message.
        assert ours[event]["type"] == "track" and ours[event]["messageId"] and ours[event]["sentAt"]
    assert len({m["anonymousId"] for m in recorder.messages()}) == 4
    assert recorder.requests[0]["headers"]["user-agent"] == "dlt/1.31.0"
    # dlt never built its own payload, so it never wrote its anonymous id file.
    assert not (dlt_env.global_dir / ".anonymous_id").exists()
    assert (own.global_dir / ".anonymous_id").exists(), "dlt's own tracker writes it (the control)"


def test_dlts_command_line_sends_its_command_events_through_the_engine(dlt_env, recorder):
    dlt_env.run(["python", "-m", "dlt_telemetry.cli", "telemetry"], INLINE)
    (message,) = recorder.messages()
    assert message["event"] == "command_telemetry"
    assert list(message["properties"]) == ["host", "elapsed", "success", "event_category", "event_name"]
    assert message["type"] == "track" and message["context"]["ci_run"] is True


def test_dlts_disable_telemetry_switches_the_engine_off(dlt_env, recorder):
    dlt_env.script("pipeline.py", "--engine", extra_env=INLINE)
    assert len(recorder.messages()) == 4, "on before the switch"

    switched = dlt_env.run([str(BIN / "dlt"), "--disable-telemetry"])
    assert "Telemetry switched OFF" in switched.stdout, switched.stdout + switched.stderr
    assert "dlthub_telemetry = false" in (dlt_env.global_dir / "config.toml").read_text()
    before = len(recorder.messages())  # dlt's own command line sends its switch event
    dlt_env.script("pipeline.py", "--engine", extra_env=INLINE)
    assert len(recorder.messages()) == before
    status = dlt_env.status()
    assert status["telemetry"]["enabled"] is False
    assert "config.toml" in status["telemetry"]["decided_by"]


def test_an_opt_out_wins_over_an_environment_true(dlt_env, recorder):
    # dlt's plain precedence lets the environment's true beat the global false: its own tracker
    # runs, but the engine keeps telemetry off.
    (dlt_env.global_dir / "config.toml").write_text("[runtime]\ndlthub_telemetry = false\n")
    dlt_env.script("pipeline.py", "--engine", extra_env=dict(INLINE, RUNTIME__DLTHUB_TELEMETRY="true"))
    assert recorder.messages() == []
    # The control: without the global false, the same run sends.
    (dlt_env.global_dir / "config.toml").unlink()
    dlt_env.script("pipeline.py", "--engine", extra_env=dict(INLINE, RUNTIME__DLTHUB_TELEMETRY="true"))
    assert len(recorder.messages()) == 4


def test_do_not_track_switches_the_engine_off(dlt_env, recorder):
    dlt_env.script("pipeline.py", "--engine", extra_env=dict(INLINE, DO_NOT_TRACK="1"))
    assert recorder.messages() == []


def test_a_url_typed_as_destination_never_leaves(dlt_env, recorder):
    url = "postgresql://loader:s3cret@db.example.com/dwh"
    dlt_env.run(["python", "-m", "dlt_telemetry.cli", "init", "chess", url], INLINE)
    (message,) = recorder.messages()
    assert message["event"] == "command_init"
    sent = json.dumps(message)
    assert "s3cret" not in sent and "db.example.com" not in sent, sent


def test_install_twice_is_harmless_and_without_it_dlt_is_untouched():
    from dlt.common.runtime import anon_tracker, telemetry

    originals = (anon_tracker._send_event, telemetry.init_anon_tracker)
    import dlt_telemetry

    assert (anon_tracker._send_event, telemetry.init_anon_tracker) == originals, "importing changes nothing"
    try:
        dlt_telemetry.install()
        replaced = (anon_tracker._send_event, telemetry.init_anon_tracker)
        assert replaced[0] is not originals[0] and replaced[1] is not originals[1]
        dlt_telemetry.install()
        assert (anon_tracker._send_event, telemetry.init_anon_tracker) == replaced
    finally:
        anon_tracker._send_event, telemetry.init_anon_tracker = originals


def test_an_unsupported_dlt_version_is_refused_with_a_clear_message(monkeypatch):
    import dlt.version
    from dlt.common.runtime import anon_tracker

    import dlt_telemetry

    original = anon_tracker._send_event
    monkeypatch.setattr(dlt.version, "__version__", "1.30.2")
    with pytest.raises(dlt_telemetry.UnsupportedDltVersion, match=r"supports dlt 1\.31\.x; this is dlt 1\.30\.2"):
        dlt_telemetry.install()
    assert anon_tracker._send_event is original


# The modules of dlt 1.31 that name the anonymous tracker, and what each takes from it
# (docs/python.md, "The seam"). A new one is a call site to check before supporting a release.
KNOWN_IMPORTERS = {
    "common/runtime/anon_tracker.py": "the tracker itself: track() calls _send_event()",
    "common/runtime/telemetry.py": "track, init_anon_tracker, disable_anon_tracker",
    "pipeline/track.py": "track as dlthub_telemetry_track",
    "_workspace/mcp/context.py": "track",
    "_workspace/cli/_telemetry_command.py": "get_anonymous_id (printed by `dlt telemetry`)",
}


def test_every_dlt_module_that_reaches_the_tracker_is_known():
    from pathlib import Path

    import dlt

    package = Path(dlt.__file__).parent
    naming = {
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if "anon_tracker" in path.read_text(encoding="utf-8")
    }
    assert naming == set(KNOWN_IMPORTERS)
    # Only the tracker calls the seam, and only the tracker posts to the telemetry endpoint.
    for path in package.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        if str(path.relative_to(package)) != "common/runtime/anon_tracker.py":
            assert "_send_event" not in text, path
            assert "_ANON_TRACKER_ENDPOINT" not in text, path


def test_disable_telemetry_through_the_engine_records_the_opt_out(new_env):
    import socket

    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    refusing = f"http://127.0.0.1:{closed.getsockname()[1]}/"
    closed.close()
    env = new_env("refused", refusing)
    env.script("pipeline.py", "--engine", extra_env=INLINE)
    (recipient,) = env.status()["waiting"]
    assert recipient["messages"] == 4, "kept for a later run"

    switched = env.run(["python", "-m", "dlt_telemetry.cli", "--disable-telemetry"])
    assert "Telemetry switched OFF" in switched.stdout, switched.stdout + switched.stderr
    status = env.status()
    assert status["opted_out_at"] is not None
    assert all(r["messages"] == 0 for r in status["waiting"]), status["waiting"]
