"""Annual plans (一链一表, SPEC §5): drafting, approval, revisions, tasks, monthly actuals — through the API.

Every refused write is checked to leave the audit log and the plan tables exactly as they were."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text

from service.db.engine import transaction
from tests.api.conftest import assert_problem, assert_report_head, assert_validation, today_shanghai
from tests.api.plan_support import API, INDICATORS, TASKS, YEAR, plan_body, plan_url

PLAN_TABLES = ("audit_event", "plan", "plan_task", "plan_indicator", "plan_actual")


@pytest.fixture
def nothing_written(sessions):
    """``with nothing_written(): <refused request>`` — the audit log and every plan table unchanged."""

    def state() -> dict[str, Any]:
        with transaction(sessions, write=False) as s:
            counts = {t: s.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in PLAN_TABLES}
            counts["versions"] = s.execute(text("SELECT coalesce(sum(version), 0) FROM plan")).scalar_one()
            counts["actuals"] = s.execute(text("SELECT coalesce(sum(value), 0) FROM plan_actual")).scalar_one()
            return counts

    @contextmanager
    def guard():
        before = state()
        yield
        assert state() == before, "a refused request wrote something"

    return guard


@pytest.fixture
def dept(make_token, reference):
    """A department token scoped to OPTICS, and one scoped to AUTO."""
    return {"OPTICS": make_token("department", "市经信局", ["OPTICS"]),
            "AUTO": make_token("department", "市发改委", ["AUTO"])}


def put(client, headers, body=None, *, etag: str | None = None, chain="OPTICS", year=YEAR):  # noqa: ANN001, ANN201
    h = dict(headers)
    if etag is not None:
        h["If-Match"] = etag
    return client.put(plan_url(chain, year), json=body if body is not None else plan_body(), headers=h)


def created(client, headers, body=None, **kw) -> tuple[dict, str]:  # noqa: ANN001
    r = put(client, headers, body, **kw)
    assert r.status_code == 201, r.text
    return r.json(), r.headers["ETag"]


def approve(client, headers, chain="OPTICS", year=YEAR):  # noqa: ANN001, ANN201
    return client.post(plan_url(chain, year, "/approve"), headers=headers)


def plan_events(events, chain="OPTICS", year=YEAR) -> list[dict]:  # noqa: ANN001
    return events(entity="plan", entity_id=f"{chain}/{year}")


# ---------------------------------------------------------------- create, read, replace a draft


def test_put_creates_a_draft_revision_1_with_its_tasks_and_indicators(client, admin, reference, events, audit_count):
    before = audit_count()
    plan, etag = created(client, admin)
    assert etag == '"1"'
    assert {k: plan[k] for k in ("chain", "year", "revision", "current", "status", "version", "approved_at",
                                  "revision_reason", "benchmark_city", "goals")} == {
        "chain": "OPTICS", "year": YEAR, "revision": 1, "current": True, "status": "draft", "version": 1,
        "approved_at": None, "revision_reason": None, "benchmark_city": "深圳", "goals": plan_body()["goals"],
    }
    assert [t["key"] for t in plan["tasks"]] == [t["key"] for t in TASKS]
    assert plan["tasks"][0] == {**TASKS[0], "status": "open", "done_on": None}
    assert [i["key"] for i in plan["indicators"]] == [i["key"] for i in INDICATORS]
    by_key = {i["key"]: i for i in plan["indicators"]}
    assert by_key["signed_n"] == {"key": "signed_n", "name": "新签约项目数", "unit": "个", "target": "4.00",
                                  "source": "ledger.signed.count", "benchmark": None}
    assert by_key["prod_inv"]["benchmark"] == {"city": "合肥", "value": "15000.00"}
    assert by_key["output"]["benchmark"] == {"city": "深圳", "value": "1500.00"}  # the plan's benchmark city

    r = client.get(plan_url(), headers=admin)
    assert r.status_code == 200 and r.headers["ETag"] == '"1"'
    assert r.json() == plan

    assert audit_count() == before + 1
    (event,) = plan_events(events)
    assert event["action"] == "plan.created" and event["entity"] == "plan"
    assert event["data"]["before"] is None
    assert event["data"]["after"]["revision"] == 1 and event["data"]["after"]["status"] == "draft"
    assert len(event["data"]["after"]["indicators"]) == len(INDICATORS)


def test_plan_benchmark_city_defaults_to_the_chains(client, admin, reference):
    r = client.patch(f"{API}/chains/AUTO", json={"benchmark_city": "长春"}, headers={**admin, "If-Match": '"1"'})
    assert r.status_code == 200, r.text
    body = plan_body(tasks=[], indicators=[{"key": "n", "name": "整车产量", "unit": "万辆", "target": "50",
                                            "source": "manual", "benchmark": {"value": "90"}}])
    del body["benchmark_city"]
    plan, _ = created(client, admin, body, chain="AUTO")
    assert plan["benchmark_city"] == "长春"
    assert plan["indicators"][0]["benchmark"] == {"city": "长春", "value": "90.00"}
    body["indicators"][0]["benchmark"] = {"value": "90"}
    body["benchmark_city"] = None
    # Neither the indicator, the plan nor (now) the chain names a city: say which.
    client.patch(f"{API}/chains/AUTO", json={"benchmark_city": None}, headers={**admin, "If-Match": '"2"'})
    assert_validation(put(client, admin, body, etag='"1"', chain="AUTO"), "body", "indicators", 0, "benchmark", "city")


def test_a_draft_is_edited_in_place_with_if_match(client, admin, reference, events, nothing_written):
    _, etag = created(client, admin)
    changed = plan_body(goals="新目标", tasks=TASKS[:2] + [{"key": "t9", "title": "新任务", "owner_unit": "市科技局",
                                                          "due_on": "2026-10-31"}])
    with nothing_written():
        assert_problem(put(client, admin, changed), 428, "/problems/precondition-required")
        assert_problem(put(client, admin, changed, etag='"7"'), 412, "/problems/stale-version")
        assert_problem(put(client, admin, changed, etag='"garbage"'), 412)
        assert_problem(put(client, admin, changed, etag="garbage"), 422)
    r = put(client, admin, changed, etag=etag)
    assert r.status_code == 200, r.text
    plan = r.json()
    assert (plan["revision"], plan["status"], plan["version"], r.headers["ETag"]) == (1, "draft", 2, '"2"')
    assert plan["goals"] == "新目标"
    assert [t["key"] for t in plan["tasks"]] == ["t1", "t2", "t9"]

    # The same content again changes nothing: no version, no event.
    with nothing_written():
        r = put(client, admin, changed, etag='"2"')
        assert r.status_code == 200 and r.json()["version"] == 2

    created_event, updated = plan_events(events)
    assert updated["action"] == "plan.updated"
    assert updated["data"]["before"]["goals"] == plan_body()["goals"]
    assert updated["data"]["after"]["goals"] == "新目标"
    assert set(updated["data"]["after"]) == {"goals", "tasks"}  # only what changed
    assert [t["key"] for t in updated["data"]["after"]["tasks"]] == ["t1", "t2", "t9"]


def test_put_with_if_match_on_a_missing_plan_is_stale(client, admin, reference, nothing_written):
    with nothing_written():
        assert_problem(put(client, admin, etag='"1"'), 412)


# ---------------------------------------------------------------- approval and revisions


def test_approve_is_admin_only_and_happens_once(client, admin, dept, make_token, events, nothing_written):
    assert_problem(approve(client, admin), 404)
    _, etag = created(client, dept["OPTICS"])
    with nothing_written():
        assert_problem(approve(client, dept["OPTICS"]), 403, "/problems/forbidden")
        assert_problem(approve(client, make_token("viewer")), 403)
        assert_problem(client.post(plan_url(tail="/approve"), headers={**admin, "If-Match": '"9"'}), 412)
    r = client.post(plan_url(tail="/approve"), headers={**admin, "If-Match": etag})
    assert r.status_code == 200, r.text
    plan = r.json()
    assert (plan["status"], plan["revision"], plan["version"], r.headers["ETag"]) == ("approved", 1, 2, '"2"')
    assert plan["approved_at"] is not None
    head = assert_report_head(client, admin, plan, events())
    assert client.get(plan_url(), headers=admin).json()["audit_tree_head"] == head
    with nothing_written():
        assert_problem(approve(client, admin), 409, "/problems/conflict")
    approved = plan_events(events)[-1]
    assert approved["action"] == "plan.approved"
    assert approved["data"]["before"] == {"status": "draft", "approved_at": None}
    assert approved["data"]["after"]["status"] == "approved" and approved["data"]["revision"] == 1


def test_an_approved_plan_is_revised_into_a_new_approved_revision(client, admin, reference, events, nothing_written):
    created(client, admin)
    assert approve(client, admin).status_code == 200
    r = client.patch(plan_url(tail="/tasks/t1"), json={"status": "done", "done_on": "2026-03-20"},
                     headers={**admin, "If-Match": '"2"'})
    assert r.status_code == 200, r.text
    etag = r.headers["ETag"]
    assert etag == '"3"'

    revised_body = plan_body(
        goals="调整后的目标",
        tasks=[TASKS[0], {**TASKS[1], "title": "举办两场招商推介会"}, {"key": "t5", "title": "新增任务",
                                                                 "owner_unit": "市商务局", "due_on": "2026-12-15"}],
        indicators=[{**INDICATORS[0], "target": 6}, INDICATORS[-1]],
    )
    with nothing_written():
        body = assert_validation(put(client, admin, revised_body, etag=etag), "body", "revision_reason")
        assert "revision_reason" in body["detail"]
        assert_validation(put(client, admin, revised_body), "body", "revision_reason")  # with or without If-Match
        assert_problem(put(client, admin, {**revised_body, "revision_reason": "中期调整"}), 428)
        assert_problem(put(client, admin, {**revised_body, "revision_reason": "中期调整"}, etag='"2"'), 412)

    r = put(client, admin, {**revised_body, "revision_reason": "中期调整"}, etag=etag)
    assert r.status_code == 200, r.text
    rev2 = r.json()
    assert (rev2["revision"], rev2["status"], rev2["current"], rev2["revision_reason"]) == (2, "approved", True, "中期调整")
    assert_report_head(client, admin, rev2, events())  # each approved revision carries its own head
    assert rev2["version"] == 4 and r.headers["ETag"] == '"4"'  # versions keep growing across revisions
    assert rev2["approved_at"] is not None
    # Task status carried over by key; changed title kept its (open) status; new key starts open.
    assert [(t["key"], t["status"], t["done_on"]) for t in rev2["tasks"]] == [
        ("t1", "done", "2026-03-20"), ("t2", "open", None), ("t5", "open", None)]
    assert [i["key"] for i in rev2["indicators"]] == ["signed_n", "output"]

    # Every revision stays readable; the old one frozen, flagged not current.
    r = client.get(plan_url(), params={"revision": 1}, headers=admin)
    assert r.status_code == 200 and r.headers["ETag"] == '"3"'
    rev1 = r.json()
    assert (rev1["revision"], rev1["current"], rev1["status"]) == (1, False, "approved")
    assert rev1["goals"] == plan_body()["goals"]
    assert len(rev1["tasks"]) == 4 and len(rev1["indicators"]) == len(INDICATORS)
    assert client.get(plan_url(), params={"revision": 2}, headers=admin).json() == rev2
    assert client.get(plan_url(), headers=admin).json() == rev2
    assert_problem(client.get(plan_url(), params={"revision": 3}, headers=admin), 404)
    assert_validation(client.get(plan_url(), params={"revision": 0}, headers=admin), "query", "revision")

    r = client.get(plan_url(tail="/revisions"), headers=admin)
    assert r.status_code == 200
    assert [(x["revision"], x["status"], x["revision_reason"]) for x in r.json()["items"]] == [
        (1, "approved", None), (2, "approved", "中期调整")]
    page = client.get(plan_url(tail="/revisions"), params={"limit": 1}, headers=admin).json()
    assert [x["revision"] for x in page["items"]] == [1] and page["next_cursor"]
    page = client.get(plan_url(tail="/revisions"), params={"limit": 1, "cursor": page["next_cursor"]},
                      headers=admin).json()
    assert [x["revision"] for x in page["items"]] == [2] and page["next_cursor"] is None

    # A revision approves at once: approving again conflicts; an identical revision PUT changes nothing.
    assert_problem(approve(client, admin), 409)
    with nothing_written():
        r = put(client, admin, {**revised_body, "revision_reason": "再次提交"}, etag='"4"')
        assert r.status_code == 200 and r.json()["revision"] == 2

    revised = plan_events(events)[-1]
    assert revised["action"] == "plan.revised"
    assert revised["data"]["before"]["revision"] == 1 and revised["data"]["after"]["revision"] == 2
    assert revised["data"]["after"]["revision_reason"] == "中期调整"
    assert revised["data"]["after"]["goals"] == "调整后的目标"


# ---------------------------------------------------------------- tasks


def test_task_updates_need_the_plans_etag_and_bump_its_version(client, admin, reference, events, nothing_written):
    created(client, admin)
    url = plan_url(tail="/tasks/t2")
    today = today_shanghai()
    with nothing_written():
        assert_problem(client.patch(url, json={"status": "done"}, headers=admin), 428)
        assert_problem(client.patch(url, json={"status": "done"}, headers={**admin, "If-Match": '"5"'}), 412)
        assert_problem(client.patch(plan_url(tail="/tasks/nope"), json={"status": "done"},
                                    headers={**admin, "If-Match": '"1"'}), 404)
        future = (today + timedelta(days=1)).isoformat()
        assert_validation(client.patch(url, json={"status": "done", "done_on": future},
                                       headers={**admin, "If-Match": '"1"'}), "body", "done_on")
        assert_validation(client.patch(url, json={"status": "open", "done_on": "2026-05-01"},
                                       headers={**admin, "If-Match": '"1"'}), "body", "done_on")
        assert_validation(client.patch(url, json={"status": "finished"}, headers={**admin, "If-Match": '"1"'}),
                          "body", "status")
        assert_problem(client.patch(plan_url(chain="NOPE", tail="/tasks/t2"), json={"status": "done"},
                                    headers={**admin, "If-Match": '"1"'}), 404)

    r = client.patch(url, json={"status": "done", "done_on": "2026-07-05"}, headers={**admin, "If-Match": '"1"'})
    assert r.status_code == 200, r.text
    assert r.headers["ETag"] == '"2"' and r.json()["version"] == 2
    assert r.json()["tasks"][1] == {**TASKS[1], "status": "done", "done_on": "2026-07-05"}
    event = plan_events(events)[-1]
    assert event["action"] == "plan.task_updated"
    assert event["data"]["task"] == "t2"
    assert event["data"]["before"] == {"status": "open", "done_on": None}
    assert event["data"]["after"] == {"status": "done", "done_on": "2026-07-05"}

    # Reopened: done_on cleared. Done without a date: today.
    r = client.patch(url, json={"status": "open"}, headers={**admin, "If-Match": '"2"'})
    assert r.json()["tasks"][1]["done_on"] is None and r.headers["ETag"] == '"3"'
    r = client.patch(url, json={"status": "done"}, headers={**admin, "If-Match": '"3"'})
    assert r.json()["tasks"][1]["done_on"] == today.isoformat()
    # The same again: nothing changes.
    with nothing_written():
        r = client.patch(url, json={"status": "done"}, headers={**admin, "If-Match": '"4"'})
        assert r.status_code == 200 and r.headers["ETag"] == '"4"'


# ---------------------------------------------------------------- manual actuals


def actual(client, headers, key, period, value, **kw):  # noqa: ANN001, ANN201
    return client.post(plan_url(tail=f"/indicators/{key}/actuals"), json={"period": period, "value": value},
                       headers={**headers, **kw.get("extra", {})})


def test_manual_actuals_are_monthly_and_a_second_value_replaces_the_first(client, admin, reference, events,
                                                                          nothing_written):
    assert_problem(actual(client, admin, "output", "2026-01", "1"), 404)  # no plan yet
    created(client, admin)
    r = actual(client, admin, "output", "2026-02", "200")
    assert r.status_code == 201, r.text
    assert r.json() | {"created_at": None, "updated_at": None} == {
        "chain": "OPTICS", "year": YEAR, "indicator_key": "output", "period": "2026-02", "value": "200.00",
        "version": 1, "created_at": None, "updated_at": None}
    assert r.headers["ETag"] == '"1"'
    r = actual(client, admin, "output", "2026-02", 250.5)
    assert r.status_code == 200 and r.json()["value"] == "250.50" and r.json()["version"] == 2
    with nothing_written():
        r = actual(client, admin, "output", "2026-02", "250.50")  # the same value: nothing to change
        assert r.status_code == 200 and r.json()["version"] == 2
    assert actual(client, admin, "output", "2026-01", "100").status_code == 201

    r = client.get(plan_url(tail="/indicators/output/actuals"), headers=admin)
    assert [(a["period"], a["value"]) for a in r.json()["items"]] == [("2026-01", "100.00"), ("2026-02", "250.50")]
    assert r.json()["next_cursor"] is None

    # Recording actuals does not touch the plan's version.
    assert client.get(plan_url(), headers=admin).headers["ETag"] == '"1"'

    evs = events(entity="plan_actual")
    assert [(e["action"], e["entity_id"]) for e in evs] == [
        ("plan_actual.created", "OPTICS/2026/output/2026-02"), ("plan_actual.updated", "OPTICS/2026/output/2026-02"),
        ("plan_actual.created", "OPTICS/2026/output/2026-01")]
    assert evs[1]["data"]["before"] == {"value": "200.00"} and evs[1]["data"]["after"] == {"value": "250.50"}


def test_bad_actuals_are_refused_and_write_nothing(client, admin, reference, nothing_written):
    created(client, admin)
    today = today_shanghai()
    with nothing_written():
        body = assert_problem(actual(client, admin, "signed_n", "2026-01", "3"), 409, "/problems/conflict")
        assert "ledger.signed.count" in body["detail"]
        assert_problem(actual(client, admin, "invested", "2026-01", "3"), 409)
        assert_validation(actual(client, admin, "output", "2025-12", "1"), "body", "period")
        assert_validation(actual(client, admin, "output", "2027-01", "1"), "body", "period")
        assert_validation(actual(client, admin, "output", "2026-13", "1"), "body", "period")
        assert_validation(actual(client, admin, "output", "2026-1", "1"), "body", "period")
        assert_validation(actual(client, admin, "output", "2026-01", "-1"), "body", "value")
        assert_validation(actual(client, admin, "output", "2026-01", "abc"), "body", "value")
        assert_problem(actual(client, admin, "nope", "2026-01", "1"), 404)
        assert_validation(client.post(plan_url(tail="/indicators/output/actuals"),
                                      json={"period": "2026-01", "value": "1", "note": "x"}, headers=admin), "body")
    if today.year == YEAR and today.month < 12:
        with nothing_written():
            future = f"{YEAR}-{today.month + 1:02d}"
            body = assert_validation(actual(client, admin, "output", future, "1"), "body", "period")
            assert "not begun" in body["detail"]
        # The current month, in progress, is fine.
        assert actual(client, admin, "output", f"{YEAR}-{today.month:02d}", "1").status_code == 201


def test_an_actual_post_replays_with_its_idempotency_key(client, admin, reference, audit_count):
    created(client, admin)
    before = audit_count()
    headers = {"Idempotency-Key": "actual-2026-03"}
    first = actual(client, admin, "output", "2026-03", "300", extra=headers)
    again = actual(client, admin, "output", "2026-03", "300", extra=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true" and again.json() == first.json()
    assert audit_count() == before + 1
    assert_problem(actual(client, admin, "output", "2026-03", "301", extra=headers), 422)


# ---------------------------------------------------------------- bad plans


def _dup_tasks() -> dict:
    return plan_body(tasks=[TASKS[0], TASKS[1], {**TASKS[2], "key": "t1"}])


def _dup_indicators() -> dict:
    return plan_body(indicators=[INDICATORS[0], {**INDICATORS[1], "key": "signed_n"}])


BAD_BODIES = [
    ("duplicate task keys", _dup_tasks, ("body", "tasks", 2, "key")),
    ("duplicate indicator keys", _dup_indicators, ("body", "indicators", 1, "key")),
    ("unknown source", lambda: plan_body(indicators=[{**INDICATORS[0], "source": "ledger.visited.count"}]),
     ("body", "indicators", 0, "source")),
    ("source typo", lambda: plan_body(indicators=[{**INDICATORS[0], "source": "Manual"}]),
     ("body", "indicators", 0, "source")),
    ("negative target", lambda: plan_body(indicators=[{**INDICATORS[0], "target": -1}]),
     ("body", "indicators", 0, "target")),
    ("negative benchmark", lambda: plan_body(indicators=[{**INDICATORS[0], "benchmark": {"value": "-5"}}]),
     ("body", "indicators", 0, "benchmark", "value")),
    ("task due in another year", lambda: plan_body(tasks=[{**TASKS[0], "due_on": "2027-01-15"}]),
     ("body", "tasks", 0, "due_on")),
    ("key not URL-safe", lambda: plan_body(tasks=[{**TASKS[0], "key": "a/b"}]), ("body", "tasks", 0, "key")),
    ("missing goals", lambda: {k: v for k, v in plan_body().items() if k != "goals"}, ("body", "goals")),
    ("unknown field", lambda: plan_body(owner="x"), ("body", "owner")),
    ("task status in a PUT", lambda: plan_body(tasks=[{**TASKS[0], "status": "done"}]), ("body", "tasks", 0, "status")),
]


@pytest.mark.parametrize(("case", "make", "loc"), BAD_BODIES, ids=[c[0] for c in BAD_BODIES])
def test_bad_plan_bodies_are_422_and_write_nothing(client, admin, reference, nothing_written, case, make, loc):
    with nothing_written():
        body = assert_validation(put(client, admin, make()), *loc)
    assert body["type"] == "/problems/validation-error"
    # And the same on an existing draft (with a valid If-Match).
    created(client, admin)
    with nothing_written():
        assert_validation(put(client, admin, make(), etag='"1"'), *loc)


@pytest.mark.parametrize("year", ["1989", "2101", "20x6"])
def test_a_year_out_of_range_is_422(client, admin, reference, nothing_written, year):
    with nothing_written():
        assert_validation(client.put(f"{API}/chains/OPTICS/plans/{year}", json=plan_body(), headers=admin),
                          "path", "year")
        assert_validation(client.get(f"{API}/chains/OPTICS/plans/{year}/progress", headers=admin), "path", "year")
        assert_validation(client.get(f"{API}/plans/{year}/progress", headers=admin), "path", "year")


def test_unknown_chain_or_plan_is_404(client, admin, reference, nothing_written):
    with nothing_written():
        assert_problem(put(client, admin, chain="NOPE"), 404, "/problems/not-found")
        assert_problem(approve(client, admin, chain="NOPE"), 404)
        assert_problem(client.get(plan_url("NOPE"), headers=admin), 404)
        assert_problem(client.get(plan_url(), headers=admin), 404)  # OPTICS has no 2026 plan yet
        assert_problem(client.get(plan_url(tail="/revisions"), headers=admin), 404)
        assert_problem(client.get(plan_url(tail="/progress"), headers=admin), 404)
        assert_problem(client.get(plan_url(tail="/indicators/output/actuals"), headers=admin), 404)
        assert_problem(client.post(plan_url("NOPE", tail="/indicators/x/actuals"),
                                   json={"period": "2026-01", "value": 1}, headers=admin), 404)


# ---------------------------------------------------------------- who may write


def test_departments_write_only_their_own_chains_plans(client, admin, dept, make_token, nothing_written):
    viewer, integration, auditor = make_token("viewer"), make_token("integration"), make_token("auditor")
    with nothing_written():
        assert_problem(put(client, dept["AUTO"]), 403, "/problems/forbidden")
        for token in (viewer, integration, auditor):
            assert_problem(put(client, token), 403)
        assert_problem(client.put(plan_url(), json=plan_body()), 401)
    _, etag = created(client, dept["OPTICS"])
    with nothing_written():
        assert_problem(put(client, dept["AUTO"], etag=etag), 403)
        assert_problem(actual(client, dept["AUTO"], "output", "2026-01", "1"), 403)
        assert_problem(actual(client, viewer, "output", "2026-01", "1"), 403)
        assert_problem(client.patch(plan_url(tail="/tasks/t1"), json={"status": "done", "done_on": "2026-03-01"},
                                    headers={**dept["AUTO"], "If-Match": etag}), 403)
    assert actual(client, dept["OPTICS"], "output", "2026-01", "1").status_code == 201
    r = client.patch(plan_url(tail="/tasks/t1"), json={"status": "done", "done_on": "2026-03-01"},
                     headers={**dept["OPTICS"], "If-Match": etag})
    assert r.status_code == 200, r.text
    # Everyone with a token reads.
    for token in (viewer, integration, auditor, dept["AUTO"]):
        assert client.get(plan_url(), headers=token).status_code == 200
        assert client.get(plan_url(tail="/progress"), headers=token).status_code == 200
    assert_problem(client.get(plan_url()), 401)


# ---------------------------------------------------------------- concurrency


def test_concurrent_writes_to_one_plan_are_serialised(client, admin, reference, events):
    """Four simultaneous creates: one 201, the others find the plan and need If-Match (428) — never a 500 or a
    second revision 1. Four task updates with the same ETag: one wins, the others are stale (412). Four
    simultaneous first values of a month: one 201, the rest replace it (200) — one row, a gapless audit chain."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=4) as pool:
        statuses = sorted(r.status_code for r in pool.map(lambda _: put(client, admin), range(4)))
    assert statuses == [201, 428, 428, 428]

    def done(n: int):  # noqa: ANN202
        return client.patch(plan_url(tail="/tasks/t1"), json={"status": "done", "done_on": f"2026-03-0{n + 1}"},
                            headers={**admin, "If-Match": '"1"'})

    with ThreadPoolExecutor(max_workers=4) as pool:
        statuses = sorted(r.status_code for r in pool.map(done, range(4)))
    assert statuses == [200, 412, 412, 412]

    with ThreadPoolExecutor(max_workers=4) as pool:
        statuses = sorted(r.status_code for r in pool.map(
            lambda n: actual(client, admin, "output", "2026-04", str(10 * (n + 1))), range(4)))
    assert statuses == [200, 200, 200, 201]
    r = client.get(plan_url(tail="/indicators/output/actuals"), headers=admin)
    assert len(r.json()["items"]) == 1
    assert [e["action"] for e in plan_events(events)] == ["plan.created", "plan.task_updated"]
    r = client.get(f"{API}/audit/verify", headers=admin)
    assert r.status_code == 200 and r.json()["ok"] is True
