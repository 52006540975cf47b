"""Registering a project (``/projects/new``) and editing one (``/projects/{id}/edit``).

The forms post the API's own field names (``POST /projects``, ``PATCH /projects/{id}``) and go through the same
use cases (``create_project``, ``update_project``), which check the roles and chain scope and audit the write.
Which fields a form has, and their labels, come from the project's one definition
(``service/domain/project_fields.py``): a new project takes the settable fields, an edit the patchable ones.
An edit sends the version it showed as If-Match; when someone saved first, the page says who and when and
shows their values beside the ones typed (kept), and the next save is made against their version.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Query, Request
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from starlette.responses import HTMLResponse, RedirectResponse, Response

from service.domain import errors as d
from service.domain import project_fields as pf
from service.domain.access import Actor, Role
from service.domain.stages import LISTS, Stage
from service.errors import status_for
from service.schemas.projects import ProjectCreate, ProjectUpdate
from service.usecases import audit as audit_uc
from service.usecases import projects as projects_uc
from service.web import error_text, i18n
from service.web.error_text import FieldMessage
from service.web.frame import (
    ProjectPath,
    SignedIn,
    all_reference,
    amount,
    form_int,
    lang_of,
    local_time,
    reading,
    render,
    router,
    writing,
)
from service.web.session import flash, form_of, web_ctx

CREATORS = (Role.ADMIN, Role.DEPARTMENT, Role.INTEGRATION)
EDITORS = (Role.ADMIN, Role.DEPARTMENT)
#: The milestone dates a new project may be given (``milestones.signed`` …), in list order.
MILESTONE_INPUTS = tuple(f"milestones.{s.value}" for s in LISTS)
ChainQuery = Annotated[str | None, Query(max_length=32)]


@dataclass
class FormField:
    """One control of the form, from the field's definition."""

    name: str  # the API's field name (the form control's name)
    kind: str  # pf.Kind value: the template picks the control from it
    label: str
    required: bool
    value: str
    error: str | None = None
    options: list[tuple[str, str]] | None = None  # (code, name) for a code field


def _text(f: pf.Field, value: Any) -> str:
    """A stored value as the form shows it (amounts without separators, so that they post back unchanged)."""
    if value is None:
        return ""
    if f.kind is pf.Kind.AMOUNT:
        return amount(value).replace(",", "")
    if f.kind is pf.Kind.FLAG:
        return "true" if value else ""
    return str(value)


def _posted(form: Any, fields: Sequence[pf.Field]) -> dict[str, str]:
    """The form as typed, field by field (kept when the page comes back with errors)."""
    out = {}
    for f in fields:
        if f.kind is pf.Kind.FLAG:
            out[f.name] = "true" if "true" in form.getlist(f.name) else ""
        else:
            out[f.name] = str(form.get(f.name) or "").strip()
    return out


def _body(fields: Sequence[pf.Field], values: dict[str, str]) -> tuple[dict[str, Any], list[str]]:
    """The request body the API would get, and the required fields left empty (refused before the use case: a
    PATCH would otherwise read an empty field as "unchanged")."""
    body: dict[str, Any] = {}
    blank = []
    for f in fields:
        text = values[f.name]
        if f.kind is pf.Kind.FLAG:
            body[f.name] = text == "true"
        elif not text:
            if f.required or not f.nullable:
                blank.append(f.name)
            else:
                body[f.name] = None
        elif f.kind is pf.Kind.AMOUNT:
            body[f.name] = text.replace(",", "").replace(" ", "")  # 12,500.00 as typed is 12500.00
        else:
            body[f.name] = text
    return body, blank


def _options(session: Any, actor: Actor, f: pf.Field, *, new: bool) -> list[tuple[str, str]] | None:
    if f.kind is not pf.Kind.CODE or not f.references:
        return None
    rows = all_reference(session, f.references)
    if f.name == "chain" and new and actor.role is Role.DEPARTMENT:
        rows = [r for r in rows if r.code in actor.chains]
    return [(r.code, r.name) for r in rows]


def _fields(lang: str, session: Any, actor: Actor, defs: Sequence[pf.Field], values: dict[str, str],
            errors: dict[str, str], *, new: bool) -> list[FormField]:
    return [FormField(name=f.name, kind=f.kind.value, label=error_text.field_label(lang, f.name) or f.name,
                      required=f.required, value=values.get(f.name, ""), error=errors.get(f.name),
                      options=_options(session, actor, f, new=new)) for f in defs]


