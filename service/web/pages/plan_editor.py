"""The annual plan's editor (``/chains/{code}/plans/{year}/edit``) and its approval (``…/approve``).

The editor posts what the API's ``PUT /chains/{code}/plans/{year}`` takes (goals, benchmark city, tasks,
indicators with target, unit, source and benchmark, and the revision's reason once approved) and calls the same
use case (``put_plan``): a year without a plan gets its draft (revision 1), a draft is edited in place, an
approved plan gets revision n+1. The form sends the version it showed as If-Match; when someone saved first the
page says who and when and shows how their version differs from what was typed (kept). Rows are added with a
plain submit button (no JavaScript needed); empty rows are not saved, a row is dropped by ticking its box.
Approval is ``approve_plan``, as ``POST …/approve``: the admin (city office) only — the use case refuses anyone
else (403 page).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from starlette.responses import HTMLResponse, RedirectResponse, Response

from service.domain import errors as d
from service.domain import plan_diff
from service.domain.access import Actor, Role
from service.errors import status_for
from service.schemas.plans import IndicatorSource, PlanPut, PlanStatus
from service.usecases import audit as audit_uc
from service.usecases import plans as plans_uc
from service.usecases import reference as reference_uc
from service.web import error_text, i18n
from service.web.error_text import FieldMessage
from service.web.frame import (
    ChainPath,
    SignedIn,
    amount,
    form_int,
    lang_of,
    local_time,
    reading,
    render,
    router,
    writing,
)
from service.web.pages.plan_revisions import DiffView, YearPath, diff_view, plan_content
from service.web.session import flash, form_of, web_ctx

WRITERS = (Role.ADMIN, Role.DEPARTMENT)
TASK_INPUTS = ("key", "title", "owner_unit", "due_on")
INDICATOR_INPUTS = ("key", "name", "unit", "target", "source", "benchmark.city", "benchmark.value")
MAX_TASK_ROWS, MAX_INDICATOR_ROWS = 200, 100
SOURCES = [s.value for s in IndicatorSource]


@dataclass
class Editor:
    """What the form shows: the typed (or stored) values, by the control's name."""

    goals: str = ""
    benchmark_city: str = ""
    revision_reason: str = ""
    tasks: list[dict[str, str]] = field(default_factory=list)
    indicators: list[dict[str, str]] = field(default_factory=list)


def _stored(view: plans_uc.PlanView | None) -> Editor:
    if view is None:
        return Editor(tasks=[_blank(TASK_INPUTS)], indicators=[_blank(INDICATOR_INPUTS)])
    p = view.plan
    tasks = [{"key": t.key, "title": t.title, "owner_unit": t.owner_unit, "due_on": t.due_on.isoformat()}
             for t in view.tasks]
    indicators = [{"key": i.key, "name": i.name, "unit": i.unit, "target": amount(i.target).replace(",", ""),
                   "source": i.source, "benchmark.city": (i.benchmark_city or "") if i.benchmark_value is not None
                   else "", "benchmark.value": amount(i.benchmark_value).replace(",", "")} for i in view.indicators]
    return Editor(goals=p.goals, benchmark_city=p.benchmark_city or "", tasks=tasks + [_blank(TASK_INPUTS)],
                  indicators=indicators + [_blank(INDICATOR_INPUTS)])


def _blank(names: Sequence[str]) -> dict[str, str]:
    return dict.fromkeys(names, "")


def _rows(form: Any, prefix: str, names: Sequence[str], limit: int) -> list[dict[str, str]]:
    count = min(form_int(form.get(f"{prefix}.count")) or 0, limit + 5)
    rows = []
    for n in range(count):
        row = {name: str(form.get(f"{prefix}.{n}.{name}") or "").strip() for name in names}
        row["remove"] = "true" if form.get(f"{prefix}.{n}.remove") else ""
        rows.append(row)
    return rows


def _posted(form: Any) -> Editor:
    def text(name: str) -> str:
        return str(form.get(name) or "").strip()

    return Editor(goals=text("goals"), benchmark_city=text("benchmark_city"), revision_reason=text("revision_reason"),
                  tasks=_rows(form, "tasks", TASK_INPUTS, MAX_TASK_ROWS),
                  indicators=_rows(form, "indicators", INDICATOR_INPUTS, MAX_INDICATOR_ROWS))


def _used(row: dict[str, str], names: Sequence[str]) -> bool:
    """A row counts when it is not ticked for removal and something is typed in it (a source alone is not)."""
    return not row.get("remove") and any(row[n] for n in names if n != "source")


