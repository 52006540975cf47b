from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class AuditActor(BaseModel):
    name: str
    role: str


class AuditEventRead(BaseModel):
    seq: int
    at: datetime
    actor: AuditActor
    request_id: str | None
    action: str
    entity: str
    entity_id: str
    data: dict[str, Any]
    prev_hash: str
    hash: str


class VerifyRead(BaseModel):
    ok: bool
    events: int
    head: str | None = None
    first_bad_seq: int | None = None
