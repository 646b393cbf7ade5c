"""The Python API for other tools: start, track, flush, status."""

from __future__ import annotations

import json
import sys
import time

from conftest import INLINE, wait_until_delivered


def test_track_sends_an_event_with_the_tools_name_and_pythons_version(dlt_env, recorder):
    dlt_env.script("track.py", "export")
    (message,) = recorder.wait_for(1)
    wait_until_delivered(dlt_env)
    assert len(recorder.messages()) == 1
    assert message["event"] == "command_export"
    assert message["properties"] == {
        "format": "parquet",
        "rows": 3,
        "nested": {"ok": True},
        "event_category": "command",
        "event_name": "export",
    }
    assert message["context"]["library"] == {"name": "my_tool", "version": "0.3.0"}
    assert message["context"]["python"] == sys.version.split(" ")[0]
    assert message["context"]["ci_run"] is False
    assert recorder.requests[0]["headers"]["user-agent"] == "my_tool/0.3.0"


def test_values_python_cannot_send_as_json_go_as_null(dlt_env, recorder):
    dlt_env.run(
        [
            "python",
            "-c",
            "import dlt_telemetry as t; t.start('my_tool', '0.3.0');"
            " t.track('command', 'odd', {'path': object(), 'nan': float('nan'), 'big': 2**80, 'n': None,"
            " 1: 'int key', 'items': (1, 'two', [3.5])}); t.track('billing', 'charge', {}); t.track('command', '')",
        ],
        INLINE,
    )
    (message,) = recorder.messages()
    assert message["properties"] == {
        "path": None,
        "nan": None,
        "big": float(2**80),
        "n": None,
        "items": [1, "two", [3.5]],
        "event_category": "command",
        "event_name": "odd",
    }


def test_status_has_the_facts_of_dlt_telemetry_json(dlt_env, recorder):
    status = dlt_env.status()
    assert set(status) == {
        "telemetry",
        "runtime_trace",
        "sentry",
        "opentelemetry",
        "credentials_withheld",
        "opted_out_at",
        "problems",
        "waiting",
        "sent",
    }
    assert status["telemetry"]["enabled"] is True
    assert status["telemetry"]["endpoint"] == recorder.url
    assert status["telemetry"]["detached_sender"] is True
    assert status["telemetry"]["decided_by"] == "runtime.dlthub_telemetry=true (default)"


def test_an_exception_inside_the_engine_never_reaches_the_host(dlt_env, recorder):
    done = dlt_env.script("engine_fails.py", "--dlt")
    assert done.stdout.strip().endswith("host finished")
    assert "Traceback" not in done.stderr, done.stderr


def test_exit_is_bounded_when_the_endpoint_never_answers(new_env, hanging_endpoint):
    env = new_env("hanging", hanging_endpoint.url)
    # Delivered from the process within the 1 s exit deadline (as in CI): what is left is kept.
    started = time.monotonic()
    env.script("track.py", "one", "two", extra_env=INLINE)
    inline_exit = time.monotonic() - started
    assert inline_exit < 15, inline_exit
    (recipient,) = env.status()["waiting"]
    assert recipient["messages"] == 2


def test_flush_delivers_what_was_tracked_before_a_hard_exit(dlt_env, recorder):
    # The engine sends while the host runs; flush waits until what was tracked is confirmed, so
    # even an exit that skips the interpreter's shutdown (os._exit) loses nothing.
    dlt_env.run(
        [
            "python",
            "-c",
            "import os, dlt_telemetry as t; t.start('my_tool', '0.3.0'); t.track('command', 'kept');"
            " assert t.flush(5.0); os._exit(0)",
        ]
    )
    (message,) = recorder.messages()
    assert message["event"] == "command_kept"
    assert all(recipient["messages"] == 0 for recipient in dlt_env.status()["waiting"])


def test_sent_lists_exactly_what_the_endpoint_confirmed(dlt_env, recorder):
    dlt_env.run(
        [
            "python",
            "-c",
            "import dlt_telemetry as t; t.start('my_tool', '0.3.0'); t.track('command', 'kept'); assert t.flush(5.0)",
        ]
    )
    (delivered,) = recorder.messages()
    looked = dlt_env.run(
        [
            "python",
            "-c",
            "import json, dlt_telemetry as t; t.start('probe', '1.0');"
            " print(json.dumps([t.sent(), t.sent(since=3600), t.sent(since=0)]))"
            "\ntry:\n t.sent(since=-1)\nexcept ValueError as error:\n print(error)",
        ]
    )
    assert looked.returncode == 0, looked.stderr
    logs, refusal = looked.stdout.splitlines()
    everything, last_hour, from_now = json.loads(logs)
    (entry,) = everything
    assert entry["message"] == delivered, "the record holds the message exactly as it was sent"
    assert entry["endpoint"] == recorder.url and entry["write_key"] is False
    assert last_hour == everything and from_now == []
    assert "since" in refusal and "-1" in refusal
    assert len(recorder.messages()) == 1, "looking sends nothing"
