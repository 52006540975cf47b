"""A chain's annual plan (一链一表, ``/chains/{code}/plans/{year}``): goals, indicators with their progress, the
months' actuals of the manual indicators, and the tasks with their status.

The writes are the API's: recording a month's actual (``record_actual``, as ``POST …/indicators/{key}/actuals``)
and marking a task done or open again (``update_task``, as ``PATCH …/tasks/{key}`` with the plan's version as
If-Match). Errors are shown on the indicator's or the task's row, with what was typed kept.

The draft editor and the approval are ``plan_editor.py``; the revisions and their difference ``plan_revisions.py``
(imported here so that they are mounted with this page). A year without a plan answers 404 with, for the chain's
writers, the way to draft one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Annotated, Any

from fastapi import Path as PathParam
from fastapi import Request
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from starlette.responses import HTMLResponse, RedirectResponse, Response

from service.domain import errors as d
from service.domain.access import Actor, Role
from service.domain.periods import MAX_YEAR, MIN_YEAR, Period, PeriodKind
from service.domain.plan_curve import monthly_curve
from service.schemas.plans import ActualCreate, PlanStatus, TaskUpdate
from service.usecases import plans as plans_uc
from service.usecases import reference as reference_uc
from service.web import charts, error_text, i18n
from service.web.error_text import FieldMessage
from service.web.frame import (
    ChainPath,
    SignedIn,
    amount,
    can_write,
    form_int,
    lang_of,
    reading,
    refusal,
    render,
    router,
    writing,
)
from service.web.pages import plan_editor, plan_revisions  # noqa: F401  (registers their routes)
from service.web.session import flash, form_of, web_ctx

YearPath = Annotated[int, PathParam(ge=MIN_YEAR, le=MAX_YEAR)]
KeyPath = Annotated[str, PathParam(max_length=64)]
MANUAL = "manual"


def _months(year: int, today: date) -> list[str]:
    """The months of the plan year that have begun (a month's actual can be recorded from its first day)."""
    return [f"{year}-{m:02d}" for m in range(1, 13) if date(year, m, 1) <= today]


def _plan_page(request: Request, actor: Actor, code: str, year: int, *, status: int = 200,
               errors: dict[str, Sequence[FieldMessage]] | None = None,
               values: dict[str, dict[str, str]] | None = None) -> HTMLResponse:
    lang = lang_of(request)
    ctx = web_ctx(request, actor)
    with reading(request) as session:
        chain = reference_uc.get_chain(session, code=code)
        try:
            view = plans_uc.get_plan(session, chain=code, year=year)
        except d.NotFound:
            if status != 200:
                raise
            return render(request, "plan_none.html", actor=actor, status=404, nav="chain", chain=chain, year=year,
                          writable=can_write(actor, code))
        progress = plans_uc.plan_progress(session, chain=code, year=year, today=ctx.today)
        actuals = {i.key: plans_uc.list_actuals(session, chain=code, year=year, key=i.key)
                   for i in view.indicators if i.source == MANUAL}
    months = _months(year, ctx.today)
    chart = _chart(lang, view, actuals, year=year, today=ctx.today, chosen=request.query_params.get("chart"))
    return render(
        request, "plan.html", actor=actor, status=status, nav="chain", chain=chain, year=year, view=view,
        progress=progress, actuals=actuals, months=months,
        month_label=lambda text: i18n.period_label(lang, Period(PeriodKind.MONTH, year, int(text[5:]))),
        bar=charts.progress_bar, writable=can_write(actor, code), today=ctx.today.isoformat(),
        approves=actor.role is Role.ADMIN and view.plan.status == PlanStatus.DRAFT,
        row_errors={k: list(v) for k, v in (errors or {}).items()}, values=values or {}, chart=chart,
    )


def _chart(lang: str, view: plans_uc.PlanView, actuals: dict[str, list[Any]], *, year: int, today: date,
           chosen: str | None) -> dict[str, Any] | None:
    """One manual indicator's cumulative completion by month against time (``?chart=<key>``, else the first), as
    a server-drawn SVG with its figures; None when the plan has no manual indicator or the year has not begun."""
    manual = [i for i in view.indicators if i.source == MANUAL]
    indicator = next((i for i in manual if i.key == chosen), manual[0] if manual else None)
    if indicator is None:
        return None
    points = monthly_curve([(a.period, a.value) for a in actuals.get(indicator.key, [])], target=indicator.target,
                           year=year, until=today)
    if not points:
        return None
    t = i18n.translator(lang)
    labels = [i18n.month_short(lang, p.month) for p in points]
    svg = charts.grouped_bars(
        labels,
        [charts.Series("fill-on_track", t("plan.chart_completion"), [round(p.completion * 100) for p in points]),
         charts.Series("track", t("plan.chart_expected"), [round(p.expected * 100) for p in points])],
        title=t("plan.chart_title", name=indicator.name), desc=t("plan.chart_desc"), unit="%", height=260,
    )
    return {"svg": svg, "key": indicator.key, "unit": indicator.unit, "choices": [(i.key, i.name) for i in manual],
            "rows": [(label, p) for label, p in zip(labels, points, strict=True)]}


@router.get("/chains/{code}/plans/{year}")
def plan_page(request: Request, code: ChainPath, year: YearPath, actor: SignedIn) -> Response:
    return _plan_page(request, actor, code, year)


def _labelled(lang: str, messages: Sequence[FieldMessage]) -> list[FieldMessage]:
    """Messages shown on a row: each names its field (the row has several)."""
    out = []
    for m in messages:
        label = error_text.field_label(lang, m.field)
        out.append(FieldMessage(m.field, i18n.translate(lang, "error.field", field=label, message=m.text)
                                if label else m.text))
    return out


@router.post("/chains/{code}/plans/{year}/indicators/{key}/actuals")
def record_actual(request: Request, code: ChainPath, year: YearPath, key: KeyPath, actor: SignedIn) -> Response:
    form = form_of(request)
    lang = lang_of(request)
    raw = {"period": str(form.get("period") or "").strip(),
           "value": str(form.get("value") or "").strip().replace(",", "")}
    try:
        data = ActualCreate.model_validate(raw)
        with writing(request) as session:
            row, _created = plans_uc.record_actual(session, ctx=web_ctx(request, actor), chain=code, year=year,
                                                   key=key, data=data)
            value, period = row.value, row.period
    except (ValidationError, d.DomainError, IntegrityError) as exc:
        messages, status = refusal(lang, exc)
    else:
        label = i18n.period_label(lang, Period(PeriodKind.MONTH, year, int(period[5:])))
        flash(request, "plan.actual_recorded", month=label, value=amount(value))
        return RedirectResponse(f"/chains/{code}/plans/{year}#i-{key}", status_code=303)
    return _plan_page(request, actor, code, year, status=status, errors={f"actual.{key}": _labelled(lang, messages)},
                      values={f"actual.{key}": raw})


@router.post("/chains/{code}/plans/{year}/tasks/{key}")
def update_task(request: Request, code: ChainPath, year: YearPath, key: KeyPath, actor: SignedIn) -> Response:
    form = form_of(request)
    lang = lang_of(request)
    raw: dict[str, Any] = {"status": str(form.get("status") or "")}
    done_on = str(form.get("done_on") or "").strip()
    if raw["status"] == "done" and done_on:
        raw["done_on"] = done_on
    try:
        data = TaskUpdate.model_validate(raw)
        with writing(request) as session:
            view = plans_uc.update_task(session, ctx=web_ctx(request, actor), chain=code, year=year, key=key,
                                        data=data, if_match=form_int(form.get("version")))
            task = next(t for t in view.tasks if t.key == key)
            title, state = task.title, task.status
    except (ValidationError, d.DomainError, IntegrityError) as exc:
        messages, status = refusal(lang, exc)
    else:
        flash(request, "plan.task_updated", title=title, status=i18n.translate(lang, f"plan.task.{state}"))
        return RedirectResponse(f"/chains/{code}/plans/{year}#t-{key}", status_code=303)
    return _plan_page(request, actor, code, year, status=status, errors={f"task.{key}": _labelled(lang, messages)},
                      values={f"task.{key}": {"done_on": done_on}})
