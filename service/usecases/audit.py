"""Reading and verifying the audit chain."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from service.db.audit import AuditLog
from service.db.tables import AuditEvent
from service.domain import audit_chain


def list_events(
    session: Session, *, after: int | None, entity: str | None, entity_id: str | None, action: str | None,
    since: datetime | None, until: datetime | None, limit: int,
) -> list[AuditEvent]:
    return AuditLog(session).page(after=after, entity=entity, entity_id=entity_id, action=action, since=since,
                                  until=until, limit=limit)


def verify_chain(session: Session) -> audit_chain.VerifyResult:
    """Recompute every hash in seq order, streaming; then check the head row names the last event."""
    log = AuditLog(session)
    result = audit_chain.verify(log.stream_rows())
    if not result.ok:
        return result
    head_seq, head_hash = log.head()
    if head_seq != result.events or head_hash != result.head:
        # Rows after the last readable one were removed, or the head was rewritten.
        return audit_chain.VerifyResult(ok=False, events=result.events, head=result.head,
                                        first_bad_seq=min(head_seq, result.events + 1))
    return result
