"""The problem lifecycle (突出问题): the transition table, resolved_on, overdue."""

from datetime import date

import pytest

from service.domain.errors import IllegalTransition
from service.domain.problems import (
    INITIAL,
    SETTLED,
    TRANSITIONS,
    ProblemStatus,
    allowed_targets,
    is_overdue,
    is_terminal,
    resolved_on_after,
    resolved_on_time,
    transition,
)

S = ProblemStatus
ALLOWED = {
    (S.OPEN, S.IN_PROGRESS), (S.OPEN, S.RESOLVED),
    (S.IN_PROGRESS, S.RESOLVED),
    (S.RESOLVED, S.CLOSED), (S.RESOLVED, S.REOPENED),
    (S.REOPENED, S.IN_PROGRESS), (S.REOPENED, S.RESOLVED),
}
TODAY = date(2026, 11, 24)


def test_the_table_is_the_spec():
    assert {(a, b) for a, targets in TRANSITIONS.items() for b in targets} == ALLOWED
    assert set(TRANSITIONS) == set(ProblemStatus)
    assert INITIAL is S.OPEN


@pytest.mark.parametrize("current", list(ProblemStatus))
@pytest.mark.parametrize("target", list(ProblemStatus))
def test_transition_follows_the_table(current, target):
    if (current, target) in ALLOWED:
        assert transition(current, target) is target
    else:
        with pytest.raises(IllegalTransition) as info:
            transition(current, target)
        assert info.value.extra["allowed"] == allowed_targets(current)
        assert info.value.extra["current"] == current.value
        assert info.value.slug == "invalid-transition"


def test_accepts_plain_strings():
    assert transition("open", "resolved") is S.RESOLVED
    with pytest.raises(ValueError):
        transition("open", "done")


def test_closed_is_the_only_terminal_status():
    assert [s for s in ProblemStatus if is_terminal(s)] == [S.CLOSED]
    assert allowed_targets(S.CLOSED) == []
    assert allowed_targets(S.OPEN) == ["in_progress", "resolved"]


@pytest.mark.parametrize(
    ("target", "previous", "expected"),
    [
        (S.RESOLVED, None, TODAY),
        (S.RESOLVED, date(2026, 1, 1), TODAY),  # resolved again: the latest date counts
        (S.REOPENED, date(2026, 1, 1), None),
        (S.CLOSED, date(2026, 1, 1), date(2026, 1, 1)),
        (S.IN_PROGRESS, None, None),
    ],
)
def test_resolved_on(target, previous, expected):
    assert resolved_on_after(target, previous=previous, today=TODAY) == expected


@pytest.mark.parametrize(
    ("status", "due_on", "overdue"),
    [
        (S.OPEN, date(2026, 11, 23), True),
        (S.OPEN, TODAY, False),  # due today: not overdue yet
        (S.IN_PROGRESS, date(2026, 1, 1), True),
        (S.REOPENED, date(2026, 1, 1), True),
        (S.RESOLVED, date(2026, 1, 1), False),
        (S.CLOSED, date(2026, 1, 1), False),
        (S.OPEN, date(2027, 1, 1), False),
    ],
)
def test_overdue(status, due_on, overdue):
    assert is_overdue(status, due_on=due_on, today=TODAY) is overdue
    assert (status in SETTLED) is (status in {S.RESOLVED, S.CLOSED})


@pytest.mark.parametrize(
    ("resolved_on", "due_on", "on_time"),
    [(None, TODAY, False), (TODAY, TODAY, True), (date(2026, 11, 25), TODAY, False), (date(2026, 1, 1), TODAY, True)],
)
def test_resolved_on_time(resolved_on, due_on, on_time):
    assert resolved_on_time(resolved_on=resolved_on, due_on=due_on) is on_time
