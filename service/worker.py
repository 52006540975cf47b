"""The background worker: webhook delivery (SPEC §7) and, once an hour while events come, a signed audit tree head
(SPEC §6, ``sign_tree_head_if_due``).

The webhook delivery worker (SPEC §7): claims due outbox rows, sends them signed, records every attempt.

One loop per worker (a thread inside ``chain-ledger serve``, or ``chain-ledger worker`` alone): claim up to
``LEDGER_WEBHOOK_BATCH_SIZE`` due deliveries in one short write transaction (leased for
``LEDGER_WEBHOOK_LEASE_SECONDS``, at least 4 × the timeout + 5 s, so a lease never runs out while its request
can still be running), send them in parallel (at most one per subscription and entity, so order holds) with
no transaction open, then record each attempt in its own short transaction. Nothing waits on the network
while holding a database lock: SQLite's single writer stays free for the API.

Before each send the destination is checked again (SPEC §7): the URL by the same rules as at registration, the
host against LEDGER_WEBHOOK_ALLOWED_HOSTS, and every address the host name resolves to *now* against the
address policy (``service/domain/webhooks.py``). The request then goes to an address that was checked — the URL
names the IP, the ``Host`` header and, for https, SNI and certificate verification keep the host name — so DNS
cannot answer differently between the check and the connection (rebinding). A refused destination is a failed
attempt whose error says why; nothing is sent, and it is retried (DNS may be fixed) until it is dead, like any
other failure. Connections are not kept alive between sends: a pooled connection would be shared by every host
name on one address, and TLS verified only the first name.
"""

from __future__ import annotations

import os
import socket
import ssl
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx
from prometheus_client import Counter
from sqlalchemy.orm import Session, sessionmaker
from standardwebhooks import Webhook

from service import __version__
from service.config import Settings
from service.db.engine import transaction
from service.db.webhooks import Claimed, Outbox
from service.domain.webhooks import RefusedDestination, message_id, retry_delay
from service.logging import get_logger
from service.signing import signer_for
from service.usecases.audit_tree import sign_if_due
from service.usecases.webhooks import Resolver, check_destination, resolve_host

log = get_logger(__name__)
ATTEMPTS = Counter("ledger_webhook_attempts_total", "Webhook delivery attempts", ["outcome"])
EXCERPT_CHARS = 500
_READ_LIMIT = 4096


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _clean(text: str, limit: int = EXCERPT_CHARS) -> str:
    """Text safe to store on both databases (PostgreSQL refuses NUL characters), at most ``limit`` characters."""
    return text.replace("\x00", "\ufffd")[:limit]


