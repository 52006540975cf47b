"""Twenty clients race stage changes on one project with If-Match, against a real server (SPEC §1, §3).

Optimistic versions must hold under real concurrency: for every version exactly one write wins; the others get
412 (stale If-Match) — or 409 when the stage already moved — never a 5xx, never two winners on one version. The
accepted changes, the version increase and the project's audit events are the same number.
"""

from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from tests.reliability.support import P, assert_problem, audit_events, project_body, seed_reference, signed_on, verify

CLIENTS = 20
ROUNDS_PER_CLIENT = 6
NEXT = {"signed": "started", "started": "in_production", "in_production": "at_capacity"}
CHANGES = ("project.transitioned", "project.reverted")


def _change(http: httpx.Client, headers: dict[str, str], project_id: str, stage: str, version: int,
            rng: random.Random) -> httpx.Response:
    """Move forward, or revert the latest move (always possible at at_capacity, never at signed)."""
    revert = stage == "at_capacity" or (stage != "signed" and rng.random() < 0.4)
    h = {**headers, "If-Match": f'"{version}"'}
    if revert:
        return http.post(f"{P}/{project_id}/transitions/revert", json={"reason": "录入更正"}, headers=h)
    return http.post(f"{P}/{project_id}/transitions", json={"to": NEXT[stage], "on": signed_on()}, headers=h)


def test_if_match_races_have_one_winner_per_version(serve, live_admin):
    server = serve()
    clients = [httpx.Client(base_url=server.url, timeout=60) for _ in range(CLIENTS)]
    try:
        http = clients[0]
        seed_reference(http, live_admin)
        created = http.post(P, json=project_body("并发迁移项目"), headers=live_admin)
        assert created.status_code == 201, created.text
        project_id, start_version = created.json()["id"], created.json()["version"]
        outcomes: list[tuple[int, int, dict[str, Any]]] = []  # (If-Match sent, status, body)
        lock = threading.Lock()

        # 1. Lock-step rounds: all clients send the same change with the same If-Match at once.
        for _ in range(3):
            current = http.get(f"{P}/{project_id}", headers=live_admin).json()
            barrier = threading.Barrier(CLIENTS)

            def same_change(i: int, current=current, barrier=barrier) -> httpx.Response:  # noqa: ANN001
                barrier.wait()
                return clients[i].post(f"{P}/{project_id}/transitions",
                                       json={"to": NEXT[current["stage"]], "on": signed_on()},
                                       headers={**live_admin, "If-Match": f'"{current["version"]}"'})

            with ThreadPoolExecutor(CLIENTS) as pool:
                answers = list(pool.map(same_change, range(CLIENTS)))
            assert sorted(r.status_code for r in answers) == [200] + [412] * (CLIENTS - 1), \
                [r.status_code for r in answers]
            for r in answers:
                if r.status_code == 412:
                    assert_problem(r, 412)
                outcomes.append((current["version"], r.status_code, r.json()))

        # 2. Free running: each client reads, then changes with what it read, while the others do the same.
        start = threading.Barrier(CLIENTS)

        def free_run(i: int) -> None:
            rng = random.Random(i)
            start.wait()
            for _ in range(ROUNDS_PER_CLIENT):
                read = clients[i].get(f"{P}/{project_id}", headers=live_admin)
                assert read.status_code == 200, read.text
                seen = read.json()
                r = _change(clients[i], live_admin, project_id, seen["stage"], seen["version"], rng)
                with lock:
                    outcomes.append((seen["version"], r.status_code, r.json()))

        with ThreadPoolExecutor(CLIENTS) as pool:
            for f in [pool.submit(free_run, i) for i in range(CLIENTS)]:
                f.result()

        statuses = [status for _, status, _ in outcomes]
        assert set(statuses) <= {200, 409, 412}, statuses
        winners = [(sent, body) for sent, status, body in outcomes if status == 200]
        for _, status, body in outcomes:
            if status != 200:
                assert body["type"] in ("/problems/stale-version", "/problems/invalid-transition",
                                        "/problems/conflict"), body
        # One winner per version, each moving the version by exactly one.
        sent_versions = [sent for sent, _ in winners]
        assert len(sent_versions) == len(set(sent_versions)), "two writes won on the same version"
        assert all(body["version"] == sent + 1 for sent, body in winners)

        final = http.get(f"{P}/{project_id}", headers=live_admin).json()
        assert sorted(sent_versions) == list(range(start_version, final["version"]))
        changes = [e for e in audit_events(http, live_admin, entity="project", entity_id=project_id)
                   if e["action"] in CHANGES]
        assert len(winners) == final["version"] - start_version == len(changes)
        assert len(winners) > 3, "the free-running phase accepted nothing"
        verify(http, live_admin)
    finally:
        for c in clients:
            c.close()
