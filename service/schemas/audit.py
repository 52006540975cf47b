from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class AuditActor(BaseModel):
    name: str
    role: str


class AuditEventRead(BaseModel):
    seq: int
    at: datetime
    actor: AuditActor
    request_id: str | None = Field(description="The service's own id of the request that wrote the event (the "
                                   "`X-Request-ID` of its response). Events written before tokens and sessions "
                                   "(migration 0006) may hold the id a client sent here instead.")
    action: str
    entity: str
    entity_id: str
    data: dict[str, Any] = Field(description="`before`, `after` and the action's extras; `client_request_id`: the "
                                 "`X-Request-ID` the client sent, present only when it sent one.")
    prev_hash: str
    hash: str


class VerifyRead(BaseModel):
    ok: bool
    events: int
    head: str | None = None
    first_bad_seq: int | None = None
