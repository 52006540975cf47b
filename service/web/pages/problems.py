"""Prominent problems (突出问题): the list (``/problems``), raising one (``/problems/new``) and moving one through
its lifecycle (``/problems/{id}``) — through the use cases of ``POST /problems``, ``GET /problems`` and
``POST /problems/{id}/transitions``, with the domain's lifecycle table (service/domain/problems.py) deciding which
moves a problem offers. The forms post the API's field names; refusals come back beside their fields."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Path as PathParam
from fastapi import Query, Request
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from starlette.responses import HTMLResponse, RedirectResponse, Response

from service.domain import errors as d
from service.domain.access import Actor, Role
from service.domain.problems import ProblemStatus, allowed_targets
from service.domain.queries import ProblemFilter, ProjectFilter
from service.routers.common import BY_ID, IdCursor, cursor_values, next_cursor
from service.routers.history import history_item
from service.schemas.rhythm import ProblemCreate, ProblemTransitionInput
from service.usecases import audit as audit_uc
from service.usecases import problems as problems_uc
from service.usecases import projects as projects_uc
from service.web import i18n
from service.web.error_text import FieldMessage
from service.web.frame import (
    DISPATCH_ROWS_LIMIT,
    HISTORY_LIMIT,
    OPEN_PROBLEMS,
    SignedIn,
    TextQuery,
    all_reference,
    can_write,
    form_int,
    lang_of,
    local_time,
    optional_text,
    reading,
    refusal,
    render,
    router,
    writing,
)
from service.web.session import flash, form_of, web_ctx

PAGE_SIZE = 50
RAISERS = (Role.ADMIN, Role.DEPARTMENT)
#: The fields of ``POST /problems`` the form has, in order (the chain and project come first, as choices).
TEXT_FIELDS = ("title", "detail", "owner_unit", "due_on")
SHOW = ("open", "overdue", "all")
ProblemPath = Annotated[str, PathParam(max_length=26)]
ShowQuery = Annotated[str | None, Query(max_length=16)]
ProjectQuery = Annotated[str | None, Query(max_length=26)]


def _writable_chains(session: Any, actor: Actor) -> list[Any]:
    return [c for c in all_reference(session, "chain") if can_write(actor, c.code)]


# ================================================================ /problems


@router.get("/problems")
def problem_list(
    request: Request, actor: SignedIn, chain: TextQuery = None, show: ShowQuery = None, status: TextQuery = None,
    cursor: IdCursor = None,
) -> Response:
    """``open`` (default: open, in progress or reopened), ``overdue`` or ``all``, by chain and status; pages of the
    API's list (a page of ``open`` leaves out the settled problems of the rows it read)."""
    ctx = web_ctx(request, actor)
    show = show if show in SHOW else "open"
    status = optional_text(status)
    if status is not None and status not in {s.value for s in ProblemStatus}:
        raise d.InvalidInput.at(["query", "status"], f"Unknown status '{status}'.")
    f = ProblemFilter(chain=optional_text(chain), status=status, overdue=True if show == "overdue" else None)
    after = cursor_values(cursor, BY_ID)
    with reading(request) as session:
        rows = problems_uc.list_problems(session, f=f, today=ctx.today, after=after[0] if after else None,
                                         limit=PAGE_SIZE + 1)
        chains = all_reference(session, "chain")
    shown = rows[:PAGE_SIZE]
    if show == "open":
        shown = [p for p in shown if p.status in OPEN_PROBLEMS]
    query = {"chain": f.chain or "", "show": show, "status": status or ""}
    kept = {k: v for k, v in query.items() if v}
    following = next_cursor(rows, PAGE_SIZE, lambda p: [p.id])
    return render(
        request, "problems.html", actor=actor, nav="problems", rows=shown, query=query, chains=chains,
        chain_names={c.code: c.name for c in chains}, statuses=[s.value for s in ProblemStatus], shows=SHOW,
        overdue=lambda p: problems_uc.overdue(p, ctx.today),
        next_url=f"/problems?{urlencode({**kept, 'cursor': following})}" if following else None,
        first_url=f"/problems?{urlencode(kept)}" if cursor else None,
        may_raise=actor.role is Role.ADMIN or (actor.role is Role.DEPARTMENT and bool(actor.chains)),
    )


# ================================================================ /problems/new


