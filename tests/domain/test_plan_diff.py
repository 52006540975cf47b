"""The difference between two plan revisions: goals, benchmark city, tasks and indicators matched by key."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from service.domain.plan_diff import FieldChange, diff_parts, diff_plans


def _task(key: str, title: str = "T", owner: str = "U", due: str = "2026-06-30", status: str = "open") -> dict:
    return {"key": key, "title": title, "owner_unit": owner, "due_on": date.fromisoformat(due), "status": status}


def _ind(key: str, target: str = "10", **more) -> dict:
    return {"key": key, "name": key.upper(), "unit": "个", "target": Decimal(target), "source": "manual",
            "benchmark_city": None, "benchmark_value": None, **more}


def _plan(goals: str = "G", tasks=(), indicators=(), city=None) -> dict:  # noqa: ANN001
    return {"goals": goals, "benchmark_city": city, "tasks": list(tasks), "indicators": list(indicators)}


def test_the_same_content_has_no_difference() -> None:
    plan = _plan(tasks=[_task("a")], indicators=[_ind("x")])
    diff = diff_plans(plan, dict(plan))
    assert diff.empty and diff.goals is None and diff.tasks.empty and diff.indicators.empty


def test_added_removed_and_changed_parts_are_matched_by_key() -> None:
    old = _plan("旧目标", tasks=[_task("a"), _task("b", title="B")], indicators=[_ind("x"), _ind("y")])
    new = _plan("新目标", tasks=[_task("b", title="B2", due="2026-09-30"), _task("c")],
                indicators=[_ind("y", target="12.5"), _ind("x")])
    diff = diff_plans(old, new)
    assert diff.goals == FieldChange("goals", "旧目标", "新目标")
    assert diff.benchmark_city is None
    assert [t["key"] for t in diff.tasks.added] == ["c"]
    assert [t["key"] for t in diff.tasks.removed] == ["a"]
    [b] = diff.tasks.changed
    assert b.key == "b" and b.changes == (FieldChange("title", "B", "B2"),
                                          FieldChange("due_on", date(2026, 6, 30), date(2026, 9, 30)))
    # an indicator moved in the order but unchanged is no change; a new target is
    assert diff.indicators.added == () and diff.indicators.removed == ()
    [y] = diff.indicators.changed
    assert y.changes == (FieldChange("target", Decimal("10"), Decimal("12.5")),)
    assert not diff.empty


def test_a_decimal_written_differently_is_the_same_target() -> None:
    assert diff_parts([_ind("x", target="10")], [_ind("x", target="10.00")], ("target",)).empty


def test_a_tasks_status_is_progress_not_plan_content() -> None:
    diff = diff_plans(_plan(tasks=[_task("a")]), _plan(tasks=[_task("a", status="done")]))
    assert diff.empty


def test_a_benchmark_set_and_a_city_changed() -> None:
    old = _plan(city="深圳", indicators=[_ind("x")])
    new = _plan(city="苏州", indicators=[_ind("x", benchmark_city="苏州", benchmark_value=Decimal("3"))])
    diff = diff_plans(old, new)
    assert diff.benchmark_city == FieldChange("benchmark_city", "深圳", "苏州")
    [x] = diff.indicators.changed
    assert [c.field for c in x.changes] == ["benchmark_city", "benchmark_value"]


def test_an_empty_side() -> None:
    diff = diff_plans({}, _plan(tasks=[_task("a")], indicators=[_ind("x")]))
    assert diff.goals == FieldChange("goals", None, "G")
    assert len(diff.tasks.added) == 1 and len(diff.indicators.added) == 1
