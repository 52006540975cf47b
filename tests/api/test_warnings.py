"""GET /warnings (预警): projects idle in a stage past a threshold, projects without a dispatch figure.

Today is frozen at 2026-11-24 (Shanghai); the dispatch window is then 2026-09 and 2026-10.
"""

from __future__ import annotations

import pytest

from tests.api.rhythm_support import API, assert_invalid, assert_problem, frozen_clock, make_project  # noqa: F401

W = f"{API}/warnings"
TODAY = "2026-11-24T10:00:00+08:00"


def warnings(client, headers, **params):
    out, cursor = [], None
    while True:
        r = client.get(W, params={**params, **({"cursor": cursor} if cursor else {})}, headers=headers)
        assert r.status_code == 200, r.text
        out += r.json()["items"]
        cursor = r.json()["next_cursor"]
        if not cursor:
            return out


def report(client, admin, monkeypatch, chain, period, projects, *, submit=True):
    frozen_clock(monkeypatch, TODAY)
    body = {"summary": "调度", "entries": [{"project_id": p["id"], "invested": "0", "progress": "进行中"}
                                           for p in projects]}
    assert client.put(f"{API}/chains/{chain}/dispatches/{period}", json=body, headers=admin).status_code == 201
    if submit:
        assert client.post(f"{API}/chains/{chain}/dispatches/{period}/submit", headers=admin).status_code == 200


@pytest.fixture
def idle(client, admin, make_project, monkeypatch):
    """Projects at each stage, some idle past the defaults; all reported in October except where noted.
    (Created on the real clock, so their ids sort in creation order.)"""
    p = {
        # signed 2026-05-27 is exactly 181 days before today; 2026-05-28 exactly 180 (not past the threshold)
        "signed_181": make_project("OPTICS", milestones={"signed": "2026-05-27"}, district="HS"),
        "signed_180": make_project("OPTICS", milestones={"signed": "2026-05-28"}),
        "started_old": make_project("AUTO", milestones={"signed": "2023-12-01", "started": "2024-01-01"}),
        "started_new": make_project("AUTO", milestones={"signed": "2025-12-01", "started": "2026-01-01"}),
        "producing_old": make_project("OPTICS", milestones={"signed": "2024-01-01", "started": "2024-06-01",
                                                            "in_production": "2025-10-01"}),
        "at_capacity": make_project("OPTICS", milestones={"signed": "2020-01-01", "started": "2020-02-01",
                                                          "in_production": "2020-03-01",
                                                          "at_capacity": "2020-04-01"}),
        "cancelled": make_project("OPTICS", milestones={"signed": "2024-01-01"}),
        "voided": make_project("OPTICS", milestones={"signed": "2024-01-01"}),
    }
    assert client.post(f"{API}/projects/{p['cancelled']['id']}/transitions",
                       json={"to": "cancelled", "on": "2024-06-01", "reason": "终止"}, headers=admin).status_code == 200
    assert client.post(f"{API}/projects/{p['voided']['id']}/void", json={"reason": "录入错误"},
                       headers=admin).status_code == 200
    for chain in ("OPTICS", "AUTO"):
        live = [x for name, x in p.items() if x["chain"] == chain and name not in ("cancelled", "voided")]
        report(client, admin, monkeypatch, chain, "2026-10", live)
    return p


def names(items, projects):
    by_id = {p["id"]: name for name, p in projects.items()}
    return [(i["rule"], by_id[i["project_id"]]) for i in items]


def test_idle_projects_past_the_default_thresholds(client, admin, idle, monkeypatch, make_token):
    frozen_clock(monkeypatch, TODAY)
    items = warnings(client, make_token("viewer"))
    assert names(items, idle) == [("idle_signed", "signed_181"), ("idle_started", "started_old"),
                                  ("idle_in_production", "producing_old")]
    first = items[0]
    assert first["since"] == "2026-05-27" and first["days_idle"] == 181 and first["threshold"] == 180
    assert first["stage"] == "signed" and first["chain"] == "OPTICS" and first["district"] == "HS"
    assert first["last_dispatch_period"] is None and first["missed_months"] is None
    assert items[1]["days_idle"] == 1058 and items[1]["threshold"] == 730
    assert items[2]["since"] == "2025-10-01" and items[2]["days_idle"] == 419


