"""One Idempotency-Key, many POSTs at once and one after another, against a real server (SPEC §1).

Fifty clients (each its own httpx connection, released together by a barrier) POST the same project with the
same key, then fifty more POSTs follow one by one. Exactly one project and one audit event come of it; every 2xx
answer carries the same body, exactly one is not a replay; while the first is in flight others may get 409
(never a 5xx).
"""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.reliability.support import P, assert_problem, audit_events, project_body, seed_reference, verify

CONCURRENT = 50
SEQUENTIAL = 50


def test_one_key_many_posts_make_one_project(serve, live_admin):
    server = serve()
    with httpx.Client(base_url=server.url, timeout=60) as http:
        seed_reference(http, live_admin)
        head_before = verify(http, live_admin)["events"]

        body = project_body("幂等测试项目")
        headers = {**live_admin, "Idempotency-Key": f"reliability-{uuid.uuid4().hex}"}
        clients = [httpx.Client(base_url=server.url, timeout=60) for _ in range(CONCURRENT)]
        barrier = threading.Barrier(CONCURRENT)

        def post(i: int) -> httpx.Response:
            barrier.wait()
            return clients[i].post(P, json=body, headers=headers)

        try:
            with ThreadPoolExecutor(CONCURRENT) as pool:
                concurrent = list(pool.map(post, range(CONCURRENT)))
        finally:
            for c in clients:
                c.close()
        sequential = [http.post(P, json=body, headers=headers) for _ in range(SEQUENTIAL)]

        # No 5xx; concurrent ones are the first answer, a replay, or 409 "in flight"; later ones all replay.
        assert {r.status_code for r in concurrent} <= {201, 409}, [r.status_code for r in concurrent]
        for r in concurrent:
            if r.status_code == 409:
                assert assert_problem(r, 409)["type"] == "/problems/idempotency-in-flight"
        assert all(r.status_code == 201 for r in sequential), [r.status_code for r in sequential]
        assert all(r.headers.get("Idempotent-Replayed") == "true" for r in sequential)

        ok = [r for r in concurrent + sequential if r.status_code == 201]
        assert len({r.content for r in ok}) == 1, "2xx answers to one key differ"
        assert len({r.headers["ETag"] for r in ok}) == 1
        first = [r for r in ok if r.headers.get("Idempotent-Replayed") != "true"]
        assert len(first) == 1, f"{len(first)} requests were executed, not replayed"
        project = first[0].json()

        # Exactly one project, exactly one new audit event — the project's creation.
        listed = http.get(P, params={"limit": 500, "include_voided": "true"}, headers=live_admin).json()["items"]
        assert [p["id"] for p in listed] == [project["id"]]
        new_events = audit_events(http, live_admin, after=head_before)
        assert [(e["action"], e["entity_id"]) for e in new_events] == [("project.created", project["id"])]
        assert verify(http, live_admin)["events"] == head_before + 1
