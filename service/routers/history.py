"""A project's history (SPEC §3/§6): its audit events, oldest first, with old → new per field."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from fastapi import APIRouter
from pydantic import BaseModel
from starlette.responses import Response

from service.deps import SessionDep
from service.errors import responses
from service.routers.common import BY_NUMBER, Limit, NumberCursor, cursor_values, json_response, next_cursor
from service.schemas.audit import AuditActor
from service.schemas.common import Page
from service.usecases import audit as audit_uc
from service.usecases import projects as project_uc

router = APIRouter(tags=["projects"])


class FieldChange(BaseModel):
    field: str
    before: Any = None
    after: Any = None


class HistoryItem(BaseModel):
    seq: int
    at: datetime
    actor: AuditActor
    request_id: str | None
    action: str
    changes: list[FieldChange]
    note: str | None = None
    reason: str | None = None
    hash: str


def history_item(e) -> HistoryItem:  # noqa: ANN001
    data = orjson.loads(e.data)
    before, after = data.get("before") or {}, data.get("after") or {}
    fields = list(after) + [k for k in before if k not in after]
    return HistoryItem(
        seq=e.seq, at=e.at, actor=AuditActor(name=e.actor_name, role=e.actor_role), request_id=e.request_id,
        action=e.action, changes=[FieldChange(field=f, before=before.get(f), after=after.get(f)) for f in fields],
        note=data.get("note"), reason=data.get("reason"), hash=e.hash,
    )


@router.get(
    "/projects/{project_id}/history", response_model=Page[HistoryItem], operation_id="get_project_history",
    responses=responses(401, 404, 422),
    description="The project's audit events, oldest first (voided projects included). Each item lists the "
    "fields it changed with their old and new values; a creation lists every field with `before: null`.",
)
def get_project_history(
    project_id: str, session: SessionDep, cursor: NumberCursor = None, limit: Limit = 50
) -> Response:
    project_uc.get_project(session, project_id=project_id)  # 404 for an unknown id
    position = cursor_values(cursor, BY_NUMBER)
    rows = audit_uc.list_events(
        session, after=int(position[0]) if position else None, entity="project", entity_id=project_id,
        action=None, since=None, until=None, limit=limit + 1,
    )
    return json_response(Page[HistoryItem](items=[history_item(e) for e in rows[:limit]],
                                           next_cursor=next_cursor(rows, limit, lambda e: [e.seq])))
