"""The early-warning query (预警, SPEC §3): one SQL statement, a UNION ALL of one SELECT per rule, keyset-paged.

Rules (``rank`` orders them):

1. ``idle_signed`` — stage ``signed`` with ``signed_on`` before ``today − signed_days``;
2. ``idle_started`` — stage ``started`` with ``started_on`` before ``today − started_days``;
3. ``idle_in_production`` — stage ``in_production`` with ``in_production_on`` before ``today − in_production_days``;
4. ``no_dispatch`` — a project still being built or ramped up (``signed``, ``started``, ``in_production``) with
   no figure in any submitted dispatch since before the window of the last ``months`` completed months, and
   signed by the end of the window's first month (so it was due a figure in every window month).

Voided projects never warn; cancelled and at-capacity projects are not idle.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Date, Row, String, and_, func, literal_column, null, or_, select, type_coerce, union_all
from sqlalchemy.orm import Session

from service.db.tables import Dispatch, DispatchEntry, Project
from service.domain.stages import Stage

#: rule → (rank, stage, milestone column) of the three idle rules.
IDLE_RULES: dict[str, tuple[int, Stage, str]] = {
    "idle_signed": (1, Stage.SIGNED, "signed_on"),
    "idle_started": (2, Stage.STARTED, "started_on"),
    "idle_in_production": (3, Stage.IN_PRODUCTION, "in_production_on"),
}
NO_DISPATCH = "no_dispatch"
NO_DISPATCH_RANK = 4
RULE_OF_RANK = {**{rank: rule for rule, (rank, _, _) in IDLE_RULES.items()}, NO_DISPATCH_RANK: NO_DISPATCH}
DISPATCHED_STAGES = (Stage.SIGNED.value, Stage.STARTED.value, Stage.IN_PRODUCTION.value)


@dataclass(frozen=True, slots=True)
class WarningQuery:
    today: date
    idle_before: dict[str, date]  # rule → milestone dates before this one are idle past the threshold
    window_first_period: str  # "2026-09": the first of the completed months without a figure
    window_first_end: date  # its last day: projects signed later were not due a figure in every window month
    chain: str | None = None
    district: str | None = None
    rules: frozenset[str] | None = None  # None: every rule


def _common(q: WarningQuery) -> list[Any]:
    conds: list[Any] = [Project.voided_at.is_(None)]
    if q.chain:
        conds.append(Project.chain == q.chain)
    if q.district:
        conds.append(Project.district == q.district)
    return conds


def _columns(rank: int, since: Any, last_period: Any) -> list[Any]:
    return [
        literal_column(str(rank)).label("rank"), Project.id, Project.name, Project.chain, Project.district,
        Project.stage, Project.is_key, type_coerce(since, Date).label("since"),
        type_coerce(last_period, String).label("last_period"),
    ]


def warning_page(session: Session, q: WarningQuery, *, after: tuple[int, str] | None, limit: int) -> Sequence[Row[Any]]:
    """Rows ``rank, id, name, chain, district, stage, is_key, since, last_period`` ordered by rank, then id.

    ``since`` is the idle milestone's date (idle rules) or the signing date (``no_dispatch``, whose
    ``last_period`` is the month of the latest figure, null when there never was one)."""
    branches = []
    for rule, (rank, stage, column) in IDLE_RULES.items():
        if q.rules is not None and rule not in q.rules:
            continue
        milestone = getattr(Project, column)
        branches.append(
            select(*_columns(rank, milestone, null())).where(
                *_common(q), Project.stage == stage.value, milestone < q.idle_before[rule]
            )
        )
    if q.rules is None or NO_DISPATCH in q.rules:
        last = (
            select(DispatchEntry.project_id, func.max(Dispatch.period).label("last_period"))
            .join(Dispatch, Dispatch.id == DispatchEntry.dispatch_id)
            .where(Dispatch.status == "submitted")
            .group_by(DispatchEntry.project_id)
            .subquery("last_figure")
        )
        branches.append(
            select(*_columns(NO_DISPATCH_RANK, Project.signed_on, last.c.last_period))
            .select_from(Project)
            .outerjoin(last, last.c.project_id == Project.id)
            .where(
                *_common(q),
                Project.stage.in_(DISPATCHED_STAGES),
                Project.signed_on <= q.window_first_end,
                or_(last.c.last_period.is_(None), last.c.last_period < q.window_first_period),
            )
        )
    if not branches:
        return []
    rows = union_all(*branches).subquery("warning") if len(branches) > 1 else branches[0].subquery("warning")
    stmt = select(rows).order_by(rows.c.rank, rows.c.id).limit(limit)
    if after is not None:
        rank, pid = after
        stmt = stmt.where(or_(rows.c.rank > rank, and_(rows.c.rank == rank, rows.c.id > pid)))
    return session.execute(stmt).all()
