"""The ledger's queries (SPEC §3): the four lists of a period, their counts and sums, the summary.

Hot read path: Core selects of the needed columns only, no ORM objects. Every query reads a ``source``
shaped like ``project`` (the table itself, or ``ProjectHistory.projects_as_of(at)`` for ``as_of``).
Amounts are summed in SQL as exact integer hundredths (the ``Money`` storage) and typed back as ``Money``.

Every value is a named bind parameter (``p_start``, ``p_end``, ``p_limit``, the filter's ``f_*``), so a statement's
text depends only on its shape: every statement runs on the session's own connection, inside its transaction
(``session_reader``, service/db/raw.py) — a month's ledger is five statements, and SQLAlchemy's per-statement
execution cost more than the aggregates' SQL. On the live table each shape is compiled once; an ``as_of`` source
carries its moment as a constant of the subquery, so its statements are compiled for the call.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator, Sequence
from datetime import date
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    FromClause,
    Integer,
    Row,
    Select,
    bindparam,
    case,
    func,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.orm import Session

from service.db.projects import apply_project_filter, filter_values, statement_shape
from service.db.raw import session_reader
from service.db.tables import Chain, District, Project
from service.db.types import Money
from service.domain import project_fields as pf
from service.domain.queries import ProjectFilter
from service.domain.stages import LISTS, MAJOR_THRESHOLD, Stage

#: A ledger item's columns, in the order of its document (``LedgerItem``): ``major`` is computed, ``on`` is the
#: list's milestone date, the rest are ``project``'s columns of those names.
ITEM_KEYS = (*(f.name for f in pf.ITEM), "on")
#: What an export row carries besides the item (``stream_items``; never the JSON items): the other exported fields,
#: every milestone date of the project and its cancellation date among them, so that a row of any period's export
#: stands on its own (SPEC §3).
EXPORT_DATE_COLUMNS = tuple(f.name for f in pf.EXPORTED if f.name not in ITEM_KEYS)
#: ``by`` of the summary → the reference table whose codes make its rows.
GROUPS = {"chain": Chain.__table__, "district": District.__table__}


def milestone(source: FromClause, lst: Stage) -> ColumnElement[date]:
    return source.c[f"{lst.value}_on"]


def _between(column: ColumnElement[date], start: date, end: date) -> ColumnElement[bool]:
    return column.between(bindparam("p_start", start), bindparam("p_end", end))


class LedgerQueries:
    def __init__(self, session: Session, source: FromClause | None = None):
        self.session = session
        self.source = Project.__table__ if source is None else source
        self._compiled = source is None  # the live table: compiled once per shape (see the module's docstring)

    def _all(self, key: Hashable, build: Callable[[], Select[Any]], f: ProjectFilter, *, as_json: bool = False,
             **values: Any) -> Sequence[Any]:
        """The rows of ``build()`` as records typed like Core rows, or with ``as_json`` as dicts of JSON values
        (``Reader.json``); ``key`` + the filter's shape name its statement, ``values`` its parameters besides the
        filter's."""
        values.update(filter_values(f))
        r = session_reader(self.session)
        shape = statement_shape(key, f, values) if self._compiled else None
        return (r.json if as_json else r.all)(shape, build, **values)

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
            hit = _between(milestone(self.source, lst), start, end)
            out.append(func.sum(case((hit, 1), else_=0)).label(f"{lst.value}_count"))
            out.append(type_coerce(func.sum(case((hit, cents), else_=0)), Money).label(f"{lst.value}_investment"))
        return out

    def _in_period(self, start: date, end: date) -> ColumnElement[bool]:
        return or_(*(_between(milestone(self.source, lst), start, end) for lst in LISTS))

    def totals(self, f: ProjectFilter, start: date, end: date) -> Row[Any]:
        """One row: count and investment of each list."""

        def build() -> Select[Any]:
            stmt = select(*self._aggregates(start, end)).where(self._in_period(start, end))
            return apply_project_filter(stmt, f, table=self.source.c)

        (row,) = self._all("ledger.totals", build, f, p_start=start, p_end=end)
        return row

    def summary(self, by: str, f: ProjectFilter, start: date, end: date) -> Sequence[Row[Any]]:
        """One row per chain (or district) of the reference data, ordered by code: ``code``, ``name`` and the
        aggregates of ``totals`` from one grouped aggregate (NULL for codes without projects in the period)."""

        def build() -> Select[Any]:
            group = self.source.c[by]
            agg = apply_project_filter(
                select(group.label("code"), *self._aggregates(start, end)).where(self._in_period(start, end)),
                f, table=self.source.c,
            ).group_by(group).subquery("agg")
            ref = GROUPS[by]
            return (select(ref.c.code, ref.c.name, *(c for c in agg.c if c.name != "code"))
                    .select_from(ref.outerjoin(agg, agg.c.code == ref.c.code))
                    .order_by(ref.c.code))

        return self._all(("ledger.summary", by), build, f, p_start=start, p_end=end)

    def _items(self, lst: Stage, f: ProjectFilter, start: date, end: date,
               extra: Sequence[str] = ()) -> Select[Any]:
        c, on = self.source.c, milestone(self.source, lst)
        computed = {"major": (c.planned_investment >= MAJOR_THRESHOLD).label("major"), "on": on.label("on")}
        stmt = select(*(computed.get(key, c.get(key)) for key in ITEM_KEYS), *(c[key] for key in extra))
        stmt = stmt.where(_between(on, start, end))
        # Milestone-date order, then id: the (X_on, id) index ix_project_<list>_on serves it.
        return apply_project_filter(stmt, f, table=c).order_by(on, c.id)

    def items(self, lst: Stage, f: ProjectFilter, start: date, end: date, *, limit: int,
              as_json: bool = False) -> Sequence[Any]:
        """The first ``limit`` items of the list; with ``as_json`` each the API's item document (its keys are the
        columns' keys)."""
        def build() -> Select[Any]:
            return self._items(lst, f, start, end).limit(bindparam("p_limit", limit, type_=Integer))

        return self._all(("ledger.items", lst.value), build, f, as_json=as_json, p_start=start, p_end=end,
                         p_limit=limit)

    def stream_items(
        self, lst: Stage, f: ProjectFilter, start: date, end: date, *, batch: int = 2000
    ) -> Iterator[Row[Any]]:
        """Every item of the list with ``EXPORT_DATE_COLUMNS`` besides (for the exports), fetched ``batch`` rows at a
        time (a server-side cursor on PostgreSQL)."""
        stmt = self._items(lst, f, start, end, EXPORT_DATE_COLUMNS)
        result = self.session.execute(stmt.execution_options(yield_per=batch))
        yield from result
