"""Authentication and the who-may-write-what table (SPEC §1)."""

from __future__ import annotations

import pytest

from tests.api.conftest import API, P, assert_problem, project_body

PROJECT_ID = "{pid}"

#: Every write so far, with a body that would succeed for an admin: (method, path, body, headers).
WRITES = [
    ("post", "/departments", {"code": "NEW", "name": "新部门"}, {}),
    ("post", "/districts", {"code": "NEW", "name": "新区", "kind": "district"}, {}),
    ("post", "/chains", {"code": "NEW", "name": "新链", "leader": "链长", "lead_department": "FGW"}, {}),
    ("patch", "/chains/OPTICS", {"leader": "新链长"}, {"If-Match": '"1"'}),
    ("post", "/projects", project_body(), {}),
    ("patch", "/projects/{pid}", {"name": "改名"}, {"If-Match": '"1"'}),
    ("post", "/projects/{pid}/transitions", {"to": "started", "on": "2026-02-01"}, {}),
    ("post", "/projects/{pid}/transitions", {"to": "cancelled", "on": "2026-02-01", "reason": "撤资"}, {}),
    ("post", "/projects/{pid}/transitions/revert", {"reason": "录错"}, {}),
    ("post", "/projects/{pid}/void", {"reason": "重复"}, {}),
]
WRITE_IDS = [f"{m.upper()} {p} {b.get('to', '')}".strip() for m, p, b, _ in WRITES]


@pytest.fixture
def target(client, admin, new_project, move):
    """An OPTICS project that has one transition (so revert has something to undo)."""
    p = new_project()
    assert move(p["id"], "started", "2026-02-01").status_code == 200
    return client.get(f"{P}/{p['id']}", headers=admin).json()


def _send(client, method, path, body, headers, token, pid):
    path = path.replace(PROJECT_ID, pid)
    if "transitions" in path and body.get("to") == "started":
        body = {"to": "in_production", "on": "2026-03-01"}
    if path.startswith("/projects/") and "If-Match" in headers:
        headers = {**headers, "If-Match": '"2"'}
    return getattr(client, method)(f"{API}{path}", json=body, headers={**token, **headers})


# ---------------------------------------------------------------- 401


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer unknown-token", "Bearer ", "Basic YWRtaW46YWRtaW4=", "bearer", "Token abc", "Bearer a b"],
)
def test_missing_or_unknown_token_is_401(client, reference, unchanged, authorization):
    headers = {} if authorization is None else {"Authorization": authorization}
    with unchanged():
        for method, path, body in [("get", "/projects", None), ("get", "/me", None),
                                   ("post", "/projects", project_body()), ("get", "/audit/verify", None)]:
            r = getattr(client, method)(f"{API}{path}", headers=headers, **({"json": body} if body else {}))
            assert_problem(r, 401, "/problems/unauthenticated")
            assert r.headers["www-authenticate"].startswith("Bearer")


def test_revoked_token_is_401(client, make_token, reference, execute_sql):
    viewer = make_token("viewer", "soon-revoked")
    assert client.get(f"{API}/me", headers=viewer).status_code == 200
    execute_sql("UPDATE api_token SET revoked_at = created_at WHERE name = 'soon-revoked'")
    assert_problem(client.get(f"{API}/me", headers=viewer), 401)


def test_token_is_stored_only_as_a_hash(client, make_token, execute_sql):
    headers = make_token("viewer", "hashed")
    token = headers["Authorization"].removeprefix("Bearer ")
    (row,) = execute_sql("SELECT token_hash FROM api_token WHERE name = 'hashed'")
    assert token not in row[0] and len(row[0]) == 64


def test_bearer_scheme_is_case_insensitive(client, make_token):
    headers = make_token("viewer")
    token = headers["Authorization"].removeprefix("Bearer ")
    assert client.get(f"{API}/me", headers={"Authorization": f"bearer {token}"}).status_code == 200


# ---------------------------------------------------------------- 403 by role


@pytest.mark.parametrize("role", ["viewer", "auditor"])
@pytest.mark.parametrize(("method", "path", "body", "headers"), WRITES, ids=WRITE_IDS)
def test_readers_cannot_write(client, make_token, target, unchanged, role, method, path, body, headers):
    token = make_token(role)
    with unchanged():
        assert_problem(_send(client, method, path, body, headers, token, target["id"]), 403, "/problems/forbidden")


@pytest.mark.parametrize(("method", "path", "body", "headers"), WRITES, ids=WRITE_IDS)
def test_admin_can_do_every_write(client, admin, target, audit_count, method, path, body, headers):
    before = audit_count()
    r = _send(client, method, path, body, headers, admin, target["id"])
    assert r.status_code in (200, 201), r.text
    assert audit_count() == before + 1


