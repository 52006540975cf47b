"""Webhook subscriptions, their deliveries and attempts (SPEC §7)."""

from __future__ import annotations

import json
import re
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from service.domain.webhooks import ENTITIES, EVENT_TYPES, message_id, visible_payload
from service.schemas.common import Input, Name

#: The receiver's URL; the destination policy decides on it (``check_url``), with a message that says why.
Url = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


def _event_pattern() -> str:
    """Every event type, ``<entity>.*`` for every entity, or ``*``: the whole vocabulary, stated in the schema."""
    names = sorted(EVENT_TYPES) + sorted(f"{e}.*" for e in ENTITIES)
    return "^(\\*|" + "|".join(re.escape(n) for n in names) + ")$"


EventPattern = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64,
                                                pattern=_event_pattern())]


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


class WebhookCreate(Input):
    url: Url = Field(description="http(s) URL of the receiver: a valid host name (IDNA) or IP literal. Private "
                     "and loopback addresses are allowed; the service's own address, link-local and cloud-metadata "
                     "addresses and names, multicast and unspecified addresses are not (in any spelling); "
                     "`LEDGER_WEBHOOK_ALLOWED_HOSTS`, when set, restricts hosts.",
                     examples=["https://receiver.example.cn/hooks/ledger"])
    events: Annotated[list[EventPattern], Field(min_length=1, max_length=64), AfterValidator(_unique)] = Field(
        description="Event types (the audit action names: `project.created`, `project.transitioned`, "
        "`dispatch.submitted`, `appraisal.published`, …), `<entity>.*`, or `*` for every event.",
        examples=[["project.created", "project.transitioned"]],
    )
    description: Name | None = None


class WebhookRead(BaseModel):
    id: str
    url: str
    events: list[str]
    description: str | None
    created_by: str
    created_by_role: str = Field(description="The role of the token that created it, which decides what its "
                                 "events show: an `integration` subscription receives events of entities other "
                                 "than projects without their data (`data.redacted: true`).")
    version: int
    created_at: datetime
    updated_at: datetime


class WebhookCreated(WebhookRead):
    secret: str | None = Field(description="The signing secret (`whsec_<base64>`, Standard Webhooks). Shown only "
                               "in this response: store it now. `null` when the answer is an Idempotency-Key replay "
                               "(the secret is not kept for replays; delete the subscription and create another if "
                               "the first answer was lost).")


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"
    CANCELLED = "cancelled"


class AttemptRead(BaseModel):
    number: int = Field(description="1, 2, … over the delivery's life (a redelivery continues the count).")
    started_at: datetime
    duration_ms: int
    outcome: str = Field(description="`delivered` (a 2xx answer) or `failed`.")
    status_code: int | None = Field(description="The receiver's HTTP status; null when no answer came.")
    error: str | None = Field(description="Why the attempt failed: timeout, connection error, non-2xx status.")
    response_excerpt: str | None = Field(description="The first 500 characters of the receiver's answer.")


class DeliveryRead(BaseModel):
    id: int
    message_id: str = Field(description="The `webhook-id` header: the same on every attempt of this event.")
    event_seq: int = Field(description="The audit event's `seq`.")
    event_type: str
    entity: str
    entity_id: str
    status: DeliveryStatus
    attempt_count: int = Field(description="Attempts in the current round (the delivery is dead after "
                               "LEDGER_WEBHOOK_MAX_ATTEMPTS failed ones; a redelivery starts a new round).")
    next_attempt_at: datetime | None = Field(description="When the next attempt is due (pending only).")
    delivered_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    payload: dict[str, Any] = Field(description="The JSON body sent: `{type, timestamp, data}` (to an `integration` "
                                    "token, events of entities other than projects show only `data.seq`, "
                                    "`data.entity`, `data.entity_id` and `data.redacted: true`).")
    created_at: datetime
    attempts: list[AttemptRead] = Field(description="Every attempt, oldest first.")


def _webhook_fields(row: Any) -> dict[str, Any]:
    return {"id": row.id, "url": row.url, "events": json.loads(row.events), "description": row.description,
            "created_by": row.created_by, "created_by_role": row.created_by_role, "version": row.version,
            "created_at": row.created_at, "updated_at": row.updated_at}


def webhook_read(row: Any) -> WebhookRead:
    return WebhookRead(**_webhook_fields(row))


def webhook_created(row: Any, *, secret: str | None) -> WebhookCreated:
    """The answer to a create: with the secret, or (``secret=None``) as stored for Idempotency-Key replays."""
    return WebhookCreated(**_webhook_fields(row), secret=secret)


def delivery_read(row: Any, attempts: list[Any], *, reader_role: str) -> DeliveryRead:
    """A delivery as ``reader_role`` may read it: the payload cut to what that role could read through the API
    (``visible_payload``), whoever created the subscription."""
    return DeliveryRead(
        id=row.id, message_id=message_id(row.event_seq), event_seq=row.event_seq, event_type=row.event_type,
        entity=row.entity, entity_id=row.entity_id, status=row.status, attempt_count=row.attempts,
        next_attempt_at=row.next_attempt_at if row.status == DeliveryStatus.PENDING else None,
        delivered_at=row.delivered_at, last_status_code=row.last_status_code, last_error=row.last_error,
        payload=visible_payload(json.loads(row.payload), role=reader_role), created_at=row.created_at,
        attempts=[AttemptRead(number=a.number, started_at=a.started_at, duration_ms=a.duration_ms,
                              outcome=a.outcome, status_code=a.status_code, error=a.error,
                              response_excerpt=a.response_excerpt) for a in attempts],
    )
