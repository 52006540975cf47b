"""Helpers shared by use cases: optimistic versions and the audit append with before/after (and the webhook
outbox rows of the event, in the same transaction)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from service.db.audit import AuditLog
from service.db.values import diff
from service.db.webhooks import Outbox
from service.domain import errors as d
from service.domain.context import Ctx
from service.domain.versions import IfMatch


def check_version(current: int, if_match: IfMatch | int | None, *, required: bool) -> None:
    """``If-Match`` against the row's version: 428 when required and absent, 412 when stale. (The web's forms
    send the version they showed, as an int.)"""
    if if_match is None:
        if required:
            raise d.PreconditionRequired('Send If-Match: "<version>" (the ETag you read).')
        return
    if isinstance(if_match, int):
        if_match = IfMatch(frozenset({if_match}))
    if not if_match.matches(current):
        raise d.StaleVersion(f"The resource is at version {current}, not {if_match}; read it again.",
                             current_version=current)


def audit(
    session: Session,
    ctx: Ctx,
    *,
    action: str,
    entity: str,
    entity_id: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    changed_only: bool = True,
    extra: dict[str, Any] | None = None,
) -> None:
    """Append one event; for updates only the fields that changed are kept in before/after. Every subscription
    that wants the event's action gets an outbox row in the same transaction (SPEC §7)."""
    if before is not None and after is not None and changed_only:
        before, after = diff(before, after)
    if ctx.client_request_id is not None:
        # Kept in the event's hashed data, and only when sent: events without one hash exactly as before.
        extra = {**(extra or {}), "client_request_id": ctx.client_request_id}
    event = AuditLog(session).append(
        actor=ctx.actor,
        request_id=ctx.request_id,
        action=action,
        entity=entity,
        entity_id=entity_id,
        before=before,
        after=after,
        now=ctx.now,
        extra=extra,
    )
    Outbox(session).enqueue(event)
