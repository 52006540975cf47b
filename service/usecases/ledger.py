"""The four-lists ledger (四张清单台帐) of a period: lists with counts and sums, the summary, the export rows."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Row
from sqlalchemy.orm import Session

from service.db.history import ProjectHistory
from service.db.ledger import LedgerQueries
from service.domain.periods import Period
from service.domain.queries import ProjectFilter
from service.domain.stages import LISTS, Stage
from service.usecases.history import check_as_of


@dataclass(frozen=True, slots=True)
class Tally:
    count: int
    investment: Decimal


@dataclass(frozen=True, slots=True)
class LedgerList:
    tally: Tally
    #: At most ``limit`` items: records of ``ITEM_KEYS`` (service/db/ledger.py) — or, read ``as_json``, the API's
    #: item documents, which have those keys.
    items: Sequence[Any]
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


def _queries(session: Session, as_of: datetime | None, now: datetime | None) -> LedgerQueries:
    """The ledger read from the live table, or from the version history as the ledger knew it at ``as_of``."""
    if as_of is None:
        return LedgerQueries(session)
    check_as_of(session, as_of=as_of, now=now or as_of)
    return LedgerQueries(session, ProjectHistory.projects_as_of(as_of))


def read_ledger(
    session: Session, *, period: Period, f: ProjectFilter, limit: int, as_of: datetime | None = None,
    now: datetime | None = None, as_json: bool = False,
) -> dict[Stage, LedgerList]:
    """Each list of ``period``: count and sum over every project, the first ``limit`` items by date (typed
    records, or with ``as_json`` the API's item documents, straight from the driver's values)."""
    q = _queries(session, as_of, now)
    q.snapshot()
    totals = tallies(q.totals(f, period.start, period.end))
    out = {}
    for lst in LISTS:
        tally = totals[lst]
        items = q.items(lst, f, period.start, period.end, limit=limit, as_json=as_json) if tally.count else ()
        out[lst] = LedgerList(tally=tally, items=items, truncated=tally.count > limit)
    return out


def summarize_ledger(
    session: Session, *, period: Period, by: str, f: ProjectFilter, as_of: datetime | None = None,
    now: datetime | None = None,
) -> tuple[list[SummaryRow], dict[Stage, Tally]]:
    """One row per chain or district (every one of the reference data, zeros included) and the totals.

    The rows come from one grouped SQL aggregate; the totals add up those few rows, not projects.
    """
    q = _queries(session, as_of, now)
    rows = [SummaryRow(code=r.code, name=r.name, lists=tallies(r)) for r in q.summary(by, f, period.start, period.end)]
    totals = {
        lst: Tally(sum(r.lists[lst].count for r in rows), sum((r.lists[lst].investment for r in rows), ZERO))
        for lst in LISTS
    }
    return rows, totals


def iter_ledger(
    session: Session, *, period: Period, f: ProjectFilter, as_of: datetime | None = None, now: datetime | None = None
) -> Iterator[tuple[Stage, Iterator[Row[Any]]]]:
    """Each list with every one of its items (no limit), in milestone-date order, for exports.

    Lazy: a list's rows are fetched in batches while its iterator is consumed (one list after the other). ``as_of``
    is checked at the call, not at the first item: a streamed export has sent its 200 by then, and a 422 raised
    inside the stream would break the response instead of answering it."""
    q = _queries(session, as_of, now)
    q.snapshot()
    return ((lst, q.stream_items(lst, f, period.start, period.end)) for lst in LISTS)