def _body(lang: str, e: Editor) -> tuple[dict[str, Any], dict[str, list[int]], list[FieldMessage]]:
    """The PUT body, where each body row comes from in the form, and the required fields left empty."""
    blank: list[FieldMessage] = []
    required = i18n.translate(lang, "val.required")
    tasks, task_rows = [], []
    for n, row in enumerate(e.tasks):
        if not _used(row, TASK_INPUTS):
            continue
        blank += [FieldMessage(f"tasks.{n}.{k}", required) for k in TASK_INPUTS if not row[k]]
        tasks.append({k: row[k] for k in TASK_INPUTS})
        task_rows.append(n)
    indicators, indicator_rows = [], []
    for n, row in enumerate(e.indicators):
        if not _used(row, INDICATOR_INPUTS):
            continue
        blank += [FieldMessage(f"indicators.{n}.{k}", required)
                  for k in ("key", "name", "unit", "target", "source") if not row[k]]
        item: dict[str, Any] = {k: row[k] for k in ("key", "name", "unit", "source")}
        item["target"] = row["target"].replace(",", "")
        if row["benchmark.value"]:
            item["benchmark"] = {"city": row["benchmark.city"] or None,
                                 "value": row["benchmark.value"].replace(",", "")}
        elif row["benchmark.city"]:
            blank.append(FieldMessage(f"indicators.{n}.benchmark.value",
                                      i18n.translate(lang, "plan.err.benchmark_value")))
        indicators.append(item)
        indicator_rows.append(n)
    if not e.goals:
        blank.append(FieldMessage("goals", required))
    body = {"goals": e.goals, "benchmark_city": e.benchmark_city or None, "tasks": tasks, "indicators": indicators,
            "revision_reason": e.revision_reason or None}
    return body, {"tasks": task_rows, "indicators": indicator_rows}, blank


def _to_form(name: str | None, rows: dict[str, list[int]]) -> str | None:
    """``tasks.1.title`` of the body → the form row it came from (``tasks.3.title`` when rows 1–2 were empty)."""
    if not name:
        return name
    parts = name.split(".")
    if len(parts) >= 2 and parts[0] in rows and parts[1].isdigit() and int(parts[1]) < len(rows[parts[0]]):
        parts[1] = str(rows[parts[0]][int(parts[1])])
    return ".".join(parts)


_PLAN_MESSAGES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"Duplicate key '(?P<part>.*)' \(also .*\)\."), "plan.err.duplicate_key"),
    (re.compile(r"A task of the (?P<year>\d+) plan is due within \d+\."), "plan.err.due_in_year"),
    (re.compile(r"Name the benchmark city .*"), "plan.err.benchmark_city"),
    (re.compile(r"The \d+ plan of chain '.*' is approved: a change makes a new revision .*"),
     "plan.err.reason_required"),
]


def _plan_text(lang: str, message: str) -> str | None:
    for pattern, key in _PLAN_MESSAGES:
        match = pattern.fullmatch(message)
        if match:
            return i18n.translate(lang, key, **match.groupdict())
    return None


def _refused(lang: str, exc: Exception, rows: dict[str, list[int]]) -> list[FieldMessage]:
    """A refusal's messages, each on the form field it concerns, the plan's own rules in the user's words."""
    if isinstance(exc, ValidationError):
        messages = error_text.validation_messages(lang, exc.errors())
    elif isinstance(exc, d.DomainError):
        raw = exc.errors or [{"loc": [], "msg": exc.detail}]
        messages = []
        for e, m in zip(raw, error_text.domain_messages(lang, exc), strict=False):
            messages.append(FieldMessage(m.field, _plan_text(lang, str(e.get("msg", ""))) or m.text))
    else:
        messages = [FieldMessage(None, i18n.translate(lang, "err.concurrent"))]
    return [FieldMessage(_to_form(m.field, rows), m.text) for m in messages]


@dataclass
class Theirs:
    """Who saved the plan first, when, their version and how it differs from what was typed."""

    name: str
    role: str
    at: str
    version: int
    diff: DiffView | None


def _theirs(request: Request, lang: str, code: str, year: int, typed: dict[str, Any]) -> Theirs:
    with reading(request) as session:
        view = plans_uc.get_plan(session, chain=code, year=year)
        events = audit_uc.list_events(session, after=None, entity="plan", entity_id=plans_uc.plan_entity_id(code, year),
                                      action=None, since=view.plan.updated_at, until=None, limit=100)
    last = events[-1] if events else None
    role = last.actor_role if last else ""
    try:
        mine = PlanPut.model_validate(typed)
        yours = {"goals": mine.goals, "benchmark_city": mine.benchmark_city or view.plan.benchmark_city,
                 "tasks": [t.model_dump() for t in mine.tasks],
                 "indicators": [{"key": i.key, "name": i.name, "unit": i.unit, "target": i.target,
                                 "source": i.source.value,
                                 "benchmark_city": (i.benchmark.city or mine.benchmark_city or view.plan.benchmark_city)
                                 if i.benchmark else None,
                                 "benchmark_value": i.benchmark.value if i.benchmark else None}
                                for i in mine.indicators]}
        diff = diff_view(lang, plan_diff.diff_plans(plan_content(view), yours))
    except ValidationError:
        diff = None
    return Theirs(name=last.actor_name if last else "?",
                  role=i18n.translate(lang, f"role.{role}") if f"role.{role}" in i18n.MESSAGES else role,
                  at=local_time(last.at if last else view.plan.updated_at, request), version=view.plan.version,
                  diff=diff)


