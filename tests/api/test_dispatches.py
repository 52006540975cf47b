"""Monthly dispatch (月调度): PUT/GET /chains/{code}/dispatches/{YYYY-MM} and POST …/submit — drafts, one submit,
amendments with a reason, figures fed into each project's cumulative_investment, every rejection writing nothing."""

from __future__ import annotations

import pytest

from tests.api.conftest import assert_report_head
from tests.api.rhythm_support import (  # noqa: F401
    API,
    assert_invalid,
    assert_problem,
    frozen_clock,
    get_project,
    make_project,
    month_after,
    nothing_written,
    rhythm_state,
    today_shanghai,
)

D = f"{API}/chains/OPTICS/dispatches"


def entry(project, invested="100.00", **extra):
    return {"project_id": project["id"], "invested": invested, "progress": "主体施工", **extra}


def put(client, headers, period, body, *, chain="OPTICS", if_match=None):
    h = {**headers, **({"If-Match": if_match} if if_match else {})}
    return client.put(f"{API}/chains/{chain}/dispatches/{period}", json=body, headers=h)


def submit(client, headers, period, *, chain="OPTICS", **extra_headers):
    return client.post(f"{API}/chains/{chain}/dispatches/{period}/submit", headers={**headers, **extra_headers})


@pytest.fixture
def two(make_project):
    return make_project("OPTICS", planned="20000"), make_project("OPTICS", planned="5000")


def test_draft_submit_amend_feed_cumulative_investment(client, admin, two, audit_count, events, monkeypatch):
    a, b = two
    frozen_clock(monkeypatch, "2026-04-03T09:00:00+08:00")
    n = audit_count()
    body = {"summary": "3月调度", "entries": [entry(a, "1200.50", problems=["用地指标"]), entry(b, "300")]}
    r = put(client, admin, "2026-03", body)
    assert r.status_code == 201, r.text
    assert r.headers["etag"] == '"1"'
    got = r.json()
    assert got["status"] == "draft" and got["submitted_at"] is None and got["late"] is None
    assert got["due_on"] == "2026-04-07" and got["amendments"] == 0 and got["version"] == 1
    assert got["entries"] == [
        {"project_id": a["id"], "invested": "1200.50", "progress": "主体施工", "problems": ["用地指标"]},
        {"project_id": b["id"], "invested": "300.00", "progress": "主体施工", "problems": []},
    ]
    assert audit_count() == n + 1
    assert events(action="dispatch.created")[0]["entity_id"] == "OPTICS/2026-03"
    # A draft does not count yet.
    assert get_project(client, admin, a["id"])["cumulative_investment"] == "0.00"

    # Editing the draft: If-Match required; no amend_reason.
    body["entries"][1]["invested"] = "350"
    assert_problem(put(client, admin, "2026-03", body), 428)
    r = put(client, admin, "2026-03", body, if_match='"1"')
    assert r.status_code == 200 and r.headers["etag"] == '"2"'
    assert audit_count() == n + 2
    (updated,) = events(action="dispatch.updated")
    assert updated["data"]["before"]["entries"][1]["invested"] == "300.00"
    assert updated["data"]["after"]["entries"][1]["invested"] == "350.00"

    # Submit on 7 April (the due date, after the 清明 move): on time; the figures feed the projects.
    frozen_clock(monkeypatch, "2026-04-07T20:00:00+08:00")
    r = submit(client, admin, "2026-03")
    assert r.status_code == 200, r.text
    assert_report_head(client, admin, r.json(), events())  # after the submission and its investment events
    got = r.json()
    assert got["status"] == "submitted" and got["late"] is False and got["submitted_at"] == "2026-04-07T12:00:00Z"
    assert r.headers["etag"] == '"3"'
    assert audit_count() == n + 5  # dispatch.submitted + one event per project
    pa, pb = get_project(client, admin, a["id"]), get_project(client, admin, b["id"])
    assert (pa["cumulative_investment"], pb["cumulative_investment"]) == ("1200.50", "350.00")
    assert pa["version"] == a["version"] + 1
    recorded = events(action="project.investment_recorded")
    assert {e["entity_id"] for e in recorded} == {a["id"], b["id"]}
    first = next(e for e in recorded if e["entity_id"] == a["id"])
    assert first["data"]["before"] == {"cumulative_investment": "0.00"}
    assert first["data"]["after"] == {"cumulative_investment": "1200.50"}
    assert first["data"]["cause"] == {"dispatch": "OPTICS/2026-03"} and first["data"]["delta"] == "1200.50"
    history = client.get(f"{API}/projects/{a['id']}/history", headers=admin)
    assert history.status_code == 200, history.text  # the project's history lists the change too
    assert "project.investment_recorded" in [e["action"] for e in history.json()["items"]]

    # A second submit → 409; nothing written.
    with_state = audit_count()
    assert_problem(submit(client, admin, "2026-03"), 409)
    assert audit_count() == with_state

    # After submission a PUT is an amendment: amend_reason required.
    amended = {"summary": "3月调度（更正）", "entries": [entry(a, "1000"), entry(two[1], "350")]}
    assert_invalid(put(client, admin, "2026-03", amended, if_match='"3"'), "body", "amend_reason")
    assert audit_count() == with_state
    # Drop b, lower a: the difference is applied to each project.
    amended = {"summary": "3月调度（更正）", "entries": [entry(a, "1000")], "amend_reason": "统计口径更正"}
    r = put(client, admin, "2026-03", amended, if_match='"3"')
    assert r.status_code == 200, r.text
    assert r.json()["amendments"] == 1 and r.json()["status"] == "submitted" and r.json()["late"] is False
    assert r.json()["submitted_at"] == "2026-04-07T12:00:00Z"  # the first submission counts
    assert audit_count() == with_state + 3  # dispatch.amended + a + b
    (ev,) = events(action="dispatch.amended")
    assert ev["data"]["reason"] == "统计口径更正" and ev["data"]["after"]["amendments"] == 1
    pa, pb = get_project(client, admin, a["id"]), get_project(client, admin, b["id"])
    assert (pa["cumulative_investment"], pb["cumulative_investment"]) == ("1000.00", "0.00")
    deltas = sorted(e["data"]["delta"] for e in events(action="project.investment_recorded")[2:])
    assert deltas == ["-200.50", "-350.00"]

    # GET shows it all, with its ETag.
    r = client.get(f"{D}/2026-03", headers=admin)
    assert r.status_code == 200 and r.headers["etag"] == '"4"'
    assert r.json()["entries"] == [{"project_id": a["id"], "invested": "1000.00", "progress": "主体施工",
                                    "problems": []}]
    # An amendment that changes nothing writes nothing.
    before = audit_count()
    r = put(client, admin, "2026-03", amended, if_match='"4"')
    assert r.status_code == 200 and r.headers["etag"] == '"4"' and audit_count() == before
    # The audit chain still verifies.
    assert client.get(f"{API}/audit/verify", headers=admin).json()["ok"] is True


