"""The web frontend for chain lead departments (SPEC §8): server-rendered pages at ``/``, zh-CN by default.

Every page reads through the use cases the API uses, and every action calls the same use case as the API with
a ``Ctx`` built from the signed-in session's actor exactly as ``service/deps.py`` builds it, in one write
transaction (``app.state.db.transaction(write=True)``, service/db/database.py): the same rules, the same rows,
the same audit events. Domain errors and validation details are shown inline, in the user's language.
A page offers only the actions the signed-in role may take; the use cases enforce the rules either way.

Forms work without JavaScript (POST → 303 redirect → GET). htmx (pinned, served from ``/static``) only
enhances the board: a stage move swaps the board in place instead of reloading the page.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.responses import (
    HTMLResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.staticfiles import StaticFiles

from service import exports
from service.deps import db_of, get_read_session, settings_of
from service.domain import errors as d
from service.domain import stages
from service.domain.access import Actor, Role
from service.domain.periods import MAX_YEAR, MIN_YEAR, Period, PeriodKind, parse_period
from service.domain.problems import ProblemStatus
from service.domain.queries import ProblemFilter, ProjectFilter
from service.domain.schedule import ItemKind, ItemStatus
from service.domain.stages import LISTS, Stage, is_major
from service.errors import status_for
from service.logging import get_logger
from service.routers.history import HistoryItem, history_item
from service.schemas.ledger import ledger_sheets, ledger_table
from service.schemas.projects import ReasonInput, TransitionCreate
from service.schemas.rhythm import DispatchInput
from service.usecases import audit as audit_uc
from service.usecases import dispatches as dispatch_uc
from service.usecases import ledger as ledger_uc
from service.usecases import plans as plans_uc
from service.usecases import problems as problems_uc
from service.usecases import projects as projects_uc
from service.usecases import reference as reference_uc
from service.usecases import schedule as schedule_uc
from service.usecases import warnings as warnings_uc
from service.web import charts, error_text, i18n
from service.web.error_text import FieldMessage
from service.web.session import (
    CsrfRefused,
    SignInRequired,
    csrf_token,
    flash,
    form_of,
    pop_flash,
    safe_next,
    session_actor,
    sign_in,
    sign_out,
    signed_in,
    signin_url,
    verify_csrf,
    web_ctx,
)

log = get_logger(__name__)

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
HTMX = "htmx-2.0.11.min.js"

BOARD_LIMIT = 200  # cards per board column
PROBLEMS_LIMIT = 500
WARNINGS_SHOWN = 20
LEDGER_LIMIT = 200  # rows per list on the page (exports carry every row)
HISTORY_LIMIT = 500
DISPATCH_ROWS_LIMIT = 2000
OPEN_PROBLEMS = frozenset({ProblemStatus.OPEN, ProblemStatus.IN_PROGRESS, ProblemStatus.REOPENED})

PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    ),
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}

YearQuery = Annotated[int | None, Query(ge=MIN_YEAR, le=MAX_YEAR)]
ChainPath = Annotated[str, PathParam(max_length=32)]
ProjectPath = Annotated[str, PathParam(max_length=26)]
MonthPath = Annotated[str, PathParam(max_length=16)]
TextQuery = Annotated[str | None, Query(max_length=32)]
PeriodQuery = Annotated[str | None, Query(max_length=16)]
ReportSession = Annotated[Session, Depends(get_read_session, scope="request")]


# ================================================================ templates


@lru_cache
def _asset_version(name: str) -> str:
    return hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:12]


def asset(name: str) -> str:
    """``/static/<name>?v=<content hash>``: browsers may cache assets for long, never a stale one."""
    return f"/static/{name}?v={_asset_version(name)}"


def amount(value: Decimal | str | None) -> str:
    if value is None:
        return ""
    return f"{Decimal(value):,.2f}"


def percent(value: float) -> str:
    return f"{value * 100:.0f}%"


ENV = Environment(
    loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(("html",)), undefined=StrictUndefined,
    trim_blocks=True, lstrip_blocks=True,
)
ENV.globals.update(asset=asset, htmx=HTMX, LISTS=[s.value for s in LISTS], is_major=is_major)
ENV.filters.update(amount=amount, percent=percent)


def lang_of(request: Request) -> str:
    """``?lang=zh|en`` chooses the language and the session remembers it; zh-CN by default."""
    chosen = request.query_params.get("lang")
    if chosen in i18n.LANGS:
        request.session["lang"] = chosen
        return chosen
    return i18n.lang_or_default(request.session.get("lang"))


def _lang_url(request: Request, lang: str) -> str:
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"] + [("lang", lang)]
    return f"{request.url.path}?{urlencode(params)}"


def can_write(actor: Actor | None, chain: str) -> bool:
    """May ``actor`` write for ``chain``? The domain's rule (``Actor.may_write``); nobody when signed out."""
    return actor is not None and actor.may_write(chain)