def _editor_page(request: Request, actor: Actor, code: str, year: int, *, editor: Editor | None = None,
                 status: int = 200, errors: Sequence[FieldMessage] = (), theirs: Theirs | None = None,
                 version: int | None = None) -> HTMLResponse:
    actor.require(*WRITERS, action="write plans")
    actor.require_chain(code, action="write plans")
    lang = lang_of(request)
    with reading(request) as session:
        chain = reference_uc.get_chain(session, code=code)
        try:
            view: plans_uc.PlanView | None = plans_uc.get_plan(session, chain=code, year=year)
        except d.NotFound:
            view = None
    by_field: dict[str, str] = {}
    for m in errors:
        if m.field:
            by_field.setdefault(m.field, m.text)
    approved = view is not None and view.plan.status == PlanStatus.APPROVED
    shown = editor or _stored(view)
    return render(
        request, "plan_edit.html", actor=actor, status=status, nav="chain", chain=chain, year=year, view=view,
        approved=approved, editor=shown, field_errors=by_field, errors=list(errors), theirs=theirs,
        sources=SOURCES, version=(view.plan.version if view else "") if version is None else version,
        label=lambda name: _label(lang, name),
    )


def _label(lang: str, name: str | None) -> str:
    """A control's label by its name (``tasks.3.due_on`` → 完成时限), for the summary of errors."""
    key = "plan.f." + re.sub(r"^(tasks|indicators)\.\d+\.", "", name or "")
    return i18n.translate(lang, key) if key in i18n.MESSAGES else ""


@router.get("/chains/{code}/plans/{year}/edit")
def plan_editor(request: Request, code: ChainPath, year: YearPath, actor: SignedIn) -> Response:
    return _editor_page(request, actor, code, year)


@router.post("/chains/{code}/plans/{year}/edit")
def save_plan(request: Request, code: ChainPath, year: YearPath, actor: SignedIn) -> Response:
    """``put_plan``, as ``PUT /chains/{code}/plans/{year}`` with If-Match (the version the form showed)."""
    form = form_of(request)
    lang = lang_of(request)
    editor = _posted(form)
    action = str(form.get("action") or "save")
    if action in ("add_task", "add_indicator"):  # a row more, nothing saved (works without JavaScript)
        rows, names, limit = ((editor.tasks, TASK_INPUTS, MAX_TASK_ROWS) if action == "add_task"
                              else (editor.indicators, INDICATOR_INPUTS, MAX_INDICATOR_ROWS))
        if len(rows) < limit:
            rows.append(_blank(names))
        return _editor_page(request, actor, code, year, editor=editor, version=form_int(form.get("version")) or "")
    body, rows, messages = _body(lang, editor)
    status, theirs = 422, None
    try:
        data = PlanPut.model_validate(body)
    except ValidationError as exc:
        blank = {m.field for m in messages}
        messages += [m for m in _refused(lang, exc, rows) if m.field not in blank]
    if not messages:
        try:
            with writing(request) as session:
                before = None
                try:
                    before = plans_uc.get_plan(session, chain=code, year=year).plan.version
                except d.NotFound:
                    pass
                view, created = plans_uc.put_plan(session, ctx=web_ctx(request, actor), chain=code, year=year,
                                                  data=data, if_match=form_int(form.get("version")))
                revision, after, state = view.plan.revision, view.plan.version, view.plan.status
        except (d.StaleVersion, d.PreconditionRequired) as exc:
            status = status_for(exc)
            theirs = _theirs(request, lang, code, year, body)
            messages = [FieldMessage(None, i18n.translate(lang, "plan.stale", name=theirs.name, role=theirs.role,
                                                          at=theirs.at))]
        except (d.DomainError, IntegrityError) as exc:
            messages = _refused(lang, exc, rows)
            status = status_for(exc) if isinstance(exc, d.DomainError) else 409
        else:
            if created:
                flash(request, "plan.created_flash", year=str(year))
            elif before == after:
                flash(request, "plan.unchanged_flash")
            elif state == PlanStatus.APPROVED:
                flash(request, "plan.revised_flash", year=str(year), n=str(revision))
            else:
                flash(request, "plan.saved_flash", year=str(year))
            return RedirectResponse(f"/chains/{code}/plans/{year}", status_code=303)
    return _editor_page(request, actor, code, year, editor=editor, status=status, errors=messages, theirs=theirs,
                        version=theirs.version if theirs else (form_int(form.get("version")) or ""))


@router.post("/chains/{code}/plans/{year}/approve")
def approve_plan(request: Request, code: ChainPath, year: YearPath, actor: SignedIn) -> Response:
    """``approve_plan``, as ``POST …/approve`` with If-Match: the admin only (anyone else: the use case's 403)."""
    form = form_of(request)
    with writing(request) as session:
        view = plans_uc.approve_plan(session, ctx=web_ctx(request, actor), chain=code, year=year,
                                     if_match=form_int(form.get("version")))
        revision = view.plan.revision
    flash(request, "plan.approved_flash", year=str(year), n=str(revision))
    return RedirectResponse(f"/chains/{code}/plans/{year}", status_code=303)