def test_late_is_judged_in_the_service_time_zone(client, admin, two, monkeypatch):
    a, _ = two
    frozen_clock(monkeypatch, "2026-05-02T09:00:00+08:00")
    assert put(client, admin, "2026-04", {"summary": "4月", "entries": [entry(a)]}).status_code == 201
    # 2026-05-06 16:30 UTC is already 7 May in Shanghai: one day after the due date (6 May, after 劳动节).
    frozen_clock(monkeypatch, "2026-05-06T16:30:00+00:00")
    r = submit(client, admin, "2026-04")
    assert r.status_code == 200 and r.json()["late"] is True and r.json()["due_on"] == "2026-05-06"
    assert client.get(f"{D}/2026-04", headers=admin).json()["late"] is True


def test_submit_only_from_the_months_first_day(client, admin, two, monkeypatch, nothing_written):
    a, _ = two
    frozen_clock(monkeypatch, "2026-06-15T09:00:00+08:00")
    assert put(client, admin, "2026-06", {"summary": "6月", "entries": [entry(a)]}).status_code == 201
    frozen_clock(monkeypatch, "2026-05-31T23:00:00+08:00")
    with nothing_written():
        assert_invalid(submit(client, admin, "2026-06"), "path", "period")
    frozen_clock(monkeypatch, "2026-06-01T00:05:00+08:00")
    r = submit(client, admin, "2026-06")
    assert r.status_code == 200 and r.json()["late"] is False


