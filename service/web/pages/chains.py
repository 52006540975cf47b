"""A chain's page (board, schedule, plan, problems) and moving a project on it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from fastapi import Request
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from starlette.responses import (
    HTMLResponse,
    RedirectResponse,
    Response,
)

from service.deps import settings_of
from service.domain import errors as d
from service.domain.access import Actor, Role
from service.domain.periods import MAX_YEAR, MIN_YEAR, Period, PeriodKind, parse_period
from service.domain.queries import ProblemFilter, ProjectFilter
from service.domain.schedule import ItemKind, ItemStatus, ScheduleItem
from service.domain.stages import LISTS, Stage
from service.errors import status_for
from service.schemas.projects import ReasonInput, TransitionCreate
from service.usecases import ledger as ledger_uc
from service.usecases import plans as plans_uc
from service.usecases import problems as problems_uc
from service.usecases import projects as projects_uc
from service.usecases import reference as reference_uc
from service.usecases import schedule as schedule_uc
from service.web import charts, error_text, i18n
from service.web.error_text import FieldMessage
from service.web.frame import (
    BOARD_LIMIT,
    OPEN_PROBLEMS,
    PROBLEMS_LIMIT,
    ChainPath,
    ProjectPath,
    SignedIn,
    YearQuery,
    all_reference,
    can_write,
    form_int,
    lang_of,
    local_time,
    next_stage,
    optional_text,
    reading,
    refusal,
    render,
    router,
    writing,
)
from service.web.pages.projects import render_project_page
from service.web.session import (
    flash,
    form_of,
    web_ctx,
)


def schedule_rows(request: Request, items: list[ScheduleItem], today: date) -> list[dict[str, Any]]:
    """A schedule's items as its tables show them: the period, a link to a month's dispatch form or a quarter's
    inspection once it has begun, and when it was done (local time)."""
    rows = []
    for item in items:
        period = parse_period(item.period)
        link = None
        if item.kind is ItemKind.MONTHLY_DISPATCH and period.start <= today:
            link = f"/chains/{item.chain}/dispatches/{item.period}"
        elif item.kind is ItemKind.QUARTERLY_INSPECTION and period.start <= today:
            link = f"/chains/{item.chain}/inspections/{item.period}"
        rows.append({"item": item, "period": period, "link": link,
                     "done_at": local_time(item.done_at, request) if isinstance(item.done_at, datetime)
                     else (item.done_at.isoformat() if item.done_at else "")})
    return rows


# ================================================================ a chain: board, schedule, plan, problems


@dataclass
class BoardColumn:
    stage: str
    projects: list[Any]
    more: bool


def _chain_page(
    request: Request, actor: Actor, code: str, year: int | None, *, status: int = 200,
    move_errors: dict[str, list[FieldMessage]] | None = None, move_values: dict[str, dict[str, Any]] | None = None,
    moved_name: str | None = None,
) -> HTMLResponse:
    ctx = web_ctx(request, actor)
    tz = settings_of(request).tz
    year = year or ctx.today.year
    with reading(request) as session:
        chain = reference_uc.get_chain(session, code=code)
        department = reference_uc.get_department(session, code=chain.lead_department)
        districts = {x.code: x.name for x in all_reference(session, "district")}
        columns = []
        for stage in (*LISTS, Stage.CANCELLED):
            found = projects_uc.list_projects(session, f=ProjectFilter(chain=code, stage=stage.value), after=None,
                                              limit=BOARD_LIMIT + 1)
            columns.append(BoardColumn(stage.value, found[:BOARD_LIMIT], len(found) > BOARD_LIMIT))
        schedule = schedule_uc.read_schedule(session, year=year, chain=code, today=ctx.today, tz=tz)
        try:
            progress = plans_uc.plan_progress(session, chain=code, year=year, today=ctx.today)
        except d.NotFound:
            progress = None
        problems = [p for p in problems_uc.list_problems(session, f=ProblemFilter(chain=code), today=ctx.today,
                                                         after=None, limit=PROBLEMS_LIMIT)
                    if p.status in OPEN_PROBLEMS]
        _, tally = ledger_uc.summarize_ledger(session, period=Period(PeriodKind.YEAR, year), by="chain",
                                              f=ProjectFilter(chain=code))
    rows = schedule_rows(request, schedule.items, ctx.today)
    return render(
        request, "chain.html", actor=actor, status=status, nav="chain", chain=chain,
        department=department.name if department else chain.lead_department, districts=districts, year=year,
        this_year=ctx.today.year, today=ctx.today.isoformat(), columns=columns[:4], cancelled=columns[4],
        next_stage=next_stage, schedule=rows,
        overdue_count=sum(1 for r in rows if r["item"].status is ItemStatus.OVERDUE),
        progress=progress, bar=charts.progress_bar, problems=problems, problem_overdue=problems_uc.overdue,
        today_date=ctx.today, tally=tally, move_errors=move_errors or {}, move_values=move_values or {},
        moved_name=moved_name,
        writable=can_write(actor, code),
        may_register=can_write(actor, code) or actor.role is Role.INTEGRATION,
    )


@router.get("/chains/{code}")
def chain_page(request: Request, code: ChainPath, actor: SignedIn, year: YearQuery = None) -> Response:
    return _chain_page(request, actor, code, year)


# ================================================================ moving a project (board and project page)


def _move_failed(
    request: Request, actor: Actor, project_id: str, origin: str, messages: list[FieldMessage], status: int,
    values: dict[str, Any], year: int | None,
) -> HTMLResponse:
    if origin == "project":
        return render_project_page(request, actor, project_id, status=status, errors=messages, values=values)
    with reading(request) as session:
        project = projects_uc.get_project(session, project_id=project_id)
    return _chain_page(request, actor, project.chain, year, status=status, move_errors={project_id: messages},
                       move_values={project_id: values}, moved_name=project.name)


def _year_of(form_value: Any) -> int | None:
    year = form_int(form_value)
    return year if year is not None and MIN_YEAR <= year <= MAX_YEAR else None


@router.post("/projects/{project_id}/transition")
def move_project(request: Request, project_id: ProjectPath, actor: SignedIn) -> Response:
    """One stage forward (or cancelled, with a reason): ``transition_project``, as ``POST /projects/{id}/
    transitions`` does, with the card's version as If-Match so a stale page cannot move a project twice."""
    form = form_of(request)
    lang = lang_of(request)
    t = i18n.translator(lang)
    origin = "project" if form.get("from") == "project" else "board"
    year = _year_of(form.get("year"))
    raw = {"to": str(form.get("to") or ""), "on": str(form.get("on") or ""), "note": optional_text(form.get("note")),
           "reason": optional_text(form.get("reason"))}
    try:
        data = TransitionCreate.model_validate(raw)
    except ValidationError as exc:
        return _move_failed(request, actor, project_id, origin, error_text.validation_messages(lang, exc.errors()), 422,
                            raw, year)
    try:
        with writing(request) as session:
            p = projects_uc.transition_project(session, ctx=web_ctx(request, actor), project_id=project_id,
                                               data=data, if_match=form_int(form.get("version")))
            name, chain = p.name, p.chain
    except d.DomainError as exc:
        return _move_failed(request, actor, project_id, origin, error_text.domain_messages(lang, exc), status_for(exc),
                            raw, year)
    except IntegrityError:
        return _move_failed(request, actor, project_id, origin, [FieldMessage(None, t("err.concurrent"))], 409,
                            raw, year)
    if data.to is Stage.CANCELLED:
        flash(request, "move.cancelled", name=name)
    else:
        flash(request, "move.done", name=name, stage=t(f"stage.{data.to.value}"), on=data.on.isoformat())
    if origin == "project":
        return RedirectResponse(f"/projects/{project_id}", status_code=303)
    query = f"?year={year}" if year else ""
    return RedirectResponse(f"/chains/{chain}{query}#p-{project_id}", status_code=303)


@router.post("/projects/{project_id}/revert")
def revert_project(request: Request, project_id: ProjectPath, actor: SignedIn) -> Response:
    """Undo the latest stage change (``revert_transition``, as ``POST …/transitions/revert``)."""
    form = form_of(request)
    lang = lang_of(request)
    t = i18n.translator(lang)
    raw = {"reason": str(form.get("reason") or "")}
    try:
        data = ReasonInput.model_validate(raw)
        with writing(request) as session:
            p = projects_uc.revert_transition(session, ctx=web_ctx(request, actor), project_id=project_id,
                                              reason=data.reason, if_match=form_int(form.get("version")))
            name, stage = p.name, p.stage
    except (ValidationError, d.DomainError, IntegrityError) as exc:
        messages, status = refusal(lang, exc)
    else:
        flash(request, "move.reverted", name=name, stage=t(f"stage.{stage}"))
        return RedirectResponse(f"/projects/{project_id}", status_code=303)
    return render_project_page(request, actor, project_id, status=status, errors=messages,
                         values={"revert_reason": raw["reason"]})
