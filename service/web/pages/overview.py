"""The overview: every chain's four lists this year, month by month, and the warnings."""

from __future__ import annotations

from fastapi import Request
from starlette.responses import Response

from service.domain.access import Role
from service.domain.periods import Period, PeriodKind
from service.domain.queries import ProjectFilter
from service.domain.stages import LISTS
from service.usecases import ledger as ledger_uc
from service.usecases import warnings as warnings_uc
from service.web import charts, i18n
from service.web.frame import (
    WARNINGS_SHOWN,
    SignedIn,
    YearQuery,
    all_reference,
    lang_of,
    reading,
    render,
    router,
    thresholds,
)
from service.web.session import web_ctx


@router.get("/")
def overview(request: Request, actor: SignedIn, year: YearQuery = None) -> Response:
    ctx = web_ctx(request, actor)
    lang = lang_of(request)
    t = i18n.translator(lang)
    year = year or ctx.today.year
    with reading(request) as session:
        rows, totals = ledger_uc.summarize_ledger(session, period=Period(PeriodKind.YEAR, year), by="chain",
                                                  f=ProjectFilter())
        months = [
            ledger_uc.summarize_ledger(session, period=Period(PeriodKind.MONTH, year, m), by="chain",
                                       f=ProjectFilter())[1]
            for m in range(1, 13)
        ]
        chains = {c.code: c for c in all_reference(session, "chain")}
        departments = {x.code: x.name for x in all_reference(session, "department")}
        warnings = warnings_uc.list_warnings(
            session, today=ctx.today, thresholds=thresholds(request), chain=None, district=None, rules=None,
            after=None, limit=WARNINGS_SHOWN + 1,
        )
    month_labels = [i18n.month_short(lang, m) for m in range(1, 13)]
    series = [charts.Series(lst.value, t(f"stage.{lst.value}"), [months[m][lst].count for m in range(12)])
              for lst in LISTS]
    chart = charts.grouped_bars(month_labels, series, title=t("overview.chart_title", year=year),
                                desc=t("overview.chart_desc"))
    chain_rows = [
        {"code": r.code, "name": r.name, "lists": r.lists,
         "department": departments.get(chains[r.code].lead_department, "") if r.code in chains else "",
         "own": actor.role is Role.DEPARTMENT and r.code in actor.chains}
        for r in rows
    ]
    return render(
        request, "overview.html", actor=actor, nav="overview", year=year, this_year=ctx.today.year,
        chain_rows=chain_rows, totals=totals, chart=chart, months=month_labels, series=series,
        warnings=warnings[:WARNINGS_SHOWN], more_warnings=len(warnings) > WARNINGS_SHOWN,
        chain_names={c.code: c.name for c in chains.values()},
    )
