"""Two clocks (SPEC §6): ``as_of`` at every step of a random history equals what was read live then,
for each project, the year's ledger and a quarter's summary.

Hypothesis generates sequences of creates, transitions (cancellations included), reverts, voids and patches;
after each step every project is read live and the moment noted; at the end each project is read again
``as_of`` each noted moment and must match exactly (versions and timestamps included).
"""

from __future__ import annotations

import os
import time
from datetime import UTC, date, datetime, timedelta

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.config import Settings
from service.main import create_app

NEXT = {"signed": "started", "started": "in_production", "in_production": "at_capacity"}
REPORTS = {"ledger": ("/api/v1/ledger", "2025"), "summary": ("/api/v1/ledger/summary", "2025-Q2")}
EXAMPLES = 8 if os.environ.get("LEDGER_TEST_DB") == "postgres" else 20

operations = st.lists(
    st.one_of(
        st.tuples(st.just("create"), st.integers(0, 300)),
        st.tuples(st.just("advance"), st.integers(0, 9), st.integers(0, 60)),
        st.tuples(st.just("cancel"), st.integers(0, 9), st.integers(0, 60)),
        st.tuples(st.just("revert"), st.integers(0, 9)),
        st.tuples(st.just("void"), st.integers(0, 9)),
        st.tuples(st.just("patch"), st.integers(0, 9), st.booleans()),
    ),
    min_size=1,
    max_size=14,
)


def _setup(client: TestClient, headers: dict) -> None:
    client.post("/api/v1/departments", json={"code": "FGW", "name": "市发改委"}, headers=headers)
    client.post("/api/v1/districts", json={"code": "JA", "name": "江岸区", "kind": "district"}, headers=headers)
    client.post("/api/v1/chains", json={"code": "OPTICS", "name": "光芯屏端网", "leader": "链长",
                                        "lead_department": "FGW"}, headers=headers)


def _last_milestone(p: dict) -> date:
    return max(date.fromisoformat(v) for v in p["milestones"].values() if v)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=operations)
def test_as_of_reproduces_every_live_read(databases, make_admin_token, ops):
    url = databases.fresh_url()
    app = create_app(Settings(database_url=url))
    try:
        with TestClient(app) as client:
            headers = make_admin_token(app)
            _setup(client, headers)
            ids: list[str] = []
            seen: list[tuple[datetime, dict[str, dict]]] = []
            today = date(2026, 11, 1)
            for op in ops:
                kind = op[0]
                if kind == "create":
                    signed = date(2025, 1, 1) + timedelta(days=op[1])
                    r = client.post("/api/v1/projects", headers=headers, json={
                        "name": f"项目{len(ids)}", "chain": "OPTICS", "district": "JA", "investor": "某公司",
                        "planned_investment": "100", "milestones": {"signed": signed.isoformat()}})
                    assert r.status_code == 201
                    ids.append(r.json()["id"])
                elif ids:
                    pid = ids[op[1] % len(ids)]
                    p = client.get(f"/api/v1/projects/{pid}", headers=headers).json()
                    base = f"/api/v1/projects/{pid}"
                    if kind in ("advance", "cancel"):
                        on = min(today, _last_milestone(p) + timedelta(days=op[2])).isoformat()
                        body = ({"to": "cancelled", "on": on, "reason": "终止"} if kind == "cancel"
                                else {"to": NEXT.get(p["stage"], "at_capacity"), "on": on})
                        r = client.post(f"{base}/transitions", json=body, headers=headers)
                        assert r.status_code in (200, 409), r.text
                    elif kind == "revert":
                        r = client.post(f"{base}/transitions/revert", json={"reason": "更正"}, headers=headers)
                        assert r.status_code in (200, 409), r.text
                    elif kind == "void":
                        r = client.post(f"{base}/void", json={"reason": "误录"}, headers=headers)
                        assert r.status_code in (200, 409), r.text
                    else:
                        r = client.patch(base, json={"is_key": op[2]},
                                         headers={**headers, "If-Match": f'"{p["version"]}"'})
                        assert r.status_code in (200, 409), r.text
                live = {pid: client.get(f"/api/v1/projects/{pid}", headers=headers).json() for pid in ids}
                for name, (path, period) in REPORTS.items():
                    live[name] = client.get(path, params={"period": period}, headers=headers).json()
                seen.append((datetime.now(UTC), live))
                time.sleep(0.002)
            for moment, live in seen:
                for pid, state in live.items():
                    path, period = REPORTS.get(pid, (f"/api/v1/projects/{pid}", None))
                    params = {"as_of": moment.isoformat(), **({"period": period} if period else {})}
                    r = client.get(path, params=params, headers=headers)
                    assert r.status_code == 200, r.text
                    assert r.json() == state
            if ids and seen:
                before = seen[0][0] - timedelta(days=1)
                r = client.get(f"/api/v1/projects/{ids[0]}", params={"as_of": before.isoformat()}, headers=headers)
                assert r.status_code == 422
                r = client.get("/api/v1/ledger", params={"period": "2025", "as_of": before.isoformat()},
                               headers=headers)
                assert r.status_code == 422
    finally:
        app.state.db.engine.dispose()
        databases.drop(url)
