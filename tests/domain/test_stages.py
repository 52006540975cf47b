from datetime import date

import pytest

from service.domain.errors import IllegalTransition
from service.domain.stages import (
    LISTS,
    TRANSITIONS,
    Stage,
    advance,
    check_milestones,
    check_transition_date,
    is_major,
    is_terminal,
)

S = Stage
ALLOWED = {
    (S.SIGNED, S.STARTED), (S.SIGNED, S.CANCELLED),
    (S.STARTED, S.IN_PRODUCTION), (S.STARTED, S.CANCELLED),
    (S.IN_PRODUCTION, S.AT_CAPACITY), (S.IN_PRODUCTION, S.CANCELLED),
}


@pytest.mark.parametrize("current", list(Stage))
@pytest.mark.parametrize("target", list(Stage))
def test_advance_follows_the_table(current, target):
    if (current, target) in ALLOWED:
        assert advance(current, target) is target
    else:
        with pytest.raises(IllegalTransition) as info:
            advance(current, target)
        assert info.value.extra["allowed"] == sorted(s.value for s in TRANSITIONS[current])


def test_terminal_stages():
    assert [s for s in Stage if is_terminal(s)] == [S.AT_CAPACITY, S.CANCELLED]


TODAY = date(2026, 11, 24)


@pytest.mark.parametrize(
    ("stage", "milestones", "problems"),
    [
        (S.SIGNED, {S.SIGNED: date(2026, 1, 1)}, []),
        (S.SIGNED, {}, ["signed"]),
        (S.SIGNED, {S.SIGNED: date(2026, 11, 25)}, ["signed"]),
        (S.SIGNED, {S.SIGNED: date(2026, 1, 1), S.STARTED: date(2026, 2, 1)}, ["started"]),
        (S.STARTED, {S.SIGNED: date(2026, 1, 1), S.STARTED: date(2026, 1, 1)}, []),
        (S.STARTED, {S.STARTED: date(2026, 1, 1)}, ["signed"]),
        (S.IN_PRODUCTION, {S.SIGNED: date(2026, 3, 1), S.STARTED: date(2026, 2, 1),
                           S.IN_PRODUCTION: date(2026, 4, 1)}, ["started"]),
        (S.AT_CAPACITY, {s: date(2025, 1 + i, 1) for i, s in enumerate(LISTS)}, []),
        (S.CANCELLED, {S.SIGNED: date(2026, 1, 1)}, ["stage"]),
    ],
)
def test_check_milestones(stage, milestones, problems):
    assert [f for f, _ in check_milestones(stage, milestones, today=TODAY)] == problems


@pytest.mark.parametrize(
    ("on", "previous", "ok"),
    [
        (TODAY, None, True),
        (date(2026, 11, 25), None, False),
        (date(2026, 5, 1), date(2026, 5, 1), True),
        (date(2026, 4, 30), date(2026, 5, 1), False),
    ],
)
def test_check_transition_date(on, previous, ok):
    assert (check_transition_date(on, previous=previous, today=TODAY) is None) is ok


def test_major_threshold_is_one_hundred_million_yuan():
    from decimal import Decimal

    assert is_major(Decimal("10000.00")) and not is_major(Decimal("9999.99"))
