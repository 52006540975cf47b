"""Annual plans (一链一表, SPEC §5): drafts, approval, revisions, monthly actuals, tasks, progress.

Decisions (also in the routes' descriptions):

- A chain-year's plan is a series of revisions (``plan`` rows). Revision 1 is edited in place while it is a
  draft; once approved, every ``PUT`` (with ``revision_reason``) adds revision n+1, approved at once, and the
  older revisions stay readable, frozen. The highest revision is *current*; since only revision 1 can be a
  draft, the current revision is the approved one whenever the plan has been approved.
- The plan's ``version`` covers its tasks and indicators and keeps growing across revisions (revision n+1
  starts at revision n's version + 1), so an ETag read from an older revision never matches the current one.
- A ``PUT`` whose content equals the current plan's changes nothing (no new version, no revision, no event).
- Task ``status``/``done_on`` carry over by task key into a replaced draft or a new revision; new keys start
  ``open``; a dropped key stays in the older revision only.
- Manual actuals belong to the chain-year and the indicator *key* (not to a revision), so they survive
  revisions; they are not part of the plan's version. A ledger- or dispatch-sourced indicator takes no typed
  actual (409).
- Computed sources: ``ledger.<list>.count|investment`` = the chain's projects whose milestone ``<list>`` falls
  in the plan year (voided excluded, cancelled kept on the lists they reached — exactly the ledger's figures);
  ``dispatch.invested`` = the sum of the chain's submitted monthly dispatch entries for the months of the year
  (entries of voided projects excluded).
- Progress and the appraisal read the current revision; for a draft-only plan, progress is the draft's,
  flagged ``approved: false``, and the appraisal sees no approved plan.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from service.db.plans import PlanRepo
from service.db.reference import ReferenceRepo
from service.db.tables import Chain, Plan, PlanActual, PlanIndicator, PlanTask
from service.db.values import jsonable
from service.domain import errors as d
from service.domain import plans as rules
from service.domain.access import Role
from service.domain.context import Ctx
from service.domain.periods import MAX_YEAR, MIN_YEAR
from service.schemas.plans import (
    ActualCreate,
    IndicatorSource,
    PlanPut,
    PlanStatus,
    TaskUpdate,
)
from service.usecases.audit_tree import report_head
from service.usecases.common import audit, check_version
from service.usecases.plan_progress import PlanProgress, evaluate

WRITERS = (Role.ADMIN, Role.DEPARTMENT)


def plan_entity_id(chain: str, year: int) -> str:
    """The audit ``entity_id`` of a chain-year's plan (all its revisions): ``OPTICS/2026``."""
    return f"{chain}/{year}"


# ================================================================ evaluation (progress and the appraisal)


@dataclass(frozen=True, slots=True)
class PlanView:
    """One revision with its parts."""

    plan: Plan
    tasks: list[PlanTask]
    indicators: list[PlanIndicator]
    current_revision: int

    @property
    def current(self) -> bool:
        return self.plan.revision == self.current_revision


# ================================================================ reads


def _check_year(year: int) -> None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise d.InvalidInput.at(["path", "year"], f"Year {year} is outside {MIN_YEAR}–{MAX_YEAR}.")


def _require_chain(session: Session, code: str) -> None:
    if ReferenceRepo(session).chain(code) is None:
        raise d.NotFound(f"No chain '{code}'.")


def _no_plan(chain: str, year: int) -> d.NotFound:
    return d.NotFound(f"Chain '{chain}' has no plan for {year}.")


def _current(session: Session, chain: str, year: int) -> Plan:
    _check_year(year)
    _require_chain(session, chain)
    plan = PlanRepo(session).current(chain, year)
    if plan is None:
        raise _no_plan(chain, year)
    return plan


def _view(session: Session, plan: Plan, current_revision: int) -> PlanView:
    parts = PlanRepo(session).parts([plan.id])[plan.id]  # type: ignore[list-item]
    return PlanView(plan, parts.tasks, parts.indicators, current_revision)


def get_plan(session: Session, *, chain: str, year: int, revision: int | None = None) -> PlanView:
    """The current revision, or revision ``revision`` (404 when unknown)."""
    current = _current(session, chain, year)
    plan = current
    if revision is not None and revision != current.revision:
        plan = PlanRepo(session).revision(chain, year, revision)
        if plan is None:
            raise d.NotFound(f"The {year} plan of chain '{chain}' has no revision {revision} "
                             f"(revisions 1–{current.revision}).")
    return _view(session, plan, current.revision)


def list_revisions(session: Session, *, chain: str, year: int, after: int | None, limit: int) -> list[Plan]:
    _current(session, chain, year)
    return PlanRepo(session).revisions(chain, year, after=after, limit=limit)