def test_the_current_month_may_be_reported_a_later_one_may_not(client, admin, two, nothing_written):
    a, _ = two
    this_month = month_after(today_shanghai(), 0)
    with nothing_written():
        assert_invalid(put(client, admin, month_after(today_shanghai(), 1), {"summary": "x", "entries": []}),
                       "path", "period")
    r = put(client, admin, this_month, {"summary": "本月", "entries": [entry(a)]})
    assert r.status_code == 201, r.text
    r = submit(client, admin, this_month)
    assert r.status_code == 200 and r.json()["late"] is False


@pytest.mark.parametrize("period", ["2026-13", "2026-00", "2026-Q1", "2026", "26-03", "2026-3", "abc", "1899-01"])
def test_periods_that_are_not_months(client, admin, two, period, nothing_written):
    with nothing_written():
        assert_invalid(put(client, admin, period, {"summary": "x", "entries": []}), "path", "period")
        assert_invalid(client.get(f"{D}/{period}", headers=admin), "path", "period")
        assert_invalid(submit(client, admin, period), "path", "period")


def test_entries_only_for_the_chains_own_live_projects(client, admin, two, make_project, nothing_written):
    a, b = two
    other = make_project("AUTO")
    voided = make_project("OPTICS")
    r = client.post(f"{API}/projects/{voided['id']}/void", json={"reason": "录入错误"}, headers=admin)
    assert r.status_code == 200, r.text
    with nothing_written():
        body = assert_invalid(put(client, admin, "2026-03", {"summary": "x", "entries": [entry(a), entry(other)]}),
                              "body", "entries", 1, "project_id")
        assert "entries[1]" in body["detail"] and "AUTO" in body["detail"]
        body = assert_invalid(put(client, admin, "2026-03", {"summary": "x", "entries": [entry(voided)]}),
                              "body", "entries", 0, "project_id")
        assert "voided" in body["detail"]
        body = assert_invalid(put(client, admin, "2026-03", {"summary": "x", "entries": [
            entry(a), entry(b), {"project_id": "01NOPE", "invested": 1, "progress": "x"}]}),
            "body", "entries", 2, "project_id")
        assert "entries[2]" in body["detail"]
        body = assert_invalid(put(client, admin, "2026-03", {"summary": "x", "entries": [entry(a), entry(b),
                                                                                          entry(a, "5")]}),
                              "body", "entries", 2, "project_id")
        assert "entries[0]" in body["detail"]  # names the first occurrence
        assert_invalid(put(client, admin, "2026-03", {"summary": "x", "entries": [entry(a, "-1")]}),
                       "body", "entries", 0, "invested")
        assert_invalid(put(client, admin, "2026-03", {"summary": "x", "entries": [entry(a, "1.234")]}),
                       "body", "entries", 0, "invested")
        assert_invalid(put(client, admin, "2026-03", {"summary": "x", "entries": [entry(a, "1e3")]}),
                       "body", "entries", 0, "invested")
        assert_invalid(put(client, admin, "2026-03", {"summary": "x", "entries": [{"project_id": a["id"],
                                                                                    "invested": 1}]}),
                       "body", "entries", 0, "progress")
        assert_invalid(put(client, admin, "2026-03", {"summary": "", "entries": []}), "body", "summary")
        assert_invalid(put(client, admin, "2026-03", {"summary": "x", "entries": [], "extra": 1}), "body", "extra")
        assert_invalid(put(client, admin, "2026-03", {"summary": "x", "entries": [], "amend_reason": "新建"}),
                       "body", "amend_reason")
        assert_problem(client.put(f"{D}/2026-03", content=b"{not json", headers={**admin,
                                                                                "Content-Type": "application/json"}),
                       400)


def test_if_match_rules(client, admin, two, nothing_written):
    a, _ = two
    with nothing_written():
        assert_problem(put(client, admin, "2026-03", {"summary": "x", "entries": []}, if_match='"1"'), 412)
    assert put(client, admin, "2026-03", {"summary": "x", "entries": [entry(a)]}).status_code == 201
    with nothing_written():
        assert_problem(put(client, admin, "2026-03", {"summary": "y", "entries": []}), 428)
        assert_problem(put(client, admin, "2026-03", {"summary": "y", "entries": []}, if_match='"2"'), 412)
        assert_problem(put(client, admin, "2026-03", {"summary": "y", "entries": []}, if_match='"garbage"'), 412)
        assert_problem(put(client, admin, "2026-03", {"summary": "y", "entries": []}, if_match="garbage"), 422)
        assert_problem(submit(client, admin, "2026-03", **{"If-Match": '"9"'}), 412)
    assert submit(client, admin, "2026-03", **{"If-Match": '"1"'}).status_code == 200


