"""Plan progress (SPEC §5): indicators computed from the ledger and dispatch reports or summed from manual
months, against the elapsed share of the year; tasks overdue; the city-wide view.

Every expected number is recomputed here from the world of ``plan_support`` (see its table), not read from the
service's own rules."""

from __future__ import annotations

from datetime import date
from fractions import Fraction

import pytest

from tests.api.conftest import assert_problem, today_shanghai
from tests.api.plan_support import (
    API,
    DISPATCH_INVESTED_2026,
    INDICATORS,
    LEDGER_2026,
    TASKS,
    YEAR,
    build_world,
    expected_fraction,
    frac,
    plan_body,
    plan_url,
    status_of,
)

#: key → the actual the service must compute for OPTICS in 2026 (manual: 100 + 250 (replacing 200) + 300).
ACTUALS = {
    "signed_n": str(LEDGER_2026["signed"][0]), "signed_inv": LEDGER_2026["signed"][1],
    "started_n": str(LEDGER_2026["started"][0]), "started_inv": LEDGER_2026["started"][1],
    "prod_n": str(LEDGER_2026["in_production"][0]), "prod_inv": LEDGER_2026["in_production"][1],
    "cap_n": "0", "cap_inv": "0.00", "invested": DISPATCH_INVESTED_2026, "output": "650",
}
#: key → completion as an exact fraction.
COMPLETIONS = {
    "signed_n": Fraction(3, 4),
    "signed_inv": Fraction(1780050, 2000000),
    "started_n": Fraction(3, 2),
    "started_inv": Fraction(1),
    "prod_n": Fraction(1, 5),
    "prod_inv": Fraction(1200050, 1000000),
    "cap_n": Fraction(1),  # zero target counts as met
    "cap_inv": Fraction(0),
    "invested": Fraction(75025, 100000),
    "output": Fraction(650, 1200),
}


@pytest.fixture
def world(client, admin, sessions, reference) -> dict[str, str]:
    return build_world(client, admin, sessions)


def record(client, headers, key, period, value) -> None:  # noqa: ANN001
    r = client.post(plan_url(tail=f"/indicators/{key}/actuals"), json={"period": period, "value": value},
                    headers=headers)
    assert r.status_code in (200, 201), r.text


@pytest.fixture
def approved_plan(client, admin, world) -> None:
    r = client.put(plan_url(), json=plan_body(), headers=admin)
    assert r.status_code == 201, r.text
    for key, status, done_on in (("t1", "done", "2026-03-20"), ("t2", "done", "2026-07-05")):
        etag = client.get(plan_url(), headers=admin).headers["ETag"]
        r = client.patch(plan_url(tail=f"/tasks/{key}"), json={"status": status, "done_on": done_on},
                         headers={**admin, "If-Match": etag})
        assert r.status_code == 200, r.text
    for period, value in (("2026-01", "100"), ("2026-02", "200"), ("2026-02", "250"), ("2026-03", "300")):
        record(client, admin, "output", period, value)
    assert client.post(plan_url(tail="/approve"), headers=admin).status_code == 200


def test_the_worlds_ledger_figures_match_the_ledger_endpoint(client, admin, world):
    """The plan's ledger metrics are the ledger's own figures (same projects, same year)."""
    r = client.get(f"{API}/ledger", params={"period": str(YEAR), "chain": "OPTICS"}, headers=admin)
    assert r.status_code == 200, r.text
    lists = r.json()["lists"]
    assert {k: (v["count"], v["investment"]) for k, v in lists.items()} == LEDGER_2026


