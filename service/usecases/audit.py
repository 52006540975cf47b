"""Reading and verifying the audit chain."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy.orm import Session

from service.db.audit import AuditLog
from service.db.audit_tree import AuditTree
from service.db.tables import AuditEvent
from service.domain import audit_chain, merkle
from service.signing import head_signature_ok
from service.usecases.audit_tree import head_dict


def list_events(
    session: Session, *, after: int | None, entity: str | None, entity_id: str | None, action: str | None,
    since: datetime | None, until: datetime | None, limit: int,
) -> list[AuditEvent]:
    return AuditLog(session).page(after=after, entity=entity, entity_id=entity_id, action=action, since=since,
                                  until=until, limit=limit)


def verify_chain(session: Session, public_key: Ed25519PublicKey | None = None) -> audit_chain.VerifyResult:
    """Recompute every hash in seq order, streaming; check the head row names the last event; then hold the
    chain against every stored signed tree head (SPEC §6): a chain shorter than a head is ``truncated``, one whose
    Merkle root at a head's size is not the signed root is ``rewritten``. A changed event (its hash or link
    broken) is ``tampered``, as is a stored head whose signature does not verify with ``public_key``."""
    log, tree = AuditLog(session), AuditTree(session)
    heads = tree.heads_by_size()
    forged = [h for h in heads if public_key is not None and not head_signature_ok(head_dict(h), public_key)]
    trusted = [h for h in heads if h not in forged]
    sizes = sorted({h.size for h in trusted})
    roots: dict[int, bytes] = {}  # the recomputed root at each signed size the chain reaches

    def rows() -> Iterator[Sequence[Any]]:
        frontier, pending = merkle.Frontier(), list(sizes)
        for row in log.stream_rows():
            if pending:
                frontier.append(merkle.leaf_hash(bytes.fromhex(row[10])))
                while pending and pending[0] == frontier.size:
                    roots[pending.pop(0)] = frontier.root()
            yield row

    result = audit_chain.verify(rows())
    if not result.ok:
        return replace(result, reason="tampered")
    head_seq, head_hash = log.head()
    if head_seq != result.events or head_hash != result.head:
        # Rows after the last readable one were removed, or the head was rewritten.
        return audit_chain.VerifyResult(ok=False, events=result.events, head=result.head,
                                        first_bad_seq=min(head_seq, result.events + 1),
                                        reason="truncated" if head_seq > result.events else "tampered")
    good = 0  # the largest signed size the chain holds to
    for head in trusted:
        if head.size > result.events:
            return audit_chain.VerifyResult(ok=False, events=result.events, head=None, first_bad_seq=result.events + 1,
                                            reason="truncated", tree_head_size=head.size)
        if roots.get(head.size, merkle.EMPTY_ROOT).hex() != head.root:
            return audit_chain.VerifyResult(ok=False, events=result.events, head=None, reason="rewritten",
                                            first_bad_seq=_first_rewritten(session, head.size, head.root, good),
                                            tree_head_size=head.size)
        good = max(good, head.size)
    if forged:
        return audit_chain.VerifyResult(ok=False, events=result.events, head=None, reason="tampered",
                                        tree_head_size=forged[0].size)
    return result


def _first_rewritten(session: Session, size: int, root: str, good: int) -> int:
    """The first event of the first ``size`` whose leaf is not the one signed: found through the stored tree's
    nodes where they still hash to the signed root; otherwise the first event after the last signed size the chain
    still holds to (``good``)."""
    tree = AuditTree(session)
    leaves = [merkle.leaf_hash(bytes.fromhex(h)) for (_, h) in tree.event_hashes(upto=size)]
    index = merkle.first_changed_leaf(leaves, bytes.fromhex(root), tree.nodes)
    return index + 1 if index is not None else good + 1
