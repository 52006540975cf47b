"""Helpers shared by the plan tests (SPEC §5): a realistic chain-year of projects and dispatch reports, and
independent re-computations of the figures the service must answer (no import of service.domain.plans)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

from service.db.engine import transaction
from service.db.tables import Dispatch, DispatchEntry

API = "/api/v1"
YEAR = 2026


def plan_url(chain: str = "OPTICS", year: int = YEAR, tail: str = "") -> str:
    return f"{API}/chains/{chain}/plans/{year}{tail}"


def expected_fraction(year: int, today: date) -> Fraction:
    """Elapsed share of ``year`` on ``today``, today included (1 Jan → 1/365; 31 Dec → 1)."""
    if year < today.year:
        return Fraction(1)
    if year > today.year:
        return Fraction(0)
    return Fraction((today - date(year, 1, 1)).days + 1, (date(year + 1, 1, 1) - date(year, 1, 1)).days)


def status_of(completion: Fraction, expected: Fraction) -> str:
    if completion >= expected + Fraction(1, 10):
        return "ahead"
    if completion < expected - Fraction(1, 10):
        return "behind"
    return "on_track"


def frac(x: str | int) -> Fraction:
    return Fraction(Decimal(str(x)))


# ---------------------------------------------------------------- the world of OPTICS in 2026
#
#   project  chain   planned    signed      started     in_production  then
#   A        OPTICS  12000.50   2026-01-15  2026-04-10  2026-05-20
#   B        OPTICS    800.00   2026-04-01  2026-06-30
#   C        OPTICS   3000.00   2025-11-03  2026-03-31
#   D        OPTICS   5000.00   2026-05-05                             cancelled 2026-05-10 (stays on signed)
#   E        OPTICS   9999.99   2026-05-31                             voided (counts nowhere)
#   F        AUTO     7000.00   2026-02-01                             (another chain)
#   G        OPTICS    100.00   2025-06-01                             (another year)
#
# OPTICS 2026: signed A B D = 3 / 17800.50 · started A B C = 3 / 15800.50 · in_production A = 1 / 12000.50 ·
# at_capacity 0.
# Dispatch (submitted unless noted): 2026-03 A 300, B 200, E 50 (voided) · 2026-04 A 250.25 · 2026-05 draft A 999 ·
# 2025-12 A 77 · AUTO 2026-03 F 400 → OPTICS dispatch.invested 2026 = 750.25.

PROJECTS: dict[str, dict[str, Any]] = {
    "A": {"chain": "OPTICS", "planned": "12000.50",
          "milestones": {"signed": "2026-01-15", "started": "2026-04-10", "in_production": "2026-05-20"}},
    "B": {"chain": "OPTICS", "planned": "800.00", "milestones": {"signed": "2026-04-01", "started": "2026-06-30"}},
    "C": {"chain": "OPTICS", "planned": "3000.00", "milestones": {"signed": "2025-11-03", "started": "2026-03-31"}},
    "D": {"chain": "OPTICS", "planned": "5000.00", "milestones": {"signed": "2026-05-05"}},
    "E": {"chain": "OPTICS", "planned": "9999.99", "milestones": {"signed": "2026-05-31"}},
    "F": {"chain": "AUTO", "planned": "7000.00", "milestones": {"signed": "2026-02-01"}},
    "G": {"chain": "OPTICS", "planned": "100.00", "milestones": {"signed": "2025-06-01"}},
}
LEDGER_2026 = {
    "signed": (3, "17800.50"), "started": (3, "15800.50"), "in_production": (1, "12000.50"), "at_capacity": (0, "0.00"),
}
DISPATCH_INVESTED_2026 = "750.25"


def build_world(client, admin, sessions) -> dict[str, str]:
    """Create the projects above through the API (transitions for the later stages, a cancel and a void),
    and the dispatch reports directly in the database. Returns project ids by name."""
    ids: dict[str, str] = {}
    for name, spec in PROJECTS.items():
        ms = spec["milestones"]
        body = {"name": f"项目{name}", "chain": spec["chain"], "district": "JA", "investor": f"投资方{name}",
                "planned_investment": spec["planned"], "milestones": {"signed": ms["signed"]}}
        r = client.post(f"{API}/projects", json=body, headers=admin)
        assert r.status_code == 201, r.text
        ids[name] = r.json()["id"]
        for stage in ("started", "in_production"):
            if stage in ms:
                r = client.post(f"{API}/projects/{ids[name]}/transitions", json={"to": stage, "on": ms[stage]},
                                headers=admin)
                assert r.status_code == 200, r.text
    r = client.post(f"{API}/projects/{ids['D']}/transitions",
                    json={"to": "cancelled", "on": "2026-05-10", "reason": "撤资"}, headers=admin)
    assert r.status_code == 200, r.text
    r = client.post(f"{API}/projects/{ids['E']}/void", json={"reason": "录入错误"}, headers=admin)
    assert r.status_code == 200, r.text
    add_dispatch(sessions, "OPTICS", "2026-03", {ids["A"]: "300", ids["B"]: "200", ids["E"]: "50"})
    add_dispatch(sessions, "OPTICS", "2026-04", {ids["A"]: "250.25"})
    add_dispatch(sessions, "OPTICS", "2026-05", {ids["A"]: "999"}, status="draft")
    add_dispatch(sessions, "OPTICS", "2025-12", {ids["A"]: "77"})
    add_dispatch(sessions, "AUTO", "2026-03", {ids["F"]: "400"})
    return ids


def add_dispatch(sessions, chain: str, period: str, entries: dict[str, str], *, status: str = "submitted") -> None:
    """A monthly dispatch report written straight to the tables (the dispatch API is another issue)."""
    now = datetime.now(UTC)
    with transaction(sessions, write=True) as s:
        row = Dispatch(chain=chain, period=period, status=status, summary="月调度",
                       submitted_at=now if status == "submitted" else None, created_at=now, updated_at=now)
        s.add(row)
        s.flush()
        for project_id, invested in entries.items():
            s.add(DispatchEntry(dispatch_id=row.id, project_id=project_id, invested=Decimal(invested), progress="推进中"))


# ---------------------------------------------------------------- a plan body

INDICATORS: list[dict[str, Any]] = [
    {"key": "signed_n", "name": "新签约项目数", "unit": "个", "target": 4, "source": "ledger.signed.count"},
    {"key": "signed_inv", "name": "新签约投资额", "unit": "万元", "target": "20000", "source": "ledger.signed.investment"},
    {"key": "started_n", "name": "新开工项目数", "unit": "个", "target": 2, "source": "ledger.started.count"},
    {"key": "started_inv", "name": "新开工投资额", "unit": "万元", "target": "15800.50",
     "source": "ledger.started.investment"},
    {"key": "prod_n", "name": "新投产项目数", "unit": "个", "target": 5, "source": "ledger.in_production.count"},
    {"key": "prod_inv", "name": "新投产投资额", "unit": "万元", "target": "10000",
     "source": "ledger.in_production.investment", "benchmark": {"city": "合肥", "value": "15000"}},
    {"key": "cap_n", "name": "新达产项目数", "unit": "个", "target": 0, "source": "ledger.at_capacity.count"},
    {"key": "cap_inv", "name": "新达产投资额", "unit": "万元", "target": "1000", "source": "ledger.at_capacity.investment"},
    {"key": "invested", "name": "完成投资", "unit": "万元", "target": "1000", "source": "dispatch.invested"},
    {"key": "output", "name": "产业规模", "unit": "亿元", "target": "1200", "source": "manual",
     "benchmark": {"value": "1500"}},
]
TASKS: list[dict[str, Any]] = [
    {"key": "t1", "title": "出台产业链专项政策", "owner_unit": "市经信局", "due_on": "2026-03-31"},
    {"key": "t2", "title": "举办产业链招商推介会", "owner_unit": "市招商办", "due_on": "2026-06-30"},
    {"key": "t3", "title": "建设公共服务平台", "owner_unit": "东湖新技术开发区", "due_on": "2026-09-30"},
    {"key": "t4", "title": "完成年度考核自评", "owner_unit": "市经信局", "due_on": "2026-12-31"},
]


def plan_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "goals": "光芯屏端网产业链规模突破1200亿元", "benchmark_city": "深圳",
        "tasks": [dict(t) for t in TASKS], "indicators": [dict(i) for i in INDICATORS],
    }
    body.update(overrides)
    return body
