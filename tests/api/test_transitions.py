"""Stage transitions, cancellation and revert (SPEC §3)."""

from __future__ import annotations

import pytest

from service.schemas.projects import ProjectRead
from tests.api.conftest import P, assert_problem, assert_validation, today_shanghai, tomorrow_shanghai

PATH = [("started", "2026-02-01"), ("in_production", "2026-03-01"), ("at_capacity", "2026-04-01")]
MILESTONE_OF = {"signed": "2026-01-10", "started": "2026-02-01", "in_production": "2026-03-01",
                "at_capacity": "2026-04-01"}


@pytest.fixture
def at_stage(new_project, move):
    """at_stage(stage) → a project moved there through the API (cancelled: straight from signed)."""

    def make(stage: str) -> dict:
        p = new_project()
        for to, on in PATH:
            if stage == "signed":
                break
            if stage == "cancelled":
                r = move(p["id"], "cancelled", "2026-02-15", reason="投资方撤资")
                assert r.status_code == 200, r.text
                return r.json()
            r = move(p["id"], to, on)
            assert r.status_code == 200, r.text
            p = r.json()
            if to == stage:
                break
        return p

    return make


def test_forward_one_step_at_a_time(client, admin, new_project, move, audit_count, events):
    p = new_project()
    version = 1
    for to, on in PATH:
        before = audit_count()
        r = move(p["id"], to, on, note="现场核实", headers={"X-Request-ID": f"move-{to}"})
        assert r.status_code == 200, r.text
        ProjectRead.model_validate(r.json())
        version += 1
        assert r.json()["stage"] == to and r.json()["milestones"][to] == on
        assert r.json()["version"] == version and r.headers["etag"] == f'"{version}"'
        assert audit_count() == before + 1
        e = events(action="project.transitioned")[-1]
        assert e["entity_id"] == p["id"] and e["data"]["client_request_id"] == f"move-{to}" and e["data"]["note"] == "现场核实"
        assert e["data"]["after"] == {"stage": to, f"{to}_on": on}
        assert e["data"]["before"]["stage"] == ("signed" if to == "started" else PATH[PATH.index((to, on)) - 1][0])
    got = client.get(f"{P}/{p['id']}", headers=admin).json()
    assert got["milestones"] == MILESTONE_OF and got["stage"] == "at_capacity"


@pytest.mark.parametrize(
    ("stage", "to", "allowed"),
    [
        ("signed", "in_production", ["cancelled", "started"]),
        ("signed", "at_capacity", ["cancelled", "started"]),
        ("signed", "signed", ["cancelled", "started"]),
        ("started", "signed", ["cancelled", "in_production"]),
        ("started", "at_capacity", ["cancelled", "in_production"]),
        ("in_production", "started", ["at_capacity", "cancelled"]),
        ("in_production", "signed", ["at_capacity", "cancelled"]),
        ("at_capacity", "in_production", []),
        ("at_capacity", "cancelled", []),
        ("at_capacity", "at_capacity", []),
        ("cancelled", "started", []),
        ("cancelled", "signed", []),
        ("cancelled", "cancelled", []),
    ],
)
def test_invalid_transitions_are_409_naming_allowed(client, admin, at_stage, move, unchanged, stage, to, allowed):
    p = at_stage(stage)
    with unchanged():
        body = assert_problem(move(p["id"], to, "2026-11-01", reason="理由"), 409, "/problems/invalid-transition")
    assert body["allowed"] == allowed
    assert client.get(f"{P}/{p['id']}", headers=admin).json() == p


@pytest.mark.parametrize(
    ("stage", "on", "why"),
    [
        ("signed", "FUTURE", "future"),
        ("signed", "2026-01-09", "before signed"),
        ("started", "2026-01-31", "before started"),
        ("in_production", "2026-02-15", "before in_production"),
        ("started", "2020-01-01", "long before"),
    ],
)
def test_transition_date_rules_are_422(client, admin, at_stage, move, unchanged, stage, on, why):
    p = at_stage(stage)
    nxt = {"signed": "started", "started": "in_production", "in_production": "at_capacity"}[stage]
    on = tomorrow_shanghai().isoformat() if on == "FUTURE" else on
    with unchanged():
        assert_validation(move(p["id"], nxt, on), "body", "on")
    assert client.get(f"{P}/{p['id']}", headers=admin).json() == p


