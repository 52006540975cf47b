"""The cycle-times page (SPEC §3 "Speed", 早落地、早开工、早投产): per chain, how many days its projects took from
signed to started, started to in production and in production to at capacity in a period — a server-drawn bar
chart of the medians, and the same figures (with counts and 90th percentiles) in the table that is its text
alternative. The figures are those of ``GET /api/v1/ledger/cycle-times?by=chain`` (the same use case).

A page of its own rather than a section of the overview: the overview is a year's four lists, while cycle times
take any period the API takes (a year, a quarter or a month) and need a chart and a table of their own."""

from __future__ import annotations

from fastapi import Request
from starlette.responses import Response

from service.domain import errors as d
from service.domain.periods import parse_period
from service.usecases import cycle_times as cycle_uc
from service.web import charts, error_text, i18n
from service.web.error_text import FieldMessage
from service.web.frame import PeriodQuery, SignedIn, lang_of, reading, render, router
from service.web.session import web_ctx

#: The steps in order, with the CSS class of their bars (the colour of the list the step arrives at).
STEPS: tuple[tuple[str, str], ...] = (
    ("signed_to_started", "started"),
    ("started_to_in_production", "in_production"),
    ("in_production_to_at_capacity", "at_capacity"),
)


@router.get("/cycle-times")
def cycle_times_page(request: Request, actor: SignedIn, period: PeriodQuery = None) -> Response:
    ctx = web_ctx(request, actor)
    lang = lang_of(request)
    t = i18n.translator(lang)
    text = (period or str(ctx.today.year)).strip()
    errors: list[FieldMessage] = []
    parsed = None
    try:
        parsed = parse_period(text)
    except d.InvalidInput as exc:
        errors = [FieldMessage("period", m.text) for m in error_text.domain_messages(lang, exc)]
    rows, totals, chart = [], None, None
    if parsed is not None:
        with reading(request) as session:
            rows, totals = cycle_uc.read_cycle_times(session, period=parsed, by="chain")
        if any(s.count for s in totals.values()):
            label = i18n.period_label(lang, parsed)
            chart = charts.grouped_bars(
                [r.name for r in rows],
                [charts.Series(css, t(f"cycles.step.{step}"), [r.steps[step].median_days for r in rows])
                 for step, css in STEPS],
                title=t("cycles.chart_title", period=label), desc=t("cycles.chart_desc"),
                unit=t("cycles.days_unit"), height=320,
            )
    return render(
        request, "cycle_times.html", actor=actor, status=422 if errors else 200, nav="cycle_times", errors=errors,
        period=text, parsed=parsed, rows=rows, totals=totals, chart=chart, steps=[step for step, _ in STEPS],
    )