def _field_errors(messages: Sequence[FieldMessage]) -> dict[str, str]:
    out: dict[str, str] = {}
    for m in messages:
        if m.field and m.field not in out:
            out[m.field] = m.text
    return out


def _required(lang: str, names: Sequence[str]) -> list[FieldMessage]:
    return [FieldMessage(name, i18n.translate(lang, "val.required")) for name in names]


def _domain(lang: str, exc: d.DomainError) -> list[FieldMessage]:
    """A refusal's messages; a duplicate external ref is the external ref field's."""
    messages = error_text.domain_messages(lang, exc)
    if isinstance(exc, d.Duplicate) and "external_ref" in exc.detail:
        return [FieldMessage("external_ref", m.text) for m in messages]
    return messages


# ================================================================ /projects/new


def _new_page(request: Request, actor: Actor, *, values: dict[str, str], stage: str, milestones: dict[str, str],
              status: int = 200, errors: Sequence[FieldMessage] = ()) -> HTMLResponse:
    lang = lang_of(request)
    by_field = _field_errors(errors)
    with reading(request) as session:
        fields = _fields(lang, session, actor, pf.SETTABLE, values, by_field, new=True)
    ctx = web_ctx(request, actor)
    stages = [Stage.SIGNED.value] if actor.role is Role.INTEGRATION else [s.value for s in LISTS]
    return render(
        request, "project_form.html", actor=actor, status=status, nav="projects", mode="new", p=None,
        fields=fields, errors=list(errors), field_errors=by_field, chosen_stage=stage, stages=stages,
        milestones=[(name, name.removeprefix("milestones."), milestones.get(name, "")) for name in MILESTONE_INPUTS],
        today=ctx.today.isoformat(), theirs=None, stale=None, version=None,
    )


@router.get("/projects/new")
def new_project_page(request: Request, actor: SignedIn, chain: ChainQuery = None) -> Response:
    actor.require(*CREATORS, action="create projects")
    values = {f.name: "" for f in pf.SETTABLE}
    values["chain"] = chain or (sorted(actor.chains)[0] if actor.role is Role.DEPARTMENT and actor.chains else "")
    today = web_ctx(request, actor).today.isoformat()
    return _new_page(request, actor, values=values, stage=Stage.SIGNED.value,
                     milestones={"milestones.signed": today})


@router.post("/projects/new")
def create_project(request: Request, actor: SignedIn) -> Response:
    """``create_project``, as ``POST /projects`` does; then the new project's page."""
    form = form_of(request)
    lang = lang_of(request)
    values = _posted(form, pf.SETTABLE)
    stage = str(form.get("stage") or Stage.SIGNED.value)
    milestones = {name: str(form.get(name) or "").strip() for name in MILESTONE_INPUTS}
    body, blank = _body(pf.SETTABLE, values)
    body.update(stage=stage, milestones={name.removeprefix("milestones."): v
                                         for name, v in milestones.items() if v})
    messages: list[FieldMessage] = _required(lang, blank)
    status = 422
    try:
        data = ProjectCreate.model_validate(body)
    except ValidationError as exc:
        messages += [m for m in error_text.validation_messages(lang, exc.errors()) if m.field not in blank]
    if not messages:
        try:
            with writing(request) as session:
                p = projects_uc.create_project(session, ctx=web_ctx(request, actor), data=data)
                pid, name = p.id, p.name
        except d.DomainError as exc:
            messages, status = _domain(lang, exc), status_for(exc)
        except IntegrityError:
            messages, status = [FieldMessage(None, i18n.translate(lang, "err.concurrent"))], 409
        else:
            flash(request, "project.created", name=name)
            return RedirectResponse(f"/projects/{pid}", status_code=303)
    return _new_page(request, actor, values=values, stage=stage, milestones=milestones, status=status,
                     errors=messages)


# ================================================================ /projects/{id}/edit


@dataclass
class Theirs:
    """Who saved the project first, when, and their values of the fields the form differs on."""

    name: str
    role: str
    at: str
    version: int
    differences: list[tuple[str, str, str]]  # (label, theirs, typed)


