"""What changed between two revisions of an annual plan (一链一表, SPEC §5): the goals, the benchmark city, and
the tasks and indicators added, removed or changed — matched by their key, as the plan's PUT matches them.

Only the content a revision sets is compared: a task's title, responsible unit and due date; an indicator's
name, unit, target, source and benchmark. A task's status is progress, not plan content (it changes inside a
revision), so it is not part of the difference. Values are compared as given (the caller passes the same types
for both sides: ``Decimal`` targets, ``date`` due dates). Pure: plain mappings in, a plain result out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

#: The compared fields of a task and of an indicator, in the order a page shows them.
TASK_FIELDS = ("title", "owner_unit", "due_on")
INDICATOR_FIELDS = ("name", "unit", "target", "source", "benchmark_city", "benchmark_value")

Part = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class FieldChange:
    field: str
    old: Any
    new: Any


@dataclass(frozen=True, slots=True)
class PartChange:
    """A task or indicator present on both sides with at least one field changed."""

    key: str
    old: Part
    new: Part
    changes: tuple[FieldChange, ...]


@dataclass(frozen=True, slots=True)
class PartsDiff:
    added: tuple[Part, ...] = ()
    removed: tuple[Part, ...] = ()
    changed: tuple[PartChange, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)


@dataclass(frozen=True, slots=True)
class PlanDiff:
    goals: FieldChange | None = None
    benchmark_city: FieldChange | None = None
    tasks: PartsDiff = field(default_factory=PartsDiff)
    indicators: PartsDiff = field(default_factory=PartsDiff)

    @property
    def empty(self) -> bool:
        return self.goals is None and self.benchmark_city is None and self.tasks.empty and self.indicators.empty


def diff_parts(old: Sequence[Part], new: Sequence[Part], fields: Sequence[str]) -> PartsDiff:
    """Parts matched by ``key``: added (in ``new`` order), removed (in ``old`` order), changed (in ``new``
    order) with the fields that differ."""
    before = {p["key"]: p for p in old}
    after = {p["key"]: p for p in new}
    added = tuple(p for p in new if p["key"] not in before)
    removed = tuple(p for p in old if p["key"] not in after)
    changed = []
    for p in new:
        o = before.get(p["key"])
        if o is None:
            continue
        changes = tuple(FieldChange(f, o.get(f), p.get(f)) for f in fields if o.get(f) != p.get(f))
        if changes:
            changed.append(PartChange(p["key"], o, p, changes))
    return PartsDiff(added, removed, tuple(changed))


def _field(name: str, old: Any, new: Any) -> FieldChange | None:
    return None if old == new else FieldChange(name, old, new)


def diff_plans(old: Part, new: Part) -> PlanDiff:
    """``old`` and ``new`` are revisions as mappings: ``goals``, ``benchmark_city``, ``tasks`` and
    ``indicators`` (sequences of mappings with a ``key``)."""
    return PlanDiff(
        goals=_field("goals", old.get("goals"), new.get("goals")),
        benchmark_city=_field("benchmark_city", old.get("benchmark_city"), new.get("benchmark_city")),
        tasks=diff_parts(old.get("tasks", ()), new.get("tasks", ()), TASK_FIELDS),
        indicators=diff_parts(old.get("indicators", ()), new.get("indicators", ()), INDICATOR_FIELDS),
    )
