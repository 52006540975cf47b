"""A project and its history."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from starlette.responses import (
    HTMLResponse,
    Response,
)

from service.domain.access import Actor
from service.domain.stages import LISTS, is_major
from service.routers.history import HistoryItem, history_item
from service.usecases import audit as audit_uc
from service.usecases import projects as projects_uc
from service.usecases import reference as reference_uc
from service.web import error_text, i18n
from service.web.error_text import FieldMessage
from service.web.frame import (
    HISTORY_LIMIT,
    ProjectPath,
    SignedIn,
    all_reference,
    amount,
    can_write,
    lang_of,
    local_time,
    next_stage,
    reading,
    render,
    router,
)
from service.web.pages import project_forms  # noqa: F401  (before /projects/{project_id}: /projects/new is a form)
from service.web.session import web_ctx


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
        out.append(TimelineEntry(item=item, at=local_time(item.at, request), changes=changes))
    return out


def render_project_page(
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
        names = {"chain": {c.code: c.name for c in all_reference(session, "chain")},
                 "district": {x.code: x.name for x in all_reference(session, "district")}}
    moves = sum(1 for i in items if i.action == "project.transitioned")
    reverts = sum(1 for i in items if i.action == "project.reverted")
    return render(
        request, "project.html", actor=actor, status=status, nav="project", p=p, chain=chain,
        district=names["district"].get(p.district, p.district), major=is_major(p.planned_investment),
        timeline=_timeline(request, lang, items, names), history_more=len(events) > HISTORY_LIMIT,
        next_stage=next_stage(p.stage), can_revert=moves > reverts or len(events) > HISTORY_LIMIT,
        writable=can_write(actor, p.chain) and p.voided_at is None, today=ctx.today.isoformat(),
        voided_at=local_time(p.voided_at, request), errors=list(errors), values=values or {},
        milestones=[(s.value, getattr(p, f"{s.value}_on")) for s in LISTS],
    )


@router.get("/projects/{project_id}")
def project_page(request: Request, project_id: ProjectPath, actor: SignedIn) -> Response:
    return render_project_page(request, actor, project_id)
