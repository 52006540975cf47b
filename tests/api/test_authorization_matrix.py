"""The authorisation matrix, generated from the app's route table (SPEC §1 "who may write what").

Every write route (POST/PUT/PATCH/DELETE under /api/v1) is called with each role that may not use it; the
answer must be 403 and nothing may be written. A route added later is covered without editing this test:
only the routes a role *may* use are listed here.
"""

from __future__ import annotations

import re

import pytest

from service.config import Settings
from service.main import API_PREFIX, create_app

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
#: (method, path) patterns the integration role may use (SPEC §1: create signed projects, import, webhooks).
INTEGRATION_MAY = [("POST", r"/projects"), ("POST", r"/projects/import"), (r"[A-Z]+", r"/webhooks(/.*)?")]
#: Writes that are the admin's alone (reference data, the calendar, plan approval, the appraisal).
ADMIN_ONLY = [
    ("POST", r"/departments"), ("POST", r"/districts"), ("POST", r"/chains"), ("PATCH", r"/chains/\{code\}"),
    ("PUT", r"/calendar/.*"), ("POST", r".*/plans/\{year\}/approve"), (r"[A-Z]+", r"/appraisals/.*"),
    ("POST", r"/tokens"), ("POST", r"/tokens/\{token_id\}/revoke"),
]


def _write_routes() -> list[tuple[str, str]]:
    """Every write operation the app serves under the API prefix (its route table, as OpenAPI lists it)."""
    app = create_app(Settings(database_url="sqlite://"))
    return sorted(
        (method.upper(), path[len(API_PREFIX):])
        for path, operations in app.openapi()["paths"].items() if path.startswith(API_PREFIX)
        for method in operations if method.upper() in WRITE_METHODS
    )


def _allowed(method: str, path: str, rules) -> bool:  # noqa: ANN001
    return any(re.fullmatch(m, method) and re.fullmatch(p, path) for m, p in rules)


ROUTES = _write_routes()
SAMPLE = {"code": "AUTO", "year": "2026", "key": "k1", "id": "X", "delivery_id": "1", "token_id": "1"}


def _fill(path: str, project_id: str) -> str:
    def value(match: re.Match) -> str:
        name = match.group(1)
        if name == "project_id":
            return project_id
        if name == "period":
            return "2026-Q2" if "inspections" in path else "2026-05"
        return SAMPLE.get(name, "X")

    return API_PREFIX + re.sub(r"\{([^}]+)\}", value, path)


def test_the_matrix_sees_the_write_routes():
    assert len(ROUTES) >= 20
    assert ("POST", "/projects/{project_id}/transitions") in ROUTES


@pytest.fixture
def foreign_project(client, admin, reference) -> str:
    r = client.post(f"{API_PREFIX}/projects", headers=admin, json={
        "name": "车谷项目", "chain": "AUTO", "district": "JA", "investor": "某公司", "planned_investment": "100",
        "milestones": {"signed": "2026-03-01"}})
    assert r.status_code == 201
    return r.json()["id"]


@pytest.mark.parametrize("role", ["auditor", "viewer", "integration", "department"])
def test_every_refused_write_is_403_and_writes_nothing(client, make_token, foreign_project, audit_count, role):
    headers = make_token(role, chains=["OPTICS"] if role == "department" else None)
    before = audit_count()
    checked = 0
    for method, path in ROUTES:
        if role == "integration" and _allowed(method, path, INTEGRATION_MAY):
            continue
        if role == "department" and not _allowed(method, path, ADMIN_ONLY):
            continue  # chain-scoped writes: see the foreign-chain test below
        r = client.request(method, _fill(path, foreign_project), headers={**headers, "If-Match": '"1"'}, json={})
        assert r.status_code == 403, f"{role}: {method} {path} answered {r.status_code}: {r.text[:200]}"
        assert r.headers["content-type"].startswith("application/problem+json")
        checked += 1
    assert checked > 0
    assert audit_count() == before


def test_a_department_cannot_touch_a_foreign_chains_project(client, make_token, foreign_project, audit_count):
    headers = make_token("department", chains=["OPTICS"])
    before = audit_count()
    bodies = {
        ("PATCH", "/projects/{project_id}"): {"name": "改名"},
        ("POST", "/projects/{project_id}/transitions"): {"to": "started", "on": "2026-04-01"},
        ("POST", "/projects/{project_id}/transitions/revert"): {"reason": "x"},
        ("POST", "/projects/{project_id}/void"): {"reason": "x"},
    }
    for (method, path), body in bodies.items():
        assert (method, path) in ROUTES
        r = client.request(method, _fill(path, foreign_project), headers={**headers, "If-Match": '"1"'}, json=body)
        assert r.status_code == 403, f"{method} {path}: {r.status_code} {r.text[:200]}"
    for method, path in ROUTES:
        if path.startswith("/chains/{code}/") and not _allowed(method, path, ADMIN_ONLY):
            r = client.request(method, _fill(path, foreign_project), headers={**headers, "If-Match": '"1"'}, json={})
            assert r.status_code in (403, 422), f"{method} {path}: {r.status_code} {r.text[:200]}"
    assert audit_count() == before
