"""Helpers of the tracking-rhythm tests (SPEC §3 warnings and cycle times, §4).

- ``frozen_clock(monkeypatch, "2026-04-03T09:00:00+08:00")`` moves the service's clock (``service.deps.now_utc``,
  the only clock the service reads) so a test can submit a dispatch on a chosen day.
- ``rhythm_state`` fingerprints every table a rhythm write touches (row counts and version sums, project
  investments included); ``nothing_written`` asserts a refused request left it and the audit log unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from service.db.engine import transaction

API = "/api/v1"
PROBLEM_JSON = "application/problem+json"
TZ = ZoneInfo("Asia/Shanghai")

#: table → an SQL fingerprint of it
FINGERPRINTS = {
    "audit_event": "SELECT count(*) FROM audit_event",
    "calendar_override": "SELECT count(*) + coalesce(sum(version), 0) FROM calendar_override",
    "dispatch": "SELECT count(*) + coalesce(sum(version), 0) FROM dispatch",
    "dispatch_entry": "SELECT count(*) + coalesce(sum(invested), 0) FROM dispatch_entry",
    "inspection": "SELECT count(*) + coalesce(sum(version), 0) FROM inspection",
    "problem": "SELECT count(*) + coalesce(sum(version), 0) FROM problem",
    "appraisal": "SELECT count(*) + coalesce(sum(version), 0) FROM appraisal",
    "project": "SELECT count(*) + coalesce(sum(version), 0) + coalesce(sum(cumulative_investment), 0) FROM project",
    "project_version": "SELECT count(*) FROM project_version",
}


def today_shanghai() -> date:
    return datetime.now(TZ).date()


def month_after(day: date, months: int = 1) -> str:
    index = day.year * 12 + day.month - 1 + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def frozen_clock(monkeypatch: pytest.MonkeyPatch, when: str | datetime) -> datetime:
    """Make the service believe it is ``when`` (an ISO timestamp with offset, or an aware datetime)."""
    moment = datetime.fromisoformat(when) if isinstance(when, str) else when
    assert moment.tzinfo is not None
    moment = moment.astimezone(UTC)
    monkeypatch.setattr("service.deps.now_utc", lambda: moment)
    return moment


def assert_problem(r, status: int, type_: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM_JSON), r.headers["content-type"]
    body = r.json()
    for member in ("type", "title", "status", "detail"):
        assert member in body, body
    assert body["status"] == status and body["detail"]
    if type_ is not None:
        assert body["type"] == type_, body
    return body


def assert_invalid(r, *loc: Any) -> dict[str, Any]:
    """422 whose field errors name ``loc`` (or a location below it)."""
    body = assert_problem(r, 422)
    locs = [tuple(e["loc"]) for e in body.get("errors") or []]
    assert any(found[: len(loc)] == loc for found in locs), (loc, locs, body)
    return body


@pytest.fixture
def rhythm_state(sessions) -> Callable[[], dict[str, int]]:
    def state() -> dict[str, int]:
        with transaction(sessions, write=False) as s:
            return {t: int(s.execute(text(sql)).scalar_one()) for t, sql in FINGERPRINTS.items()}

    return state


@pytest.fixture
def nothing_written(rhythm_state):
    """``with nothing_written(): <refused request>`` — every rhythm table and the audit log stay as they were."""

    @contextmanager
    def guard() -> Iterator[None]:
        before = rhythm_state()
        yield
        after = rhythm_state()
        assert after["audit_event"] == before["audit_event"], "a refused request appended an audit event"
        assert after == before, "a refused request changed a table"

    return guard


@pytest.fixture
def make_project(client, admin, reference) -> Callable[..., dict[str, Any]]:
    """make_project(chain=, district=, milestones={...}, planned=, name=) → the created project (as admin)."""
    counter = iter(range(1, 10_000))

    def make(chain: str = "OPTICS", *, district: str = "JA", milestones: dict[str, str] | None = None,
             planned: str = "1000", name: str | None = None, key: bool = False) -> dict[str, Any]:
        milestones = milestones or {"signed": "2026-01-10"}
        stage = [s for s in ("signed", "started", "in_production", "at_capacity") if s in milestones][-1]
        body = {"name": name or f"项目{next(counter)}", "chain": chain, "district": district, "investor": "某公司",
                "planned_investment": planned, "is_key": key, "stage": stage, "milestones": milestones}
        r = client.post(f"{API}/projects", json=body, headers=admin)
        assert r.status_code == 201, r.text
        return r.json()

    return make


def get_project(client, headers, project_id: str) -> dict[str, Any]:
    r = client.get(f"{API}/projects/{project_id}", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def shanghai(day: str, hour: int = 10) -> datetime:
    return datetime.combine(date.fromisoformat(day), datetime.min.time(), tzinfo=TZ) + timedelta(hours=hour)