def _new_page(request: Request, actor: Actor, values: dict[str, str], *, status: int = 200,
              errors: Sequence[FieldMessage] = ()) -> HTMLResponse:
    actor.require(*RAISERS, action="raise problems")
    with reading(request) as session:
        chains = _writable_chains(session, actor)
        chain = values.get("chain") or (chains[0].code if chains else "")
        projects = []
        if chain and can_write(actor, chain):
            projects = projects_uc.list_projects(session, f=ProjectFilter(chain=chain), after=None,
                                                 limit=DISPATCH_ROWS_LIMIT)
    by_field: dict[str, str] = {}
    for m in errors:
        if m.field and m.field not in by_field:
            by_field[m.field] = m.text
    return render(
        request, "problem_new.html", actor=actor, status=status, nav="problems", chains=chains, chain=chain,
        projects=projects, values=values, errors=list(errors), field_errors=by_field,
        today=web_ctx(request, actor).today.isoformat(),
    )


@router.get("/problems/new")
def new_problem_page(request: Request, actor: SignedIn, chain: TextQuery = None,
                     project_id: ProjectQuery = None) -> Response:
    return _new_page(request, actor, {"chain": chain or "", "project_id": project_id or ""})


@router.post("/problems/new")
def raise_problem(request: Request, actor: SignedIn) -> Response:
    """``create_problem``, as ``POST /problems``; then the problem's page."""
    form = form_of(request)
    lang = lang_of(request)
    values = {name: str(form.get(name) or "").strip() for name in ("chain", "project_id", *TEXT_FIELDS)}
    values["detail"] = str(form.get("detail") or "")
    body = {k: (v or None) if k == "project_id" else v for k, v in values.items()}
    try:
        data = ProblemCreate.model_validate(body)
        with writing(request) as session:
            p = problems_uc.create_problem(session, ctx=web_ctx(request, actor), data=data)
            pid, title = p.id, p.title
    except (ValidationError, d.DomainError, IntegrityError) as exc:
        messages, status = refusal(lang, exc)
    else:
        flash(request, "problem.raised", title=title)
        return RedirectResponse(f"/problems/{pid}", status_code=303)
    return _new_page(request, actor, values, status=status, errors=messages)


# ================================================================ /problems/{id}


def _problem_page(request: Request, actor: Actor, problem_id: str, *, status: int = 200,
                  errors: Sequence[FieldMessage] = (), values: dict[str, str] | None = None) -> HTMLResponse:
    ctx = web_ctx(request, actor)
    with reading(request) as session:
        p = problems_uc.get_problem(session, problem_id=problem_id)
        project = projects_uc.get_project(session, project_id=p.project_id) if p.project_id else None
        events = audit_uc.list_events(session, after=None, entity="problem", entity_id=problem_id, action=None,
                                      since=None, until=None, limit=HISTORY_LIMIT)
        chain = next((c for c in all_reference(session, "chain") if c.code == p.chain), None)
    by_field = {m.field: m.text for m in errors if m.field}
    history = []
    for e in events:
        item = history_item(e)
        change = next((c for c in item.changes if c.field == "status"), None)
        history.append({"at": local_time(item.at, request), "by": item.actor, "action": item.action,
                        "status": change.after if change else None, "before": change.before if change else None,
                        "note": item.note})
    return render(
        request, "problem.html", actor=actor, status=status, nav="problems", p=p, chain=chain, project=project,
        overdue=problems_uc.overdue(p, ctx.today), targets=allowed_targets(ProblemStatus(p.status)),
        writable=can_write(actor, p.chain), history=history, errors=list(errors), field_errors=by_field,
        values=values or {},
    )


@router.get("/problems/{problem_id}")
def problem_page(request: Request, problem_id: ProblemPath, actor: SignedIn) -> Response:
    return _problem_page(request, actor, problem_id)


@router.post("/problems/{problem_id}/transition")
def move_problem(request: Request, problem_id: ProblemPath, actor: SignedIn) -> Response:
    """``transition_problem``, as ``POST /problems/{id}/transitions``, with the page's version as If-Match."""
    form = form_of(request)
    lang = lang_of(request)
    values = {"to": str(form.get("to") or ""), "note": str(form.get("note") or "")}
    try:
        data = ProblemTransitionInput.model_validate(values)
        with writing(request) as session:
            p = problems_uc.transition_problem(session, ctx=web_ctx(request, actor), problem_id=problem_id,
                                               data=data, if_match=form_int(form.get("version")))
            title, new_status = p.title, p.status
    except (ValidationError, d.DomainError, IntegrityError) as exc:
        messages, status = refusal(lang, exc)
    else:
        flash(request, "problem.moved", title=title, status=i18n.translate(lang, f"problem.status.{new_status}"))
        return RedirectResponse(f"/problems/{problem_id}", status_code=303)
    return _problem_page(request, actor, problem_id, status=status, errors=messages, values=values)

