"""The webhooks' tables (SPEC §7): subscriptions, the outbox of deliveries, and every attempt."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from service.db.types import UTCDateTime

# ---------------------------------------------------------------- webhooks (SPEC §7): subscriptions, outbox, attempts


class WebhookSubscription(SQLModel, table=True):
    """A receiver of signed webhooks. ``secret`` (``whsec_<base64>``) is kept to sign; the API shows it once.
    Deleting sets ``deleted_at`` (the row and its deliveries stay for the record)."""

    __tablename__ = "webhook_subscription"

    id: str = Field(primary_key=True, max_length=26)
    url: str = Field(sa_column=Column(Text, nullable=False))
    events: str = Field(sa_column=Column(Text, nullable=False))  # JSON list of event types or patterns
    description: str | None = Field(default=None, max_length=200)
    secret: str = Field(max_length=100)
    created_by: str = Field(max_length=100)
    created_by_role: str = Field(max_length=16)  # what its events may show (SPEC §7, domain.webhooks.sees_event_data)
    version: int = 1
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    deleted_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)


class WebhookDelivery(SQLModel, table=True):
    """The outbox: one row per audit event and matching subscription, written in the event's transaction.
    ``status``: pending → delivered | dead (after the last attempt) | cancelled (subscription deleted)."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        UniqueConstraint("subscription_id", "event_seq"),
        Index("ix_webhook_delivery_due", "status", "next_attempt_at"),
        Index("ix_webhook_delivery_entity", "subscription_id", "entity", "entity_id", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    subscription_id: str = Field(
        sa_column=Column(String(26), ForeignKey("webhook_subscription.id"), nullable=False)
    )
    event_seq: int  # the audit event's seq; the message id is ``msg_<seq>``
    event_type: str = Field(max_length=64)
    entity: str = Field(max_length=32)
    entity_id: str = Field(max_length=100)
    payload: str = Field(sa_column=Column(Text, nullable=False))  # the JSON body, fixed when enqueued
    status: str = Field(max_length=16)
    attempts: int = 0  # attempts in the current round (a redelivery starts a new round)
    next_attempt_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    locked_by: str | None = Field(default=None, max_length=100)
    last_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class WebhookAttempt(SQLModel, table=True):
    """Every HTTP attempt of a delivery, successful or not."""

    __tablename__ = "webhook_attempt"
    __table_args__ = (Index("ix_webhook_attempt_delivery_id_id", "delivery_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: int = Field(sa_column=Column(ForeignKey("webhook_delivery.id"), nullable=False))
    number: int  # 1, 2, … over the delivery's whole life (redeliveries continue the count)
    started_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    duration_ms: int
    outcome: str = Field(max_length=16)  # delivered | failed
    status_code: int | None = None
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    response_excerpt: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    worker: str = Field(max_length=100)
