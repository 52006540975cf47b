"""Cross-cutting conventions (SPEC §1): problem+json, 400/404/405/413/422, request id, metrics, CORS, health."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from service.config import Settings
from tests.api.conftest import API, P, assert_problem, assert_validation, project_body

MIB = 1024 * 1024


# ---------------------------------------------------------------- 400 malformed body


@pytest.mark.parametrize("path", ["/projects", "/departments", "/districts", "/chains"])
@pytest.mark.parametrize("raw", [b"{broken", b'{"name": "x",}', b"\xff\xfe", b'{"name": "x"',
                                 b"[" * 100_000, b'{"name": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"])
def test_malformed_json_is_400(client, admin, reference, unchanged, path, raw):
    with unchanged():
        body = assert_problem(
            client.post(f"{API}{path}", content=raw, headers={**admin, "Content-Type": "application/json"}), 400,
            "/problems/malformed-body")
    assert body["instance"] == f"{API}{path}"


def test_malformed_json_on_actions_and_patch_is_400(client, admin, new_project, unchanged):
    p = new_project()
    headers = {**admin, "Content-Type": "application/json", "If-Match": '"1"'}
    with unchanged():
        for method, suffix in [("post", "/transitions"), ("post", "/transitions/revert"), ("post", "/void"),
                               ("patch", "")]:
            r = getattr(client, method)(f"{P}/{p['id']}{suffix}", content=b"{nope", headers=headers)
            assert_problem(r, 400, "/problems/malformed-body")


@pytest.mark.parametrize(("raw", "loc"), [(b"[]", ("body",)), (b'"text"', ("body",)), (b"42", ("body",)),
                                          (b"null", ("body",)), (b"", ("body",)), (b"{}", ("body", "name"))])
def test_well_formed_json_of_the_wrong_shape_is_422(client, admin, reference, unchanged, raw, loc):
    with unchanged():
        assert_validation(client.post(P, content=raw, headers={**admin, "Content-Type": "application/json"}), *loc)


def test_validation_problem_lists_every_bad_field(client, admin, reference, unchanged):
    body = project_body(name="", planned_investment="-3", stage="foo", extra=1)
    with unchanged():
        problem = assert_problem(client.post(P, json=body, headers=admin), 422, "/problems/validation-error")
    locs = {tuple(e["loc"]) for e in problem["errors"]}
    assert {("body", "name"), ("body", "planned_investment"), ("body", "stage"), ("body", "extra")} <= locs
    for e in problem["errors"]:
        assert set(e) == {"loc", "msg", "type"}


# ---------------------------------------------------------------- 413


def test_two_mib_body_is_413(client, admin, reference, unchanged):
    big = project_body(name="x", investor="y" * (2 * MIB))
    with unchanged():
        r = client.post(P, json=big, headers={**admin, "X-Request-ID": "too-big"})
        assert_problem(r, 413, "/problems/payload-too-large")
    assert re.fullmatch(r"[0-9a-f]{32}", r.headers["x-request-id"])  # the service's own id, never the client's


def test_streamed_body_over_the_limit_is_413(client, admin, reference, unchanged):
    def chunks():
        yield b'{"name": "'
        for _ in range(20):
            yield b"x" * (128 * 1024)
        yield b'"}'

    with unchanged():
        assert_problem(client.post(P, content=chunks(), headers={**admin, "Content-Type": "application/json"}), 413)


def test_body_at_the_limit_is_accepted(client, admin, reference):
    raw = (
        b'{"name": "a", "chain": "OPTICS", "district": "JA", "investor": "b", "planned_investment": "1",'
        b' "milestones": {"signed": "2026-01-10"}}'
    )
    padded = raw[:-1] + b" " * (MIB - len(raw)) + b"}"
    assert len(padded) == MIB
    r = client.post(P, content=padded, headers={**admin, "Content-Type": "application/json"})
    assert r.status_code == 201, r.text
    r = client.post(P, content=padded + b" ", headers={**admin, "Content-Type": "application/json"})
    assert_problem(r, 413)


def test_oversized_body_is_refused_before_authentication(client, reference):
    assert_problem(client.post(P, content=b" " * (MIB + 1), headers={"Content-Type": "application/json"}), 413)


# ---------------------------------------------------------------- NUL and other hostile input: never 500


@pytest.mark.parametrize(
    "url",
    [
        f"{P}?q=a%00b",
        f"{P}?chain=OPT%00ICS",
        f"{P}?district=%00",
        f"{P}/abc%00def",
        f"{API}/chains/OPT%00ICS",
        f"{API}/audit/events?entity_id=x%00",
        f"{API}/audit/events?entity=%00",
        f"{API}/audit/events?action=project.%00",
    ],
)
def test_nul_in_the_url_is_422_not_500(client, admin, reference, url):
    r = client.get(url, headers=admin)
    body = assert_problem(r, 422)
    assert body["errors"]


@pytest.mark.parametrize(
    "url",
    [
        f"{API}/audit/events?since=2026-11-01T00:00:00",
        f"{API}/audit/events?until=2026-11-01",
        f"{API}/audit/events?since=0001-01-01T00:00:00%2B01:00",
        f"{API}/audit/events?until=9999-12-31T23:59:59-01:00",
        f"{API}/audit/events?since=yesterday",
        f"{API}/audit/events?after=-1",
        f"{API}/audit/events?after=99999999999999999999999",
    ],
)
def test_bad_audit_queries_are_422(client, admin, reference, url):
    assert_problem(client.get(url, headers=admin), 422)


def test_unicode_and_long_values_round_trip(client, admin, reference):
    name = "𠮷野家🏭 — “quoted” \\ / 'single' <tag> & amp"
    r = client.post(P, json=project_body(name=name, investor="x" * 200), headers=admin)
    assert r.status_code == 201, r.text
    assert client.get(f"{P}/{r.json()['id']}", headers=admin).json()["name"] == name


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", "a\tb"),  # a tab in one line of text
        ("name", "a\x00b"),
        ("name", "a\x85b"),  # a C1 control
        ("name", "evil\u202egnp.exe"),  # right-to-left override: reads differently from what is stored
        ("name", "zero\u200bwidth"),
        ("investor", "\ufeffBOM"),
        ("name", "\u2066isolate\u2069"),
        ("name", " \t "),  # nothing visible
    ],
)
def test_invisible_and_control_characters_are_refused_in_one_line_text(client, admin, reference, unchanged, field,
                                                                        value):
    with unchanged():
        r = client.post(P, json=project_body(**{field: value}), headers=admin)
    body = assert_validation(r, "body", field)
    msg = next(e["msg"] for e in body["errors"] if e["loc"] == ["body", field])
    assert "visible" in msg or "at least 1" in msg, msg


def test_free_text_keeps_line_breaks_and_tabs_but_not_controls(admin, new_project, move, unchanged):
    p = new_project()
    with unchanged():
        assert_validation(move(p["id"], "cancelled", "2026-02-01", reason="a\x07bell"), "body", "reason")
    r = move(p["id"], "cancelled", "2026-02-01", reason="第一行\n\t第二行")
    assert r.status_code == 200, r.text
    assert r.json()["cancel_reason"] == "第一行\n\t第二行"


# ---------------------------------------------------------------- 404 / 405


@pytest.mark.parametrize("path", ["/nope", f"{API}/nope", f"{API}/projects/x/nope", "/api/v2/projects"])
def test_unknown_route_is_404_problem(client, admin, path):
    assert_problem(client.get(path, headers=admin), 404, "/problems/not-found")


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("DELETE", f"{API}/chains/OPTICS", {"GET", "PATCH"}),
        ("PUT", f"{API}/projects", {"GET", "POST"}),
        ("DELETE", f"{API}/projects/01J00000000000000000000000", {"GET", "PATCH"}),
        ("POST", "/healthz", {"GET"}),
    ],
)
def test_wrong_method_is_405_naming_every_allowed_method(client, admin, reference, unchanged, method, path, allow):
    with unchanged():
        r = client.request(method, path, headers=admin, json={})
    assert_problem(r, 405, "/problems/method-not-allowed")
    assert set(r.headers["allow"].replace(" ", "").split(",")) == allow


# ---------------------------------------------------------------- request id


def test_the_request_id_is_the_services_own(client, admin, reference):
    """A client's X-Request-ID is kept beside the service's id (log line, audit events), never echoed as it."""
    for r in [client.get(P, headers={**admin, "X-Request-ID": "abc-123"}),
              client.get(f"{P}/nope", headers={**admin, "X-Request-ID": "abc-123"}),
              client.get(P, headers={"X-Request-ID": "abc-123"}),
              client.post(P, content=b"{", headers={**admin, "X-Request-ID": "abc-123",
                                                    "Content-Type": "application/json"})]:
        assert re.fullmatch(r"[0-9a-f]{32}", r.headers["x-request-id"])


@pytest.mark.parametrize("sent", [None, "", "has space", "x" * 101, "bad\u00e9"])
def test_request_id_is_generated_when_absent_or_unusable(client, admin, sent):
    headers = dict(admin)
    if sent is not None:
        headers["X-Request-ID"] = sent.encode("utf-8")  # bytes: httpx sends them as they are
    a = client.get(f"{API}/me", headers=headers).headers["x-request-id"]
    b = client.get(f"{API}/me", headers=headers).headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", a) and a != b


# ---------------------------------------------------------------- operations


def test_health_and_readiness(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    r = client.get("/readyz")
    assert r.status_code == 200 and r.json() == {"status": "ready"}


def test_metrics_count_requests_by_route_template(client, admin, new_project):
    p = new_project()
    client.get(f"{P}/{p['id']}", headers=admin)
    client.get(f"{P}/{p['id']}", headers=admin)
    client.get("/definitely-not-here")
    r = client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    text = r.text
    assert "# TYPE ledger_http_requests_total counter" in text
    assert re.search(
        r'ledger_http_requests_total\{method="GET",route="/api/v1/projects/\{project_id\}",status="200"\} \d+', text)
    assert re.search(r'ledger_http_requests_total\{method="POST",route="/api/v1/projects",status="201"\} \d+', text)
    assert p["id"] not in text  # ids never become label values
    assert "definitely-not-here" not in text
    assert "ledger_http_request_duration_seconds_bucket" in text


def test_responses_are_json_with_declared_content_types(client, admin, new_project):
    p = new_project()
    for url in [P, f"{P}/{p['id']}", f"{API}/chains", f"{API}/me", f"{API}/audit/verify"]:
        r = client.get(url, headers=admin)
        assert r.status_code == 200 and r.headers["content-type"] == "application/json", url


# ---------------------------------------------------------------- CORS


@pytest.fixture
def cors_client(db_url):
    from service.main import create_app

    app = create_app(Settings(database_url=db_url, cors_origins="https://ledger.example.gov.cn, https://b.example"))
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c
    app.state.db.engine.dispose()


def test_cors_allows_configured_origins_only(cors_client):
    ok = cors_client.options(f"{API}/projects", headers={
        "Origin": "https://ledger.example.gov.cn", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type,idempotency-key"})
    assert ok.status_code == 200
    assert ok.headers["access-control-allow-origin"] == "https://ledger.example.gov.cn"
    bad = cors_client.options(f"{API}/projects", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in bad.headers
    simple = cors_client.get("/healthz", headers={"Origin": "https://b.example"})
    assert simple.headers["access-control-allow-origin"] == "https://b.example"
    assert "etag" in simple.headers["access-control-expose-headers"].lower()
    assert "access-control-allow-origin" not in cors_client.get("/healthz", headers={"Origin": "https://x.example"}).headers


def test_no_cors_by_default(client):
    r = client.get("/healthz", headers={"Origin": "https://ledger.example.gov.cn"})
    assert "access-control-allow-origin" not in r.headers
    r = client.options(f"{API}/projects", headers={"Origin": "https://ledger.example.gov.cn",
                                                   "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in r.headers


# ---------------------------------------------------------------- the OpenAPI contract of these routes

#: The operations this suite covers, with the statuses each must declare besides its success.
DECLARED = {
    "get_me": {401},
    "create_department": {400, 401, 403, 409, 413, 422},
    "create_district": {400, 401, 403, 409, 413, 422},
    "create_chain": {400, 401, 403, 409, 413, 422},
    "list_departments": {401, 422},
    "list_districts": {401, 422},
    "list_chains": {401, 422},
    "get_chain": {401, 404},
    "update_chain": {400, 401, 403, 404, 412, 413, 422, 428},
    "create_project": {400, 401, 403, 409, 413, 422},
    "list_projects": {401, 422},
    "get_project": {401, 404, 422},
    "update_project": {400, 401, 403, 404, 409, 412, 413, 422, 428},
    "transition_project": {400, 401, 403, 404, 409, 412, 413, 422},
    "revert_transition": {400, 401, 403, 404, 409, 412, 413, 422},
    "void_project": {400, 401, 403, 404, 409, 412, 413, 422},
    "list_audit_events": {401, 403, 422},
    "verify_audit_chain": {401, 403},
}


def test_every_status_these_routes_answer_is_declared(client):
    spec = client.get("/openapi.json").json()
    operations = {op["operationId"]: op for ops in spec["paths"].values() for op in ops.values()}
    for operation_id, statuses in DECLARED.items():
        declared = {int(s) for s in operations[operation_id]["responses"] if s.isdigit() and int(s) >= 400}
        assert statuses <= declared, (operation_id, statuses - declared)
        for s in statuses:
            content = operations[operation_id]["responses"][str(s)]["content"]
            assert "application/problem+json" in content, (operation_id, s)


# ---------------------------------------------------------------- one log line per request


def test_one_access_log_event_per_request(client, admin, reference, monkeypatch):
    import structlog

    import service.middleware as middleware

    seen: list[dict] = []

    class Recorder:
        def info(self, event, **fields):
            seen.append({"event": event, **structlog.contextvars.get_contextvars(), **fields})

        def __getattr__(self, name):  # warning/error of other code paths
            return lambda *a, **k: None

    monkeypatch.setattr(middleware, "log", Recorder())
    token = admin["Authorization"].removeprefix("Bearer ")
    client.get(f"{P}?q=x", headers={**admin, "X-Request-ID": "log-1"})
    client.post(P, json=project_body(chain="NOPE"), headers={**admin, "X-Request-ID": "log-2"})
    client.get(f"{API}/me")
    requests = [e for e in seen if e["event"] == "request"]
    assert len(requests) == 3
    first, second, third = requests
    assert first["client_request_id"] == "log-1" and re.fullmatch(r"[0-9a-f]{32}", first["request_id"])
    assert first["method"] == "GET" and first["route"] == "/api/v1/projects"
    assert first["status"] == 200 and first["actor"] == "admin:admin-tester"
    assert isinstance(first["duration_ms"], float | int) and first["duration_ms"] >= 0
    assert second["client_request_id"] == "log-2" and second["status"] == 422 and second["method"] == "POST"
    assert third["status"] == 401 and third["actor"] is None and re.fullmatch(r"[0-9a-f]{32}", third["request_id"])
    assert token not in repr(seen)
