"""The revisions of an annual plan and the difference between any two (``/chains/{code}/plans/{year}/revisions``).

The revisions and their reasons come from ``list_revisions`` and ``get_plan(revision=n)`` (as ``GET …/revisions``
and ``GET …?revision=n``); what changed is the domain's rule (``service/domain/plan_diff.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from fastapi import Path as PathParam
from fastapi import Query, Request
from starlette.responses import Response

from service.domain import plan_diff
from service.domain.periods import MAX_YEAR, MIN_YEAR
from service.usecases import plans as plans_uc
from service.usecases import reference as reference_uc
from service.web import i18n
from service.web.frame import ChainPath, SignedIn, amount, lang_of, local_time, reading, render, router

YearPath = Annotated[int, PathParam(ge=MIN_YEAR, le=MAX_YEAR)]
RevisionQuery = Annotated[int | None, Query(ge=1, le=10_000)]
MAX_REVISIONS = 1000


def plan_content(view: plans_uc.PlanView) -> dict[str, Any]:
    """A revision as the domain's diff compares it."""
    p = view.plan
    return {
        "goals": p.goals, "benchmark_city": p.benchmark_city,
        "tasks": [{"key": t.key, "title": t.title, "owner_unit": t.owner_unit, "due_on": t.due_on} for t in view.tasks],
        "indicators": [{"key": i.key, "name": i.name, "unit": i.unit, "target": i.target, "source": i.source,
                        "benchmark_city": i.benchmark_city, "benchmark_value": i.benchmark_value}
                       for i in view.indicators],
    }


def _shown(lang: str, name: str, value: Any) -> str:
    if value is None or value == "":
        return i18n.translate(lang, "common.none")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return amount(value)
    if name == "source":
        key = f"plan.source.{value}"
        return i18n.translate(lang, key) if key in i18n.MESSAGES else str(value)
    return str(value)


@dataclass
class Line:
    """One changed field: its label, before and after, as shown."""

    label: str
    old: str
    new: str


@dataclass
class PartLine:
    """A task or indicator added, removed or changed: what it is and its lines."""

    what: str  # 新增 / 删除 / 修改
    kind: str  # added | removed | changed
    name: str
    key: str
    lines: list[Line]


@dataclass
class DiffView:
    empty: bool
    plan: list[Line]
    tasks: list[PartLine]
    indicators: list[PartLine]


def _parts(lang: str, diff: plan_diff.PartsDiff, fields: tuple[str, ...], title: str) -> list[PartLine]:
    t = i18n.translator(lang)

    def label(f: str) -> str:
        return t("plan.f.benchmark." + f.removeprefix("benchmark_")) if f.startswith("benchmark_") else t(f"plan.f.{f}")

    out = []
    for p in diff.added:
        out.append(PartLine(t("plan.diff_added"), "added", str(p.get(title)), str(p["key"]),
                            [Line(label(f), "", _shown(lang, f, p.get(f))) for f in fields]))
    for p in diff.removed:
        out.append(PartLine(t("plan.diff_removed"), "removed", str(p.get(title)), str(p["key"]),
                            [Line(label(f), _shown(lang, f, p.get(f)), "") for f in fields]))
    for c in diff.changed:
        out.append(PartLine(t("plan.diff_changed"), "changed", str(c.new.get(title)), c.key,
                            [Line(label(ch.field), _shown(lang, ch.field, ch.old), _shown(lang, ch.field, ch.new))
                             for ch in c.changes]))
    return out


def diff_view(lang: str, diff: plan_diff.PlanDiff) -> DiffView:
    t = i18n.translator(lang)
    plan = [Line(t(f"plan.f.{c.field}"), _shown(lang, c.field, c.old), _shown(lang, c.field, c.new))
            for c in (diff.goals, diff.benchmark_city) if c is not None]
    return DiffView(empty=diff.empty, plan=plan,
                    tasks=_parts(lang, diff.tasks, plan_diff.TASK_FIELDS, "title"),
                    indicators=_parts(lang, diff.indicators, plan_diff.INDICATOR_FIELDS, "name"))


@router.get("/chains/{code}/plans/{year}/revisions")
def plan_revisions(request: Request, code: ChainPath, year: YearPath, actor: SignedIn,
                   a: RevisionQuery = None, b: RevisionQuery = None) -> Response:
    """Every revision with its reason, and what changed from revision ``a`` to revision ``b`` (by default the
    one before the current and the current)."""
    lang = lang_of(request)
    with reading(request) as session:
        chain = reference_uc.get_chain(session, code=code)
        revisions = plans_uc.list_revisions(session, chain=code, year=year, after=None, limit=MAX_REVISIONS)
        last = revisions[-1].revision
        a = a if a is not None else max(1, last - 1)
        b = b if b is not None else last
        old = plans_uc.get_plan(session, chain=code, year=year, revision=a)
        new = plans_uc.get_plan(session, chain=code, year=year, revision=b)
        diff = diff_view(lang, plan_diff.diff_plans(plan_content(old), plan_content(new)))
    rows = [(r.revision, r.status, r.revision_reason, local_time(r.approved_at, request)) for r in revisions]
    return render(request, "plan_revisions.html", actor=actor, nav="chain", chain=chain, year=year, revisions=rows,
                  a=a, b=b, diff=diff, single=len(revisions) == 1)
