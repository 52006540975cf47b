"""Prominent problems (突出问题, SPEC §4): the lifecycle table and the overdue rule.

Lifecycle: a problem is created ``open``; ``open → in_progress | resolved``; ``in_progress → resolved``;
``resolved → closed | reopened``; ``reopened → in_progress | resolved``; ``closed`` is terminal (closing is the
raiser's confirmation, 销号). Staying in the same status is not a transition.

``resolved_on`` is the date a problem was (last) resolved: set to ``today`` on ``→ resolved``, cleared on
``→ reopened``, kept on ``→ closed``. Overdue = not resolved or closed and ``due_on`` before today (a problem due
today is not overdue yet). Resolved on time = ``resolved_on`` on or before ``due_on`` (the appraisal's
``problems`` component counts those).

Pure: ``today`` is an argument.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from service.domain.errors import IllegalTransition


class ProblemStatus(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"
    REOPENED = "reopened"


P = ProblemStatus

#: The status a new problem starts in.
INITIAL = P.OPEN

TRANSITIONS: dict[ProblemStatus, frozenset[ProblemStatus]] = {
    P.OPEN: frozenset({P.IN_PROGRESS, P.RESOLVED}),
    P.IN_PROGRESS: frozenset({P.RESOLVED}),
    P.RESOLVED: frozenset({P.CLOSED, P.REOPENED}),
    P.REOPENED: frozenset({P.IN_PROGRESS, P.RESOLVED}),
    P.CLOSED: frozenset(),
}

#: Statuses in which a problem counts as dealt with (never overdue).
SETTLED: frozenset[ProblemStatus] = frozenset({P.RESOLVED, P.CLOSED})

LABELS_ZH: dict[ProblemStatus, str] = {
    P.OPEN: "待处理",
    P.IN_PROGRESS: "处理中",
    P.RESOLVED: "已解决",
    P.CLOSED: "已销号",
    P.REOPENED: "已重新打开",
}


def is_terminal(status: ProblemStatus) -> bool:
    return not TRANSITIONS[ProblemStatus(status)]


def allowed_targets(status: ProblemStatus) -> list[str]:
    """The statuses ``status`` may move to, sorted (for ``allowed`` in responses)."""
    return sorted(s.value for s in TRANSITIONS[ProblemStatus(status)])


def transition(current: ProblemStatus, target: ProblemStatus) -> ProblemStatus:
    """Return ``target`` when the table allows ``current → target``, else raise IllegalTransition."""
    current, target = ProblemStatus(current), ProblemStatus(target)
    allowed = TRANSITIONS[current]
    if target not in allowed:
        if not allowed:
            detail = f"A problem in status '{current}' is final (销号); no transition is possible."
        else:
            detail = f"Cannot move a problem from '{current}' to '{target}'; allowed: " + ", ".join(
                sorted(allowed)
            ) + "."
        raise IllegalTransition(detail, allowed=[s.value for s in allowed], current=current.value)
    return target


def resolved_on_after(target: ProblemStatus, *, previous: date | None, today: date) -> date | None:
    """``resolved_on`` once the problem has moved to ``target``."""
    target = ProblemStatus(target)
    if target is P.RESOLVED:
        return today
    if target is P.REOPENED:
        return None
    return previous


def is_overdue(status: ProblemStatus, *, due_on: date, today: date) -> bool:
    return ProblemStatus(status) not in SETTLED and due_on < today


def resolved_on_time(*, resolved_on: date | None, due_on: date) -> bool:
    return resolved_on is not None and resolved_on <= due_on
