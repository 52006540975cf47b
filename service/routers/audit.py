"""Audit history for admins and auditors (SPEC §6)."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from service.deps import SessionDep, db_of, now_utc, require_roles, settings_of
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
from service.schemas.audit import (
    AuditActor,
    AuditEventRead,
    ConsistencyProofRead,
    InclusionProofRead,
    PublicKeyRead,
    TreeHeadRead,
    VerifyRead,
)
from service.schemas.common import Page
from service.signing import signer_for
from service.usecases import audit as uc
from service.usecases import audit_tree as tree

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
            responses=responses(401, 403),
            description="Recomputes every event's hash and link, and holds the chain to every signed tree head. "
            "A failure names the first bad seq and why: `tampered` (an event no longer matches its hash or link, "
            "or a stored head its signature), `truncated` (shorter than a signed head, or than its head row), "
            "`rewritten` (its Merkle root at a signed size is not the signed root).")
def verify_audit_chain(request: Request, session: SessionDep) -> Response:
    result = uc.verify_chain(session, signer_for(settings_of(request)).public_key)
    if result.ok:
        return json_response(VerifyRead(ok=True, events=result.events, head=result.head))
    return json_response(VerifyRead(ok=False, events=result.events, first_bad_seq=result.first_bad_seq,
                                    reason=result.reason, tree_head_size=result.tree_head_size))


# ---------------------------------------------------------------- signed tree heads and proofs (SPEC §6)


@router.get("/audit/public-key", response_model=PublicKeyRead, operation_id="get_audit_public_key",
            responses=responses(401, 403),
            description="The Ed25519 public key that signs tree heads; `key_id` is the SHA-256 (hex) of its DER "
            "SubjectPublicKeyInfo.")
def get_audit_public_key(request: Request) -> Response:
    signer = signer_for(settings_of(request))
    return json_response(PublicKeyRead(key_id=signer.key_id, public_key_pem=signer.public_key_pem))


@router.get("/audit/tree-head", response_model=TreeHeadRead, operation_id="sign_audit_tree_head",
            responses=responses(401, 403),
            description="Signs the Merkle tree of every event so far (RFC 9162 leaves in `seq` order) and stores "
            "the head; every head signed is listed by /audit/tree-heads.")
async def sign_audit_tree_head(request: Request) -> Response:
    signer = signer_for(settings_of(request))
    now = now_utc()
    head = await db_of(request).run_write(lambda session: tree.sign_tree_head(session, signer, now))
    return json_response(TreeHeadRead(**head))


@router.get("/audit/tree-heads", response_model=Page[TreeHeadRead], operation_id="list_audit_tree_heads",
            responses=responses(401, 403, 422), description="Every signed tree head, oldest first.")
def list_audit_tree_heads(session: SessionDep, cursor: NumberCursor = None, limit: Limit = 50) -> Response:
    position = cursor_values(cursor, BY_NUMBER)
    rows = tree.list_heads(session, after=int(position[0]) if position else None, limit=limit + 1)
    return json_response(Page[TreeHeadRead](items=[TreeHeadRead(**tree.head_dict(h)) for h in rows[:limit]],
                                            next_cursor=next_cursor(rows, limit, lambda h: [h.id])))


@router.get("/audit/proof/inclusion", response_model=InclusionProofRead, operation_id="prove_audit_inclusion",
            responses=responses(401, 403, 422),
            description="RFC 9162 §2.1.3: the audit path of event `seq` (leaf `seq - 1`) in the tree of the first "
            "`size` events.")
def prove_audit_inclusion(
    session: SessionDep,
    seq: Annotated[int, Query(ge=1, le=SEQ_MAX, description="The event.")],
    size: Annotated[int, Query(ge=1, le=SEQ_MAX, description="The tree size (at least seq).")],
) -> Response:
    return json_response(InclusionProofRead(**tree.inclusion_proof(session, seq=seq, size=size)))


@router.get("/audit/proof/consistency", response_model=ConsistencyProofRead, operation_id="prove_audit_consistency",
            responses=responses(401, 403, 422),
            description="RFC 9162 §2.1.4: that the tree of the first `first` events is a prefix of the tree of "
            "the first `second`.")
def prove_audit_consistency(
    session: SessionDep,
    first: Annotated[int, Query(ge=1, le=SEQ_MAX, description="The older tree size.")],
    second: Annotated[int, Query(ge=1, le=SEQ_MAX, description="The newer tree size (at least first).")],
) -> Response:
    return json_response(ConsistencyProofRead(**tree.consistency_proof(session, first=first, second=second)))
