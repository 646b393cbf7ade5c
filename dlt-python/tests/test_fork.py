"""The engine across os.fork() and multiprocessing's fork start method."""

from __future__ import annotations

import sys
from collections import Counter

import pytest

from conftest import INLINE, wait_until_delivered

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="fork is POSIX")

DELIVERY = {"inline": INLINE, "detached sender": {}}


def events(recorder):
    """How many distinct messages of each event arrived. A request abandoned in flight at exit
    is sent again by the detached sender with the same messageId, which Segment drops as a
    duplicate (docs/telemetry.md): one message, even when it arrived twice."""
    distinct = {(message["event"], message["messageId"]) for message in recorder.messages()}
    return Counter(event for event, _ in distinct)


@pytest.mark.parametrize("delivery", DELIVERY)
def test_a_forked_child_and_its_parent_send_their_events_once_each(dlt_env, recorder, delivery):
    dlt_env.script("fork.py", extra_env=DELIVERY[delivery])
    recorder.wait_for(3)
    wait_until_delivered(dlt_env)
    assert events(recorder) == {"command_parent_before": 1, "command_child": 1, "command_parent_after": 1}


@pytest.mark.parametrize("delivery", DELIVERY)
def test_multiprocessing_children_send_their_events_once_each(dlt_env, recorder, delivery):
    dlt_env.script("multiprocessing_fork.py", extra_env=DELIVERY[delivery])
    recorder.wait_for(3)
    wait_until_delivered(dlt_env)
    assert events(recorder) == {"command_parent": 1, "command_child_1": 1, "command_child_2": 1}
