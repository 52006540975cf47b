"""Two service instances on one PostgreSQL database keep one hash chain (SPEC §6, §9 "stateless").

Two ``chain-ledger serve`` processes share the database; twenty writers spread over both create, move and
patch projects at the same time. The audit log must come out as one gapless, unforked chain — seq 1..n, each
``prev_hash`` the hash of the event before — and ``GET /audit/verify`` must say ok on both instances.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.conftest import BACKEND
from tests.reliability.support import P, assert_one_chain, audit_events, project_body, seed_reference, signed_on, verify

WRITERS = 20

pytestmark = pytest.mark.skipif(
    BACKEND != "postgres",
    reason="several instances share one database on PostgreSQL only (SQLite: one file, one serving process)",
)


def test_two_instances_keep_one_unforked_chain(serve, live_admin):
    servers = [serve(), serve()]
    clients = [httpx.Client(base_url=servers[i % 2].url, timeout=60) for i in range(WRITERS)]
    try:
        seed_reference(clients[0], live_admin)
        barrier = threading.Barrier(WRITERS)

        def write(i: int) -> int:
            http = clients[i]
            barrier.wait()
            writes = 0
            r = http.post(P, json=project_body(f"双实例项目{i}"), headers=live_admin)
            assert r.status_code == 201, r.text
            project, writes = r.json(), writes + 1
            for to in ("started", "in_production"):
                r = http.post(f"{P}/{project['id']}/transitions", json={"to": to, "on": signed_on()},
                              headers={**live_admin, "If-Match": f'"{project["version"]}"'})
                assert r.status_code == 200, r.text
                project, writes = r.json(), writes + 1
            r = http.patch(f"{P}/{project['id']}", json={"investor": f"投资方{i}"},
                           headers={**live_admin, "If-Match": f'"{project["version"]}"'})
            assert r.status_code == 200, r.text
            return writes + 1

        with ThreadPoolExecutor(WRITERS) as pool:
            written = sum(pool.map(write, range(WRITERS)))

        events = audit_events(clients[0], live_admin)
        assert_one_chain(events)
        assert sum(e["entity"] == "project" for e in events) == written == WRITERS * 4
        heads = [verify(c, live_admin) for c in clients[:2]]  # one client per instance
        assert heads[0] == heads[1]
        assert heads[0]["events"] == len(events) and heads[0]["head"] == events[-1]["hash"]
        for server in servers:
            assert server.proc is not None and server.proc.poll() is None, server.log_tail()
    finally:
        for c in clients:
            c.close()
