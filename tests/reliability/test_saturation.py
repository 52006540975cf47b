"""Far more concurrent requests than worker threads and connections: the server keeps answering (SPEC §1).

A request holds a database connection from its endpoint's first statement to its commit. If the commit (or a
second thread hop in between) had to wait for a worker thread while every worker thread waited for a connection
— or for SQLite's write lock held by a request waiting for a thread — the process would stop answering until
timeouts fired. The server here gets 2 worker threads and 2 connections (pool 1 + overflow 1) and 24 clients
mixing reads (lists, a project, the ledger, the chains, the audit log) with transitions; every request must be
answered, none with a 5xx, within the clients' timeout.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.reliability.support import API, P, project_body, seed_reference, signed_on, verify

CLIENTS = 24
SECONDS = 4.0
NEXT = {"signed": "started", "started": "in_production", "in_production": "at_capacity"}


def test_a_saturated_server_answers_every_request(serve, live_admin):
    server = serve(env={"LEDGER_THREAD_LIMIT": "2", "LEDGER_DB_POOL_SIZE": "1"})
    with httpx.Client(base_url=server.url, timeout=30) as http:
        seed_reference(http, live_admin)
        projects = []
        for i in range(CLIENTS):
            r = http.post(P, json=project_body(f"满载测试{i}"), headers=live_admin)
            assert r.status_code == 201, r.text
            projects.append(r.json()["id"])
    month = signed_on()[:7]
    reads = [f"{P}?limit=50", f"{API}/chains", f"{API}/districts", f"{API}/ledger?period={month}",
             f"{API}/ledger/summary?period={month[:4]}", f"{API}/audit/events?limit=100"]
    statuses: Counter[int] = Counter()
    failures: list[str] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + SECONDS

    def client(i: int) -> None:
        project_id, stage = projects[i], "signed"
        with httpx.Client(base_url=server.url, timeout=httpx.Timeout(15, connect=5)) as http:
            n = 0
            while time.monotonic() < stop_at:
                n += 1
                try:
                    if i % 3 == 0 and stage in NEXT:  # a third of the clients write, one project each
                        r = http.post(f"{P}/{project_id}/transitions", headers=live_admin,
                                      json={"to": NEXT[stage], "on": signed_on()})
                        if r.status_code == 200:
                            stage = r.json()["stage"]
                    elif n % 2:
                        r = http.get(f"{P}/{project_id}", headers=live_admin)
                    else:
                        r = http.get(reads[(i + n) % len(reads)], headers=live_admin)
                except httpx.TransportError as exc:  # a timeout here means the server stalled
                    with lock:
                        failures.append(f"client {i}: {type(exc).__name__}")
                    return
                with lock:
                    statuses[r.status_code] += 1
                    if r.status_code != 200:
                        failures.append(f"client {i}: {r.status_code} {r.text[:200]}")

    started = time.monotonic()
    with ThreadPoolExecutor(CLIENTS) as pool:
        for f in [pool.submit(client, i) for i in range(CLIENTS)]:
            f.result()
    elapsed = time.monotonic() - started

    assert not failures, failures[:10]
    assert sum(statuses.values()) >= CLIENTS * 5, statuses  # every client kept being served
    assert elapsed < SECONDS + 15, f"the last requests took {elapsed - SECONDS:.1f} s after the load stopped"
    with httpx.Client(base_url=server.url, timeout=30) as http:
        verify(http, live_admin)
