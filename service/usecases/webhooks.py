"""Webhook subscriptions (SPEC §7): create (the secret shown once), list, read, delete, deliveries, redeliver.

Destinations (the policy's rules are ``service/domain/webhooks.py``; this module feeds them what only I/O can
tell): http(s) only, a valid host name or IP literal; never link-local, cloud metadata, multicast or
unspecified addresses, in any spelling, nor a name that resolves to one now; private and loopback addresses are
normal receivers, but never the service itself. "Itself" is any of the origins the caller passes
(LEDGER_PUBLIC_URL, the Host a request reached us under, the socket address it arrived on), compared by host
name and by resolved address with the same port; on the service's own port, any address of this machine counts
as the service. LEDGER_WEBHOOK_ALLOWED_HOSTS, when set, limits hosts. The delivery worker checks the host, the
allowed hosts and every resolved address again before each send (DNS may have changed since).
"""

from __future__ import annotations

import base64
import ipaddress
import json
import secrets
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from service.db.tables import WebhookDelivery, WebhookSubscription
from service.db.values import new_id
from service.db.webhooks import DEAD, DELIVERED, PENDING, WebhookRepo
from service.domain import errors as d
from service.domain.access import Role
from service.domain.context import Ctx
from service.domain.webhooks import (
    EVENT_TYPES,
    Address,
    Destination,
    RefusedDestination,
    checked_addresses,
    host_allowed,
    host_refusal,
    invalid_event_patterns,
    parse_destination,
)
from service.schemas.webhooks import WebhookCreate
from service.usecases.common import audit

MANAGERS = (Role.ADMIN, Role.INTEGRATION)
SECRET_BYTES = 32
#: Looks a host name up: its addresses (text) in the resolver's order, [] when it does not resolve.
Resolver = Callable[[str], list[str]]


@dataclass(frozen=True, slots=True)
class Origin:
    """A host and port under which this service is reached."""

    host: str
    port: int


def origin_of(url: str) -> Origin | None:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return Origin(parts.hostname.lower().rstrip("."), port or (443 if parts.scheme == "https" else 80))


