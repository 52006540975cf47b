"""The ledger's queries (SPEC §3): the four lists of a period, their counts and sums, the summary.

Hot read path: Core selects of the needed columns only, no ORM objects. Every query reads a ``source``
shaped like ``project`` (the table itself, or ``ProjectHistory.projects_as_of(at)`` for ``as_of``).
Amounts are summed in SQL as exact integer hundredths (the ``Money`` storage) and typed back as ``Money``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    FromClause,
    Row,
    Select,
    case,
    func,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.orm import Session

from service.db.repositories import ProjectFilter, apply_project_filter
from service.db.tables import Chain, District, Project
from service.db.types import Money
from service.domain.stages import LISTS, MAJOR_THRESHOLD, Stage

ITEM_COLUMNS = ("id", "external_ref", "name", "chain", "district", "investor", "planned_investment", "is_key",
                "stage")
#: ``by`` of the summary → the reference table whose codes make its rows.
GROUPS = {"chain": Chain.__table__, "district": District.__table__}


def milestone(source: FromClause, lst: Stage) -> ColumnElement[date]:
    return source.c[f"{lst.value}_on"]


class LedgerQueries:
    def __init__(self, session: Session, source: FromClause | None = None):
        self.session = session
        self.source = Project.__table__ if source is None else source

    def snapshot(self) -> None:
        """On PostgreSQL, read the whole report from one snapshot (REPEATABLE READ), so counts, sums and
        items agree however others write meanwhile. SQLite's read transaction is one snapshot already."""
        session = self.session
        if session.get_bind().dialect.name == "postgresql" and not session.in_transaction():
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})

    def _aggregates(self, start: date, end: date) -> list[ColumnElement[Any]]:
        """``<list>_count`` and ``<list>_investment`` of every list, by conditional aggregation
        (NULL when no project matches at all)."""
        cents = type_coerce(self.source.c.planned_investment, BigInteger)
        out: list[ColumnElement[Any]] = []
        for lst in LISTS:
            hit = milestone(self.source, lst).between(start, end)
            out.append(func.sum(case((hit, 1), else_=0)).label(f"{lst.value}_count"))
            out.append(type_coerce(func.sum(case((hit, cents), else_=0)), Money).label(f"{lst.value}_investment"))
        return out

    def _in_period(self, start: date, end: date) -> ColumnElement[bool]:
        return or_(*(milestone(self.source, lst).between(start, end) for lst in LISTS))

    def totals(self, f: ProjectFilter, start: date, end: date) -> Row[Any]:
        """One row: count and investment of each list."""
        stmt = select(*self._aggregates(start, end)).where(self._in_period(start, end))
        return self.session.execute(apply_project_filter(stmt, f, table=self.source.c)).one()

    def summary(self, by: str, f: ProjectFilter, start: date, end: date) -> Sequence[Row[Any]]:
        """One row per chain (or district) of the reference data, ordered by code: ``code``, ``name`` and the
        aggregates of ``totals`` from one grouped aggregate (NULL for codes without projects in the period)."""
        group = self.source.c[by]
        agg = apply_project_filter(
            select(group.label("code"), *self._aggregates(start, end)).where(self._in_period(start, end)),
            f, table=self.source.c,
        ).group_by(group).subquery("agg")
        ref = GROUPS[by]
        stmt = (select(ref.c.code, ref.c.name, *(c for c in agg.c if c.name != "code"))
                .select_from(ref.outerjoin(agg, agg.c.code == ref.c.code))
                .order_by(ref.c.code))
        return self.session.execute(stmt).all()

    def _items(self, lst: Stage, f: ProjectFilter, start: date, end: date) -> Select[Any]:
        c, on = self.source.c, milestone(self.source, lst)
        major = (c.planned_investment >= MAJOR_THRESHOLD).label("major")
        stmt = select(*(c[name] for name in ITEM_COLUMNS), major, on.label("on")).where(on.between(start, end))
        # Milestone-date order, then id: the (X_on, id) index ix_project_<list>_on serves it.
        return apply_project_filter(stmt, f, table=c).order_by(on, c.id)

    def items(self, lst: Stage, f: ProjectFilter, start: date, end: date, *, limit: int) -> Sequence[Row[Any]]:
        return self.session.execute(self._items(lst, f, start, end).limit(limit)).all()

    def stream_items(
        self, lst: Stage, f: ProjectFilter, start: date, end: date, *, batch: int = 2000
    ) -> Iterator[Row[Any]]:
        """Every item of the list, fetched ``batch`` rows at a time (a server-side cursor on PostgreSQL)."""
        result = self.session.execute(self._items(lst, f, start, end).execution_options(yield_per=batch))
        yield from result