def render(request: Request, template: str, *, actor: Actor | None, status: int = 200,
           headers: dict[str, str] | None = None, **context: Any) -> HTMLResponse:
    lang = lang_of(request)
    t = i18n.translator(lang)
    other = "en" if lang == "zh" else "zh"
    flashed = pop_flash(request)
    context.setdefault("nav", None)
    html = ENV.get_template(template).render(
        lang=lang, html_lang=i18n.HTML_LANG[lang], other_lang=other, other_html_lang=i18n.HTML_LANG[other],
        lang_url=_lang_url(request, other), t=t, actor=actor, csrf=csrf_token(request),
        flash=t(flashed[0], **flashed[1]) if flashed else None,
        can_write=lambda chain: can_write(actor, chain),
        stage=lambda code: t(f"stage.{code}"),
        period_label=lambda p: i18n.period_label(lang, p),
        field_label=lambda name: error_text.field_label(lang, name),
        has=lambda key: key in i18n.MESSAGES,
        **context,
    )
    return HTMLResponse(html, status_code=status, headers={**PAGE_HEADERS, **(headers or {})})


def _error_page(request: Request, status: int, messages: Sequence[FieldMessage]) -> HTMLResponse:
    actor = getattr(request.state, "actor", None)
    headers = {}
    if request.headers.get("hx-request"):  # an htmx swap shows the whole error in the page's main area
        headers = {"HX-Retarget": "#main", "HX-Reselect": "#main", "HX-Reswap": "outerHTML"}
    return render(request, "error.html", actor=actor, status=status, headers=headers, messages=messages)


# ================================================================ routes: errors become pages


class WebRoute(APIRoute):
    """A route whose domain errors, validation errors, CSRF refusals and missing sign-ins become HTML pages
    (the API's handlers answer problem+json)."""

    def get_route_handler(self):  # noqa: ANN201
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInRequired:
                target = signin_url(request)
                if request.headers.get("hx-request"):
                    return Response(status_code=204, headers={"HX-Redirect": target})
                return RedirectResponse(target, status_code=303)
            except CsrfRefused:
                log.warning("web_csrf_refused", path=request.url.path)
                if request.headers.get("hx-request"):
                    return Response(status_code=403, headers={"HX-Refresh": "true"})
                lang = lang_of(request)
                return await run_in_threadpool(
                    _error_page, request, 403, [FieldMessage(None, i18n.translate(lang, "error.csrf"))])
            except d.DomainError as exc:
                messages = error_text.domain_messages(lang_of(request), exc)
                return await run_in_threadpool(_error_page, request, status_for(exc), messages)
            except RequestValidationError as exc:
                messages = error_text.validation_messages(lang_of(request), exc.errors())
                return await run_in_threadpool(_error_page, request, 422, messages)

        return route


router = APIRouter(include_in_schema=False, route_class=WebRoute, dependencies=[Depends(verify_csrf)])
SignedIn = Annotated[Actor, Depends(signed_in)]
MaybeSignedIn = Annotated[Actor | None, Depends(session_actor)]


def mount(app: FastAPI) -> None:
    """The pages and their static files (CSS, the pinned htmx), outside the OpenAPI schema."""
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")


