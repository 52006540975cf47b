"""Webhook rules: event patterns, destination hosts, the retry schedule (pure, no database)."""

from __future__ import annotations

import random

import pytest

from service.domain.webhooks import EVENT_TYPES, host_allowed, invalid_event_patterns, matches, message_id, retry_delay


@pytest.mark.parametrize(("patterns", "action", "expected"), [
    (["*"], "project.created", True),
    (["project.*"], "project.transitioned", True),
    (["project.*"], "problem.created", False),
    (["project.created"], "project.created", True),
    (["project.created"], "project.updated", False),
    (["dispatch.submitted", "appraisal.published"], "appraisal.published", True),
])
def test_matches(patterns, action, expected):
    assert matches(patterns, action) is expected


def test_event_patterns():
    assert invalid_event_patterns(["*", "project.*", "project.created", "dispatch.submitted"]) == []
    assert invalid_event_patterns(["project.create", "nope.*", "Project.created", "x", "*.created"]) == [
        "project.create", "nope.*", "Project.created", "x", "*.created"]
    assert "problem.overdue" not in EVENT_TYPES  # a state reached by time, not an audited write
    assert {"project.created", "project.transitioned", "dispatch.submitted", "appraisal.published"} <= EVENT_TYPES


@pytest.mark.parametrize(("host", "allowed", "expected"), [
    ("anything.cn", [], True),
    ("receiver.example.cn", ["receiver.example.cn"], True),
    ("RECEIVER.example.cn.", ["receiver.example.cn"], True),
    ("other.example.cn", ["receiver.example.cn"], False),
    ("a.gov.example", ["*.gov.example"], True),
    ("b.a.gov.example", ["*.gov.example"], True),
    ("gov.example", ["*.gov.example"], False),
    ("evilgov.example", ["*.gov.example"], False),
    ("10.0.0.5", ["10.0.0.5"], True),
])
def test_host_allowed(host, allowed, expected):
    assert host_allowed(host, allowed) is expected


def test_retry_delay_doubles_with_jitter_and_a_cap():
    rand = random.Random(7)
    for attempt, full in [(1, 5), (2, 10), (3, 20), (4, 40), (10, 2560), (12, 3600), (30, 3600)]:
        for _ in range(50):
            delay = retry_delay(attempt, base=5, cap=3600, rand=rand)
            assert full / 2 <= delay <= full, (attempt, delay)


def test_message_id_is_the_audit_seq():
    assert message_id(42) == "msg_42"