def plan_progress(session: Session, *, chain: str, year: int, today: date) -> PlanProgress:
    plan = _current(session, chain, year)
    return evaluate(session, [plan], year=year, today=today)[chain]


def list_actuals(session: Session, *, chain: str, year: int, key: str) -> list[PlanActual]:
    plan = _current(session, chain, year)
    if PlanRepo(session).indicator(plan.id, key) is None:  # type: ignore[arg-type]
        raise d.NotFound(f"The {year} plan of chain '{chain}' has no indicator '{key}'.")
    return PlanRepo(session).actuals(chain, year, key)


# ================================================================ writes


def _task_snapshot(t: PlanTask) -> dict[str, Any]:
    return {"key": t.key, "title": t.title, "owner_unit": t.owner_unit, "due_on": t.due_on, "status": t.status,
            "done_on": t.done_on}


def _indicator_snapshot(i: PlanIndicator) -> dict[str, Any]:
    return {"key": i.key, "name": i.name, "unit": i.unit, "target": i.target, "source": i.source,
            "benchmark_city": i.benchmark_city, "benchmark_value": i.benchmark_value}


def _content(goals: str, benchmark_city: str | None, tasks: Sequence[PlanTask],
             indicators: Sequence[PlanIndicator]) -> dict[str, Any]:
    """What a PUT sets (compared to tell a real change from a repeat)."""
    return jsonable({
        "goals": goals, "benchmark_city": benchmark_city,
        "tasks": [_task_snapshot(t) for t in tasks], "indicators": [_indicator_snapshot(i) for i in indicators],
    })


def _snapshot(plan: Plan, tasks: Sequence[PlanTask], indicators: Sequence[PlanIndicator]) -> dict[str, Any]:
    """A revision as audit data."""
    return {
        "chain": plan.chain, "year": plan.year, "revision": plan.revision, "status": plan.status,
        "revision_reason": plan.revision_reason, "approved_at": jsonable(plan.approved_at),
        **_content(plan.goals, plan.benchmark_city, tasks, indicators),
    }


def _check_body(data: PlanPut, year: int, benchmark_city: str | None) -> None:
    """Rules the schema cannot see: unique keys, task due dates within the plan year, a benchmark's city."""
    errors: list[dict[str, Any]] = []
    for name, items in (("tasks", data.tasks), ("indicators", data.indicators)):
        seen: dict[str, int] = {}
        for n, item in enumerate(items):
            if item.key in seen:
                errors.append({"loc": ["body", name, n, "key"],
                               "msg": f"Duplicate key '{item.key}' (also {name}[{seen[item.key]}])."})
            seen.setdefault(item.key, n)
    for n, t in enumerate(data.tasks):
        if t.due_on.year != year:
            errors.append({"loc": ["body", "tasks", n, "due_on"],
                           "msg": f"A task of the {year} plan is due within {year}."})
    for n, i in enumerate(data.indicators):
        if i.benchmark is not None and i.benchmark.city is None and benchmark_city is None:
            errors.append({"loc": ["body", "indicators", n, "benchmark", "city"],
                           "msg": "Name the benchmark city (or the plan's or the chain's benchmark_city)."})
    if errors:
        raise d.InvalidInput("; ".join(e["msg"] for e in errors), errors=errors)


def _build_parts(
    data: PlanPut, benchmark_city: str | None, carried: dict[str, PlanTask]
) -> tuple[list[PlanTask], list[PlanIndicator]]:
    """New task and indicator rows (no plan_id yet); task status and done_on carried over by key."""
    tasks = []
    for t in data.tasks:
        old = carried.get(t.key)
        tasks.append(PlanTask(
            key=t.key, title=t.title, owner_unit=t.owner_unit, due_on=t.due_on,
            status=old.status if old else rules.TaskStatus.OPEN.value, done_on=old.done_on if old else None,
        ))
    indicators = [
        PlanIndicator(
            key=i.key, name=i.name, unit=i.unit, target=i.target, source=i.source.value,
            benchmark_city=(i.benchmark.city or benchmark_city) if i.benchmark else None,
            benchmark_value=i.benchmark.value if i.benchmark else None,
        )
        for i in data.indicators
    ]
    return tasks, indicators


def _attach(plan_id: int, tasks: list[PlanTask], indicators: list[PlanIndicator]) -> None:
    for row in (*tasks, *indicators):
        row.plan_id = plan_id


