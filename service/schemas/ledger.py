"""The ledger as JSON (LedgerRead, LedgerSummaryRead) and as zh-CN tables for CSV/XLSX exports."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date
from decimal import Decimal
from enum import StrEnum
from operator import attrgetter
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, create_model

from service.domain import project_fields as pf
from service.domain.periods import Period
from service.domain.stages import LABELS_ZH, LISTS, Stage
from service.schemas.common import amount_text
from service.schemas.projects import read_field

if TYPE_CHECKING:
    from service.usecases.ledger import LedgerList, SummaryRow, Tally

#: A sum of amounts in 万元, served like every amount as a string with two decimals.
Total = Annotated[Decimal, PlainSerializer(amount_text, return_type=str, when_used="json"),
                  Field(examples=["12500.00"])]


class LedgerFormat(StrEnum):
    JSON = "json"
    CSV = "csv"
    XLSX = "xlsx"


class SummaryBy(StrEnum):
    CHAIN = "chain"
    DISTRICT = "district"


#: A project on a list: the fields of its one definition an item shows (``project_fields.ITEM``) and the list's date.
LedgerItem = create_model(
    "LedgerItem", __module__=__name__,
    **{f.name: read_field(f) for f in pf.ITEM} | {"stage": (Stage, Field(
        description="The project's current stage; `cancelled` projects stay on the lists they reached."))},
    on=(date, Field(description="The project's milestone date of this list.")),
)


class ListTally(BaseModel):
    count: int
    investment: Total = Field(description="Sum of `planned_investment` (万元).")


class LedgerListRead(ListTally):
    projects: list[LedgerItem] = Field(description="At most `limit` items, in milestone-date order (then id).")
    truncated: bool = Field(description="More projects are on the list than `projects` holds; "
                            "`count` and `investment` always cover all of them.")


class _Period(BaseModel):
    model_config = ConfigDict(serialize_by_alias=True, validate_by_name=True)

    period: str = Field(examples=["2026-Q2"])
    from_: date = Field(alias="from", description="First day of the period (inclusive).")
    to: date = Field(description="Last day of the period (inclusive).")


class LedgerLists(BaseModel):
    signed: LedgerListRead
    started: LedgerListRead
    in_production: LedgerListRead
    at_capacity: LedgerListRead


class LedgerRead(_Period):
    lists: LedgerLists


class ListTallies(BaseModel):
    signed: ListTally
    started: ListTally
    in_production: ListTally
    at_capacity: ListTally


class ChainSummaryRow(ListTallies):
    chain: str
    name: str


class DistrictSummaryRow(ListTallies):
    district: str
    name: str


class LedgerSummaryRead(_Period):
    by: SummaryBy
    rows: list[ChainSummaryRow] | list[DistrictSummaryRow] = Field(
        description="One row per chain (or district) of the reference data, zero rows included, ordered by code."
    )
    totals: ListTallies


def _tally(t: Tally) -> ListTally:
    return ListTally(count=t.count, investment=t.investment)


def ledger_json(period: Period, lists: dict[Stage, LedgerList]) -> dict[str, Any]:
    """The ``LedgerRead`` document of a period's lists, as plain JSON values for orjson (``json_response``).

    ``lists`` read with ``as_json`` (``read_ledger``): up to 5,000 items per list, and building and validating a
    model per item cost several times the query, so each item is its row's JSON values already (service/db/raw.py).
    ``LedgerRead`` stays the documented schema; tests/api/test_ledger.py checks that both give the same bytes."""
    return {
        "period": str(period), "from": period.start, "to": period.end,
        "lists": {
            lst.value: {
                "count": lists[lst].tally.count,
                "investment": amount_text(lists[lst].tally.investment),
                "projects": list(lists[lst].items),
                "truncated": lists[lst].truncated,
            }
            for lst in LISTS
        },
    }


def summary_read(period: Period, by: SummaryBy, rows: list[SummaryRow], totals: dict[Stage, Tally]) -> LedgerSummaryRead:
    model = ChainSummaryRow if by is SummaryBy.CHAIN else DistrictSummaryRow
    return LedgerSummaryRead(
        period=str(period), from_=period.start, to=period.end, by=by,
        rows=[model(**{by.value: r.code}, name=r.name, **{lst.value: _tally(t) for lst, t in r.lists.items()})
              for r in rows],
        totals=ListTallies(**{lst.value: _tally(t) for lst, t in totals.items()}),
    )


# ---------------------------------------------------------------- zh-CN export tables

STAGE_ZH: dict[str, str] = {
    Stage.SIGNED: "已签约", Stage.STARTED: "已开工", Stage.IN_PRODUCTION: "已投产", Stage.AT_CAPACITY: "已达产",
    Stage.CANCELLED: LABELS_ZH[Stage.CANCELLED],
}
YES_NO = {True: "是", False: "否"}
LIST_HEADER = "清单"
#: The export's columns (``project_fields.EXPORTED``, with the list's own date 日期 after the stage), their zh-CN
#: headers and how each value becomes a cell: yes/no and stages in words, the rest as they are.
_EXPORT_KEYS = tuple(key for f in pf.EXPORTED for key in ((f.name, "on") if f.kind is pf.Kind.STAGE else (f.name,)))
ITEM_HEADERS = tuple("日期" if key == "on" else pf.BY_NAME[key].zh for key in _EXPORT_KEYS)
_CELL: dict[pf.Kind, Callable[[Any], Any]] = {
    pf.Kind.FLAG: lambda v: YES_NO[bool(v)], pf.Kind.STAGE: lambda v: STAGE_ZH[v],
}
_CELLS = tuple((attrgetter(key), _CELL.get(pf.BY_NAME[key].kind) if key != "on" else None) for key in _EXPORT_KEYS)
#: Header → the column of ``project`` of the export's dates (the four milestones and the cancellation).
DATE_HEADERS = {f.zh: f.name for f in pf.EXPORTED if f.kind is pf.Kind.DATE}


BY_HEADER = {SummaryBy.CHAIN: "产业链", SummaryBy.DISTRICT: "区"}
TOTAL_LABEL = "合计"


def item_cells(row: Any) -> list[Any]:
    """An export row's cells: the item's, then every milestone date of the project (empty where not reached) and
    its cancellation date (empty unless cancelled). ``row`` is a record of ``LedgerQueries.stream_items``."""
    return [get(row) if cell is None else cell(get(row)) for get, cell in _CELLS]


def ledger_table(lists: Iterable[tuple[Stage, Iterable[Any]]]) -> tuple[Sequence[str], Iterator[list[Any]]]:
    """One table (CSV): a 清单 column with the list's zh-CN label, then the item's cells (``item_cells``)."""
    return (LIST_HEADER, *ITEM_HEADERS), ([LABELS_ZH[lst], *item_cells(r)] for lst, rows in lists for r in rows)


def ledger_sheets(
    lists: Iterable[tuple[Stage, Iterable[Any]]],
) -> Iterator[tuple[str, Sequence[str], Iterator[list[Any]]]]:
    """One sheet per list (XLSX), named 新签约 … 新达产, with the item's cells (``item_cells``)."""
    return ((LABELS_ZH[lst], ITEM_HEADERS, (item_cells(r) for r in rows)) for lst, rows in lists)


def summary_table(by: SummaryBy, rows: list[SummaryRow], totals: dict[Stage, Tally]) -> tuple[list[str], list[list[Any]]]:
    """One row per chain/district with count and investment per list, then a 合计 row."""
    headers = [BY_HEADER[by], "名称"]
    for lst in LISTS:
        headers += [f"{LABELS_ZH[lst]}项目数", f"{LABELS_ZH[lst]}投资(万元)"]

    def cells(lists: dict[Stage, Tally]) -> list[Any]:
        return [v for lst in LISTS for v in (lists[lst].count, lists[lst].investment)]

    body = [[r.code, r.name, *cells(r.lists)] for r in rows]
    return headers, [*body, [TOTAL_LABEL, "", *cells(totals)]]