def _edit_page(request: Request, actor: Actor, project_id: str, *, values: dict[str, str] | None = None,
               status: int = 200, errors: Sequence[FieldMessage] = (), theirs: Theirs | None = None,
               version: int | None = None) -> HTMLResponse:
    """The form; ``version`` is the one the user's form was read at (kept when the page comes back with errors:
    only a stale save moves it on, to the version the page then shows)."""
    lang = lang_of(request)
    actor.require(*EDITORS, action="change projects")
    by_field = _field_errors(errors)
    with reading(request) as session:
        p = projects_uc.get_project(session, project_id=project_id)
        actor.require_chain(p.chain, action="change projects")
        current = {f.name: _text(f, getattr(p, f.name)) for f in pf.PATCHABLE}
        fields = _fields(lang, session, actor, pf.PATCHABLE, values or current, by_field, new=False)
        chain = next((c.name for c in all_reference(session, "chain") if c.code == p.chain), p.chain)
    return render(
        request, "project_form.html", actor=actor, status=status, nav="projects", mode="edit", p=p,
        chain_name=chain, fields=fields, errors=list(errors), field_errors=by_field, theirs=theirs,
        version=p.version if version is None else version, chosen_stage=p.stage, stages=[], milestones=[], today="",
    )


@router.get("/projects/{project_id}/edit")
def edit_project_page(request: Request, project_id: ProjectPath, actor: SignedIn) -> Response:
    return _edit_page(request, actor, project_id)


def _theirs(request: Request, lang: str, project_id: str, typed: dict[str, str]) -> Theirs:
    """The save that came first: the project's latest audit event (its actor and time) and its current values."""
    with reading(request) as session:
        p = projects_uc.get_project(session, project_id=project_id)
        events = audit_uc.list_events(session, after=None, entity="project", entity_id=project_id, action=None,
                                      since=p.updated_at, until=None, limit=100)
    last = events[-1] if events else None
    differences = []
    for f in pf.PATCHABLE:
        theirs = _text(f, getattr(p, f.name))
        if theirs != typed.get(f.name, ""):
            label = error_text.field_label(lang, f.name) or f.name
            differences.append((label, theirs, typed.get(f.name, "")))
    role = last.actor_role if last else ""
    role_key = f"role.{role}"
    return Theirs(name=last.actor_name if last else "?",
                  role=i18n.translate(lang, role_key) if role_key in i18n.MESSAGES else role,
                  at=local_time(last.at if last else p.updated_at, request), version=p.version,
                  differences=differences)


@router.post("/projects/{project_id}/edit")
def update_project(request: Request, project_id: ProjectPath, actor: SignedIn) -> Response:
    """``update_project``, as ``PATCH /projects/{id}`` with ``If-Match`` (the version the form showed)."""
    form = form_of(request)
    lang = lang_of(request)
    values = _posted(form, pf.PATCHABLE)
    body, blank = _body(pf.PATCHABLE, values)
    messages: list[FieldMessage] = _required(lang, blank)
    status, theirs = 422, None
    try:
        data = ProjectUpdate.model_validate(body)
    except ValidationError as exc:
        messages += [m for m in error_text.validation_messages(lang, exc.errors()) if m.field not in blank]
    if not messages:
        try:
            with writing(request) as session:
                before = projects_uc.get_project(session, project_id=project_id)
                p = projects_uc.update_project(session, ctx=web_ctx(request, actor), project_id=project_id,
                                               data=data, if_match=form_int(form.get("version")))
                changed = [error_text.field_label(lang, f.name) or f.name for f in pf.PATCHABLE
                           if getattr(before, f.name) != getattr(p, f.name)]
                name = p.name
        except d.StaleVersion as exc:
            status = status_for(exc)
            theirs = _theirs(request, lang, project_id, values)
            messages = [FieldMessage(None, i18n.translate(lang, "project.stale", name=theirs.name, role=theirs.role,
                                                          at=theirs.at))]
        except d.DomainError as exc:
            messages, status = _domain(lang, exc), status_for(exc)
        except IntegrityError:
            messages, status = [FieldMessage(None, i18n.translate(lang, "err.concurrent"))], 409
        else:
            sep = "、" if lang == "zh" else ", "
            if changed:
                flash(request, "project.updated", name=name, fields=sep.join(changed))
            else:
                flash(request, "project.unchanged", name=name)
            return RedirectResponse(f"/projects/{project_id}", status_code=303)
    return _edit_page(request, actor, project_id, values=values, status=status, errors=messages, theirs=theirs,
                      version=None if theirs else form_int(form.get("version")))
