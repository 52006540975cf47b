"""The four lists (四张清单): the stage machine of a project."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum

from service.domain.errors import IllegalTransition


class Stage(StrEnum):
    SIGNED = "signed"
    STARTED = "started"
    IN_PRODUCTION = "in_production"
    AT_CAPACITY = "at_capacity"
    CANCELLED = "cancelled"


#: The four lists in order; each has a milestone date of the same name.
LISTS: tuple[Stage, ...] = (Stage.SIGNED, Stage.STARTED, Stage.IN_PRODUCTION, Stage.AT_CAPACITY)

LABELS_ZH: dict[Stage, str] = {
    Stage.SIGNED: "新签约",
    Stage.STARTED: "新开工",
    Stage.IN_PRODUCTION: "新投产",
    Stage.AT_CAPACITY: "新达产",
    Stage.CANCELLED: "终止",
}

#: Forward one step at a time; cancellation from any stage but at_capacity; two terminal stages.
TRANSITIONS: dict[Stage, frozenset[Stage]] = {
    Stage.SIGNED: frozenset({Stage.STARTED, Stage.CANCELLED}),
    Stage.STARTED: frozenset({Stage.IN_PRODUCTION, Stage.CANCELLED}),
    Stage.IN_PRODUCTION: frozenset({Stage.AT_CAPACITY, Stage.CANCELLED}),
    Stage.AT_CAPACITY: frozenset(),
    Stage.CANCELLED: frozenset(),
}


def is_terminal(stage: Stage) -> bool:
    return not TRANSITIONS[stage]


def advance(current: Stage, target: Stage) -> Stage:
    """Return ``target`` when the table allows ``current → target``, else raise IllegalTransition."""
    allowed = TRANSITIONS[current]
    if target not in allowed:
        if not allowed:
            detail = f"A project at stage '{current}' is final; no transition is possible."
        else:
            detail = (
                f"Cannot move from '{current}' to '{target}'; allowed: "
                + ", ".join(sorted(allowed))
                + "."
            )
        raise IllegalTransition(detail, allowed=[s.value for s in allowed], current=current.value)
    return target


def next_stage(stage: Stage | str) -> Stage | None:
    """The one forward move of a project at ``stage`` (None at capacity or cancelled)."""
    forward = [s for s in TRANSITIONS[Stage(stage)] if s is not Stage.CANCELLED]
    return forward[0] if forward else None


def earlier_lists(stage: Stage) -> tuple[Stage, ...]:
    """The lists a project at ``stage`` (one of the four) must have reached, itself included."""
    return LISTS[: LISTS.index(stage) + 1]


def check_milestones(
    stage: Stage, milestones: dict[Stage, date | None], *, today: date
) -> list[tuple[str, str]]:
    """Rules for creating a project at ``stage`` (SPEC §3), as ``(milestone, problem)`` pairs.

    Every milestone up to ``stage`` is given, none after it, dates in non-decreasing order, none in the future.
    """
    problems: list[tuple[str, str]] = []
    if stage not in LISTS:
        return [("stage", f"A project is created at one of {', '.join(LISTS)}; '{stage}' is reached by a transition.")]
    reached = earlier_lists(stage)
    previous: tuple[Stage, date] | None = None
    for lst in LISTS:
        value = milestones.get(lst)
        if lst in reached:
            if value is None:
                problems.append((lst.value, f"Required for a project created at stage '{stage}'."))
                continue
            if value > today:
                problems.append((lst.value, f"{value.isoformat()} is in the future (today is {today.isoformat()})."))
            if previous is not None and value < previous[1]:
                problems.append(
                    (lst.value, f"{value.isoformat()} is before the '{previous[0]}' milestone {previous[1].isoformat()}.")
                )
            previous = (lst, value)
        elif value is not None:
            problems.append((lst.value, f"Must be empty: the project is created at stage '{stage}'."))
    return problems


def latest_milestone(record: object) -> date | None:
    """The latest milestone date a project (anything with ``signed_on`` … ``at_capacity_on``) has reached."""
    return max((d for d in (getattr(record, f"{lst.value}_on") for lst in LISTS) if d is not None), default=None)


def check_transition_date(on: date, *, previous: date | None, today: date) -> str | None:
    """A transition's business date: not in the future, not before the previous milestone."""
    if on > today:
        return f"{on.isoformat()} is in the future (today is {today.isoformat()})."
    if previous is not None and on < previous:
        return f"{on.isoformat()} is before the previous milestone {previous.isoformat()}."
    return None


#: 万元: a project of at least 1 亿元 (100 million CNY) is major (亿元以上项目).
MAJOR_THRESHOLD = Decimal("10000")


def is_major(planned_investment: Decimal) -> bool:
    return planned_investment >= MAJOR_THRESHOLD