@pytest.mark.parametrize("to", ["started", "cancelled"])
def test_transition_on_the_previous_milestone_or_today_is_fine(client, new_project, move, to):
    p = new_project()
    assert move(p["id"], to, "2026-01-10", reason="同日").status_code == 200
    q = new_project()
    assert move(q["id"], to, today_shanghai().isoformat(), reason="今日").status_code == 200


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"to": "foo", "on": "2026-02-01"}, ("body", "to")),
        ({"on": "2026-02-01"}, ("body", "to")),
        ({"to": "started"}, ("body", "on")),
        ({"to": "started", "on": "2026-02-30"}, ("body", "on")),
        ({"to": "started", "on": 20260201}, ("body", "on")),
        ({"to": "started", "on": "2026-02-01", "when": "now"}, ("body", "when")),
        ({"to": "started", "on": "2026-02-01", "note": "a\u0000b"}, ("body", "note")),
        ({"to": "started", "on": "2026-02-01", "milestones": {}}, ("body", "milestones")),
    ],
)
def test_malformed_transition_bodies_are_422(client, admin, new_project, unchanged, body, loc):
    p = new_project()
    with unchanged():
        assert_validation(client.post(f"{P}/{p['id']}/transitions", json=body, headers=admin), *loc)


# ---------------------------------------------------------------- cancel


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_cancel_requires_a_reason(client, admin, new_project, move, unchanged, reason):
    p = new_project()
    extra = {} if reason is None else {"reason": reason}
    with unchanged():
        assert_validation(move(p["id"], "cancelled", "2026-02-01", **extra), "body", "reason")
    assert client.get(f"{P}/{p['id']}", headers=admin).json()["stage"] == "signed"


@pytest.mark.parametrize("stage", ["signed", "started", "in_production"])
def test_cancel_from_any_stage_but_at_capacity(client, admin, at_stage, move, events, stage):
    p = at_stage(stage)
    r = move(p["id"], "cancelled", "2026-03-15", reason="投资方撤资")
    assert r.status_code == 200, r.text
    c = r.json()
    assert c["stage"] == "cancelled" and c["cancelled_on"] == "2026-03-15" and c["cancel_reason"] == "投资方撤资"
    # The lists it reached keep their milestones.
    assert c["milestones"] == p["milestones"]
    e = events(action="project.transitioned", entity_id=p["id"])[-1]
    assert e["data"]["after"]["stage"] == "cancelled" and e["data"]["reason"] == "投资方撤资"
    assert e["data"]["before"] == {"stage": stage, "cancelled_on": None, "cancel_reason": None}
    # Terminal.
    assert_problem(move(p["id"], "started", "2026-11-01"), 409, "/problems/invalid-transition")


def test_cancel_from_at_capacity_is_409(at_stage, move, unchanged):
    p = at_stage("at_capacity")
    with unchanged():
        body = assert_problem(move(p["id"], "cancelled", "2026-05-01", reason="x"), 409, "/problems/invalid-transition")
    assert body["allowed"] == []


# ---------------------------------------------------------------- revert