@contextmanager
def reading(request: Request) -> Iterator[Session]:
    with db_of(request).transaction(write=False) as session:
        yield session


@contextmanager
def writing(request: Request) -> Iterator[Session]:
    with db_of(request).transaction(write=True) as session:
        yield session


def _all(session: Session, kind: str) -> list[Any]:
    """Every chain, district or department (``reference_uc.all_reference``)."""
    return reference_uc.all_reference(session, kind=kind)


def _optional(value: Any) -> str | None:
    text = str(value or "").strip()
    return text or None


def _int(value: Any) -> int | None:
    text = str(value or "").strip()
    return int(text) if text.isdigit() and len(text) < 10 else None


def _bool(value: str | None) -> bool | None:
    return {"true": True, "false": False}.get((value or "").strip().lower())


def _thresholds(request: Request) -> warnings_uc.Thresholds:
    s = settings_of(request)
    return warnings_uc.Thresholds(signed_days=s.warn_signed_days, started_days=s.warn_started_days,
                                  in_production_days=s.warn_in_production_days,
                                  dispatch_months=s.warn_dispatch_months)


def _local(at: datetime | None, request: Request) -> str:
    if at is None:
        return ""
    return at.astimezone(settings_of(request).tz).strftime("%Y-%m-%d %H:%M")


def next_stage(stage: str) -> str | None:
    """The one forward move of a project at ``stage`` (the domain's stage machine), as the forms post it."""
    target = stages.next_stage(stage)
    return target.value if target else None


# ================================================================ sign-in


@router.get("/signin")
def signin_page(
    request: Request, actor: MaybeSignedIn, next_: Annotated[str | None, Query(alias="next", max_length=2000)] = None
) -> Response:
    lang_of(request)  # ?lang= applies even when the visitor is already signed in
    if actor is not None:
        return RedirectResponse(safe_next(next_), status_code=303)
    return render(request, "signin.html", actor=None, next=safe_next(next_), failed=False)


@router.post("/signin")
def signin_submit(request: Request) -> Response:
    form = form_of(request)
    token = str(form.get("token") or "").strip()
    target = safe_next(str(form.get("next") or ""))
    actor = sign_in(request, token) if 0 < len(token) <= 512 else None
    if actor is None:
        log.info("web_signin_failed")
        return render(request, "signin.html", actor=None, next=target, failed=True, status=401)
    log.info("web_signed_in", actor=f"{actor.role}:{actor.name}")
    return RedirectResponse(target, status_code=303)


@router.post("/signout")
def signout(request: Request) -> Response:
    sign_out(request)
    flash(request, "auth.signed_out")
    return RedirectResponse("/signin", status_code=303)