@pytest.mark.parametrize(("method", "path", "body", "headers"), WRITES, ids=WRITE_IDS)
def test_department_writes_projects_of_its_own_chains_only(
    client, admin, make_token, target, new_project, move, unchanged, audit_count, method, path, body, headers
):
    dept = make_token("department", "jxj", chains=["OPTICS"])
    if not path.startswith("/projects"):
        with unchanged():
            assert_problem(_send(client, method, path, body, headers, dept, target["id"]), 403)
        return
    # Its own chain: allowed.
    before = audit_count()
    r = _send(client, method, path, body, headers, dept, target["id"])
    assert r.status_code in (200, 201), r.text
    assert audit_count() == before + 1
    # Another chain: 403, nothing written.
    other = new_project(chain="AUTO")
    assert move(other["id"], "started", "2026-02-01").status_code == 200
    if method == "post" and path == "/projects":
        body = project_body(chain="AUTO")
    with unchanged():
        assert_problem(_send(client, method, path, body, headers, dept, other["id"]), 403, "/problems/forbidden")
    assert client.get(f"{P}/{other['id']}", headers=admin).json()["version"] == 2


def test_department_cannot_create_for_an_unscoped_chain_even_at_backfill(client, make_token, reference, unchanged):
    dept = make_token("department", chains=["OPTICS"])
    body = project_body(chain="AUTO", stage="started", milestones={"signed": "2026-01-10", "started": "2026-02-01"})
    with unchanged():
        assert_problem(client.post(P, json=body, headers=dept), 403)
    body["chain"] = "OPTICS"
    r = client.post(P, json=body, headers=dept)
    assert r.status_code == 201 and r.json()["stage"] == "started"


def test_department_with_no_chains_writes_nothing(client, make_token, target, unchanged):
    dept = make_token("department", chains=[])
    with unchanged():
        assert_problem(client.post(P, json=project_body(), headers=dept), 403)
        assert_problem(client.post(f"{P}/{target['id']}/void", json={"reason": "x"}, headers=dept), 403)


# ---------------------------------------------------------------- integration


def test_integration_creates_signed_projects(client, make_token, reference, audit_count, events):
    integ = make_token("integration", "招商平台")
    r = client.post(P, json=project_body(external_ref="ZS-9", chain="AUTO"), headers=integ)
    assert r.status_code == 201, r.text
    e = events(action="project.created")[-1]
    assert e["actor"] == {"name": "招商平台", "role": "integration"}


@pytest.mark.parametrize(
    ("stage", "milestones"),
    [
        ("started", {"signed": "2026-01-10", "started": "2026-02-01"}),
        ("in_production", {"signed": "2026-01-10", "started": "2026-02-01", "in_production": "2026-03-01"}),
        ("at_capacity", {"signed": "2026-01-10", "started": "2026-02-01", "in_production": "2026-03-01",
                         "at_capacity": "2026-04-01"}),
    ],
)
def test_integration_cannot_backfill_later_stages(client, make_token, reference, unchanged, stage, milestones):
    with unchanged():
        assert_problem(client.post(P, json=project_body(stage=stage, milestones=milestones),
                                   headers=make_token("integration")), 403, "/problems/forbidden")


@pytest.mark.parametrize(("method", "path", "body", "headers"),
                         [w for w in WRITES if w[1] != "/projects"],
                         ids=[i for i, w in zip(WRITE_IDS, WRITES, strict=True) if w[1] != "/projects"])
def test_integration_cannot_change_projects_or_reference(client, make_token, target, unchanged,
                                                        method, path, body, headers):
    with unchanged():
        assert_problem(_send(client, method, path, body, headers, make_token("integration"), target["id"]), 403)


# ---------------------------------------------------------------- reads


@pytest.mark.parametrize("role", ["admin", "department", "integration", "auditor", "viewer"])
def test_every_role_reads_reference_and_projects(client, make_token, target, role):
    headers = make_token(role, chains=["AUTO"] if role == "department" else None)
    for path in ["/departments", "/districts", "/chains", "/chains/OPTICS", "/projects", f"/projects/{target['id']}",
                 "/me"]:
        assert client.get(f"{API}{path}", headers=headers).status_code == 200, path


@pytest.mark.parametrize(("role", "status"),
                         [("admin", 200), ("auditor", 200), ("viewer", 403), ("department", 403),
                          ("integration", 403)])
@pytest.mark.parametrize("path", ["/audit/events", "/audit/verify"])
def test_audit_is_for_admin_and_auditor(client, make_token, reference, role, status, path):
    r = client.get(f"{API}{path}", headers=make_token(role, chains=["OPTICS"] if role == "department" else None))
    if status == 403:
        assert_problem(r, 403)
    else:
        assert r.status_code == 200, r.text


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics", "/openapi.json", "/docs"])
def test_operations_need_no_token(client, path):
    assert client.get(path).status_code == 200


@pytest.mark.parametrize(
    ("role", "chains"),
    [("department", ["OPTICS", "AUTO"]), ("department", ["OPTICS"]), ("viewer", []), ("admin", []),
     ("integration", []), ("auditor", [])],
)
def test_me_names_the_caller(client, make_token, reference, role, chains):
    r = client.get(f"{API}/me", headers=make_token(role, f"{role}-me", chains=chains))
    assert r.status_code == 200
    assert r.json() == {"name": f"{role}-me", "role": role, "chains": sorted(chains)}