def test_progress_per_indicator_and_task(client, admin, approved_plan):
    today = today_shanghai()
    expected = expected_fraction(YEAR, today)
    r = client.get(plan_url(tail="/progress"), headers=admin)
    assert r.status_code == 200, r.text
    body = r.json()
    assert {k: body[k] for k in ("chain", "year", "revision", "status", "approved", "as_of")} == {
        "chain": "OPTICS", "year": YEAR, "revision": 1, "status": "approved", "approved": True,
        "as_of": today.isoformat()}
    assert body["expected"] == float(expected)
    if today == date(2026, 11, 24):  # the day this was written: 328 / 365
        assert body["expected"] == 328 / 365

    by_key = {i["key"]: i for i in body["indicators"]}
    assert list(by_key) == [i["key"] for i in INDICATORS]
    for spec in INDICATORS:
        key = spec["key"]
        got = by_key[key]
        assert (got["name"], got["unit"], got["source"]) == (spec["name"], spec["unit"], spec["source"]), key
        assert frac(got["target"]) == frac(spec["target"]), key
        assert frac(got["actual"]) == frac(ACTUALS[key]), key
        assert got["completion"] == float(COMPLETIONS[key]), key
        assert got["expected"] == float(expected), key
        assert got["status"] == status_of(COMPLETIONS[key], expected), key
    # Exact strings, where they are plain to state.
    assert by_key["signed_inv"]["actual"] == "17800.50" and by_key["signed_inv"]["completion"] == 0.890025
    assert by_key["invested"]["actual"] == "750.25" and by_key["invested"]["completion"] == 0.75025
    assert by_key["output"]["actual"] == "650.00"
    assert by_key["cap_n"]["completion"] == 1.0 and by_key["started_n"]["completion"] == 1.5
    # 比学赶超: actual − the benchmark city's figure.
    assert by_key["prod_inv"]["benchmark"] == {"city": "合肥", "value": "15000.00"}
    assert by_key["prod_inv"]["benchmark_gap"] == "-2999.50"
    assert by_key["output"]["benchmark"] == {"city": "深圳", "value": "1500.00"}
    assert by_key["output"]["benchmark_gap"] == "-850.00"
    assert by_key["signed_n"]["benchmark"] is None and by_key["signed_n"]["benchmark_gap"] is None
    # With today in late November (expected ≈ 0.9): 0.75 behind, 1.5 ahead, 0.89 on track.
    if today.year == YEAR and today.month == 11:
        assert (by_key["signed_n"]["status"], by_key["started_n"]["status"], by_key["signed_inv"]["status"]) == (
            "behind", "ahead", "on_track")

    tasks = {t["key"]: t for t in body["tasks"]}
    assert list(tasks) == [t["key"] for t in TASKS]
    assert tasks["t1"] | {} == {**TASKS[0], "status": "done", "done_on": "2026-03-20", "overdue": False,
                                "done_on_time": True}
    assert (tasks["t2"]["status"], tasks["t2"]["overdue"], tasks["t2"]["done_on_time"]) == ("done", False, False)
    for key in ("t3", "t4"):
        due = date.fromisoformat(tasks[key]["due_on"])
        assert tasks[key]["status"] == "open"
        assert tasks[key]["overdue"] is (due < today), key
        assert tasks[key]["done_on_time"] is False


def test_ledger_changes_show_up_at_once(client, admin, world, approved_plan):
    """Nothing is typed twice: a new start and a void change the computed actuals on the next read."""
    def actual(key: str) -> str:
        r = client.get(plan_url(tail="/progress"), headers=admin)
        return {i["key"]: i["actual"] for i in r.json()["indicators"]}[key]

    assert actual("started_n") == "3.00"
    r = client.post(f"{API}/projects/{world['D']}/transitions/revert", json={"reason": "误操作"}, headers=admin)
    assert r.status_code == 200, r.text  # D no longer cancelled: still on signed, not started
    r = client.post(f"{API}/projects/{world['D']}/transitions", json={"to": "started", "on": "2026-06-01"},
                    headers=admin)
    assert r.status_code == 200, r.text
    assert actual("started_n") == "4.00"
    assert actual("started_inv") == "20800.50"
    r = client.post(f"{API}/projects/{world['A']}/void", json={"reason": "重复录入"}, headers=admin)
    assert r.status_code == 200, r.text
    assert (actual("signed_n"), actual("signed_inv"), actual("prod_n"), actual("invested")) == (
        "2.00", "5800.00", "0.00", "200.00")


