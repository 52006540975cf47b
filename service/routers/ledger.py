"""The four-lists ledger (四张清单台帐) and its summary, as JSON, CSV or XLSX (SPEC §3)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.orm import Session
from starlette.responses import Response, StreamingResponse

from service import exports
from service.deps import get_actor, get_read_session, now_utc, report_turn
from service.domain import errors as d
from service.domain.periods import Period, parse_period
from service.domain.queries import ProjectFilter
from service.errors import responses
from service.routers.common import PERIOD_PATTERN, AsOf, respond
from service.schemas.ledger import (
    LedgerFormat,
    LedgerRead,
    LedgerSummaryRead,
    SummaryBy,
    ledger_json,
    ledger_sheets,
    ledger_table,
    summary_read,
    summary_table,
)
from service.usecases import ledger as uc

# Any token reads, each report in its turn (report_turn). The session is request-scoped: it stays open while a CSV
# export streams.
router = APIRouter(tags=["ledger"], dependencies=[Depends(get_actor), Depends(report_turn, scope="function")])
ReportSession = Annotated[Session, Depends(get_read_session, scope="request")]

PeriodQuery = Annotated[str, Query(pattern=PERIOD_PATTERN, description="`2026`, `2026-Q2` or `2026-05`.")]
FormatQuery = Annotated[
    LedgerFormat,
    Query(alias="format", description="`csv` (UTF-8 with BOM) or `xlsx` download every row, with zh-CN headers."),
]
KeyQuery = Annotated[bool | None, Query(description="Only key projects (重点项目), or only the others.")]
MajorQuery = Annotated[bool | None, Query(description="Only major projects (≥ 10,000 万元), or only the others.")]
DOWNLOADS: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {"schema": {"type": "string"}},
                      exports.XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}}},
}
ERRORS = {**responses(401, 422), **DOWNLOADS}
EXPORTS_NOTE = (
    "`format=csv` is one table whose `清单` column holds the list's zh-CN label (新签约 …); `format=xlsx` has one "
    "sheet per list. Every row also carries the project's four milestone dates (签约日期, 开工日期, 投产日期, 达产日期, "
    "empty where not reached) and its 终止日期 (empty unless cancelled) besides 阶段, so a row stands on its own and "
    "any export, of any period, imports back (`POST /projects/import`) as the same projects. "
    "Exports carry every row (no `limit`), zh-CN headers, amounts as numbers (plain decimals "
    "in CSV); CSV is UTF-8 with a byte-order mark so Excel opens it correctly. Text cells starting with `=`, "
    "`+`, `-`, `@`, tab or CR get a leading `'` (no formula injection). `as_of` (RFC 3339 with a time zone) "
    "reads the report as the ledger knew it at that moment, from the version history: a month's ledger read "
    "on the 5th of the next month is reproduced exactly later, whatever was reported or reverted since."
)


def _period(text: str) -> Period:
    try:
        return parse_period(text)
    except d.InvalidInput as exc:
        raise d.InvalidInput.at(["query", "period"], exc.detail) from exc


def _csv(filename: str, headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> Response:
    return StreamingResponse(exports.csv_chunks(headers, rows), media_type=exports.CSV_MEDIA_TYPE,
                             headers=exports.attachment(filename))


def _xlsx(filename: str, sheets: Iterable[exports.Sheet]) -> Response:
    return Response(exports.xlsx_bytes(sheets), media_type=exports.XLSX_MEDIA_TYPE,
                    headers=exports.attachment(filename))


@router.get("/ledger", response_model=LedgerRead, operation_id="get_ledger", responses=ERRORS,
            description="The four lists of a period: a project is on list X when its milestone X falls in the "
            "period (both bounds inclusive), so one project can be on several lists. Cancelled projects stay on "
            "the lists they reached (`stage: \"cancelled\"`); voided projects count nowhere. Each list's "
            "`projects` holds at most `limit` items in milestone-date order (then id), `truncated` when there "
            "are more; `count` and `investment` always cover every project. Filters combine with AND; an unknown "
            "`chain` or `district` matches nothing (empty lists, not an error). " + EXPORTS_NOTE)
def get_ledger(
    request: Request,
    session: ReportSession,
    period: PeriodQuery,
    chain: Annotated[str | None, Query(max_length=32)] = None,
    district: Annotated[str | None, Query(max_length=32)] = None,
    key: KeyQuery = None,
    major: MajorQuery = None,
    limit: Annotated[int, Query(ge=1, le=5000, description="Items per list (default 500, max 5,000).")] = 500,
    format_: FormatQuery = LedgerFormat.JSON,
    as_of: AsOf = None,
) -> Response:
    p = _period(period)
    f = ProjectFilter(chain=chain, district=district, key=key, major=major)
    when = {"as_of": as_of, "now": now_utc()}
    if format_ is LedgerFormat.JSON:
        lists = uc.read_ledger(session, period=p, f=f, limit=limit, as_json=True, **when)
        return respond(request, None, ledger_json(p, lists))
    lists = uc.iter_ledger(session, period=p, f=f, **when)  # lazy: rows are read while the file is written
    if format_ is LedgerFormat.CSV:
        return _csv(f"ledger-{p}.csv", *ledger_table(lists))
    return _xlsx(f"ledger-{p}.xlsx", ledger_sheets(lists))


@router.get("/ledger/summary", response_model=LedgerSummaryRead, operation_id="get_ledger_summary",
            responses=ERRORS,
            description="The four lists' count and investment per chain or per district, from one SQL aggregate. "
            "`rows` hold every chain (or district) of the reference data, ordered by code — those without "
            "projects in the period with zeros — and each row's `name`; `totals` add up the rows. "
            "`format=csv|xlsx` give one row per chain/district with a count and an investment column per list "
            "and a closing 合计 row (CSV UTF-8 with BOM, amounts as numbers, formula-safe). `as_of` as on /ledger.")
def get_ledger_summary(
    request: Request,
    session: ReportSession,
    period: PeriodQuery,
    by: Annotated[SummaryBy, Query(description="Group by `chain` or `district`.")] = SummaryBy.CHAIN,
    key: KeyQuery = None,
    major: MajorQuery = None,
    format_: FormatQuery = LedgerFormat.JSON,
    as_of: AsOf = None,
) -> Response:
    p = _period(period)
    rows, totals = uc.summarize_ledger(session, period=p, by=by.value, f=ProjectFilter(key=key, major=major),
                                       as_of=as_of, now=now_utc())
    if format_ is LedgerFormat.JSON:
        return respond(request, None, summary_read(p, by, rows, totals))
    headers, cells = summary_table(by, rows, totals)
    name = f"ledger-summary-{p}-{by.value}"
    if format_ is LedgerFormat.CSV:
        return _csv(f"{name}.csv", headers, cells)
    return _xlsx(f"{name}.xlsx", [("汇总", headers, cells)])