def test_revert_undoes_the_latest_transition(client, admin, new_project, move, audit_count, events):
    p = new_project()
    for to, on in PATH[:2]:
        assert move(p["id"], to, on).status_code == 200
    before = audit_count()
    r = client.post(f"{P}/{p['id']}/transitions/revert", json={"reason": "录入错误"},
                    headers={**admin, "X-Request-ID": "revert-1"})
    assert r.status_code == 200, r.text
    ProjectRead.model_validate(r.json())
    assert r.json()["stage"] == "started" and r.json()["milestones"]["in_production"] is None
    assert r.json()["milestones"]["started"] == "2026-02-01" and r.json()["version"] == 4
    assert r.headers["etag"] == '"4"'
    assert audit_count() == before + 1
    actions = [e["action"] for e in events(entity="project", entity_id=p["id"])]
    assert actions == ["project.created", "project.transitioned", "project.transitioned", "project.reverted"]
    rev = events(action="project.reverted")[-1]
    assert rev["data"]["client_request_id"] == "revert-1" and rev["data"]["reason"] == "录入错误"
    assert rev["data"]["before"] == {"stage": "in_production", "in_production_on": "2026-03-01"}
    assert rev["data"]["after"] == {"stage": "started", "in_production_on": None}

    # Again: the one before it; then nothing is left to revert.
    r = client.post(f"{P}/{p['id']}/transitions/revert", json={"reason": "再撤"}, headers=admin)
    assert r.json()["stage"] == "signed" and r.json()["milestones"]["started"] is None
    assert r.json()["milestones"]["signed"] == "2026-01-10"
    before = audit_count()
    body = assert_problem(client.post(f"{P}/{p['id']}/transitions/revert", json={"reason": "x"}, headers=admin), 409)
    assert "revert" in body["detail"]
    assert audit_count() == before

    # Moving on after a revert works, with a new date, and can be reverted in its turn.
    r = move(p["id"], "started", "2026-02-20")
    assert r.status_code == 200 and r.json()["milestones"]["started"] == "2026-02-20"
    r = client.post(f"{P}/{p['id']}/transitions/revert", json={"reason": "又错了"}, headers=admin)
    assert r.json()["stage"] == "signed" and r.json()["version"] == 7


def test_revert_of_a_cancellation_restores_the_stage(client, admin, at_stage, move):
    p = at_stage("started")
    assert move(p["id"], "cancelled", "2026-03-01", reason="撤资").status_code == 200
    r = client.post(f"{P}/{p['id']}/transitions/revert", json={"reason": "误操作"}, headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["stage"] == "started" and r.json()["cancelled_on"] is None and r.json()["cancel_reason"] is None
    assert move(p["id"], "in_production", "2026-03-02").status_code == 200


def test_revert_with_nothing_to_revert_is_409(client, admin, new_project, unchanged):
    p = new_project()
    with unchanged():
        assert_problem(client.post(f"{P}/{p['id']}/transitions/revert", json={"reason": "x"}, headers=admin), 409)


@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": 5}, {"reason": "x", "to": "signed"}])
def test_revert_needs_a_reason(client, admin, at_stage, unchanged, body):
    p = at_stage("started")
    with unchanged():
        assert_problem(client.post(f"{P}/{p['id']}/transitions/revert", json=body, headers=admin), 422)


def test_revert_unknown_project_is_404(client, admin, reference, unchanged):
    with unchanged():
        assert_problem(client.post(f"{P}/NOPE/transitions/revert", json={"reason": "x"}, headers=admin), 404)


# ---------------------------------------------------------------- If-Match on actions


def test_transitions_honour_if_match_when_sent(client, admin, new_project, move, unchanged):
    p = new_project()
    with unchanged():
        assert_problem(move(p["id"], "started", "2026-02-01", headers={"If-Match": '"3"'}), 412,
                       "/problems/stale-version")
    r = move(p["id"], "started", "2026-02-01", headers={"If-Match": '"1"'})
    assert r.status_code == 200 and r.headers["etag"] == '"2"'
    # Without If-Match it works too.
    assert move(p["id"], "in_production", "2026-03-01").status_code == 200
    with unchanged():
        assert_problem(client.post(f"{P}/{p['id']}/transitions/revert", json={"reason": "x"},
                                   headers={**admin, "If-Match": '"2"'}), 412)
    r = client.post(f"{P}/{p['id']}/transitions/revert", json={"reason": "x"}, headers={**admin, "If-Match": '"3"'})
    assert r.status_code == 200 and r.json()["version"] == 4


def test_transition_unknown_project_is_404(reference, move, unchanged):
    with unchanged():
        assert_problem(move("01J00000000000000000000000", "started", "2026-02-01"), 404)
