"""GET /ledger/cycle-times: count, median and 90th percentile of each step's days, in SQL, identical on SQLite
(window functions) and PostgreSQL (percentile_cont). Checked against a plain Python type-7 percentile."""

from __future__ import annotations

import math
from datetime import date, timedelta

import pytest

from tests.api.rhythm_support import API, assert_invalid, assert_problem, make_project  # noqa: F401

C = f"{API}/ledger/cycle-times"
STARTED = date(2026, 3, 1)
EMPTY = {"count": 0, "median_days": None, "p90_days": None}


def type7(values: list[int], p: float) -> float:
    """Linear interpolation between closest ranks (Hyndman–Fan 7), the reference."""
    xs = sorted(values)
    h = p * (len(xs) - 1)
    lo = math.floor(h)
    hi = min(lo + 1, len(xs) - 1)
    return round(xs[lo] + (h - lo) * (xs[hi] - xs[lo]), 1)


def stats(values: list[int]) -> dict:
    return {"count": len(values), "median_days": type7(values, 0.5), "p90_days": type7(values, 0.9)}


def started_after(make_project, chain, days, *, district="JA", started=STARTED, **extra):
    signed = started - timedelta(days=days)
    return make_project(chain, district=district,
                        milestones={"signed": signed.isoformat(), "started": started.isoformat(), **extra})


@pytest.fixture
def world(client, admin, make_project):
    optics = [10, 20, 30, 40, 100]
    made = [started_after(make_project, "OPTICS", d, district="HS" if d == 100 else "JA") for d in optics]
    for d in (7, 8):
        started_after(make_project, "AUTO", d, district="DHGX")
    # Cancelled after starting: still counts for the step it completed.
    r = client.post(f"{API}/projects/{made[0]['id']}/transitions",
                    json={"to": "cancelled", "on": "2026-04-01", "reason": "终止"}, headers=admin)
    assert r.status_code == 200, r.text
    # Voided: counts nowhere.
    voided = started_after(make_project, "OPTICS", 999)
    assert client.post(f"{API}/projects/{voided['id']}/void", json={"reason": "录入错误"}, headers=admin).status_code == 200
    # Started in 2025: not in 2026's figures. Started→in production 50 days, in 2026.
    started_after(make_project, "OPTICS", 15, started=date(2025, 12, 20), in_production="2026-02-08")
    # Signed only: no step completed.
    make_project("AUTO", milestones={"signed": "2026-02-01"})
    return made


def get(client, headers, **params):
    r = client.get(C, params=params, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def test_by_chain(client, admin, world, make_token):
    body = get(client, make_token("viewer"), period="2026")
    assert (body["period"], body["from"], body["to"], body["by"]) == ("2026", "2026-01-01", "2026-12-31", "chain")
    assert "percentile_cont" in body["percentile"]
    rows = {r["chain"]: r for r in body["rows"]}
    assert list(rows) == ["AUTO", "OPTICS"]
    assert rows["OPTICS"]["signed_to_started"] == {"count": 5, "median_days": 30.0, "p90_days": 76.0}
    assert rows["OPTICS"]["started_to_in_production"] == {"count": 1, "median_days": 50.0, "p90_days": 50.0}
    assert rows["OPTICS"]["in_production_to_at_capacity"] == EMPTY
    assert rows["AUTO"]["signed_to_started"] == {"count": 2, "median_days": 7.5, "p90_days": 7.9}
    assert rows["AUTO"]["name"] == "汽车制造"
    assert body["totals"]["signed_to_started"] == stats([7, 8, 10, 20, 30, 40, 100])
    assert body["totals"]["signed_to_started"] == {"count": 7, "median_days": 20.0, "p90_days": 64.0}
    assert body["totals"]["in_production_to_at_capacity"] == EMPTY


def test_by_district_and_period(client, admin, world):
    body = get(client, admin, period="2026-Q1", by="district")
    assert body["by"] == "district"
    rows = {r["district"]: r for r in body["rows"]}
    assert list(rows) == ["DHGX", "HS", "JA"]
    assert rows["JA"]["signed_to_started"] == stats([10, 20, 30, 40])
    assert rows["HS"]["signed_to_started"] == stats([100])
    assert rows["DHGX"]["signed_to_started"] == stats([7, 8])
    assert rows["JA"]["started_to_in_production"] == stats([50])
    # December 2025: only the project started then.
    body = get(client, admin, period="2025-12")
    assert body["totals"]["signed_to_started"] == stats([15])
    assert body["totals"]["started_to_in_production"] == EMPTY
    # A period without completions: every row there, with zeros.
    body = get(client, admin, period="2024")
    assert all(r[s] == EMPTY for r in body["rows"] for s in ("signed_to_started", "started_to_in_production",
                                                             "in_production_to_at_capacity"))


@pytest.mark.parametrize("n", [1, 2, 3, 4, 6, 9, 10, 11, 13])
def test_percentiles_match_the_reference_for_many_sizes(client, admin, reference, make_project, n):
    durations = [(i * 37) % 101 + (i % 3) for i in range(n)]  # unsorted, with ties for some n
    for d in durations:
        started_after(make_project, "OPTICS", d)
    body = get(client, admin, period="2026-03")
    assert body["totals"]["signed_to_started"] == stats(durations)


@pytest.mark.parametrize(
    ("params", "loc"),
    [({"period": "2026-13"}, ("query", "period")), ({"period": "2026-Q5"}, ("query", "period")),
     ({}, ("query", "period")), ({"period": "2026", "by": "project"}, ("query", "by"))],
)
def test_bad_queries(client, admin, reference, params, loc):
    assert_invalid(client.get(C, params=params, headers=admin), *loc)


def test_needs_a_token(client, reference):
    assert_problem(client.get(C, params={"period": "2026"}), 401)
