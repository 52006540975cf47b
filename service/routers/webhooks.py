"""Webhooks (SPEC §7): subscriptions, their deliveries and attempts; admin and integration tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from starlette.responses import Response

from service.deps import CtxDep, SessionDep, require_roles, settings_of
from service.domain.access import Role
from service.errors import responses
from service.routers.common import (
    BY_ID,
    BY_NUMBER,
    IdCursor,
    Limit,
    NumberCursor,
    cursor_values,
    json_response,
    next_cursor,
    respond,
)
from service.schemas.common import Page
from service.schemas.webhooks import (
    DeliveryRead,
    DeliveryStatus,
    WebhookCreate,
    WebhookCreated,
    WebhookRead,
    delivery_read,
    webhook_created,
    webhook_read,
)
from service.usecases import webhooks as uc

router = APIRouter(
    tags=["webhooks"], dependencies=[require_roles(Role.ADMIN, Role.INTEGRATION, action="manage webhooks")]
)
WebhookId = Annotated[str, Path(max_length=26)]
DeliveryId = Annotated[int, Path(ge=1, le=2**31 - 1)]

DELIVERY_NOTE = (
    "Events are written to an outbox in the transaction of the change (one row per matching subscription) and "
    "delivered at least once by the delivery worker (`chain-ledger serve` runs one unless "
    "`LEDGER_WEBHOOK_WORKER=false`; `chain-ledger worker` runs one alone): `POST` of the JSON body "
    "`{type, timestamp, data}` signed per Standard Webhooks (`webhook-id: msg_<audit seq>`, `webhook-timestamp`, "
    "`webhook-signature: v1,<base64 HMAC-SHA256>` with the subscription's secret). A 2xx answer delivers; "
    "anything else (or a timeout, a connection error, a redirect) is retried after an exponential backoff with "
    "jitter from `LEDGER_WEBHOOK_RETRY_BASE_SECONDS` (default 5 s, doubling, half of it random) until "
    "`LEDGER_WEBHOOK_MAX_ATTEMPTS` (default 10) attempts, then the delivery is `dead`. Per subscription and "
    "entity (e.g. one project) events go out in order: a later one waits until every earlier one is delivered "
    "or dead. Several workers on PostgreSQL claim rows with `SELECT … FOR UPDATE SKIP LOCKED` and a lease, so "
    "none is sent twice by two workers (a receiver may still see a retry of a message whose answer it did "
    "not send in time: deduplicate on `webhook-id`). `problem.overdue` is not an event (overdue is reached by "
    "the passing of time, not by an audited write).\n\n"
    "**What a subscriber sees.** A subscription receives only what its creator's role could read through the API: "
    "one created by an `admin` token gets every event whole (`data` holds `before`, `after`, extras, actor and "
    "request id, as the audit log does); one created by an `integration` token gets project events whole (the "
    "same as `GET /projects/{id}/history`) and the events of every other entity (chains, dispatches, plans, "
    "appraisals, webhooks, …) still delivered, in order, but with `data` cut to `{seq, entity, entity_id, "
    "redacted: true}` — the receiver reads the entity through the API if it needs it. Delivered rather than "
    "dropped, so a `*` subscription still learns that something changed and per-entity order is unaffected. "
    "Deliveries read by an `integration` token (`GET …/deliveries`) show payloads cut the same way, whoever "
    "created the subscription.\n\n"
    "**Where it is sent.** Before every attempt the worker checks the destination again: the URL by the rules of "
    "registration, the host against `LEDGER_WEBHOOK_ALLOWED_HOSTS`, and every address the host name resolves to "
    "at that moment against the address policy; the request then goes to an address it checked (the `Host` "
    "header, and for https SNI and certificate verification, keep the host name), so a DNS answer that changes "
    "after the check (rebinding) is never connected to. A refused destination is a failed attempt whose `error` "
    "starts `destination refused, nothing sent:` and says why; no request is sent, and it is retried and dies "
    "like any other failure."
)

DESTINATION_RULES = (
    "The URL must be http(s) with a valid host name — IDNA (Unicode names are converted as by `encodings.idna`; "
    "an `xn--` label must decode), labels of 1–63 letters, digits, `-` (not first or last) or `_`, at most 253 "
    "characters, no NUL, control character, space or backslash — or an IP literal. A host whose last label is a "
    "number is read as an IPv4 address the way browsers (the WHATWG URL standard) and `inet_aton` read it "
    "(`0251.0376.0251.0376`, `0xa9fea9fe`, `2852039166` and `169.254.43518` are all 169.254.169.254) and refused "
    "when it is not a valid one. Private and loopback addresses are allowed (receivers on government networks); "
    "always refused, in every spelling (IPv4-mapped, -compatible, NAT64 `64:ff9b::/96` and 6to4 IPv6 forms "
    "included): link-local and cloud-metadata addresses (169.254.0.0/16, fe80::/10, fd00:ec2::254, "
    "100.100.100.200) and names (`metadata.google.internal`, `metadata.tencentyun.com`, any case, with or without "
    "a trailing dot), a name that resolves to such an address now, multicast, unspecified (0.0.0.0/8, ::) and "
    "broadcast addresses, IPv6 zone identifiers, and the service's own address — `LEDGER_PUBLIC_URL`, the host "
    "and port this request reached, or any address of this machine on the port the service listens on. When "
    "`LEDGER_WEBHOOK_ALLOWED_HOSTS` is set only those hosts are accepted (and delivered to). Credentials in the "
    "URL are refused. Each refusal is a 422 problem whose `errors` name `body.url` and say why; nothing is written. "
)


def _own_origins(request: Request) -> tuple[list[uc.Origin], list[int]]:
    """Where this service is reached: LEDGER_PUBLIC_URL, the Host of this request, the socket it came in on."""
    own: list[uc.Origin] = []
    public = uc.origin_of(settings_of(request).public_url) if settings_of(request).public_url else None
    if public:
        own.append(public)
    host = uc.origin_of(str(request.base_url))
    if host:
        own.append(host)
    ports: list[int] = []
    server = request.scope.get("server")
    if server and server[0] and server[1]:
        own.append(uc.Origin(str(server[0]).lower(), int(server[1])))
        ports.append(int(server[1]))
    return own, ports


@router.post("/webhooks", status_code=201, response_model=WebhookCreated, operation_id="create_webhook",
             responses=responses(400, 401, 403, 422),
             description="Subscribes `url` to `events`. The answer carries the signing `secret` once "
             "(`whsec_<base64>`). The secret is not kept for replays: an Idempotency-Key replay answers the same "
             "201 with `\"secret\": null` (if the first answer was lost, delete the subscription and create "
             "another). " + DESTINATION_RULES + "Subscriptions are shared by every admin and integration token; "
             "the role of the token that creates one decides what its events show (below). " + DELIVERY_NOTE)
def create_webhook(request: Request, body: WebhookCreate, session: SessionDep, ctx: CtxDep) -> Response:
    own, ports = _own_origins(request)
    row, secret = uc.create_webhook(session, ctx=ctx, data=body, own=own, server_ports=ports,
                                    allowed_hosts=settings_of(request).webhook_allowed_host_list)
    return respond(request, session, webhook_created(row, secret=secret), status_code=201, version=row.version,
                   stored=webhook_created(row, secret=None))


@router.get("/webhooks", response_model=Page[WebhookRead], operation_id="list_webhooks",
            responses=responses(401, 403, 422), description="Live subscriptions in creation order (no secrets).")
def list_webhooks(session: SessionDep, cursor: IdCursor = None, limit: Limit = 50) -> Response:
    after = cursor_values(cursor, BY_ID)
    rows = uc.list_webhooks(session, after=after[0] if after else None, limit=limit + 1)
    return json_response(Page[WebhookRead](items=[webhook_read(r) for r in rows[:limit]],
                                           next_cursor=next_cursor(rows, limit, lambda r: [r.id])))


@router.get("/webhooks/{webhook_id}", response_model=WebhookRead, operation_id="get_webhook",
            responses=responses(401, 403, 404, 422), description="One subscription (never its secret).")
def get_webhook(request: Request, webhook_id: WebhookId, session: SessionDep) -> Response:
    row = uc.get_webhook(session, webhook_id=webhook_id)
    return respond(request, None, webhook_read(row), version=row.version)


@router.delete("/webhooks/{webhook_id}", status_code=204, operation_id="delete_webhook",
               responses=responses(401, 403, 404, 422),
               description="Stops the subscription: its pending deliveries are cancelled (`cancelled`), nothing "
               "more is sent, and it answers 404 from then on. Audited as `webhook.deleted`.")
def delete_webhook(webhook_id: WebhookId, session: SessionDep, ctx: CtxDep) -> Response:
    uc.delete_webhook(session, ctx=ctx, webhook_id=webhook_id)
    return Response(status_code=204)


@router.get("/webhooks/{webhook_id}/deliveries", response_model=Page[DeliveryRead],
            operation_id="list_webhook_deliveries", responses=responses(401, 403, 404, 422),
            description="The subscription's deliveries, newest first, each with every attempt (time, duration, "
            "HTTP status or error, the start of the answer). `status` filters. " + DELIVERY_NOTE)
def list_deliveries(
    webhook_id: WebhookId, session: SessionDep, ctx: CtxDep, status: DeliveryStatus | None = None,
    cursor: NumberCursor = None, limit: Limit = 50,
) -> Response:
    before = cursor_values(cursor, BY_NUMBER)
    rows, attempts = uc.list_deliveries(session, webhook_id=webhook_id, before=before[0] if before else None,
                                        status=status.value if status else None, limit=limit + 1)
    items = [delivery_read(r, attempts.get(r.id, []), reader_role=ctx.actor.role) for r in rows[:limit]]
    return json_response(Page[DeliveryRead](items=items, next_cursor=next_cursor(rows, limit, lambda r: [r.id])))


@router.get("/webhooks/{webhook_id}/deliveries/{delivery_id}", response_model=DeliveryRead,
            operation_id="get_webhook_delivery", responses=responses(401, 403, 404, 422),
            description="One delivery with every attempt.")
def get_delivery(
    request: Request, webhook_id: WebhookId, delivery_id: DeliveryId, session: SessionDep, ctx: CtxDep
) -> Response:
    row, attempts = uc.get_delivery(session, webhook_id=webhook_id, delivery_id=delivery_id)
    return respond(request, None, delivery_read(row, attempts, reader_role=ctx.actor.role))


@router.post("/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver", response_model=DeliveryRead,
             operation_id="redeliver_webhook", responses=responses(401, 403, 404, 422),
             description="Sends the delivery again (same body and `webhook-id`), due now: a `delivered` or `dead` "
             "one becomes `pending` with a fresh round of attempts, a `pending` one is due at once. It then "
             "waits like any other for earlier pending events of its entity. Audited as `webhook.redelivered`.")
def redeliver(
    request: Request, webhook_id: WebhookId, delivery_id: DeliveryId, session: SessionDep, ctx: CtxDep
) -> Response:
    row, attempts = uc.redeliver(session, ctx=ctx, webhook_id=webhook_id, delivery_id=delivery_id)
    return respond(request, session, delivery_read(row, attempts, reader_role=ctx.actor.role))