def test_progress_reads_the_latest_revision_and_manual_actuals_survive_revisions(client, admin, approved_plan):
    etag = client.get(plan_url(), headers=admin).headers["ETag"]
    revised = plan_body(indicators=[{**INDICATORS[-1], "target": "1300"}, INDICATORS[0]], tasks=TASKS[:2],
                        revision_reason="年中调整目标")
    r = client.put(plan_url(), json=revised, headers={**admin, "If-Match": etag})
    assert r.status_code == 200 and r.json()["revision"] == 2, r.text
    body = client.get(plan_url(tail="/progress"), headers=admin).json()
    assert (body["revision"], body["approved"]) == (2, True)
    assert [(i["key"], i["actual"], i["completion"]) for i in body["indicators"]] == [
        ("output", "650.00", float(Fraction(650, 1300))), ("signed_n", "3.00", 0.75)]
    # Task statuses carried into the revision.
    assert [(t["key"], t["status"], t["done_on_time"]) for t in body["tasks"]] == [
        ("t1", "done", True), ("t2", "done", False)]


def test_a_draft_only_plan_shows_its_progress_flagged_not_approved(client, admin, world):
    r = client.put(plan_url(), json=plan_body(indicators=INDICATORS[:1], tasks=[]), headers=admin)
    assert r.status_code == 201
    body = client.get(plan_url(tail="/progress"), headers=admin).json()
    assert (body["status"], body["approved"], body["revision"]) == ("draft", False, 1)
    assert body["indicators"][0]["completion"] == 0.75 and body["tasks"] == []


def test_expected_is_1_for_a_past_year_and_0_for_a_future_one(client, admin, reference):
    today = today_shanghai()
    for year, expected in ((today.year - 1, 1.0), (today.year + 1, 0.0)):
        body = {"goals": "目标", "tasks": [], "indicators": [
            {"key": "n", "name": "新签约项目数", "unit": "个", "target": 10, "source": "ledger.signed.count"}]}
        assert client.put(plan_url(year=year), json=body, headers=admin).status_code == 201
        got = client.get(plan_url(year=year, tail="/progress"), headers=admin).json()
        assert got["expected"] == expected
        assert got["indicators"][0] | {"benchmark": None} == {
            "key": "n", "name": "新签约项目数", "unit": "个", "source": "ledger.signed.count", "target": "10.00",
            "actual": "0.00", "completion": 0.0, "expected": expected,
            "status": "behind" if expected == 1.0 else "on_track", "benchmark": None, "benchmark_gap": None}


