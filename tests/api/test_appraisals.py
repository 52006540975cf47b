"""Annual appraisal (年度考核比拼): inputs gathered in SQL from the year's dispatches, problems and inspections
plus the approved plan, scored and ranked; weights, publication and the frozen state.

The 2025 world of ``world``:

    chain   dispatch on time     problems due in 2025            inspections      approved plan
    OPTICS  01–09 (10 late)      2: one resolved on time, one    Q1 80, Q2 90,    indicators 50/100, 0/0 (met),
            → 9/12 = 0.75           late → 0.5                   Q3 70 → 0.6      150/100 → (0.5+1+1)/3;
                                                                                  tasks 1 of 2 on time → 0.5
    AUTO    01–06 → 0.5          none → 1                        Q1 100 → 0.25    none → 0, 0
    EQUIP   nothing → 0          none → 1                        none → 0         none → 0, 0
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from service.db.engine import transaction
from service.db.tables import Plan, PlanActual, PlanIndicator, PlanTask
from tests.api.conftest import assert_report_head
from tests.api.rhythm_support import (  # noqa: F401
    API,
    assert_invalid,
    assert_problem,
    frozen_clock,
    nothing_written,
    rhythm_state,
)

A = f"{API}/appraisals"
DEFAULT = {"indicators": 0.4, "tasks": 0.15, "dispatch": 0.15, "problems": 0.15, "inspection": 0.15}


def dispatch(client, admin, monkeypatch, chain, period, submitted_at):
    frozen_clock(monkeypatch, submitted_at)
    r = client.put(f"{API}/chains/{chain}/dispatches/{period}", json={"summary": "调度", "entries": []}, headers=admin)
    assert r.status_code == 201, r.text
    r = client.post(f"{API}/chains/{chain}/dispatches/{period}/submit", headers=admin)
    assert r.status_code == 200, r.text


def approved_plan(sessions, chain: str, year: int) -> None:
    now = datetime.now(UTC)
    with transaction(sessions, write=True) as s:
        plan = Plan(chain=chain, year=year, revision=1, status="approved", goals="目标", approved_at=now,
                    created_at=now, updated_at=now)
        s.add(plan)
        s.flush()
        for key, target in [("output", "100"), ("zero", "0"), ("over", "100")]:
            s.add(PlanIndicator(plan_id=plan.id, key=key, name=key, unit="亿元", target=Decimal(target),
                                source="manual"))
        for key, value in [("output", "50"), ("over", "150")]:
            s.add(PlanActual(chain=chain, year=year, indicator_key=key, period=f"{year}-06", value=Decimal(value),
                             created_at=now, updated_at=now))
        s.add(PlanTask(plan_id=plan.id, key="t1", title="t1", owner_unit="u", due_on=date(year, 6, 30), status="done",
                       done_on=date(year, 6, 30)))
        s.add(PlanTask(plan_id=plan.id, key="t2", title="t2", owner_unit="u", due_on=date(year, 6, 30), status="done",
                       done_on=date(year, 7, 1)))


@pytest.fixture
def world(client, admin, reference, sessions, monkeypatch):
    r = client.post(f"{API}/chains", json={"code": "EQUIP", "name": "高端装备", "leader": "链长",
                                           "lead_department": "FGW"}, headers=admin)
    assert r.status_code == 201, r.text
    for month in range(1, 11):
        day = "20" if month == 10 else "02"  # October's report comes late
        nxt = f"2025-{month + 1:02d}-{day}T10:00:00+08:00"
        dispatch(client, admin, monkeypatch, "OPTICS", f"2025-{month:02d}", nxt)
    for month in range(1, 7):
        dispatch(client, admin, monkeypatch, "AUTO", f"2025-{month:02d}", f"2025-{month + 1:02d}-03T10:00:00+08:00")
    frozen_clock(monkeypatch, "2025-05-01T10:00:00+08:00")
    ids = []
    for due in ("2025-06-30", "2025-06-30", "2026-01-15"):
        r = client.post(f"{API}/problems", json={"chain": "OPTICS", "title": "问题", "detail": "详情",
                                                 "owner_unit": "市经信局", "due_on": due}, headers=admin)
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    for problem_id, when in [(ids[0], "2025-06-20"), (ids[1], "2025-07-10"), (ids[2], "2025-12-01")]:
        frozen_clock(monkeypatch, f"{when}T10:00:00+08:00")
        r = client.post(f"{API}/problems/{problem_id}/transitions", json={"to": "resolved", "note": "已解决"},
                        headers=admin)
        assert r.status_code == 200, r.text
    frozen_clock(monkeypatch, "2026-02-10T10:00:00+08:00")
    for chain, quarter, held_on, score in [("OPTICS", "Q1", "2025-03-20", 80), ("OPTICS", "Q2", "2025-06-20", 90),
                                           ("OPTICS", "Q3", "2025-09-20", 70), ("AUTO", "Q1", "2025-03-25", 100)]:
        r = client.put(f"{API}/chains/{chain}/inspections/2025-{quarter}",
                       json={"held_on": held_on, "visited_projects": [], "score": score, "findings": "良好"},
                       headers=admin)
        assert r.status_code == 201, r.text
    approved_plan(sessions, "OPTICS", 2025)
    approved_plan(sessions, "AUTO", 2026)  # another year's plan does not count
    return ids


def ranking(body):
    return {r["chain"]: r for r in body["rankings"]}


def test_run_gathers_scores_and_ranks(client, admin, world, audit_count, events, make_token):
    n = audit_count()
    r = client.post(f"{A}/2025/run", headers=admin)
    assert r.status_code == 200, r.text
    assert r.headers["etag"] == '"1"'
    body = r.json()
    assert body["year"] == 2025 and body["status"] == "draft" and body["weights"] == DEFAULT
    assert body["run_at"] == "2026-02-10T02:00:00Z" and body["published_at"] is None
    assert [(x["chain"], x["score"], x["rank"]) for x in body["rankings"]] == [
        ("OPTICS", 68.58, 1), ("AUTO", 26.25, 2), ("EQUIP", 15.0, 3)]
    by = ranking(body)
    assert by["OPTICS"]["components"] == {"indicators": 0.8333, "tasks": 0.5, "dispatch": 0.75, "problems": 0.5,
                                          "inspection": 0.6}
    assert by["OPTICS"]["inputs"] == {
        "has_approved_plan": True, "indicator_completions": [0.5, 1.0, 1.5], "tasks_total": 2,
        "tasks_done_on_time": 1, "dispatch_on_time": 9, "problems_due": 2, "problems_resolved_on_time": 1,
        "inspection_scores": {"Q1": 80.0, "Q2": 90.0, "Q3": 70.0},
    }
    assert by["AUTO"]["components"] == {"indicators": 0.0, "tasks": 0.0, "dispatch": 0.5, "problems": 1.0,
                                        "inspection": 0.25}
    assert by["EQUIP"]["components"] == {"indicators": 0.0, "tasks": 0.0, "dispatch": 0.0, "problems": 1.0,
                                         "inspection": 0.0}
    assert audit_count() == n + 1
    (ev,) = events(action="appraisal.run")
    assert ev["entity"] == "appraisal" and ev["entity_id"] == "2025"
    # Everyone reads it.
    r = client.get(f"{A}/2025", headers=make_token("viewer"))
    assert r.status_code == 200 and r.json() == body and r.headers["etag"] == '"1"'
    # A second run reads the database again.
    r = client.post(f"{A}/2025/run", headers=admin)
    assert r.status_code == 200 and r.headers["etag"] == '"2"' and audit_count() == n + 2


def test_weights_rescore_and_competition_ranks(client, admin, world, audit_count, events, nothing_written):
    assert client.post(f"{A}/2025/run", headers=admin).status_code == 200
    problems_only = {"indicators": 0, "tasks": 0, "dispatch": 0, "problems": 1, "inspection": 0}
    with nothing_written():
        assert_problem(client.put(f"{A}/2025/weights", json=problems_only, headers=admin), 428)
        assert_problem(client.put(f"{A}/2025/weights", json=problems_only, headers={**admin, "If-Match": '"9"'}), 412)
    n = audit_count()
    r = client.put(f"{A}/2025/weights", json=problems_only, headers={**admin, "If-Match": '"1"'})
    assert r.status_code == 200, r.text
    assert r.headers["etag"] == '"2"' and r.json()["weights"] == {k: float(v) for k, v in problems_only.items()}
    assert [(x["chain"], x["score"], x["rank"]) for x in r.json()["rankings"]] == [
        ("AUTO", 100.0, 1), ("EQUIP", 100.0, 1), ("OPTICS", 50.0, 3)]
    assert audit_count() == n + 1
    (ev,) = events(action="appraisal.weights_set")
    assert ev["data"]["before"]["weights"] == DEFAULT and ev["data"]["after"]["weights"]["problems"] == 1.0
    # The same weights again: nothing written.
    r = client.put(f"{A}/2025/weights", json=problems_only, headers={**admin, "If-Match": '"2"'})
    assert r.status_code == 200 and r.headers["etag"] == '"2"' and audit_count() == n + 1


@pytest.mark.parametrize(
    ("weights", "loc"),
    [
        ({**DEFAULT, "indicators": 0.3}, ("body",)),  # sums to 0.9
        ({**DEFAULT, "indicators": 0.5}, ("body",)),  # sums to 1.1
        ({k: v for k, v in DEFAULT.items() if k != "tasks"}, ("body", "tasks")),
        ({**DEFAULT, "bonus": 0}, ("body", "bonus")),
        ({**DEFAULT, "tasks": -0.15, "dispatch": 0.45}, ("body", "tasks")),
        ({**DEFAULT, "indicators": 1.4, "tasks": -0.85}, ("body", "indicators")),
        ({**DEFAULT, "indicators": "0.4"}, ("body", "indicators")),
        ({**DEFAULT, "indicators": True}, ("body", "indicators")),
    ],
)
def test_bad_weights_write_nothing(client, admin, reference, weights, loc, nothing_written):
    with nothing_written():
        body = assert_invalid(client.put(f"{A}/2025/weights", json=weights, headers=admin), *loc)
    if loc == ("body",):
        assert "sum" in body["detail"]


def test_weights_before_the_first_run_create_the_draft(client, admin, reference, audit_count, nothing_written,
                                                       monkeypatch):
    frozen_clock(monkeypatch, "2026-02-10T10:00:00+08:00")
    weights = {"indicators": 0.3, "tasks": 0.1, "dispatch": 0.2, "problems": 0.2, "inspection": 0.2}
    with nothing_written():
        assert_problem(client.put(f"{A}/2025/weights", json=weights, headers={**admin, "If-Match": '"1"'}), 412)
        assert_problem(client.get(f"{A}/2025", headers=admin), 404)
    n = audit_count()
    r = client.put(f"{A}/2025/weights", json=weights, headers=admin)
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "draft" and r.json()["rankings"] == [] and r.json()["run_at"] is None
    assert audit_count() == n + 1
    with nothing_written():
        assert_problem(client.post(f"{A}/2025/publish", headers=admin), 409)  # never run
    r = client.post(f"{A}/2025/run", headers=admin)
    assert r.status_code == 200 and r.json()["weights"] == weights  # the run keeps the weights set
    assert [x["score"] for x in r.json()["rankings"]] == [20.0, 20.0]  # problems component 1 each


def test_publish_freezes(client, admin, world, audit_count, events, make_token, monkeypatch, nothing_written):
    assert client.post(f"{A}/2025/run", headers=admin).status_code == 200
    n = audit_count()
    with nothing_written():
        assert_problem(client.post(f"{A}/2025/publish", headers={**admin, "If-Match": '"7"'}), 412)
    r = client.post(f"{A}/2025/publish", headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "published" and r.json()["published_at"] == "2026-02-10T02:00:00Z"
    assert audit_count() == n + 1 and events(action="appraisal.published")[0]["entity_id"] == "2025"
    head = assert_report_head(client, admin, r.json(), events())  # the publish event included
    assert client.get(f"{A}/2025", headers=admin).json()["audit_tree_head"] == head
    with nothing_written():
        assert_problem(client.post(f"{A}/2025/run", headers=admin), 409)
        assert_problem(client.put(f"{A}/2025/weights", json=DEFAULT, headers={**admin, "If-Match": '"2"'}), 409)
        assert_problem(client.post(f"{A}/2025/publish", headers=admin), 409)
    # The schedule's annual item is done (published after its due date, 2 February 2026: late).
    r = client.get(f"{API}/schedule", params={"year": 2025, "chain": "AUTO"}, headers=admin)
    (annual,) = [i for i in r.json()["items"] if i["kind"] == "annual_appraisal"]
    assert (annual["status"], annual["done_at"]) == ("done_late", "2026-02-10T02:00:00Z")


def test_years_that_cannot_be_run_or_published(client, admin, reference, monkeypatch, nothing_written):
    frozen_clock(monkeypatch, "2026-11-24T10:00:00+08:00")
    with nothing_written():
        assert_invalid(client.post(f"{A}/2027/run", headers=admin), "path", "year")
        assert_invalid(client.post(f"{A}/1800/run", headers=admin), "path", "year")
        assert_problem(client.post(f"{A}/2024/publish", headers=admin), 404)
    r = client.post(f"{A}/2026/run", headers=admin)  # the current year: a provisional ranking
    assert r.status_code == 200, r.text
    with nothing_written():
        assert_invalid(client.post(f"{A}/2026/publish", headers=admin), "path", "year")


def test_admin_only(client, admin, reference, make_token, nothing_written):
    own = make_token("department", chains=["OPTICS"])
    with nothing_written():
        for headers in (own, make_token("viewer"), make_token("auditor"), make_token("integration")):
            assert_problem(client.post(f"{A}/2025/run", headers=headers), 403)
            assert_problem(client.put(f"{A}/2025/weights", json=DEFAULT, headers=headers), 403)
            assert_problem(client.post(f"{A}/2025/publish", headers=headers), 403)
        assert_problem(client.post(f"{A}/2025/run"), 401)
