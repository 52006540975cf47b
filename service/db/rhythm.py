"""Queries of the tracking rhythm (SPEC §4): calendar overrides, dispatches, inspections, problems, appraisals,
what the schedule counts as done, and the appraisal's inputs as per-chain SQL aggregates.

Repositories ``flush()``; the request's session commits. Lists select columns with Core where ORM objects are
not needed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Row, and_, case, delete, func, literal, select
from sqlalchemy.orm import Session

from service.db.tables import (
    Appraisal,
    CalendarOverride,
    Chain,
    Dispatch,
    DispatchEntry,
    Inspection,
    Problem,
    Project,
)
from service.db.types import UTCDateTime
from service.domain.problems import SETTLED
from service.domain.queries import ProblemFilter

SUBMITTED = "submitted"


def chain_codes(session: Session, chain: str | None = None) -> list[tuple[str, str]]:
    """``(code, name)`` of every chain (or of ``chain`` alone, when it exists), ordered by code."""
    stmt = select(Chain.code, Chain.name).order_by(Chain.code)
    if chain is not None:
        stmt = stmt.where(Chain.code == chain)
    return [(r.code, r.name) for r in session.execute(stmt)]


def lock_chain(session: Session, code: str) -> Chain | None:
    """The chain row, locked until the transaction ends so that the rhythm writes of one chain queue up.

    ``FOR NO KEY UPDATE`` on PostgreSQL: it does not block the key-share locks that inserts referencing the chain
    take (a project created meanwhile does not wait). SQLite's write transaction is exclusive already."""
    return session.scalar(select(Chain).where(Chain.code == code).with_for_update(key_share=True))


# ---------------------------------------------------------------- calendar


class CalendarRepo:
    def __init__(self, session: Session):
        self.session = session

    def get(self, year: int, *, for_update: bool = False) -> CalendarOverride | None:
        return self.session.get(CalendarOverride, year, with_for_update=for_update or None)

    def all(self) -> list[CalendarOverride]:
        return list(self.session.scalars(select(CalendarOverride).order_by(CalendarOverride.year)))

    def add(self, row: CalendarOverride) -> None:
        self.session.add(row)
        self.session.flush()


# ---------------------------------------------------------------- projects of a chain


class ChainProjects:
    """The chain, voided flag and stage of a set of projects, in one query (for entry validation)."""

    def __init__(self, session: Session):
        self.session = session

    def by_id(self, ids: Iterable[str]) -> dict[str, Row[Any]]:
        wanted = sorted(set(ids))
        if not wanted:
            return {}
        rows = self.session.execute(
            select(Project.id, Project.chain, Project.voided_at, Project.stage).where(Project.id.in_(wanted))
        ).all()
        return {r.id: r for r in rows}


# ---------------------------------------------------------------- dispatches


class DispatchRepo:
    def __init__(self, session: Session):
        self.session = session

    def get(self, chain: str, period: str, *, for_update: bool = False) -> Dispatch | None:
        stmt = select(Dispatch).where(Dispatch.chain == chain, Dispatch.period == period)
        if for_update:
            stmt = stmt.with_for_update()
        return self.session.scalar(stmt)

    def add(self, row: Dispatch) -> None:
        self.session.add(row)
        self.session.flush()

    def entries(self, dispatch_id: int) -> list[DispatchEntry]:
        return list(
            self.session.scalars(
                select(DispatchEntry).where(DispatchEntry.dispatch_id == dispatch_id).order_by(DispatchEntry.id)
            )
        )

    def replace_entries(self, dispatch_id: int, entries: Sequence[DispatchEntry]) -> None:
        self.session.execute(delete(DispatchEntry).where(DispatchEntry.dispatch_id == dispatch_id))
        self.session.add_all(entries)
        self.session.flush()

    def submitted(self, periods: Sequence[str], chain: str | None = None) -> list[Row[Any]]:
        """``chain, period, submitted_at`` of the submitted dispatches of ``periods``."""
        stmt = select(Dispatch.chain, Dispatch.period, Dispatch.submitted_at).where(
            Dispatch.period.in_(list(periods)), Dispatch.status == SUBMITTED
        )
        if chain is not None:
            stmt = stmt.where(Dispatch.chain == chain)
        return list(self.session.execute(stmt))


# ---------------------------------------------------------------- inspections


