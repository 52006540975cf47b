"""Webhook queries: subscriptions, the outbox (``webhook_delivery``) and its attempts.

The outbox is written by ``Outbox.enqueue`` in the transaction of the audited change, one row per matching
subscription, holding the body as that subscription may see it (its creator's role: an ``integration``
subscription gets events of other entities than projects without ``before``/``after``, SPEC §7). Workers claim
due rows in short transactions — ``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL, the write lock on SQLite —
and hold them with a lease (``locked_until``/``locked_by``) while the HTTP request runs outside any
transaction. A row is due only when no earlier row of the same subscription and entity is
still pending, which keeps per-entity order.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

import orjson
from sqlalchemy import and_, exists, func, insert, or_, select, update
from sqlalchemy.orm import Session, aliased

from service.db.raw import session_reader
from service.db.tables import (
    AuditEvent,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)
from service.db.values import rfc3339
from service.domain.webhooks import matches, visible_payload

PENDING, DELIVERED, DEAD, CANCELLED = "pending", "delivered", "dead", "cancelled"
_CACHE_KEY = "webhook_subscriptions"


def event_payload(event: AuditEvent) -> dict:
    """The whole webhook body of an event: ``{"type", "timestamp", "data"}`` (Standard Webhooks' shape);
    ``data`` is the audit event's data (``before``, ``after`` and extras) with its identifiers."""
    data = json.loads(event.data)
    data.update({
        "seq": event.seq, "entity": event.entity, "entity_id": event.entity_id,
        "actor": {"name": event.actor_name, "role": event.actor_role}, "request_id": event.request_id,
    })
    return {"type": event.action, "timestamp": rfc3339(event.at), "data": data}


class WebhookRepo:
    def __init__(self, session: Session):
        self.session = session

    def add(self, row: WebhookSubscription) -> None:
        self.session.add(row)
        self.session.flush()
        self.session.info.pop(_CACHE_KEY, None)

    def get(self, webhook_id: str, *, for_update: bool = False) -> WebhookSubscription | None:
        row = self.session.get(WebhookSubscription, webhook_id, with_for_update=for_update or None)
        return None if row is None or row.deleted_at is not None else row

    def page(self, *, after: str | None, limit: int) -> list[WebhookSubscription]:
        stmt = (select(WebhookSubscription).where(WebhookSubscription.deleted_at.is_(None))
                .order_by(WebhookSubscription.id).limit(limit))
        if after is not None:
            stmt = stmt.where(WebhookSubscription.id > after)
        return list(self.session.scalars(stmt))

    def cancel_pending(self, webhook_id: str, now: datetime) -> int:
        """Called when the subscription is deleted: its pending deliveries are cancelled."""
        self.session.info.pop(_CACHE_KEY, None)
        result = self.session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.subscription_id == webhook_id, WebhookDelivery.status == PENDING)
            .values(status=CANCELLED, locked_until=None, locked_by=None, updated_at=now)
        )
        return result.rowcount or 0

    # ---------------------------------------------------------------- deliveries (read side)

    def delivery(self, webhook_id: str, delivery_id: int, *, for_update: bool = False) -> WebhookDelivery | None:
        row = self.session.get(WebhookDelivery, delivery_id, with_for_update=for_update or None)
        return row if row is not None and row.subscription_id == webhook_id else None

    def deliveries(
        self, webhook_id: str, *, before: int | None, status: str | None, limit: int
    ) -> list[WebhookDelivery]:
        """Newest first (keyset on id)."""
        stmt = (select(WebhookDelivery).where(WebhookDelivery.subscription_id == webhook_id)
                .order_by(WebhookDelivery.id.desc()).limit(limit))
        if before is not None:
            stmt = stmt.where(WebhookDelivery.id < before)
        if status is not None:
            stmt = stmt.where(WebhookDelivery.status == status)
        return list(self.session.scalars(stmt))

    def attempts(self, delivery_ids: list[int]) -> dict[int, list[WebhookAttempt]]:
        out: dict[int, list[WebhookAttempt]] = defaultdict(list)
        if delivery_ids:
            stmt = (select(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(delivery_ids))
                    .order_by(WebhookAttempt.delivery_id, WebhookAttempt.id))
            for a in self.session.scalars(stmt):
                out[a.delivery_id].append(a)
        return out


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery a worker holds under its lease, with what it needs to send it."""

    id: int
    subscription_id: str
    event_seq: int
    event_type: str
    entity: str
    entity_id: str
    payload: str
    attempts: int
    url: str
    secret: str


class Outbox:
    def __init__(self, session: Session):
        self.session = session

    def subscriptions(self) -> list[tuple[str, list[str], str]]:
        """Live subscriptions as ``(id, event patterns, creator's role)``, read once per session (an import of
        thousands of rows asks for every event); ``WebhookRepo`` writes drop the cached list."""
        cached = self.session.info.get(_CACHE_KEY)
        if cached is None:
            s = WebhookSubscription.__table__.c
            rows = session_reader(self.session).all("webhook.subscriptions.live", lambda: select(
                s.id, s.events, s.created_by_role).where(s.deleted_at.is_(None)))
            cached = self.session.info[_CACHE_KEY] = [(r.id, json.loads(r.events), r.created_by_role) for r in rows]
        return cached

    def enqueue(self, event: AuditEvent) -> int:
        """One pending delivery per live subscription that wants ``event.action``, in the caller's transaction,
        each with the body its creator's role may see."""
        targets = [(sid, role) for sid, patterns, role in self.subscriptions() if matches(patterns, event.action)]
        if not targets:
            return 0
        payload = event_payload(event)
        bodies: dict[str, str] = {}
        for _, role in targets:
            if role not in bodies:
                bodies[role] = orjson.dumps(visible_payload(payload, role=role)).decode()
        self.session.execute(insert(WebhookDelivery), [
            {"subscription_id": sid, "event_seq": event.seq, "event_type": event.action, "entity": event.entity,
             "entity_id": event.entity_id, "payload": bodies[role], "status": PENDING, "attempts": 0,
             "next_attempt_at": event.at, "created_at": event.at, "updated_at": event.at}
            for sid, role in targets
        ])
        return len(targets)

    def claim(self, *, now: datetime, worker: str, lease_until: datetime, limit: int) -> list[Claimed]:
        """Lease up to ``limit`` due deliveries to ``worker``: pending, due, not leased by a live worker, and
        not behind an earlier pending delivery of the same subscription and entity."""
        d = WebhookDelivery.__table__
        earlier = aliased(WebhookDelivery, name="earlier")
        blocked = exists().where(
            earlier.subscription_id == d.c.subscription_id,
            earlier.entity == d.c.entity,
            earlier.entity_id == d.c.entity_id,
            earlier.status == PENDING,
            earlier.id < d.c.id,
        )
        due = (
            select(d.c.id)
            .where(d.c.status == PENDING, d.c.next_attempt_at <= now,
                   or_(d.c.locked_until.is_(None), d.c.locked_until <= now), ~blocked)
            .order_by(d.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True, of=d)
        )
        ids = list(self.session.scalars(due))
        if not ids:
            return []
        self.session.execute(
            update(d).where(d.c.id.in_(ids)).values(locked_until=lease_until, locked_by=worker, updated_at=now)
        )
        s = WebhookSubscription.__table__
        rows = self.session.execute(
            select(d.c.id, d.c.subscription_id, d.c.event_seq, d.c.event_type, d.c.entity, d.c.entity_id,
                   d.c.payload, d.c.attempts, s.c.url, s.c.secret)
            .join(s, s.c.id == d.c.subscription_id)
            .where(d.c.id.in_(ids))
            .order_by(d.c.id)
        ).all()
        return [Claimed(*r) for r in rows]

    def record(
        self,
        *,
        delivery_id: int,
        worker: str,
        started_at: datetime,
        duration_ms: int,
        ok: bool,
        status_code: int | None,
        error: str | None,
        excerpt: str | None,
        now: datetime,
        max_attempts: int,
        retry_at,
    ) -> WebhookDelivery | None:
        """Store the attempt; when ``worker`` still holds the lease, settle the delivery: delivered, dead after
        the last attempt, or pending again at ``retry_at(attempts)``."""
        row = self.session.get(WebhookDelivery, delivery_id, with_for_update=True)
        if row is None:
            return None
        number = (self.session.scalar(
            select(func.max(WebhookAttempt.number)).where(WebhookAttempt.delivery_id == delivery_id)) or 0) + 1
        self.session.add(WebhookAttempt(
            delivery_id=delivery_id, number=number, started_at=started_at, duration_ms=duration_ms,
            outcome=DELIVERED if ok else "failed", status_code=status_code, error=error, response_excerpt=excerpt,
            worker=worker,
        ))
        if row.status == PENDING and row.locked_by == worker:
            row.attempts += 1
            row.last_attempt_at, row.last_status_code, row.last_error = started_at, status_code, error
            if ok:
                row.status, row.delivered_at = DELIVERED, now
            elif row.attempts >= max_attempts:
                row.status = DEAD
            else:
                row.next_attempt_at = retry_at(row.attempts)
            row.locked_until, row.locked_by, row.updated_at = None, None, now
        self.session.flush()
        return row

    def release(self, delivery_ids: list[int], worker: str) -> None:
        """Give back leases that were not used (a worker stopping before it sent)."""
        if delivery_ids:
            self.session.execute(
                update(WebhookDelivery)
                .where(and_(WebhookDelivery.id.in_(delivery_ids), WebhookDelivery.locked_by == worker))
                .values(locked_until=None, locked_by=None)
            )
