"""A project's history, and the version table agreeing with the hash-chained event log."""

import json

from sqlalchemy import select

from service.db.engine import transaction
from service.db.projects import STATE_COLUMNS
from service.db.tables import AuditEvent, ProjectVersion
from service.db.values import jsonable

P = "/api/v1/projects"


def _project(client, admin, **over):
    body = {"name": "光谷芯片厂", "chain": "OPTICS", "district": "JA", "investor": "某公司",
            "planned_investment": "800", "milestones": {"signed": "2026-01-10"}, **over}
    r = client.post(P, json=body, headers=admin)
    assert r.status_code == 201, r.text
    return r.json()


def test_history_lists_changes_oldest_first(client, admin, reference):
    p = _project(client, admin)
    client.post(f"{P}/{p['id']}/transitions", json={"to": "started", "on": "2026-02-01", "note": "开工仪式"},
                headers=admin)
    client.post(f"{P}/{p['id']}/transitions/revert", json={"reason": "录入错误"}, headers=admin)
    client.post(f"{P}/{p['id']}/void", json={"reason": "重复录入"}, headers=admin)
    r = client.get(f"{P}/{p['id']}/history", headers=admin)
    assert r.status_code == 200
    items = r.json()["items"]
    assert [i["action"] for i in items] == [
        "project.created", "project.transitioned", "project.reverted", "project.voided"]
    created = {c["field"]: c for c in items[0]["changes"]}
    assert created["name"] == {"field": "name", "before": None, "after": "光谷芯片厂"}
    moved = {c["field"]: (c["before"], c["after"]) for c in items[1]["changes"]}
    assert moved == {"stage": ("signed", "started"), "started_on": (None, "2026-02-01")}
    assert items[1]["note"] == "开工仪式" and items[2]["reason"] == "录入错误"
    assert {c["field"]: c["after"] for c in items[2]["changes"]} == {"stage": "signed", "started_on": None}
    seqs = [i["seq"] for i in items]
    assert seqs == sorted(seqs)


def test_history_pages_and_404(client, admin, reference, make_token):
    p = _project(client, admin)
    for stage, on in [("started", "2026-02-01"), ("in_production", "2026-03-01"), ("at_capacity", "2026-04-01")]:
        assert client.post(f"{P}/{p['id']}/transitions", json={"to": stage, "on": on}, headers=admin).status_code == 200
    viewer = make_token("viewer")
    first = client.get(f"{P}/{p['id']}/history?limit=3", headers=viewer).json()
    second = client.get(f"{P}/{p['id']}/history?limit=3&cursor={first['next_cursor']}", headers=viewer).json()
    assert len(first["items"]) == 3 and len(second["items"]) == 1 and second["next_cursor"] is None
    assert client.get(f"{P}/NOPE/history", headers=viewer).status_code == 404


def _replay_project_states(events):
    """Fold each project's audit events (before/after diffs) into its successive full states."""
    states, current = {}, {}
    for e in events:
        data = json.loads(e.data)
        state = dict(current.get(e.entity_id, {}))
        state.update(data["after"])
        current[e.entity_id] = state
        states.setdefault(e.entity_id, []).append((e.at, state))
    return states


def test_version_table_agrees_with_the_event_log(client, admin, reference, sessions):
    a = _project(client, admin, external_ref="ZSB-1")
    b = _project(client, admin, name="武汉新能源车", chain="AUTO", planned_investment="20000")
    client.post(f"{P}/{a['id']}/transitions", json={"to": "started", "on": "2026-02-01"}, headers=admin)
    client.patch(f"{P}/{a['id']}", json={"is_key": True}, headers={**admin, "If-Match": '"2"'})
    client.post(f"{P}/{b['id']}/transitions", json={"to": "cancelled", "on": "2026-03-01", "reason": "外迁"},
                headers=admin)
    client.post(f"{P}/{b['id']}/transitions/revert", json={"reason": "误操作"}, headers=admin)
    with transaction(sessions, write=False) as s:
        events = list(s.scalars(select(AuditEvent).where(AuditEvent.entity == "project").order_by(AuditEvent.seq)))
        versions = list(s.scalars(select(ProjectVersion).order_by(ProjectVersion.row_id)))
    replayed = _replay_project_states(events)
    for project_id, states in replayed.items():
        rows = [v for v in versions if v.project_id == project_id]
        assert len(rows) == len(states)
        for (at, state), row in zip(states, rows, strict=True):
            assert row.recorded_from == at
            assert {c: jsonable(getattr(row, c)) for c in STATE_COLUMNS if c in state} == state
        assert [r.recorded_to for r in rows[:-1]] == [r.recorded_from for r in rows[1:]]
        assert rows[-1].recorded_to is None