def _lock_for_write(session: Session, ctx: Ctx, chain: str, year: int, *, action: str) -> tuple[PlanRepo, Chain]:
    """Role, year, chain (404) and chain scope (403); then the chain's plan writes are serialised."""
    ctx.actor.require(*WRITERS, action=action)
    _check_year(year)
    repo = PlanRepo(session)
    row = repo.lock_chain(chain)
    if row is None:
        raise d.NotFound(f"No chain '{chain}'.")
    ctx.actor.require_chain(chain, action=action)
    return repo, row


def put_plan(
    session: Session, *, ctx: Ctx, chain: str, year: int, data: PlanPut, if_match: int | None
) -> tuple[PlanView, bool]:
    """Create the chain-year's plan (→ created=True), replace its draft, or revise it once approved."""
    repo, chain_row = _lock_for_write(session, ctx, chain, year, action="write plans")
    benchmark_city = data.benchmark_city if data.benchmark_city is not None else chain_row.benchmark_city
    _check_body(data, year, benchmark_city)
    current = repo.current(chain, year)
    entity_id = plan_entity_id(chain, year)

    if current is None:
        if if_match is not None:
            raise d.StaleVersion(f"Chain '{chain}' has no plan for {year} yet: send the PUT without If-Match.")
        tasks, indicators = _build_parts(data, benchmark_city, {})
        plan = Plan(chain=chain, year=year, revision=1, status=PlanStatus.DRAFT.value, goals=data.goals,
                    benchmark_city=benchmark_city, created_at=ctx.now, updated_at=ctx.now)
        repo.add(plan)
        _attach(plan.id, tasks, indicators)  # type: ignore[arg-type]
        repo.replace_parts(plan.id, tasks, indicators)  # type: ignore[arg-type]
        audit(session, ctx, action="plan.created", entity="plan", entity_id=entity_id, before=None,
              after=_snapshot(plan, tasks, indicators))
        return PlanView(plan, tasks, indicators, plan.revision), True

    if current.status == PlanStatus.APPROVED and not data.revision_reason:
        raise d.InvalidInput.at(
            ["body", "revision_reason"],
            f"The {year} plan of chain '{chain}' is approved: a change makes a new revision and needs a "
            "revision_reason.",
        )
    check_version(current.version, if_match, required=True)
    old = repo.parts([current.id])[current.id]  # type: ignore[list-item]
    tasks, indicators = _build_parts(data, benchmark_city, {t.key: t for t in old.tasks})
    unchanged = _content(data.goals, benchmark_city, tasks, indicators) == _content(
        current.goals, current.benchmark_city, old.tasks, old.indicators
    )
    if unchanged:
        return PlanView(current, old.tasks, old.indicators, current.revision), False

    before = _snapshot(current, old.tasks, old.indicators)
    if current.status == PlanStatus.DRAFT:
        current.goals, current.benchmark_city = data.goals, benchmark_city
        current.version += 1
        current.updated_at = ctx.now
        _attach(current.id, tasks, indicators)  # type: ignore[arg-type]
        repo.replace_parts(current.id, tasks, indicators)  # type: ignore[arg-type]
        audit(session, ctx, action="plan.updated", entity="plan", entity_id=entity_id, before=before,
              after=_snapshot(current, tasks, indicators))
        return PlanView(current, tasks, indicators, current.revision), False

    plan = Plan(
        chain=chain, year=year, revision=current.revision + 1, status=PlanStatus.APPROVED.value, goals=data.goals,
        benchmark_city=benchmark_city, revision_reason=data.revision_reason, approved_at=ctx.now,
        version=current.version + 1, created_at=ctx.now, updated_at=ctx.now,
    )
    repo.add(plan)
    _attach(plan.id, tasks, indicators)  # type: ignore[arg-type]
    repo.replace_parts(plan.id, tasks, indicators)  # type: ignore[arg-type]
    audit(session, ctx, action="plan.revised", entity="plan", entity_id=entity_id, before=before,
          after=_snapshot(plan, tasks, indicators))
    plan.audit_tree_head = report_head(session, ctx)  # an approved revision: the signed head of its moment
    session.flush()
    return PlanView(plan, tasks, indicators, plan.revision), False


def approve_plan(session: Session, *, ctx: Ctx, chain: str, year: int, if_match: int | None) -> PlanView:
    ctx.actor.require(Role.ADMIN, action="approve plans")
    repo, _ = _lock_for_write(session, ctx, chain, year, action="approve plans")
    plan = repo.current(chain, year)
    if plan is None:
        raise _no_plan(chain, year)
    check_version(plan.version, if_match, required=False)
    if plan.status == PlanStatus.APPROVED:
        raise d.Conflict(f"The {year} plan of chain '{chain}' is already approved (revision {plan.revision}); "
                         "change it with a PUT and a revision_reason.")
    before = {"status": plan.status, "approved_at": None}
    plan.status, plan.approved_at = PlanStatus.APPROVED.value, ctx.now
    plan.version += 1
    plan.updated_at = ctx.now
    session.flush()
    audit(session, ctx, action="plan.approved", entity="plan", entity_id=plan_entity_id(chain, year),
          before=before, after={"status": plan.status, "approved_at": jsonable(plan.approved_at)},
          extra={"revision": plan.revision})
    plan.audit_tree_head = report_head(session, ctx)  # the signed head of the moment it was approved (SPEC §6)
    session.flush()
    return _view(session, plan, plan.revision)


