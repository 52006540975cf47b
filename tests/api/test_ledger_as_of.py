"""A late report counts in its business month, but the ledger as of before the report does not show it."""

from datetime import UTC, datetime

import pytest

L = "/api/v1/ledger"


def _count(body, lst):
    return body["lists"][lst]["count"]


def test_a_start_reported_late_counts_in_march_but_not_as_of_april(client, admin, reference):
    r = client.post("/api/v1/projects", headers=admin, json={
        "name": "车谷电驱项目", "chain": "AUTO", "district": "JA", "investor": "某汽车零部件公司",
        "planned_investment": "30000", "milestones": {"signed": "2026-02-10"}})
    pid = r.json()["id"]
    april_read = datetime.now(UTC)  # what April's dispatch saw
    march_then = client.get(f"{L}?period=2026-03", headers=admin).json()
    client.post(f"/api/v1/projects/{pid}/transitions", json={"to": "started", "on": "2026-03-20"}, headers=admin)
    march_now = client.get(f"{L}?period=2026-03", headers=admin).json()
    assert _count(march_then, "started") == 0 and _count(march_now, "started") == 1
    reproduced = client.get(L, params={"period": "2026-03", "as_of": april_read.isoformat()}, headers=admin)
    assert reproduced.status_code == 200
    assert reproduced.json() == march_then
    summary = client.get("/api/v1/ledger/summary", params={"period": "2026-03", "as_of": april_read.isoformat()},
                         headers=admin).json()
    assert summary["totals"]["started"]["count"] == 0
    csv_then = client.get(L, params={"period": "2026-03", "format": "csv", "as_of": april_read.isoformat()},
                          headers=admin)
    assert csv_then.status_code == 200 and "新开工" not in csv_then.content.decode("utf-8-sig")


def test_a_void_after_the_fact_leaves_the_old_report_intact(client, admin, reference):
    r = client.post("/api/v1/projects", headers=admin, json={
        "name": "误录项目", "chain": "OPTICS", "district": "JA", "investor": "某公司",
        "planned_investment": "500", "milestones": {"signed": "2026-05-05"}})
    issued = datetime.now(UTC)
    first = client.get(f"{L}?period=2026-05", headers=admin).json()
    client.post(f"/api/v1/projects/{r.json()['id']}/void", json={"reason": "重复"}, headers=admin)
    assert _count(client.get(f"{L}?period=2026-05", headers=admin).json(), "signed") == 0
    again = client.get(L, params={"period": "2026-05", "as_of": issued.isoformat()}, headers=admin).json()
    assert again == first and _count(again, "signed") == 1


@pytest.mark.parametrize(
    "as_of",
    ["yesterday-ish", "2026-05-05T00:00:00", "2099-01-01T00:00:00+08:00", "1990-01-01T00:00:00Z"],
)
def test_bad_as_of(client, admin, reference, as_of):
    r = client.get(L, params={"period": "2026-05", "as_of": as_of}, headers=admin)
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
