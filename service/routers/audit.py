"""Audit history for admins and auditors (SPEC §6)."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Query
from starlette.responses import Response

from service.deps import SessionDep, require_roles
from service.domain.access import AUDIT_READERS
from service.errors import responses
from service.routers.common import (
    BY_NUMBER,
    SEQ_MAX,
    Instant,
    Limit,
    NumberCursor,
    cursor_values,
    json_response,
    next_cursor,
)
from service.schemas.audit import AuditActor, AuditEventRead, VerifyRead
from service.schemas.common import Page
from service.usecases import audit as uc

router = APIRouter(tags=["audit"], dependencies=[require_roles(*AUDIT_READERS, action="read the audit log")])


def event_read(e) -> AuditEventRead:  # noqa: ANN001
    return AuditEventRead(
        seq=e.seq, at=e.at, actor=AuditActor(name=e.actor_name, role=e.actor_role), request_id=e.request_id,
        action=e.action, entity=e.entity, entity_id=e.entity_id, data=orjson.loads(e.data), prev_hash=e.prev_hash,
        hash=e.hash,
    )


@router.get("/audit/events", response_model=Page[AuditEventRead], operation_id="list_audit_events",
            responses=responses(401, 403, 422),
            description="Events in `seq` order. `after` starts after a seq; `since`/`until` bound `at` "
            "(inclusive/exclusive).")
def list_audit_events(
    session: SessionDep,
    after: Annotated[int | None, Query(ge=0, le=SEQ_MAX, description="Only events with a greater seq.")] = None,
    entity: Annotated[str | None, Query(max_length=32)] = None,
    entity_id: Annotated[str | None, Query(max_length=100)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    since: Annotated[Instant | None, Query(description="RFC 3339 with offset; events at or after it.")] = None,
    until: Annotated[Instant | None, Query(description="RFC 3339 with offset; events before it.")] = None,
    cursor: NumberCursor = None,
    limit: Limit = 50,
) -> Response:
    position = cursor_values(cursor, BY_NUMBER)
    start = max(after or 0, int(position[0])) if position else after
    rows = uc.list_events(session, after=start, entity=entity, entity_id=entity_id, action=action, since=since,
                          until=until, limit=limit + 1)
    return json_response(Page[AuditEventRead](items=[event_read(e) for e in rows[:limit]],
                                              next_cursor=next_cursor(rows, limit, lambda e: [e.seq])))


@router.get("/audit/verify", response_model=VerifyRead, operation_id="verify_audit_chain",
            responses=responses(401, 403))
def verify_audit_chain(session: SessionDep) -> Response:
    result = uc.verify_chain(session)
    if result.ok:
        return json_response(VerifyRead(ok=True, events=result.events, head=result.head))
    return json_response(VerifyRead(ok=False, events=result.events, first_bad_seq=result.first_bad_seq))