class DeliveryWorker:
    """``resolver`` looks host names up (the system resolver unless a test gives a stub); ``verify`` is httpx's
    TLS verification (its default CA bundle unless an ``ssl.SSLContext`` is given, e.g. a private CA in tests)."""

    def __init__(
        self, sessions: sessionmaker[Session], settings: Settings, *, name: str | None = None,
        resolver: Resolver | None = None, verify: ssl.SSLContext | bool = True,
    ):
        self.sessions = sessions
        self.settings = settings
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.resolve = resolver or resolve_host
        timeout = settings.webhook_timeout_seconds
        self.lease = timedelta(seconds=max(settings.webhook_lease_seconds, 4 * timeout + 5))
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout), follow_redirects=False, trust_env=False, verify=verify,
            limits=httpx.Limits(max_connections=settings.webhook_concurrency * 2, max_keepalive_connections=0),
            headers={"user-agent": f"chain-ledger-webhooks/{__version__}"},
        )
        self._pool = ThreadPoolExecutor(max_workers=settings.webhook_concurrency, thread_name_prefix="webhook-send")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._next_tree_head_check = 0.0

    # ---------------------------------------------------------------- the loop

    def run_once(self) -> int:
        """Claim one batch of due deliveries and send it; the number claimed (0 when nothing was due)."""
        now = _utcnow()
        with transaction(self.sessions, write=True) as session:
            claimed = Outbox(session).claim(now=now, worker=self.name, lease_until=now + self.lease,
                                            limit=self.settings.webhook_batch_size)
        if claimed:
            list(self._pool.map(self._deliver, claimed))
        return len(claimed)

    def sign_tree_head_if_due(self, now: datetime | None = None) -> dict | None:
        """Sign and store an audit tree head (SPEC §6) when events were written since the last one and that one is
        ``LEDGER_AUDIT_TREE_HEAD_SECONDS`` old (an hour by default): at least one head an hour while events come."""
        now = now or _utcnow()
        with transaction(self.sessions, write=True) as session:
            head = sign_if_due(session, signer_for(self.settings), now,
                               every_seconds=self.settings.audit_tree_head_seconds)
        if head is not None:
            log.info("audit_tree_head_signed", size=head["size"], root=head["root"], signed_at=head["signed_at"])
        return head

    def _tree_heads(self) -> None:
        """At most one look a minute (or per interval, when shorter) whether a tree head is due."""
        now = time.monotonic()
        if now < self._next_tree_head_check:
            return
        self._next_tree_head_check = now + min(60.0, self.settings.audit_tree_head_seconds)
        try:
            self.sign_tree_head_if_due()
        except Exception as exc:  # noqa: BLE001 - the next look retries
            log.warning("audit_tree_head_error", worker=self.name, error=type(exc).__name__, detail=str(exc)[:200])

    def run(self) -> None:
        """Until stopped: deliver what is due, sleep ``LEDGER_WEBHOOK_POLL_SECONDS`` when nothing is; sign an
        audit tree head when one is due."""
        log.info("webhook_worker_started", worker=self.name)
        while not self._stop.is_set():
            self._tree_heads()
            try:
                busy = self.run_once()
            except Exception as exc:  # noqa: BLE001 - a failed round (database away) is retried after a pause
                log.warning("webhook_worker_error", worker=self.name, error=type(exc).__name__, detail=str(exc)[:200])
                busy = 0
            if not busy:
                self._stop.wait(self.settings.webhook_poll_seconds)
        log.info("webhook_worker_stopped", worker=self.name)

    def start(self) -> DeliveryWorker:
        self._thread = threading.Thread(target=self.run, name="webhook-worker", daemon=True)
        self._thread.start()
        return self

    def request_stop(self) -> None:
        """Finish the round in progress, then leave ``run`` (signal-handler safe)."""
        self._stop.set()

    def stop(self, timeout: float | None = None) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout if timeout is not None else self.settings.webhook_timeout_seconds * 4 + 5)
        self.close()

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self._client.close()

    # ---------------------------------------------------------------- one delivery

    def _deliver(self, c: Claimed) -> None:
        started = _utcnow()
        t0 = time.perf_counter()
        ok, status, error, excerpt = self._send(c, started)
        duration_ms = int((time.perf_counter() - t0) * 1000)
        ATTEMPTS.labels("delivered" if ok else "failed").inc()
        settings = self.settings
        try:
            with transaction(self.sessions, write=True) as session:
                row = Outbox(session).record(
                    delivery_id=c.id, worker=self.name, started_at=started, duration_ms=duration_ms, ok=ok,
                    status_code=status, error=error, excerpt=excerpt, now=_utcnow(),
                    max_attempts=settings.webhook_max_attempts,
                    retry_at=lambda n: _utcnow() + timedelta(seconds=retry_delay(
                        n, base=settings.webhook_retry_base_seconds, cap=settings.webhook_retry_max_seconds)),
                )
                final = row.status if row is not None else None
        except Exception as exc:  # noqa: BLE001 - the lease runs out and another round retries the delivery
            log.warning("webhook_record_failed", delivery_id=c.id, error=type(exc).__name__)
            return
        log.info("webhook_attempt", delivery_id=c.id, subscription_id=c.subscription_id, event_type=c.event_type,
                 seq=c.event_seq, ok=ok, status_code=status, error=error, duration_ms=duration_ms, status=final)

    def _send(self, c: Claimed, now: datetime) -> tuple[bool, int | None, str | None, str | None]:
        """Check the destination, then POST the signed body to a checked address: (delivered, HTTP status,
        error, start of the answer)."""
        try:
            dest, addresses = check_destination(c.url, allowed_hosts=self.settings.webhook_allowed_host_list,
                                                resolve=self.resolve)
        except RefusedDestination as exc:
            return False, None, _clean(f"destination refused, nothing sent: {exc}"), None
        msg_id = message_id(c.event_seq)
        headers = {
            "host": dest.host_header,
            "content-type": "application/json",
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": Webhook(c.secret).sign(msg_id, now, c.payload),
        }
        # TLS: the handshake names (SNI) and verifies the host name, not the address the URL now holds.
        extensions = {"sni_hostname": dest.host} if dest.scheme == "https" and dest.ip is None else None
        deadline = time.monotonic() + 2 * self.settings.webhook_timeout_seconds
        for index, address in enumerate(addresses):
            try:
                with self._client.stream("POST", dest.url_for(address), content=c.payload.encode(),
                                         headers=headers, extensions=extensions) as r:
                    head = b""
                    for chunk in r.iter_bytes():  # only the start of the answer, within a deadline
                        head += chunk
                        if len(head) >= _READ_LIMIT or time.monotonic() > deadline:
                            break
                break
            except httpx.ConnectError as exc:  # not reached at this address: try the next checked one
                if index + 1 < len(addresses) and time.monotonic() < deadline:
                    continue
                return False, None, _clean(f"{type(exc).__name__}: {exc}"), None
            except httpx.TimeoutException as exc:
                return False, None, f"timeout ({type(exc).__name__})", None
            except httpx.HTTPError as exc:
                return False, None, _clean(f"{type(exc).__name__}: {exc}"), None
        excerpt = _clean(head.decode("utf-8", errors="replace")) or None
        if 200 <= r.status_code < 300:
            return True, r.status_code, None, excerpt
        return False, r.status_code, f"HTTP {r.status_code}", excerpt