def update_task(
    session: Session, *, ctx: Ctx, chain: str, year: int, key: str, data: TaskUpdate, if_match: int | None
) -> PlanView:
    """Mark a task of the current revision done (``done_on`` defaults to today) or open again."""
    repo, _ = _lock_for_write(session, ctx, chain, year, action="update plan tasks")
    plan = repo.current(chain, year)
    if plan is None:
        raise _no_plan(chain, year)
    check_version(plan.version, if_match, required=True)
    task = repo.task(plan.id, key)  # type: ignore[arg-type]
    if task is None:
        raise d.NotFound(f"The {year} plan of chain '{chain}' has no task '{key}'.")
    changes = data.model_dump(exclude_unset=True)
    if "status" in changes and changes["status"] is None:
        raise d.InvalidInput.at(["body", "status"], "'status' cannot be null.")
    status = rules.TaskStatus(changes.get("status") or task.status)
    done_on = changes.get("done_on")
    if status is rules.TaskStatus.OPEN:
        if done_on is not None:
            raise d.InvalidInput.at(["body", "done_on"], "An open task has no done_on; send status 'done' with it.")
    elif done_on is None:
        # Marked done without a date: keep the date it was done on, else today.
        done_on = task.done_on if task.status == rules.TaskStatus.DONE and task.done_on else ctx.today
    if done_on is not None and done_on > ctx.today:
        raise d.InvalidInput.at(["body", "done_on"], f"done_on {done_on.isoformat()} is in the future.")
    before = {"status": task.status, "done_on": task.done_on}
    task.status, task.done_on = status.value, done_on
    after = {"status": task.status, "done_on": task.done_on}
    if after != before:
        plan.version += 1
        plan.updated_at = ctx.now
        session.flush()
        audit(session, ctx, action="plan.task_updated", entity="plan", entity_id=plan_entity_id(chain, year),
              before=before, after=after, extra={"task": key, "revision": plan.revision})
    return _view(session, plan, plan.revision)


def record_actual(
    session: Session, *, ctx: Ctx, chain: str, year: int, key: str, data: ActualCreate
) -> tuple[PlanActual, bool]:
    """Record a manual indicator's amount for a month (→ created=True), or replace that month's amount."""
    repo, _ = _lock_for_write(session, ctx, chain, year, action="record plan actuals")
    plan = repo.current(chain, year)
    if plan is None:
        raise _no_plan(chain, year)
    indicator = repo.indicator(plan.id, key)  # type: ignore[arg-type]
    if indicator is None:
        raise d.NotFound(f"The {year} plan of chain '{chain}' has no indicator '{key}'.")
    if indicator.source != IndicatorSource.MANUAL:
        raise d.Conflict(f"Indicator '{key}' is computed by the service from '{indicator.source}'; "
                         "only manual indicators take actuals.", source=indicator.source)
    period_year, month = (int(x) for x in data.period.split("-"))
    if period_year != year:
        raise d.InvalidInput.at(["body", "period"], f"{data.period} is not a month of the plan year {year}.")
    if date(period_year, month, 1) > ctx.today:
        raise d.InvalidInput.at(["body", "period"], f"{data.period} has not begun yet (today is {ctx.today}).")
    entity_id = f"{chain}/{year}/{key}/{data.period}"
    row = repo.actual(chain, year, key, data.period)
    if row is None:
        row = PlanActual(chain=chain, year=year, indicator_key=key, period=data.period, value=data.value,
                         created_at=ctx.now, updated_at=ctx.now)
        repo.add(row)
        audit(session, ctx, action="plan_actual.created", entity="plan_actual", entity_id=entity_id, before=None,
              after={"value": row.value}, extra={"revision": plan.revision})
        return row, True
    if row.value != data.value:
        before = {"value": row.value}
        row.value = data.value
        row.version += 1
        row.updated_at = ctx.now
        session.flush()
        audit(session, ctx, action="plan_actual.updated", entity="plan_actual", entity_id=entity_id,
              before=before, after={"value": row.value}, extra={"revision": plan.revision})
    return row, False
