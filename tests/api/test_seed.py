"""The demo seed (``chain-ledger seed --demo``): what it loads, that it is audited, and that it runs twice safely."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import func, select

from service.config import get_settings
from service.db.engine import transaction
from service.db.tables import Chain, Department, District, Project, ProjectTransition
from service.seed import seed_demo

STAGES = ("signed", "started", "in_production", "at_capacity")


def _today() -> date:
    return datetime.now(get_settings().tz).date()


def _all(client, path: str, headers: dict[str, str]) -> list[dict]:
    items: list[dict] = []
    cursor = None
    while True:
        params = {"limit": 500, **({"cursor": cursor} if cursor else {})}
        r = client.get(path, params=params, headers=headers)
        assert r.status_code == 200, r.text
        body = r.json()
        items += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return items


def _written(sessions) -> int:
    """Rows the seed creates through audited use cases: reference rows, projects, transitions."""
    with transaction(sessions, write=False) as session:
        return sum(
            session.scalar(select(func.count()).select_from(model)) or 0
            for model in (Department, District, Chain, Project, ProjectTransition)
        )


def _check_dates(projects: list[dict], today: date) -> None:
    for p in projects:
        dates = [p["milestones"][s] for s in STAGES]
        reached = [date.fromisoformat(d) for d in dates if d is not None]
        # milestones are filled from the first list on, without holes, in non-decreasing order, never after today
        assert all(d is not None for d in dates[: len(reached)]), p
        assert reached == sorted(reached), p
        assert all(d <= today for d in reached), p
        if p["stage"] == "cancelled":
            assert p["cancel_reason"]
            assert reached[-1] <= date.fromisoformat(p["cancelled_on"]) <= today, p
        else:
            assert p["stage"] == STAGES[len(reached) - 1], p


def test_demo_contents(client, admin, db_url, sessions):
    summary = seed_demo(db_url)
    assert summary.startswith("demo: ") and "\n" not in summary

    departments = {d["code"]: d for d in _all(client, "/api/v1/departments", admin)}
    assert {"FGW", "JXJ", "KJJ", "SWJ", "ZSB", "CJJ", "JRJ"} <= departments.keys()
    assert departments["FGW"]["name"] == "市发改委"
    districts = _all(client, "/api/v1/districts", admin)
    kinds = {d["kind"] for d in districts}
    assert kinds == {"district", "development_zone"}
    assert {"JIANGAN", "HONGSHAN", "DHGX", "WHJK"} <= {d["code"] for d in districts}

    chains = _all(client, "/api/v1/chains", admin)
    assert len(chains) >= 5
    for c in chains:
        assert c["leader"] and c["benchmark_city"] and c["lead_department"] in departments

    projects = _all(client, "/api/v1/projects", admin)
    assert len(projects) >= 35
    stages = {p["stage"] for p in projects}
    assert set(STAGES) <= stages and "cancelled" in stages
    years = {p["milestones"]["signed"][:4] for p in projects}
    assert {"2025", "2026"} <= years
    assert all(p["external_ref"] and p["external_ref"].startswith("ZSB-") for p in projects)
    assert len({p["external_ref"] for p in projects}) == len(projects)
    assert {p["chain"] for p in projects} == {c["code"] for c in chains}
    key = sum(p["is_key"] for p in projects)
    assert len(projects) // 5 <= key <= len(projects) // 2
    assert sum(p["major"] for p in projects) >= 5
    assert any(not p["major"] for p in projects)
    amounts = [float(p["planned_investment"]) for p in projects]
    assert min(amounts) < 10000 and max(amounts) <= 300000
    _check_dates(projects, _today())

    # every row went through an audited use case, as the system actor, outside any request
    r = client.get("/api/v1/audit/verify", headers=admin)
    assert r.status_code == 200 and r.json()["ok"] is True, r.text
    assert r.json()["events"] == _written(sessions)
    events = _all(client, "/api/v1/audit/events", admin)
    assert len(events) == r.json()["events"]
    assert {(e["actor"]["name"], e["actor"]["role"], e["request_id"]) for e in events} == {("system", "admin", None)}
    actions = {e["action"] for e in events}
    assert actions == {"department.created", "district.created", "chain.created", "project.created",
                       "project.transitioned"}
    # the history is real: every project was created at `signed` and moved on by transitions
    created = [e for e in events if e["action"] == "project.created"]
    assert {e["data"]["after"]["stage"] for e in created} == {"signed"}


def test_project_history_walks_the_stages(client, admin, db_url):
    seed_demo(db_url)
    projects = _all(client, "/api/v1/projects", admin)
    done = next(p for p in projects if p["stage"] == "at_capacity")
    r = client.get("/api/v1/audit/events", params={"entity": "project", "entity_id": done["id"]}, headers=admin)
    assert r.status_code == 200, r.text
    events = r.json()["items"]
    assert [e["action"] for e in events] == ["project.created"] + ["project.transitioned"] * 3
    assert [e["data"]["after"]["stage"] for e in events] == list(STAGES)
    # each step records its business date and a note; the `at` clock is when the ledger learned it
    for e, stage in zip(events[1:], STAGES[1:], strict=True):
        assert e["data"]["after"][f"{stage}_on"] == done["milestones"][stage]
        assert e["data"].get("note")


def test_seed_twice_writes_nothing(client, admin, db_url, audit_count):
    first = seed_demo(db_url)
    assert "(0 new" not in first
    before = audit_count()
    ids = [p["id"] for p in _all(client, "/api/v1/projects", admin)]
    second = seed_demo(db_url)
    assert "(0 new" in second
    assert audit_count() == before
    assert [p["id"] for p in _all(client, "/api/v1/projects", admin)] == ids
    assert client.get("/api/v1/audit/verify", headers=admin).json()["ok"] is True


def test_seed_keeps_existing_reference_rows(client, admin, db_url, audit_count):
    """A department created by hand first is kept as it is; the rest of the demo loads around it."""
    r = client.post("/api/v1/departments", json={"code": "FGW", "name": "武汉市发展和改革委员会"}, headers=admin)
    assert r.status_code == 201
    seed_demo(db_url)
    departments = {d["code"]: d["name"] for d in _all(client, "/api/v1/departments", admin)}
    assert departments["FGW"] == "武汉市发展和改革委员会"
    assert client.get("/api/v1/audit/verify", headers=admin).json()["ok"] is True


def test_nothing_after_today(client, admin, db_url, sessions):
    """With an early `today` the later milestones are not reached yet, and signings are never in the future."""
    today = date(2025, 8, 31)
    summary = seed_demo(db_url, today=today)
    assert "(0 new" not in summary
    projects = _all(client, "/api/v1/projects", admin)
    assert len(projects) >= 35
    _check_dates(projects, today)
    stages = {p["stage"] for p in projects}
    assert {"signed", "started", "in_production"} <= stages and "at_capacity" not in stages
    r = client.get("/api/v1/audit/verify", headers=admin)
    assert r.json()["ok"] is True and r.json()["events"] == _written(sessions)