def test_city_wide_view_lists_every_chain_side_by_side(client, admin, make_token, world, approved_plan):
    # A third chain without any plan, and AUTO with a draft.
    r = client.post(f"{API}/chains", json={"code": "BIO", "name": "大健康和生物技术", "leader": "链长",
                                           "lead_department": "FGW"}, headers=admin)
    assert r.status_code == 201, r.text
    auto = {"goals": "汽车", "tasks": [{"key": "a1", "title": "任务", "owner_unit": "市发改委",
                                         "due_on": "2026-01-31"}],
            "indicators": [{"key": "signed_n", "name": "新签约项目数", "unit": "个", "target": 2,
                            "source": "ledger.signed.count"}]}
    assert client.put(plan_url("AUTO"), json=auto, headers=admin).status_code == 201

    viewer = make_token("viewer")
    r = client.get(f"{API}/plans/{YEAR}/progress", headers=viewer)
    assert r.status_code == 200, r.text
    body = r.json()
    today = today_shanghai()
    assert (body["year"], body["as_of"], body["expected"]) == (YEAR, today.isoformat(),
                                                               float(expected_fraction(YEAR, today)))
    rows = {row["chain"]: row for row in body["rows"]}
    assert [row["chain"] for row in body["rows"]] == ["AUTO", "BIO", "OPTICS"]
    assert rows["BIO"] == {"chain": "BIO", "chain_name": "大健康和生物技术", "has_plan": False, "revision": None,
                           "status": None, "approved": False, "indicators": [], "tasks": None}
    assert (rows["AUTO"]["has_plan"], rows["AUTO"]["approved"], rows["AUTO"]["status"]) == (True, False, "draft")
    assert rows["AUTO"]["indicators"][0]["actual"] == "1.00"  # F, signed 2026-02-01
    assert rows["AUTO"]["indicators"][0]["completion"] == 0.5
    assert rows["AUTO"]["tasks"] == {"total": 1, "done": 0, "done_on_time": 0, "overdue": 1}
    assert (rows["OPTICS"]["approved"], rows["OPTICS"]["revision"]) == (True, 1)
    # The same figures as the chain's own progress.
    own = client.get(plan_url(tail="/progress"), headers=viewer).json()
    assert rows["OPTICS"]["indicators"] == own["indicators"]
    overdue = sum(1 for t in own["tasks"] if t["overdue"])
    assert rows["OPTICS"]["tasks"] == {"total": 4, "done": 2, "done_on_time": 1, "overdue": overdue}

    # Another year: every chain, none with a plan.
    other = client.get(f"{API}/plans/2030/progress", headers=viewer).json()
    assert [(row["chain"], row["has_plan"]) for row in other["rows"]] == [("AUTO", False), ("BIO", False),
                                                                         ("OPTICS", False)]
    assert_problem(client.get(f"{API}/plans/{YEAR}/progress"), 401)


def test_dispatch_invested_counts_submitted_reports_through_the_dispatch_api(client, admin, world, approved_plan):
    """End to end with the dispatch API: a draft report does not count, its submission does at once."""
    def invested() -> str:
        r = client.get(plan_url(tail="/progress"), headers=admin)
        return {i["key"]: i["actual"] for i in r.json()["indicators"]}["invested"]

    body = {"summary": "6月调度", "entries": [{"project_id": world["B"], "invested": "120.50", "progress": "主体施工"}]}
    r = client.put(f"{API}/chains/OPTICS/dispatches/2026-06", json=body, headers=admin)
    assert r.status_code == 201, r.text
    assert invested() == DISPATCH_INVESTED_2026
    r = client.post(f"{API}/chains/OPTICS/dispatches/2026-06/submit", headers=admin)
    assert r.status_code == 200, r.text
    assert invested() == "870.75"


def test_progress_queries_do_not_grow_with_chains_or_projects(client, app, admin, world, approved_plan):
    """The figures are aggregated in SQL: the number of statements of the city-wide view does not grow with
    the number of chains, plans or projects (no per-chain or per-project loop)."""
    from sqlalchemy import event

    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args):  # noqa: ANN001, ANN202
        statements.append(statement)

    def queries(url: str) -> int:
        statements.clear()
        event.listen(app.state.db.engine, "before_cursor_execute", count)
        try:
            assert client.get(url, headers=admin).status_code == 200
        finally:
            event.remove(app.state.db.engine, "before_cursor_execute", count)
        return len(statements)

    city, chain = queries(f"{API}/plans/{YEAR}/progress"), queries(plan_url(tail="/progress"))
    for code in ("BIO", "EQUIP", "MAT"):
        r = client.post(f"{API}/chains", json={"code": code, "name": code, "leader": "链长", "lead_department": "FGW"},
                        headers=admin)
        assert r.status_code == 201, r.text
        assert client.put(plan_url(code), json=plan_body(), headers=admin).status_code == 201
        for n in range(3):
            r = client.post(f"{API}/projects", json={"name": f"{code}{n}", "chain": code, "district": "HS",
                                                     "investor": "x", "planned_investment": "10",
                                                     "milestones": {"signed": "2026-02-02"}}, headers=admin)
            assert r.status_code == 201, r.text
    assert queries(f"{API}/plans/{YEAR}/progress") == city, statements
    assert queries(plan_url(tail="/progress")) == chain
