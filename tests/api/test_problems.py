"""Prominent problems (突出问题): raise, move along the lifecycle, list with filters and cursors."""

from __future__ import annotations

import pytest

from tests.api.rhythm_support import (  # noqa: F401
    API,
    assert_invalid,
    assert_problem,
    frozen_clock,
    make_project,
    nothing_written,
    rhythm_state,
)

P = f"{API}/problems"


def body(**overrides):
    b = {"chain": "OPTICS", "title": "用地指标不足", "detail": "二期用地指标尚未落实", "owner_unit": "市自然资源局",
         "due_on": "2026-09-30"}
    b.update(overrides)
    return b


def create(client, headers, **overrides):
    r = client.post(P, json=body(**overrides), headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


def move(client, headers, problem_id, to, note="跟进", **extra_headers):
    return client.post(f"{P}/{problem_id}/transitions", json={"to": to, "note": note},
                       headers={**headers, **extra_headers})


def test_create_and_read(client, admin, make_project, audit_count, events, monkeypatch):
    frozen_clock(monkeypatch, "2026-10-08T10:00:00+08:00")
    project = make_project("OPTICS")
    n = audit_count()
    p = create(client, admin, project_id=project["id"])
    assert audit_count() == n + 1
    assert p["status"] == "open" and p["resolved_on"] is None and p["overdue"] is True  # due 2026-09-30
    assert p["allowed_transitions"] == ["in_progress", "resolved"] and p["version"] == 1
    assert p["project_id"] == project["id"] and p["owner_unit"] == "市自然资源局"
    (ev,) = events(action="problem.created")
    assert ev["entity"] == "problem" and ev["entity_id"] == p["id"] and ev["data"]["after"]["status"] == "open"
    r = client.get(f"{P}/{p['id']}", headers=admin)
    assert r.status_code == 200 and r.headers["etag"] == '"1"' and r.json() == p
    assert create(client, admin, due_on="2026-10-08")["overdue"] is False  # due today: not overdue yet
    assert create(client, admin)["project_id"] is None


def test_the_lifecycle(client, admin, reference, audit_count, events, monkeypatch, nothing_written):
    frozen_clock(monkeypatch, "2026-09-01T10:00:00+08:00")
    p = create(client, admin)
    n = audit_count()
    r = move(client, admin, p["id"], "in_progress", "已协调")
    assert r.status_code == 200 and r.json()["status"] == "in_progress" and r.headers["etag"] == '"2"'
    frozen_clock(monkeypatch, "2026-09-20T10:00:00+08:00")
    r = move(client, admin, p["id"], "resolved", "已落实")
    assert r.json()["status"] == "resolved" and r.json()["resolved_on"] == "2026-09-20"
    assert r.json()["allowed_transitions"] == ["closed", "reopened"]
    frozen_clock(monkeypatch, "2026-10-10T10:00:00+08:00")
    r = move(client, admin, p["id"], "reopened", "问题反复")
    assert r.json()["resolved_on"] is None and r.json()["overdue"] is True
    r = move(client, admin, p["id"], "resolved", "再次解决")
    assert r.json()["resolved_on"] == "2026-10-10" and r.json()["overdue"] is False
    r = move(client, admin, p["id"], "closed", "销号")
    assert r.json()["status"] == "closed" and r.json()["resolved_on"] == "2026-10-10"
    assert r.json()["allowed_transitions"] == [] and r.json()["version"] == 6
    assert audit_count() == n + 5
    moves = events(action="problem.transitioned")
    assert [(e["data"]["before"]["status"], e["data"]["after"]["status"]) for e in moves] == [
        ("open", "in_progress"), ("in_progress", "resolved"), ("resolved", "reopened"), ("reopened", "resolved"),
        ("resolved", "closed")]
    assert moves[0]["data"]["note"] == "已协调"
    with nothing_written():
        body = assert_problem(move(client, admin, p["id"], "reopened"), 409, "/problems/invalid-transition")
        assert body["allowed"] == []


@pytest.mark.parametrize(
    ("path", "to", "allowed"),
    [([], "closed", ["in_progress", "resolved"]), ([], "reopened", ["in_progress", "resolved"]),
     ([], "open", ["in_progress", "resolved"]), (["in_progress"], "in_progress", ["resolved"]),
     (["in_progress"], "closed", ["resolved"]), (["resolved"], "in_progress", ["closed", "reopened"])],
)
def test_invalid_transitions_name_the_allowed_ones(client, admin, reference, path, to, allowed, nothing_written):
    p = create(client, admin)
    for step in path:
        assert move(client, admin, p["id"], step).status_code == 200
    with nothing_written():
        body = assert_problem(move(client, admin, p["id"], to), 409, "/problems/invalid-transition")
        assert body["allowed"] == allowed


def test_bad_input_writes_nothing(client, admin, make_project, make_token, nothing_written):
    other = make_project("AUTO")
    voided = make_project("OPTICS")
    assert client.post(f"{API}/projects/{voided['id']}/void", json={"reason": "录入错误"},
                       headers=admin).status_code == 200
    p = create(client, admin)
    with nothing_written():
        assert_invalid(client.post(P, json=body(chain="NOPE"), headers=admin), "body", "chain")
        r = assert_invalid(client.post(P, json=body(project_id=other["id"]), headers=admin), "body", "project_id")
        assert "AUTO" in r["detail"]
        assert_invalid(client.post(P, json=body(project_id=voided["id"]), headers=admin), "body", "project_id")
        assert_invalid(client.post(P, json=body(project_id="01NOPE"), headers=admin), "body", "project_id")
        assert_invalid(client.post(P, json=body(title=""), headers=admin), "body", "title")
        assert_invalid(client.post(P, json=body(due_on="2026-02-30"), headers=admin), "body", "due_on")
        assert_invalid(client.post(P, json=body(status="closed"), headers=admin), "body", "status")
        b = body()
        del b["owner_unit"]
        assert_invalid(client.post(P, json=b, headers=admin), "body", "owner_unit")
        assert_invalid(move(client, admin, p["id"], "done"), "body", "to")
        assert_invalid(client.post(f"{P}/{p['id']}/transitions", json={"to": "resolved"}, headers=admin),
                       "body", "note")
        assert_problem(move(client, admin, "01NOPE", "resolved"), 404)
        assert_problem(move(client, admin, p["id"], "resolved", **{"If-Match": '"5"'}), 412)
    assert move(client, admin, p["id"], "resolved", **{"If-Match": '"1"'}).status_code == 200
    assert_problem(client.get(f"{P}/01NOPE", headers=admin), 404)


def test_department_tokens_act_only_for_their_chains(client, admin, reference, make_token, nothing_written):
    own = make_token("department", chains=["OPTICS"])
    foreign = make_token("department", chains=["AUTO"])
    p = create(client, own)
    with nothing_written():
        assert_problem(client.post(P, json=body(), headers=foreign), 403)
        assert_problem(move(client, foreign, p["id"], "resolved"), 403)
        for role in ("viewer", "auditor", "integration"):
            assert_problem(client.post(P, json=body(), headers=make_token(role)), 403)
            assert_problem(move(client, make_token(role), p["id"], "resolved"), 403)
    assert move(client, own, p["id"], "resolved").status_code == 200
    assert client.get(f"{P}/{p['id']}", headers=foreign).status_code == 200


def test_list_filters_and_pages(client, admin, reference, monkeypatch):
    made = {}
    for second, (name, extra) in enumerate([
        ("late_open", {"due_on": "2026-09-01"}), ("future_open", {"due_on": "2026-12-01"}),
        ("late_resolved", {"due_on": "2026-09-01"}), ("auto_late", {"chain": "AUTO", "due_on": "2026-08-01"}),
        ("late_in_progress", {"due_on": "2026-09-15"}),
    ]):
        frozen_clock(monkeypatch, f"2026-10-01T10:00:0{second}+08:00")  # ids (ULIDs) sort by creation time
        made[name] = create(client, admin, **extra)
    assert move(client, admin, made["late_resolved"]["id"], "resolved").status_code == 200
    assert move(client, admin, made["late_in_progress"]["id"], "in_progress").status_code == 200
    names = {p["id"]: name for name, p in made.items()}

    def listed(**params):
        out, cursor = [], None
        while True:
            r = client.get(P, params={**params, **({"cursor": cursor} if cursor else {})}, headers=admin)
            assert r.status_code == 200, r.text
            out += [names[i["id"]] for i in r.json()["items"]]
            cursor = r.json()["next_cursor"]
            if not cursor:
                return out

    everything = ["late_open", "future_open", "late_resolved", "auto_late", "late_in_progress"]
    assert listed() == everything
    assert listed(limit=2) == everything  # pages neither skip nor repeat
    assert listed(chain="AUTO") == ["auto_late"]
    assert listed(overdue="true") == ["late_open", "auto_late", "late_in_progress"]
    assert listed(overdue="true", chain="OPTICS", limit=1) == ["late_open", "late_in_progress"]
    assert listed(overdue="false") == ["future_open", "late_resolved"]
    assert listed(status="resolved") == ["late_resolved"]
    assert listed(status="open", overdue="true") == ["late_open", "auto_late"]
    r = client.get(P, params={"overdue": "true"}, headers=admin)
    assert all(i["overdue"] for i in r.json()["items"])
    assert_invalid(client.get(P, params={"status": "done"}, headers=admin), "query", "status")
    assert_invalid(client.get(P, params={"overdue": "maybe"}, headers=admin), "query", "overdue")
    assert_invalid(client.get(P, params={"cursor": "garbage"}, headers=admin), "query", "cursor")
    assert_invalid(client.get(P, params={"limit": 0}, headers=admin), "query", "limit")


def test_idempotent_create(client, admin, reference, audit_count):
    key = {"Idempotency-Key": "raise-1"}
    first = client.post(P, json=body(), headers={**admin, **key})
    n = audit_count()
    again = client.post(P, json=body(), headers={**admin, **key})
    assert again.status_code == 201 and again.json() == first.json() and audit_count() == n
    assert_problem(client.post(P, json=body(title="另一个"), headers={**admin, **key}), 422)