def resolve_host(host: str) -> list[str]:
    """The system resolver: every address of ``host`` (TCP), in getaddrinfo's order; [] when it fails."""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return []
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _is_this_machine(address: str) -> bool:
    """Loopback, unspecified, or an address some local interface holds (binding to it succeeds)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if ip.is_loopback or ip.is_unspecified:
        return True
    family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.bind((ip.compressed, 0))
        return True
    except OSError:
        return False


def _host_checked(url: str, allowed_hosts: Iterable[str]) -> Destination:
    dest = parse_destination(url)
    if not host_allowed(dest.host, allowed_hosts):
        raise RefusedDestination(f"Host '{dest.host}' is not in LEDGER_WEBHOOK_ALLOWED_HOSTS.")
    reason = host_refusal(dest)
    if reason:
        raise RefusedDestination(reason)
    return dest


def check_destination(
    url: str, *, allowed_hosts: Iterable[str], resolve: Resolver
) -> tuple[Destination, list[Address]]:
    """The policy at every send: the parsed URL and the addresses to connect to — the IP literal, or every
    address the name resolves to now, each allowed. Raises RefusedDestination with the reason (a name that does
    not resolve, a host not in LEDGER_WEBHOOK_ALLOWED_HOSTS, any refused address)."""
    dest = _host_checked(url, allowed_hosts)
    return dest, checked_addresses(dest, [] if dest.ip is not None else resolve(dest.host))


def check_url(
    url: str,
    *,
    own: Iterable[Origin],
    server_ports: Iterable[int] = (),
    allowed_hosts: Iterable[str] = (),
    resolve: Resolver | None = None,
) -> Destination:
    """Raise InvalidInput (at ``body.url``) unless ``url`` is an acceptable destination at registration. A host
    name that does not resolve (yet) is accepted: the worker resolves and checks it again before every send."""
    resolve = resolve or resolve_host

    def bad(msg: str) -> d.InvalidInput:
        return d.InvalidInput.at(["body", "url"], msg)

    try:
        dest = _host_checked(url, allowed_hosts)
        resolved = [] if dest.ip is not None else resolve(dest.host)
        if resolved:
            checked_addresses(dest, resolved)
    except RefusedDestination as exc:
        raise bad(str(exc)) from None
    addresses = {dest.ip.compressed} if dest.ip is not None else set(resolved)
    for o in own:
        if o.port == dest.port and (o.host == dest.host or addresses & set(resolve(o.host))):
            raise bad("The URL points at this service itself.")
    if dest.port in set(server_ports) and any(_is_this_machine(a) for a in addresses):
        raise bad("The URL points at this service itself (this machine, the port it serves on).")
    return dest


def _secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _snapshot(row: WebhookSubscription) -> dict[str, Any]:
    return {"url": row.url, "events": json.loads(row.events), "description": row.description}


def create_webhook(
    session: Session, *, ctx: Ctx, data: WebhookCreate, own: Iterable[Origin], server_ports: Iterable[int],
    allowed_hosts: Iterable[str],
) -> tuple[WebhookSubscription, str]:
    ctx.actor.require(*MANAGERS, action="manage webhooks")
    bad = invalid_event_patterns(data.events)
    if bad:
        raise d.InvalidInput(
            f"Unknown event type(s): {', '.join(bad)}. Known: {', '.join(sorted(EVENT_TYPES))}, "
            "`<entity>.*` or `*`.",
            errors=[{"loc": ["body", "events", data.events.index(b)], "msg": f"Unknown event type '{b}'."}
                    for b in bad],
        )
    check_url(data.url, own=own, server_ports=server_ports, allowed_hosts=allowed_hosts)
    secret = _secret()
    row = WebhookSubscription(
        id=new_id(ctx.now), url=data.url, events=json.dumps(data.events), description=data.description,
        secret=secret, created_by=ctx.actor.name, created_by_role=ctx.actor.role.value, created_at=ctx.now,
        updated_at=ctx.now,
    )
    WebhookRepo(session).add(row)
    audit(session, ctx, action="webhook.created", entity="webhook", entity_id=row.id, before=None,
          after=_snapshot(row))
    return row, secret


def list_webhooks(session: Session, *, after: str | None, limit: int) -> list[WebhookSubscription]:
    return WebhookRepo(session).page(after=after, limit=limit)


def get_webhook(session: Session, *, webhook_id: str, for_update: bool = False) -> WebhookSubscription:
    row = WebhookRepo(session).get(webhook_id, for_update=for_update)
    if row is None:
        raise d.NotFound(f"No webhook '{webhook_id}'.")
    return row


def delete_webhook(session: Session, *, ctx: Ctx, webhook_id: str) -> None:
    """Soft delete: the subscription stops receiving; its pending deliveries are cancelled; the record stays."""
    ctx.actor.require(*MANAGERS, action="manage webhooks")
    row = get_webhook(session, webhook_id=webhook_id, for_update=True)
    before = _snapshot(row)
    row.deleted_at, row.updated_at = ctx.now, ctx.now
    row.version += 1
    cancelled = WebhookRepo(session).cancel_pending(webhook_id, ctx.now)
    session.flush()
    audit(session, ctx, action="webhook.deleted", entity="webhook", entity_id=row.id, before=before, after=None,
          extra={"cancelled_deliveries": cancelled})


def list_deliveries(
    session: Session, *, webhook_id: str, before: int | None, status: str | None, limit: int
) -> tuple[list[WebhookDelivery], dict[int, list[Any]]]:
    get_webhook(session, webhook_id=webhook_id)
    repo = WebhookRepo(session)
    rows = repo.deliveries(webhook_id, before=before, status=status, limit=limit)
    return rows, repo.attempts([r.id for r in rows])


def get_delivery(session: Session, *, webhook_id: str, delivery_id: int) -> tuple[WebhookDelivery, list[Any]]:
    get_webhook(session, webhook_id=webhook_id)
    repo = WebhookRepo(session)
    row = repo.delivery(webhook_id, delivery_id)
    if row is None:
        raise d.NotFound(f"Webhook '{webhook_id}' has no delivery {delivery_id}.")
    return row, repo.attempts([delivery_id]).get(delivery_id, [])


def redeliver(session: Session, *, ctx: Ctx, webhook_id: str, delivery_id: int) -> tuple[WebhookDelivery, list[Any]]:
    """Queue the delivery again, due now: a delivered or dead one gets a fresh round of attempts (its earlier
    attempts stay listed); a pending one just becomes due now. The same body and ``webhook-id`` are sent."""
    ctx.actor.require(*MANAGERS, action="manage webhooks")
    get_webhook(session, webhook_id=webhook_id)
    repo = WebhookRepo(session)
    row = repo.delivery(webhook_id, delivery_id, for_update=True)
    if row is None:
        raise d.NotFound(f"Webhook '{webhook_id}' has no delivery {delivery_id}.")
    before = {"status": row.status, "attempt_count": row.attempts}
    if row.status in (DELIVERED, DEAD):
        row.status, row.attempts = PENDING, 0
        row.locked_until, row.locked_by = None, None
    row.next_attempt_at, row.updated_at = ctx.now, ctx.now
    session.flush()
    audit(session, ctx, action="webhook.redelivered", entity="webhook", entity_id=webhook_id,
          before=before, after={"status": row.status, "attempt_count": row.attempts}, changed_only=False,
          extra={"delivery_id": row.id, "event_seq": row.event_seq})
    return row, repo.attempts([delivery_id]).get(delivery_id, [])