class InspectionRepo:
    def __init__(self, session: Session):
        self.session = session

    def get(self, chain: str, period: str, *, for_update: bool = False) -> Inspection | None:
        stmt = select(Inspection).where(Inspection.chain == chain, Inspection.period == period)
        if for_update:
            stmt = stmt.with_for_update()
        return self.session.scalar(stmt)

    def add(self, row: Inspection) -> None:
        self.session.add(row)
        self.session.flush()

    def held(self, periods: Sequence[str], chain: str | None = None) -> list[Row[Any]]:
        """``chain, period, held_on, score`` of the recorded inspections of ``periods``."""
        stmt = select(Inspection.chain, Inspection.period, Inspection.held_on, Inspection.score).where(
            Inspection.period.in_(list(periods))
        )
        if chain is not None:
            stmt = stmt.where(Inspection.chain == chain)
        return list(self.session.execute(stmt))


# ---------------------------------------------------------------- problems


class ProblemRepo:
    def __init__(self, session: Session):
        self.session = session

    def get(self, problem_id: str, *, for_update: bool = False) -> Problem | None:
        return self.session.get(Problem, problem_id, with_for_update=for_update or None)

    def add(self, row: Problem) -> None:
        self.session.add(row)
        self.session.flush()

    @staticmethod
    def overdue_condition(today: date):  # noqa: ANN205
        return and_(Problem.status.not_in([s.value for s in SETTLED]), Problem.due_on < today)

    def page(self, f: ProblemFilter, *, today: date, after: str | None, limit: int) -> list[Problem]:
        """Ordered by id (creation order: ids are ULIDs), so pages never skip or repeat rows."""
        stmt = select(Problem).order_by(Problem.id).limit(limit)
        if f.chain:
            stmt = stmt.where(Problem.chain == f.chain)
        if f.status:
            stmt = stmt.where(Problem.status == f.status)
        if f.project_id:
            stmt = stmt.where(Problem.project_id == f.project_id)
        if f.overdue is True:
            stmt = stmt.where(self.overdue_condition(today))
        elif f.overdue is False:
            stmt = stmt.where(~self.overdue_condition(today))
        if after is not None:
            stmt = stmt.where(Problem.id > after)
        return list(self.session.scalars(stmt))


# ---------------------------------------------------------------- appraisals


class AppraisalRepo:
    def __init__(self, session: Session):
        self.session = session

    def get(self, year: int, *, for_update: bool = False) -> Appraisal | None:
        return self.session.get(Appraisal, year, with_for_update=for_update or None)

    def add(self, row: Appraisal) -> None:
        self.session.add(row)
        self.session.flush()

    def published_at(self, year: int) -> datetime | None:
        return self.session.scalar(
            select(Appraisal.published_at).where(Appraisal.year == year, Appraisal.status == "published")
        )


class AppraisalInputQueries:
    """What each chain did in a year, as grouped SQL aggregates (one query per component, never per chain)."""

    def __init__(self, session: Session):
        self.session = session

    def dispatch_on_time(self, cutoffs: Mapping[str, datetime]) -> dict[str, int]:
        """Per chain: submitted dispatches of the periods in ``cutoffs`` submitted before their period's cutoff
        (the first instant after the due date, in UTC)."""
        if not cutoffs:
            return {}
        cutoff = case(
            {period: literal(at, UTCDateTime()) for period, at in cutoffs.items()}, value=Dispatch.period
        )
        rows = self.session.execute(
            select(Dispatch.chain, func.count().label("n"))
            .where(
                Dispatch.period.in_(list(cutoffs)),
                Dispatch.status == SUBMITTED,
                Dispatch.submitted_at.is_not(None),
                Dispatch.submitted_at < cutoff,
            )
            .group_by(Dispatch.chain)
        )
        return {r.chain: int(r.n) for r in rows}

    def problems(self, start: date, end: date) -> dict[str, tuple[int, int]]:
        """Per chain: ``(problems due in [start, end], of those resolved on or before their due date)``."""
        on_time = and_(Problem.resolved_on.is_not(None), Problem.resolved_on <= Problem.due_on)
        rows = self.session.execute(
            select(
                Problem.chain,
                func.count().label("due"),
                func.coalesce(func.sum(case((on_time, 1), else_=0)), 0).label("on_time"),
            )
            .where(Problem.due_on.between(start, end))
            .group_by(Problem.chain)
        )
        return {r.chain: (int(r.due), int(r.on_time)) for r in rows}

    def inspection_scores(self, periods: Mapping[str, int]) -> dict[str, dict[int, Any]]:
        """Per chain: quarter → score, for ``periods`` mapping ``"2026-Q1"`` → 1."""
        rows = self.session.execute(
            select(Inspection.chain, Inspection.period, Inspection.score).where(
                Inspection.period.in_(list(periods))
            )
        )
        out: dict[str, dict[int, Any]] = {}
        for r in rows:
            out.setdefault(r.chain, {})[periods[r.period]] = r.score
        return out
