"""The monthly dispatch form."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
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
from service.domain.access import Actor
from service.domain.queries import ProjectFilter
from service.domain.schedule import ItemKind
from service.domain.stages import Stage
from service.errors import status_for
from service.schemas.rhythm import DispatchInput
from service.usecases import dispatches as dispatch_uc
from service.usecases import projects as projects_uc
from service.usecases import reference as reference_uc
from service.usecases import schedule as schedule_uc
from service.web import error_text, i18n
from service.web.error_text import FieldMessage
from service.web.frame import (
    DISPATCH_ROWS_LIMIT,
    ChainPath,
    MonthPath,
    SignedIn,
    amount,
    can_write,
    form_int,
    lang_of,
    local_time,
    optional_text,
    reading,
    render,
    router,
    writing,
)
from service.web.session import (
    flash,
    form_of,
    web_ctx,
)


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
        submitted_at=local_time(view.row.submitted_at, request) if view else "",
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
           "amend_reason": optional_text(form.get("amend_reason"))}
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
                                                      if_match=form_int(form.get("version")), tz=tz)
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