def test_filters_and_overrides(client, admin, idle, monkeypatch):
    frozen_clock(monkeypatch, TODAY)
    assert names(warnings(client, admin, chain="AUTO"), idle) == [("idle_started", "started_old")]
    assert names(warnings(client, admin, district="HS"), idle) == [("idle_signed", "signed_181")]
    assert names(warnings(client, admin, rule=["idle_started", "idle_in_production"]), idle) == [
        ("idle_started", "started_old"), ("idle_in_production", "producing_old")]
    # Query parameters override the thresholds.
    assert names(warnings(client, admin, signed_days=179, started_days=2000, in_production_days=500), idle) == [
        ("idle_signed", "signed_181"), ("idle_signed", "signed_180")]
    # So do the settings (LEDGER_WARN_*).
    client.app.state.settings = client.app.state.settings.model_copy(update={"warn_signed_days": 365})
    assert [r for r, _ in names(warnings(client, admin), idle)] == ["idle_started", "idle_in_production"]


def test_no_dispatch_figure_for_the_last_two_completed_months(client, admin, reference, make_project, monkeypatch):
    p = {
        "reported_aug": make_project("OPTICS", milestones={"signed": "2026-01-10"}),
        "reported_sep": make_project("OPTICS", milestones={"signed": "2026-01-10"}),
        "draft_only": make_project("OPTICS", milestones={"signed": "2026-01-10"}),
        "never": make_project("OPTICS", milestones={"signed": "2026-01-10"}),
        "signed_oct": make_project("OPTICS", milestones={"signed": "2026-10-15"}),
        "reported_nov": make_project("AUTO", milestones={"signed": "2026-01-10"}),
    }
    report(client, admin, monkeypatch, "OPTICS", "2026-08", [p["reported_aug"], p["draft_only"]])
    report(client, admin, monkeypatch, "OPTICS", "2026-09", [p["reported_sep"]])
    report(client, admin, monkeypatch, "OPTICS", "2026-10", [p["draft_only"]], submit=False)
    report(client, admin, monkeypatch, "AUTO", "2026-11", [p["reported_nov"]])
    items = warnings(client, admin, rule="no_dispatch")
    assert names(items, p) == [("no_dispatch", "reported_aug"), ("no_dispatch", "draft_only"),
                               ("no_dispatch", "never")]
    aug, draft, never = items
    assert (aug["last_dispatch_period"], aug["since"], aug["missed_months"], aug["threshold"]) == (
        "2026-08", "2026-09-01", 2, 2)
    assert aug["days_idle"] == 84
    assert draft["last_dispatch_period"] == "2026-08"  # a draft is not a figure
    assert (never["last_dispatch_period"], never["since"], never["missed_months"]) == (None, "2026-01-10", 10)
    # Three months: August is inside the window now.
    assert names(warnings(client, admin, rule="no_dispatch", dispatch_months=3), p) == [("no_dispatch", "never")]
    assert names(warnings(client, admin, rule="no_dispatch", dispatch_months=1), p) == [
        ("no_dispatch", "reported_aug"), ("no_dispatch", "reported_sep"), ("no_dispatch", "draft_only"),
        ("no_dispatch", "never"), ("no_dispatch", "signed_oct")]


def test_pages_neither_skip_nor_repeat(client, admin, idle, monkeypatch):
    frozen_clock(monkeypatch, TODAY)
    everything = warnings(client, admin, signed_days=1, started_days=1, in_production_days=1, dispatch_months=1)
    paged = warnings(client, admin, signed_days=1, started_days=1, in_production_days=1, dispatch_months=1, limit=1)
    assert paged == everything and len(everything) == 5
    assert [i["rule"] for i in everything] == ["idle_signed", "idle_signed", "idle_started", "idle_started",
                                               "idle_in_production"]


@pytest.mark.parametrize(
    ("params", "loc"),
    [({"signed_days": 0}, ("query", "signed_days")), ({"dispatch_months": 25}, ("query", "dispatch_months")),
     ({"rule": "idle"}, ("query", "rule")), ({"cursor": "nope"}, ("query", "cursor")),
     ({"limit": 501}, ("query", "limit")), ({"started_days": "x"}, ("query", "started_days"))],
)
def test_bad_queries(client, admin, reference, params, loc):
    assert_invalid(client.get(W, params=params, headers=admin), *loc)


def test_needs_a_token(client, reference):
    assert_problem(client.get(W), 401)
