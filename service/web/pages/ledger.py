"""The ledger page and its exports."""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from sqlalchemy.orm import Session
from starlette.responses import (
    Response,
    StreamingResponse,
)

from service import exports
from service.domain import errors as d
from service.domain.periods import Period, parse_period
from service.domain.queries import ProjectFilter
from service.schemas.ledger import ledger_sheets, ledger_table
from service.usecases import ledger as ledger_uc
from service.web import error_text
from service.web.error_text import FieldMessage
from service.web.frame import (
    LEDGER_LIMIT,
    PeriodQuery,
    ReportSession,
    SignedIn,
    TextQuery,
    all_reference,
    form_bool,
    lang_of,
    optional_text,
    reading,
    render,
    router,
)
from service.web.session import web_ctx


def _ledger_filter(chain: str | None, district: str | None, key: str | None, major: str | None) -> ProjectFilter:
    return ProjectFilter(chain=optional_text(chain), district=optional_text(district), key=form_bool(key),
                         major=form_bool(major))


@router.get("/ledger")
def ledger_page(
    request: Request, actor: SignedIn, period: PeriodQuery = None,
    chain: TextQuery = None, district: TextQuery = None, key: TextQuery = None, major: TextQuery = None,
) -> Response:
    ctx = web_ctx(request, actor)
    lang = lang_of(request)
    text = (period or str(ctx.today.year)).strip()
    f = _ledger_filter(chain, district, key, major)
    errors: list[FieldMessage] = []
    lists, parsed = None, None
    try:
        parsed = parse_period(text)
    except d.InvalidInput as exc:
        errors = [FieldMessage("period", m.text) for m in error_text.domain_messages(lang, exc)]
    with reading(request) as session:
        if parsed is not None:
            lists = ledger_uc.read_ledger(session, period=parsed, f=f, limit=LEDGER_LIMIT)
        chains = all_reference(session, "chain")
        districts = all_reference(session, "district")
    query = {"period": text, "chain": f.chain or "", "district": f.district or "", "key": key or "",
             "major": major or ""}
    export_query = urlencode({k: v for k, v in query.items() if v})
    return render(
        request, "ledger.html", actor=actor, status=422 if errors else 200, nav="ledger", errors=errors,
        query=query, parsed=parsed, lists=lists, chains=chains, districts=districts,
        chain_names={c.code: c.name for c in chains}, district_names={x.code: x.name for x in districts},
        export_query=export_query, limit=LEDGER_LIMIT,
    )


def _export_lists(session: Session, period: str | None, chain: str | None, district: str | None, key: str | None,
                  major: str | None, today: date) -> tuple[Period, Any]:
    try:
        p = parse_period((period or str(today.year)).strip())
    except d.InvalidInput as exc:
        raise d.InvalidInput.at(["query", "period"], exc.detail) from exc
    # The same use case and export tables as GET /api/v1/ledger?format=csv|xlsx.
    return p, ledger_uc.iter_ledger(session, period=p, f=_ledger_filter(chain, district, key, major))


DOWNLOAD_HEADERS = {"Cache-Control": "no-store"}  # (nosniff: on every response, service/middleware.py)


@router.get("/ledger/export.csv")
def ledger_export_csv(
    request: Request, actor: SignedIn, session: ReportSession, period: PeriodQuery = None, chain: TextQuery = None,
    district: TextQuery = None, key: TextQuery = None, major: TextQuery = None,
) -> Response:
    p, lists = _export_lists(session, period, chain, district, key, major, web_ctx(request, actor).today)
    return StreamingResponse(exports.csv_chunks(*ledger_table(lists)), media_type=exports.CSV_MEDIA_TYPE,
                             headers={**exports.attachment(f"ledger-{p}.csv"), **DOWNLOAD_HEADERS})


@router.get("/ledger/export.xlsx")
def ledger_export_xlsx(
    request: Request, actor: SignedIn, session: ReportSession, period: PeriodQuery = None, chain: TextQuery = None,
    district: TextQuery = None, key: TextQuery = None, major: TextQuery = None,
) -> Response:
    p, lists = _export_lists(session, period, chain, district, key, major, web_ctx(request, actor).today)
    return Response(exports.xlsx_bytes(ledger_sheets(lists)), media_type=exports.XLSX_MEDIA_TYPE,
                    headers={**exports.attachment(f"ledger-{p}.xlsx"), **DOWNLOAD_HEADERS})
