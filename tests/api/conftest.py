"""Helpers shared by the API contract tests (SPEC §1–3, §6).

Every rejection test asserts that nothing was written: ``db_state()`` counts the rows of every table a write
touches (audit events included), so a test compares it before and after the refused request.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from service.db.engine import transaction
from service.errors import ProblemDetail

API = "/api/v1"
P = f"{API}/projects"
PROBLEM_JSON = "application/problem+json"
IS_POSTGRES = os.environ.get("LEDGER_TEST_DB", "sqlite") == "postgres"

#: Tables a write may touch; a refused request must leave every count unchanged.
WRITTEN_TABLES = ("audit_event", "project", "project_transition", "department", "district", "chain")


def today_shanghai() -> date:
    """The service's "today" (default zone Asia/Shanghai), which may differ from the UTC date."""
    return datetime.now(ZoneInfo("Asia/Shanghai")).date()


def tomorrow_shanghai() -> date:
    return today_shanghai() + timedelta(days=1)


def project_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "光谷芯片厂", "chain": "OPTICS", "district": "JA", "investor": "某半导体公司",
        "planned_investment": "12500", "milestones": {"signed": "2026-01-10"},
    }
    body.update(overrides)
    return body


def assert_problem(r, status: int, type_: str | None = None) -> dict[str, Any]:
    """An RFC 9457 problem+json response with the given status (and problem type, when named)."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM_JSON), r.headers["content-type"]
    body = r.json()
    for member in ("type", "title", "status", "detail"):
        assert member in body, body
    assert body["status"] == status
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    assert "Traceback" not in r.text
    ProblemDetail.model_validate(body)
    if type_ is not None:
        assert body["type"] == type_, body
    return body


def error_locs(body: dict[str, Any]) -> list[tuple[Any, ...]]:
    """The ``loc`` of every field-level error of a problem body."""
    assert body.get("errors"), body
    return [tuple(e["loc"]) for e in body["errors"]]


def assert_validation(r, *loc: Any) -> dict[str, Any]:
    """422 problem+json whose ``errors`` name ``loc`` (or a location below it)."""
    body = assert_problem(r, 422)
    locs = error_locs(body)
    assert any(found[: len(loc)] == loc for found in locs), (loc, locs)
    for e in body["errors"]:
        assert isinstance(e["msg"], str) and e["msg"]
    return body


@pytest.fixture
def db_state(sessions) -> Callable[[], dict[str, int]]:
    """Row counts of every table a write touches."""

    def state() -> dict[str, int]:
        with transaction(sessions, write=False) as s:
            return {t: s.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in WRITTEN_TABLES}

    return state


@pytest.fixture
def unchanged(db_state, audit_count):
    """``with unchanged(): <refused request>`` — asserts the audit log and every table stayed as they were."""
    from contextlib import contextmanager

    @contextmanager
    def guard():
        before, events = db_state(), audit_count()
        yield
        assert audit_count() == events, "a refused request appended an audit event"
        assert db_state() == before, "a refused request changed a table"

    return guard


@pytest.fixture
def execute_sql(sessions) -> Callable[..., Any]:
    """Run one raw SQL statement in its own committed transaction (for tampering and white-box setup)."""

    def run(sql: str, **params: Any) -> Any:
        with transaction(sessions, write=True) as s:
            result = s.execute(text(sql), params)
            return result.all() if result.returns_rows else result.rowcount

    return run


@pytest.fixture
def new_project(client, admin, reference) -> Callable[..., dict[str, Any]]:
    """new_project(headers=admin, **body overrides) → the created project (asserts 201)."""

    def make(headers: dict[str, str] | None = None, **overrides: Any) -> dict[str, Any]:
        r = client.post(P, json=project_body(**overrides), headers=headers or admin)
        assert r.status_code == 201, r.text
        return r.json()

    return make


@pytest.fixture
def move(client, admin) -> Callable[..., Any]:
    """move(project_id, to, on, headers={...}, **extra) → the response of a transition (as admin unless
    ``headers`` carries another Authorization)."""

    def run(project_id: str, to: str, on: str, *, headers: dict[str, str] | None = None, **extra: Any):
        return client.post(f"{P}/{project_id}/transitions", json={"to": to, "on": on, **extra},
                           headers={**admin, **(headers or {})})

    return run


@pytest.fixture
def events(client, admin) -> Callable[..., list[dict[str, Any]]]:
    """events(**filters) → every audit event matching, read through the API across pages."""

    def read(**params: Any) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        query: dict[str, Any] = {"limit": 500, **params}
        while True:
            r = client.get(f"{API}/audit/events", params=query, headers=admin)
            assert r.status_code == 200, r.text
            page = r.json()
            out.extend(page["items"])
            if not page["next_cursor"]:
                return out
            query["cursor"] = page["next_cursor"]

    return read


def assert_report_head(client, headers, report: dict[str, Any], events: list[dict[str, Any]]) -> dict[str, Any]:
    """A published report carries the signed audit tree head of its moment (SPEC §6): signed by the service's key,
    over every event so far (the report's own included), and listed by /audit/tree-heads."""
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    from service.domain import merkle
    from service.signing import head_signature_ok

    head = report["audit_tree_head"]
    assert head is not None and set(head) == {"size", "root", "signed_at", "key_id", "signature"}, head
    pem = client.get(f"{API}/audit/public-key", headers=headers).json()["public_key_pem"]
    assert head_signature_ok(head, load_pem_public_key(pem.encode()))
    assert head["size"] == len(events)
    assert head["root"] == merkle.root_of([merkle.leaf_hash(bytes.fromhex(e["hash"])) for e in events]).hex()
    assert head in client.get(f"{API}/audit/tree-heads", params={"limit": 500}, headers=headers).json()["items"]
    return head
