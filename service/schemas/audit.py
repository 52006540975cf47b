from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

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
    reason: Literal["tampered", "truncated", "rewritten"] | None = None
    tree_head_size: int | None = None  # the signed head the chain failed (truncated, rewritten) or that failed


class PublicKeyRead(BaseModel):
    key_id: str
    public_key_pem: str


class TreeHeadRead(BaseModel):
    """A signed tree head (SPEC §6): Ed25519 over the UTF-8 of ``json.dumps({size, root, signed_at, key_id},
    sort_keys=True, separators=(",", ":"))``, standard base64."""

    size: int
    root: str
    signed_at: str
    key_id: str
    signature: str


class InclusionProofRead(BaseModel):
    seq: int
    size: int
    leaf_index: int
    audit_path: list[str]


class ConsistencyProofRead(BaseModel):
    first: int
    second: int
    proof: list[str]


def tree_head_read(text: str | None) -> TreeHeadRead | None:
    """A report's stored ``audit_tree_head`` (canonical JSON text), as answered."""
    return None if text is None else TreeHeadRead.model_validate_json(text)
