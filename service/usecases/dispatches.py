"""Monthly dispatch (月调度, SPEC §4): one report per chain and month, editable until submitted, amended after.

Submitted figures feed each project's ``cumulative_investment``: a submit adds every entry's ``invested``; an
amendment of a submitted dispatch adds the difference per project (an entry removed counts as 0). Each project
that changes is its own audited entity (``project.investment_recorded``), in the dispatch's transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from service.db.rhythm import SUBMITTED, ChainProjects, DispatchRepo
from service.db.tables import Dispatch, DispatchEntry
from service.domain import errors as d
from service.domain.context import Ctx
from service.domain.periods import Period, PeriodKind
from service.domain.schedule import ItemKind, due_date, is_late
from service.schemas.rhythm import DispatchInput
from service.usecases.audit_tree import report_head
from service.usecases.calendar import working_calendar_of
from service.usecases.common import audit, check_version
from service.usecases.projects import add_investment
from service.usecases.reference import get_chain
from service.usecases.rhythm import (
    chain_for_write,
    check_chain_projects,
    check_version_or_absent,
    local,
    not_before_start,
    period_of,
)

DRAFT = "draft"
ZERO = Decimal("0.00")


@dataclass(frozen=True, slots=True)
class DispatchView:
    row: Dispatch
    entries: list[DispatchEntry]
    due_on: date
    late: bool | None


def entity_id(chain: str, period: Period | str) -> str:
    return f"{chain}/{period}"


def month_of(text: str) -> Period:
    return period_of(text, PeriodKind.MONTH)


def _view(session: Session, row: Dispatch, entries: list[DispatchEntry], tz: ZoneInfo) -> DispatchView:
    period = month_of(row.period)
    due = due_date(ItemKind.MONTHLY_DISPATCH, period, working_calendar_of(session)).due_on
    late = None if row.submitted_at is None else is_late(local(row.submitted_at, tz), due)
    return DispatchView(row=row, entries=entries, due_on=due, late=late)


def _entry_json(e: DispatchEntry) -> dict[str, Any]:
    return {"project_id": e.project_id, "invested": e.invested, "progress": e.progress,
            "problems": json.loads(e.problems)}


def _snapshot(row: Dispatch, entries: list[DispatchEntry]) -> dict[str, Any]:
    return {"status": row.status, "summary": row.summary, "submitted_at": row.submitted_at,
            "amendments": row.amendments, "entries": [_entry_json(e) for e in entries]}


def get_dispatch(session: Session, *, chain: str, period: str, tz: ZoneInfo) -> DispatchView:
    p = month_of(period)
    get_chain(session, code=chain)
    repo = DispatchRepo(session)
    row = repo.get(chain, str(p))
    if row is None:
        raise d.NotFound(f"Chain '{chain}' has no dispatch for {p}.")
    return _view(session, row, repo.entries(row.id), tz)  # type: ignore[arg-type]


def _figures(entries: list[DispatchEntry]) -> dict[str, Decimal]:
    return {e.project_id: e.invested for e in entries}


def _record_investment(
    session: Session, ctx: Ctx, *, row: Dispatch, old: dict[str, Decimal], new: dict[str, Decimal]
) -> None:
    """Apply new − old per project (sorted by id, so concurrent writers lock projects in one order)."""
    projects = ChainProjects(session).by_id([*old, *new])
    cause = {"dispatch": entity_id(row.chain, row.period)}
    for pid in sorted(set(old) | set(new)):
        delta = new.get(pid, ZERO) - old.get(pid, ZERO)
        if delta == 0 or projects[pid].voided_at is not None:
            continue  # a voided project counts nowhere: its figures are left as they were
        add_investment(session, ctx=ctx, project_id=pid, delta=delta, cause=cause)


def put_dispatch(
    session: Session, *, ctx: Ctx, chain: str, period: str, data: DispatchInput, if_match: int | None, tz: ZoneInfo
) -> tuple[DispatchView, bool]:
    """Create (``True``) or replace a chain's dispatch of a month. Replacing needs If-Match; replacing a
    submitted one is an amendment and needs ``amend_reason``."""
    p = month_of(period)
    chain_row = chain_for_write(session, ctx, chain, action="write dispatches")
    not_before_start(p, ctx.today, what="A dispatch")
    repo = DispatchRepo(session)
    row = repo.get(chain_row.code, str(p), for_update=True)
    check_version_or_absent(row.version if row else None, if_match, required=True)
    submitted = row is not None and row.status == SUBMITTED
    if submitted and not data.amend_reason:
        raise d.InvalidInput.at(
            ["body", "amend_reason"], f"The dispatch of {p} is submitted: a change is an amendment and needs "
            "'amend_reason'.",
        )
    if not submitted and data.amend_reason is not None:
        raise d.InvalidInput.at(
            ["body", "amend_reason"], "'amend_reason' is only for amending a submitted dispatch; this one is "
            + ("a draft." if row else "new."),
        )
    check_chain_projects(session, chain_row.code, [e.project_id for e in data.entries],
                         loc=lambda i: ["body", "entries", i, "project_id"], label="entries")
    created = row is None
    if row is None:
        row = Dispatch(chain=chain_row.code, period=str(p), status=DRAFT, summary=data.summary,
                       created_at=ctx.now, updated_at=ctx.now)
        repo.add(row)
        old_entries: list[DispatchEntry] = []
        before = None
    else:
        old_entries = repo.entries(row.id)  # type: ignore[arg-type]
        before = _snapshot(row, old_entries)
    new_entries = [
        DispatchEntry(dispatch_id=row.id, project_id=e.project_id, invested=e.invested, progress=e.progress,
                      problems=json.dumps(e.problems, ensure_ascii=False))
        for e in data.entries
    ]
    after_preview = {**_snapshot(row, new_entries), "summary": data.summary}
    if before is not None and after_preview == before:
        return _view(session, row, old_entries, tz), False  # nothing changed: nothing written
    row.summary = data.summary
    repo.replace_entries(row.id, new_entries)  # type: ignore[arg-type]
    if created:
        audit(session, ctx, action="dispatch.created", entity="dispatch", entity_id=entity_id(row.chain, p),
              before=None, after=_snapshot(row, new_entries))
        return _view(session, row, new_entries, tz), True
    if submitted:
        row.amendments += 1
    row.version += 1
    row.updated_at = ctx.now
    session.flush()
    audit(session, ctx, action="dispatch.amended" if submitted else "dispatch.updated", entity="dispatch",
          entity_id=entity_id(row.chain, p), before=before, after=_snapshot(row, new_entries),
          extra={"reason": data.amend_reason} if submitted else None)
    if submitted:
        _record_investment(session, ctx, row=row, old=_figures(old_entries), new=_figures(new_entries))
    return _view(session, row, new_entries, tz), False


def submit_dispatch(
    session: Session, *, ctx: Ctx, chain: str, period: str, if_match: int | None, tz: ZoneInfo
) -> DispatchView:
    """Submit a draft (from the month's first day on; a second submit → 409). Honours If-Match when sent."""
    p = month_of(period)
    chain_row = chain_for_write(session, ctx, chain, action="submit dispatches")
    not_before_start(p, ctx.today, what="Submitting a dispatch")
    repo = DispatchRepo(session)
    row = repo.get(chain_row.code, str(p), for_update=True)
    if row is None:
        raise d.NotFound(f"Chain '{chain_row.code}' has no dispatch for {p}; PUT it first.")
    check_version(row.version, if_match, required=False)
    if row.status == SUBMITTED:
        raise d.Conflict(
            f"The dispatch of {p} was already submitted at {row.submitted_at.isoformat()}; change it with a PUT "
            "and 'amend_reason'.",  # type: ignore[union-attr]
            submitted_at=row.submitted_at.isoformat(),  # type: ignore[union-attr]
        )
    entries = repo.entries(row.id)  # type: ignore[arg-type]
    before = _snapshot(row, entries)
    row.status, row.submitted_at = SUBMITTED, ctx.now
    row.version += 1
    row.updated_at = ctx.now
    session.flush()
    view = _view(session, row, entries, tz)
    audit(session, ctx, action="dispatch.submitted", entity="dispatch", entity_id=entity_id(row.chain, p),
          before=before, after=_snapshot(row, entries), extra={"late": view.late, "due_on": view.due_on})
    _record_investment(session, ctx, row=row, old={}, new=_figures(entries))
    row.audit_tree_head = report_head(session, ctx)  # after every event of the submission (SPEC §6)
    session.flush()
    return view
