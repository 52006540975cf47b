"""Signed tree heads and Merkle proofs over the audit events (SPEC §6, RFC 9162 §2.1)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from service.db.audit import AuditLog
from service.db.audit_tree import AuditTree
from service.db.tables import AuditTreeHead
from service.domain import errors as d
from service.domain import merkle
from service.domain.audit_chain import canonical_json
from service.domain.context import Ctx, TreeHeadSigner


def signed_at_text(at: datetime) -> str:
    """RFC 3339 UTC, whole seconds: what a head's signature covers (stored as a timestamp, it reads back the same)."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def head_dict(head: AuditTreeHead) -> dict[str, Any]:
    return {"size": head.size, "root": head.root, "signed_at": signed_at_text(head.signed_at), "key_id": head.key_id,
            "signature": head.signature}


def report_head(session: Session, ctx: Ctx) -> str | None:
    """A published report's ``audit_tree_head`` (SPEC §6): the head of the log as of its publication, its own
    audit events included, signed and stored in the same transaction; canonical JSON text (None without a signer)."""
    if ctx.signer is None:
        return None
    return canonical_json(sign_tree_head(session, ctx.signer, ctx.now))


def sign_tree_head(session: Session, signer: TreeHeadSigner, now: datetime) -> dict[str, Any]:
    """Sign the tree of every event committed so far and store the head (in the caller's write transaction)."""
    size, _ = AuditLog(session).head()
    root = AuditTree(session).root(size).hex()
    signed_at = now.astimezone(UTC).replace(microsecond=0)
    message = merkle.tree_head_message(size=size, root=root, signed_at=signed_at_text(signed_at),
                                       key_id=signer.key_id)
    head = AuditTree(session).add_head(size=size, root=root, signed_at=signed_at, key_id=signer.key_id,
                                       signature=signer.sign(message))
    return head_dict(head)


def sign_if_due(session: Session, signer: TreeHeadSigner, now: datetime, *, every_seconds: float) -> dict[str, Any] | None:
    """The worker's round: sign a head when events were written since the last one and it is ``every_seconds``
    old (or there is none yet)."""
    size, _ = AuditLog(session).head()
    last = AuditTree(session).last_head()
    if size == 0 or (last is not None and last.size >= size):
        return None
    if last is not None and (now - last.signed_at).total_seconds() < every_seconds:
        return None
    return sign_tree_head(session, signer, now)


def list_heads(session: Session, *, after: int | None, limit: int) -> list[AuditTreeHead]:
    return AuditTree(session).heads_page(after=after, limit=limit)


def latest_heads(session: Session, *, limit: int) -> list[AuditTreeHead]:
    """The last ``limit`` signed heads, newest first (the audit page)."""
    return AuditTree(session).latest_heads(limit)


def _size_within(session: Session, size: int, name: str) -> None:
    current, _ = AuditLog(session).head()
    if size > current:
        raise d.InvalidInput.at(["query", name], f"size {size} is beyond the log's {current} events.")


def inclusion_proof(session: Session, *, seq: int, size: int) -> dict[str, Any]:
    if seq > size:
        raise d.InvalidInput.at(["query", "seq"], f"seq {seq} is not in the tree of size {size}.")
    _size_within(session, size, "size")
    path = AuditTree(session).hashes(merkle.inclusion_ranges(seq - 1, size))
    return {"seq": seq, "size": size, "leaf_index": seq - 1, "audit_path": [h.hex() for h in path]}


def consistency_proof(session: Session, *, first: int, second: int) -> dict[str, Any]:
    if first > second:
        raise d.InvalidInput.at(["query", "first"], f"first ({first}) is larger than second ({second}).")
    _size_within(session, second, "second")
    proof = AuditTree(session).hashes(merkle.consistency_ranges(first, second))
    return {"first": first, "second": second, "proof": [h.hex() for h in proof]}
