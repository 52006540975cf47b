"""SIGKILL the server five times under a keyed write load; nothing acknowledged is lost (SPEC §1, §6, §7).

Writers POST projects, each with its own Idempotency-Key, and retry on any failure with the same key and body
(as the promotion office's pushes do). Meanwhile ``chain-ledger serve`` is SIGKILLed — no shutdown, no cleanup —
and restarted on the same database, five times. Afterwards: every acknowledged (2xx) write is there with its audit
event and no write happened twice; no key is stuck in flight (once the short lease has passed, a key that was in
flight at a kill replays or completes); the chain verifies; on SQLite ``PRAGMA integrity_check`` says ok.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from sqlalchemy import text

from service.db.engine import transaction
from tests.conftest import BACKEND
from tests.reliability.support import P, all_pages, audit_events, project_body, seed_reference, verify

KILLS = 5
WRITERS = 6
LEASE_SECONDS = 2  # LEDGER_IDEMPOTENCY_LEASE_SECONDS of the server: an orphaned in-flight key frees up quickly
RETRYABLE = {409}  # the key is still in flight (its first attempt may have died); a 5xx is a failure, not retried


def _post_until_acknowledged(http: httpx.Client, headers: dict[str, str], key: str, body: dict[str, Any],
                             stats: dict[str, int], lock: threading.Lock, give_up_at: float) -> httpx.Response:
    while True:
        try:
            r = http.post(P, json=body, headers={**headers, "Idempotency-Key": key})
            if r.status_code not in RETRYABLE:
                return r
            status = str(r.status_code)
        except httpx.TransportError as exc:  # refused, reset, or the answer never came: the server died
            status = type(exc).__name__
        with lock:
            stats[status] = stats.get(status, 0) + 1
        assert time.monotonic() < give_up_at, f"key {key} never got an answer; retries: {stats}"
        time.sleep(0.1)


def _in_flight(sessions) -> int:  # noqa: ANN001
    with transaction(sessions, write=False) as session:
        return session.execute(text("SELECT count(*) FROM idempotency_record WHERE state <> 'done'")).scalar_one()


def test_sigkill_under_load_loses_nothing_acknowledged(serve, live_admin, db_sessions):
    env = {"LEDGER_IDEMPOTENCY_LEASE_SECONDS": str(LEASE_SECONDS)}
    server = serve(env=env)
    rng = random.Random(8)
    stop = threading.Event()
    lock = threading.Lock()
    acknowledged: dict[str, httpx.Response] = {}  # key → its 2xx answer
    bodies: dict[str, dict[str, Any]] = {}
    refused: list[tuple[str, int, str]] = []
    stats: dict[str, int] = {}
    orphaned: list[int] = []  # keys left in flight by each kill (their requests died between claim and commit)
    give_up_at = time.monotonic() + 150

    with httpx.Client(base_url=server.url, timeout=30) as http:
        seed_reference(http, live_admin)

    def writer(i: int) -> None:
        with httpx.Client(base_url=server.url, timeout=httpx.Timeout(10, connect=2)) as http:
            n = 0
            while not stop.is_set():
                key, n = f"crash-{i}-{n}-{uuid.uuid4().hex[:8]}", n + 1
                body = project_body(f"断电测试{i}-{n}")
                with lock:
                    bodies[key] = body
                r = _post_until_acknowledged(http, live_admin, key, body, stats, lock, give_up_at)
                with lock:
                    if 200 <= r.status_code < 300:
                        acknowledged[key] = r
                    else:
                        refused.append((key, r.status_code, r.text[:300]))

    with ThreadPoolExecutor(WRITERS) as pool:
        futures = [pool.submit(writer, i) for i in range(WRITERS)]
        try:
            for _ in range(KILLS):
                time.sleep(rng.uniform(0.4, 1.2))  # let the load run, then pull the plug mid-write
                server.kill()
                orphaned.append(_in_flight(db_sessions))
                time.sleep(rng.uniform(0.0, 0.3))  # clients meet a dead port for a moment
                server.start()
            time.sleep(LEASE_SECONDS + 0.5)  # keys orphaned by the last kill get taken over and complete
        finally:
            stop.set()
        for f in futures:
            f.result()

    assert not refused, refused
    assert len(acknowledged) == len(bodies), "a writer stopped before its key was acknowledged"
    cut = sum(n for status, n in stats.items() if status in ("RemoteProtocolError", "ReadError", "ReadTimeout"))
    assert cut > 0, f"no kill cut a request mid-flight: {stats}"
    assert sum(orphaned) > 0, "no kill left a key in flight: the lease takeover was not exercised"

    with httpx.Client(base_url=server.url, timeout=30) as http:
        # Every acknowledged write is there, once, with its audit event.
        # Read across pages: a fast machine acknowledges more than one page (500) of writes in the run.
        by_name = {}
        for p in all_pages(http, live_admin, "projects"):
            assert p["name"] not in by_name, f"written twice: {p['name']}"
            by_name[p["name"]] = p
        created = {e["entity_id"] for e in audit_events(http, live_admin, action="project.created")}
        assert len(by_name) == len(acknowledged) == len(created)
        for key, r in acknowledged.items():
            project = r.json()
            assert by_name[bodies[key]["name"]]["id"] == project["id"]
            assert project["id"] in created

        # A retry of any key now replays its first answer (nothing in flight, nothing executed again).
        for key, r in acknowledged.items():
            again = http.post(P, json=bodies[key], headers={**live_admin, "Idempotency-Key": key})
            assert again.status_code == r.status_code, again.text
            assert again.headers.get("Idempotent-Replayed") == "true"
            assert again.content == r.content
        verify(http, live_admin)

    assert _in_flight(db_sessions) == 0, f"idempotency keys stuck in flight (orphaned by the kills: {orphaned})"
    with transaction(db_sessions, write=False) as session:
        if BACKEND == "sqlite":
            assert session.execute(text("PRAGMA integrity_check")).scalars().all() == ["ok"]
    server.stop()