# ================================================================ overview


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
        chains = {c.code: c for c in _all(session, "chain")}
        departments = {x.code: x.name for x in _all(session, "department")}
        warnings = warnings_uc.list_warnings(
            session, today=ctx.today, thresholds=_thresholds(request), chain=None, district=None, rules=None,
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
        districts = {x.code: x.name for x in _all(session, "district")}
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
    schedule_rows = []
    for item in schedule.items:
        period = parse_period(item.period)
        link = None
        if item.kind is ItemKind.MONTHLY_DISPATCH and period.start <= ctx.today:
            link = f"/chains/{code}/dispatches/{item.period}"
        schedule_rows.append({"item": item, "period": period, "link": link,
                              "done_at": _local(item.done_at, request) if isinstance(item.done_at, datetime)
                              else (item.done_at.isoformat() if item.done_at else "")})
    return render(
        request, "chain.html", actor=actor, status=status, nav="chain", chain=chain,
        department=department.name if department else chain.lead_department, districts=districts, year=year,
        this_year=ctx.today.year, today=ctx.today.isoformat(), columns=columns[:4], cancelled=columns[4],
        next_stage=next_stage, schedule=schedule_rows,
        overdue_count=sum(1 for r in schedule_rows if r["item"].status is ItemStatus.OVERDUE),
        progress=progress, bar=charts.progress_bar, problems=problems, problem_overdue=problems_uc.overdue,
        today_date=ctx.today, tally=tally, move_errors=move_errors or {}, move_values=move_values or {},
        moved_name=moved_name,
        writable=can_write(actor, code),
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
        return _project_page(request, actor, project_id, status=status, errors=messages, values=values)
    with reading(request) as session:
        project = projects_uc.get_project(session, project_id=project_id)
    return _chain_page(request, actor, project.chain, year, status=status, move_errors={project_id: messages},
                       move_values={project_id: values}, moved_name=project.name)


def _year_of(form_value: Any) -> int | None:
    year = _int(form_value)
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
    raw = {"to": str(form.get("to") or ""), "on": str(form.get("on") or ""), "note": _optional(form.get("note")),
           "reason": _optional(form.get("reason"))}
    try:
        data = TransitionCreate.model_validate(raw)
    except ValidationError as exc:
        return _move_failed(request, actor, project_id, origin, error_text.validation_messages(lang, exc.errors()), 422,
                            raw, year)
    try:
        with writing(request) as session:
            p = projects_uc.transition_project(session, ctx=web_ctx(request, actor), project_id=project_id,
                                               data=data, if_match=_int(form.get("version")))
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
                                              reason=data.reason, if_match=_int(form.get("version")))
            name, stage = p.name, p.stage
    except ValidationError as exc:
        messages, status = error_text.validation_messages(lang, exc.errors()), 422
    except d.DomainError as exc:
        messages, status = error_text.domain_messages(lang, exc), status_for(exc)
    except IntegrityError:
        messages, status = [FieldMessage(None, t("err.concurrent"))], 409
    else:
        flash(request, "move.reverted", name=name, stage=t(f"stage.{stage}"))
        return RedirectResponse(f"/projects/{project_id}", status_code=303)
    return _project_page(request, actor, project_id, status=status, errors=messages,
                         values={"revert_reason": raw["reason"]})


# ================================================================ a project and its history


@dataclass
class TimelineEntry:
    item: HistoryItem
    at: str
    changes: list[tuple[str, str, str]]  # (label, before, after)


def _value(lang: str, name: str, value: Any, names: dict[str, dict[str, str]]) -> str:
    if value is None or value == "":
        return i18n.translate(lang, "common.none")
    if name == "stage":
        return i18n.translate(lang, f"stage.{value}") if f"stage.{value}" in i18n.MESSAGES else str(value)
    if isinstance(value, bool):
        return i18n.translate(lang, "common.yes" if value else "common.no")
    if name in ("planned_investment", "cumulative_investment"):
        return amount(value)
    if name in names:  # chain and district codes → their names
        return names[name].get(str(value), str(value))
    return str(value)


def _timeline(request: Request, lang: str, items: list[HistoryItem],
              names: dict[str, dict[str, str]]) -> list[TimelineEntry]:
    out = []
    for item in items:
        changes = []
        for c in item.changes:
            if c.before is None and c.after is None:
                continue
            label = error_text.field_label(lang, c.field) or c.field
            before = "" if c.before is None else _value(lang, c.field, c.before, names)
            changes.append((label, before, _value(lang, c.field, c.after, names)))
        out.append(TimelineEntry(item=item, at=_local(item.at, request), changes=changes))
    return out


def _project_page(
    request: Request, actor: Actor, project_id: str, *, status: int = 200, errors: Sequence[FieldMessage] = (),
    values: dict[str, Any] | None = None,
) -> HTMLResponse:
    lang = lang_of(request)
    ctx = web_ctx(request, actor)
    with reading(request) as session:
        p = projects_uc.get_project(session, project_id=project_id)
        # The history exactly as GET /projects/{id}/history reads it: the project's audit events, oldest first.
        events = audit_uc.list_events(session, after=None, entity="project", entity_id=project_id, action=None,
                                      since=None, until=None, limit=HISTORY_LIMIT + 1)
        items = [history_item(e) for e in events[:HISTORY_LIMIT]]
        chain = reference_uc.get_chain(session, code=p.chain)
        names = {"chain": {c.code: c.name for c in _all(session, "chain")},
                 "district": {x.code: x.name for x in _all(session, "district")}}
    moves = sum(1 for i in items if i.action == "project.transitioned")
    reverts = sum(1 for i in items if i.action == "project.reverted")
    return render(
        request, "project.html", actor=actor, status=status, nav="project", p=p, chain=chain,
        district=names["district"].get(p.district, p.district), major=is_major(p.planned_investment),
        timeline=_timeline(request, lang, items, names), history_more=len(events) > HISTORY_LIMIT,
        next_stage=next_stage(p.stage), can_revert=moves > reverts or len(events) > HISTORY_LIMIT,
        writable=can_write(actor, p.chain) and p.voided_at is None, today=ctx.today.isoformat(),
        voided_at=_local(p.voided_at, request), errors=list(errors), values=values or {},
        milestones=[(s.value, getattr(p, f"{s.value}_on")) for s in LISTS],
    )


@router.get("/projects/{project_id}")
def project_page(request: Request, project_id: ProjectPath, actor: SignedIn) -> Response:
    return _project_page(request, actor, project_id)


# ================================================================ the ledger and its exports


def _ledger_filter(chain: str | None, district: str | None, key: str | None, major: str | None) -> ProjectFilter:
    return ProjectFilter(chain=_optional(chain), district=_optional(district), key=_bool(key), major=_bool(major))


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
        chains = _all(session, "chain")
        districts = _all(session, "district")
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


# ================================================================ the monthly dispatch form


@dataclass
class DispatchRow:
    project: Any
    invested: str = ""
    progress: str = ""
    problems: str = ""
    errors: list[str] = field(default_factory=list)


def _dispatch_page(
    request: Request, actor: Actor, code: str, month: str, *, status: int = 200,
    errors: Sequence[FieldMessage] = (), values: dict[str, Any] | None = None,
) -> HTMLResponse:
    ctx = web_ctx(request, actor)
    tz = settings_of(request).tz
    with reading(request) as session:
        chain = reference_uc.get_chain(session, code=code)
        period = dispatch_uc.month_of(month)
        try:
            view = dispatch_uc.get_dispatch(session, chain=code, period=month, tz=tz)
        except d.NotFound:
            view = None
        projects = [p for p in projects_uc.list_projects(session, f=ProjectFilter(chain=code), after=None,
                                                         limit=DISPATCH_ROWS_LIMIT)
                    if p.stage != Stage.CANCELLED.value]
        listed = {p.id for p in projects}
        for e in view.entries if view else ():
            if e.project_id not in listed:  # an entry of a project cancelled since
                projects.append(projects_uc.get_project(session, project_id=e.project_id))
                listed.add(e.project_id)
        schedule = schedule_uc.read_schedule(session, year=period.year, chain=code, today=ctx.today, tz=tz)
    due = next(i.due_on for i in schedule.items
               if i.kind is ItemKind.MONTHLY_DISPATCH and i.period == str(period))
    saved = {e.project_id: e for e in view.entries} if view else {}
    rows = []
    for p in projects:
        e = saved.get(p.id)
        row = DispatchRow(p, invested=amount(e.invested).replace(",", "") if e else "",
                          progress=e.progress if e else "",
                          problems="\n".join(json.loads(e.problems)) if e else "")
        if values is not None:  # the form as it was posted
            row.invested = values["rows"].get(p.id, {}).get("invested", "")
            row.progress = values["rows"].get(p.id, {}).get("progress", "")
            row.problems = values["rows"].get(p.id, {}).get("problems", "")
        row.errors = [m.text for m in errors if m.field and m.field.startswith(f"row.{p.id}.")]
        rows.append(row)
    shown = {f"row.{r.project.id}." for r in rows}
    # errors of rows not on the page (a project voided meanwhile, a forged id) are shown for the whole form
    form_errors = [m for m in errors
                   if not (m.field and m.field.startswith("row.") and any(m.field.startswith(x) for x in shown))]
    state = view.row.status if view else "new"
    return render(
        request, "dispatch.html", actor=actor, status=status, nav="dispatch", chain=chain, period=period,
        view=view, state=state, due=due, rows=rows, errors=form_errors,
        field_errors={m.field: m.text for m in form_errors if m.field and not m.field.startswith("row.")},
        summary=(values or {}).get("summary", view.row.summary if view else ""),
        amend_reason=(values or {}).get("amend_reason", ""),
        submitted_at=_local(view.row.submitted_at, request) if view else "",
        writable=can_write(actor, code), begun=period.start <= ctx.today,
    )


@router.get("/chains/{code}/dispatches/{month}")
def dispatch_page(request: Request, code: ChainPath, month: MonthPath, actor: SignedIn) -> Response:
    return _dispatch_page(request, actor, code, month)


@router.post("/chains/{code}/dispatches/{month}")
def dispatch_save(request: Request, code: ChainPath, month: MonthPath, actor: SignedIn) -> Response:
    """Save the draft (``put_dispatch``, as ``PUT …/dispatches/{month}``) and, with ``action=submit``, submit it
    (``submit_dispatch``, as ``POST …/submit``) in the same transaction; on a submitted dispatch, save an
    amendment (with its reason)."""
    form = form_of(request)
    lang = lang_of(request)
    t = i18n.translator(lang)
    action = str(form.get("action") or "save")
    included: list[str] = []
    entries: list[dict[str, Any]] = []
    posted: dict[str, dict[str, str]] = {}
    for pid in form.getlist("pid"):
        pid = str(pid)
        invested = str(form.get(f"invested-{pid}") or "").strip()
        progress = str(form.get(f"progress-{pid}") or "").strip()
        problems = str(form.get(f"problems-{pid}") or "")
        posted[pid] = {"invested": invested, "progress": progress, "problems": problems}
        if not (invested or progress or problems.strip()):
            continue
        included.append(pid)
        entries.append({"project_id": pid, "invested": invested or "0", "progress": progress,
                        "problems": [line.strip() for line in problems.splitlines() if line.strip()]})
    raw = {"summary": str(form.get("summary") or ""), "entries": entries,
           "amend_reason": _optional(form.get("amend_reason"))}
    values = {"summary": raw["summary"], "amend_reason": raw["amend_reason"] or "", "rows": posted}

    def per_row(messages: list[FieldMessage]) -> list[FieldMessage]:
        """``entries.3.invested`` → ``row.<project id>.invested``, so the page shows it on the project's row."""
        out = []
        for m in messages:
            parts = (m.field or "").split(".")
            if len(parts) >= 2 and parts[0] == "entries" and parts[1].isdigit() and int(parts[1]) < len(included):
                label = error_text.field_label(lang, m.field)
                text = t("error.field", field=label, message=m.text) if label else m.text
                out.append(FieldMessage(".".join(["row", included[int(parts[1])], *parts[2:]]) or None, text))
            else:
                out.append(m)
        return out

    tz = settings_of(request).tz
    try:
        data = DispatchInput.model_validate(raw)
        with writing(request) as session:
            ctx = web_ctx(request, actor)
            view, _created = dispatch_uc.put_dispatch(session, ctx=ctx, chain=code, period=month, data=data,
                                                      if_match=_int(form.get("version")), tz=tz)
            was_submitted = view.row.status == "submitted"  # then the PUT was an amendment
            if action == "submit" and not was_submitted:
                dispatch_uc.submit_dispatch(session, ctx=ctx, chain=code, period=month, if_match=None, tz=tz)
            label = i18n.period_label(lang, dispatch_uc.month_of(month))
    except ValidationError as exc:
        messages, status = per_row(error_text.validation_messages(lang, exc.errors())), 422
    except d.DomainError as exc:
        messages, status = per_row(error_text.domain_messages(lang, exc)), status_for(exc)
    except IntegrityError:
        messages, status = [FieldMessage(None, t("err.concurrent"))], 409
    else:
        done = "amended" if was_submitted else ("submitted" if action == "submit" else "saved")
        flash(request, f"dispatch.{done}", month=label)
        return RedirectResponse(f"/chains/{code}/dispatches/{month}", status_code=303)
    return _dispatch_page(request, actor, code, month, status=status, errors=messages, values=values)
