"""The four-lists ledger (四张清单台帐) of a period: lists with counts and sums, the summary, the export rows."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Row
from sqlalchemy.orm import Session

from service.db.ledger import LedgerQueries
from service.db.repositories import ProjectFilter
from service.domain.periods import Period
from service.domain.stages import LISTS, Stage


@dataclass(frozen=True, slots=True)
class Tally:
    count: int
    investment: Decimal


@dataclass(frozen=True, slots=True)
class LedgerList:
    tally: Tally
    items: Sequence[Row[Any]]  # at most ``limit`` rows: ITEM_COLUMNS, ``major``, ``on``
    truncated: bool


@dataclass(frozen=True, slots=True)
class SummaryRow:
    code: str
    name: str
    lists: dict[Stage, Tally]


ZERO = Decimal("0.00")


def tallies(row: Row[Any]) -> dict[Stage, Tally]:
    """The four ``<list>_count`` / ``<list>_investment`` pairs of an aggregate row (NULL meaning none)."""
    m = row._mapping
    return {lst: Tally(int(m[f"{lst.value}_count"] or 0), m[f"{lst.value}_investment"] or ZERO) for lst in LISTS}


def read_ledger(session: Session, *, period: Period, f: ProjectFilter, limit: int) -> dict[Stage, LedgerList]:
    """Each list of ``period``: count and sum over every project, the first ``limit`` items by date."""
    q = LedgerQueries(session)
    q.snapshot()
    totals = tallies(q.totals(f, period.start, period.end))
    out = {}
    for lst in LISTS:
        tally = totals[lst]
        items = q.items(lst, f, period.start, period.end, limit=limit) if tally.count else ()
        out[lst] = LedgerList(tally=tally, items=items, truncated=tally.count > limit)
    return out


def summarize_ledger(
    session: Session, *, period: Period, by: str, f: ProjectFilter
) -> tuple[list[SummaryRow], dict[Stage, Tally]]:
    """One row per chain or district (every one of the reference data, zeros included) and the totals.

    The rows come from one grouped SQL aggregate; the totals add up those few rows, not projects.
    """
    q = LedgerQueries(session)
    rows = [SummaryRow(code=r.code, name=r.name, lists=tallies(r)) for r in q.summary(by, f, period.start, period.end)]
    totals = {
        lst: Tally(sum(r.lists[lst].count for r in rows), sum((r.lists[lst].investment for r in rows), ZERO))
        for lst in LISTS
    }
    return rows, totals


def iter_ledger(session: Session, *, period: Period, f: ProjectFilter) -> Iterator[tuple[Stage, Iterator[Row[Any]]]]:
    """Each list with every one of its items (no limit), in milestone-date order, for exports.

    Lazy: a list's rows are fetched in batches while its iterator is consumed (one list after the other)."""
    q = LedgerQueries(session)
    q.snapshot()
    for lst in LISTS:
        yield lst, q.stream_items(lst, f, period.start, period.end)