def test_who_may_write(client, admin, two, make_token, nothing_written):
    a, _ = two
    own = make_token("department", "光电处", chains=["OPTICS"])
    foreign = make_token("department", "汽车处", chains=["AUTO"])
    body = {"summary": "x", "entries": [entry(a)]}
    with nothing_written():
        assert_problem(put(client, foreign, "2026-03", body), 403)
        for role in ("viewer", "auditor", "integration"):
            assert_problem(put(client, make_token(role), "2026-03", body), 403)
        assert_problem(client.put(f"{D}/2026-03", json=body), 401)
        assert_problem(put(client, admin, "2026-03", body, chain="NOPE"), 404)
    r = put(client, own, "2026-03", body)
    assert r.status_code == 201, r.text
    with nothing_written():
        assert_problem(submit(client, foreign, "2026-03"), 403)
        assert_problem(submit(client, make_token("viewer"), "2026-03"), 403)
    assert submit(client, own, "2026-03").status_code == 200
    # Everyone with a token reads.
    assert client.get(f"{D}/2026-03", headers=make_token("viewer")).status_code == 200
    assert client.get(f"{D}/2026-03", headers=foreign).status_code == 200


def test_unknown_dispatches(client, admin, two, nothing_written):
    assert_problem(client.get(f"{D}/2026-02", headers=admin), 404)
    assert_problem(client.get(f"{API}/chains/NOPE/dispatches/2026-02", headers=admin), 404)
    with nothing_written():
        assert_problem(submit(client, admin, "2026-02"), 404)


def test_submit_is_idempotent_with_a_key(client, admin, two, audit_count):
    a, _ = two
    assert put(client, admin, "2026-03", {"summary": "x", "entries": [entry(a, "500")]}).status_code == 201
    key = {"Idempotency-Key": "submit-2026-03"}
    first = submit(client, admin, "2026-03", **key)
    assert first.status_code == 200
    n = audit_count()
    again = submit(client, admin, "2026-03", **key)
    assert again.status_code == 200 and again.headers.get("idempotent-replayed") == "true"
    assert again.json() == first.json()
    assert audit_count() == n
    assert get_project(client, admin, a["id"])["cumulative_investment"] == "500.00"


def test_a_project_voided_after_submission_keeps_its_figures(client, admin, two, audit_count):
    a, b = two
    body = {"summary": "x", "entries": [entry(a, "100"), entry(b, "200")]}
    assert put(client, admin, "2026-03", body).status_code == 201
    assert submit(client, admin, "2026-03").status_code == 200
    assert client.post(f"{API}/projects/{b['id']}/void", json={"reason": "录入错误"}, headers=admin).status_code == 200
    n = audit_count()
    r = put(client, admin, "2026-03", {"summary": "x", "entries": [entry(a, "150")], "amend_reason": "剔除作废项目"},
            if_match='"2"')
    assert r.status_code == 200, r.text
    assert audit_count() == n + 2  # the dispatch and project a; the voided project is left alone
    assert get_project(client, admin, a["id"])["cumulative_investment"] == "150.00"
    assert get_project(client, admin, b["id"])["cumulative_investment"] == "200.00"


def test_concurrent_submits_count_the_figures_once(client, admin, two, audit_count):
    from concurrent.futures import ThreadPoolExecutor

    a, _ = two
    assert put(client, admin, "2026-03", {"summary": "x", "entries": [entry(a, "700")]}).status_code == 201
    n = audit_count()
    with ThreadPoolExecutor(max_workers=4) as pool:
        statuses = sorted(r.status_code for r in pool.map(lambda _: submit(client, admin, "2026-03"), range(4)))
    assert statuses == [200, 409, 409, 409]
    assert audit_count() == n + 2
    assert get_project(client, admin, a["id"])["cumulative_investment"] == "700.00"
