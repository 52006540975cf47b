"""The one middleware every request passes (service/middleware.py: RequestMiddleware), tested alone around a
small ASGI app: what it adds to every response, what it refuses before the app runs, and what it counts."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from service.middleware import RequestMiddleware

calls: list[str] = []


async def echo(request: Request) -> JSONResponse:
    body = await request.body()
    calls.append(request.url.path)
    return JSONResponse({"bytes": len(body), "request_id": request.state.request_id,
                         "client_request_id": request.state.client_request_id})


async def page(request: Request) -> JSONResponse:
    """A web page's route: it answers a refused body itself (the web shows a page in the user's language)."""
    calls.append(request.url.path)
    try:
        body = await request.body()
    except HTTPException as exc:
        return JSONResponse({"refused": exc.status_code}, status_code=exc.status_code)
    return JSONResponse({"bytes": len(body)})


def _client() -> TestClient:
    app = Starlette(routes=[Route("/api/echo", echo, methods=["GET", "POST"]),
                            Route("/api/x/projects/import", echo, methods=["POST"]),
                            Route("/page", page, methods=["POST"])])
    return TestClient(RequestMiddleware(app, limit=100, import_limit=1000), raise_server_exceptions=False)


@pytest.fixture(autouse=True)
def _reset() -> None:
    calls.clear()


def test_every_response_gets_its_own_request_id_and_nosniff():
    c = _client()
    a, b = c.get("/api/echo"), c.get("/api/echo")
    assert a.headers["x-request-id"] == a.json()["request_id"] and len(a.headers["x-request-id"]) == 32
    assert a.headers["x-request-id"] != b.headers["x-request-id"]
    assert a.headers["x-content-type-options"] == "nosniff"
    missing = c.get("/nowhere")
    assert missing.status_code == 404 and missing.headers["x-content-type-options"] == "nosniff"


def test_a_clients_plain_request_id_is_kept_beside_the_services_own_never_in_its_place():
    c = _client()
    r = c.get("/api/echo", headers={"X-Request-ID": "abc-123"})
    assert r.json()["client_request_id"] == "abc-123" and r.headers["x-request-id"] != "abc-123"
    spoofed = c.get("/api/echo", headers={"X-Request-ID": "a b\\c"})
    assert spoofed.json()["client_request_id"] is None


def test_a_declared_body_over_the_limit_is_an_api_problem_before_the_app_runs():
    r = _client().post("/api/echo", content=b"x" * 101)
    assert r.status_code == 413 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["type"] == "/problems/payload-too-large" and "100 bytes" in r.json()["detail"]
    assert r.headers["x-request-id"] and calls == []


def test_a_web_page_answers_its_own_declared_body_over_the_limit_and_reads_none_of_it():
    c = _client()
    r = c.post("/page", content=b"x" * 101)
    assert r.status_code == 413 and r.json() == {"refused": 413} and calls == ["/page"]
    assert r.headers["x-request-id"] and r.headers["x-content-type-options"] == "nosniff"
    assert c.post("/page", content=b"x" * 100).json() == {"bytes": 100}


def test_an_undeclared_body_is_counted_as_it_arrives():
    def chunks():
        yield b"x" * 60
        yield b"x" * 60

    r = _client().post("/api/echo", content=chunks())  # chunked: no Content-Length
    # The app saw the refusal as it read (an HTTPException from ``receive``; the service's handler writes it as a
    # problem, tests/reliability/test_hostile_input.py) and answered it itself.
    assert r.status_code == 413 and calls == []


def test_imports_have_their_own_larger_limit():
    c = _client()
    assert c.post("/api/x/projects/import", content=b"x" * 500).json()["bytes"] == 500
    assert c.post("/api/x/projects/import", content=b"x" * 1001).status_code == 413
    assert c.post("/api/echo", content=b"x" * 100).json()["bytes"] == 100


@pytest.mark.parametrize("url, where", [("/api/echo%00x", "path"), ("/api/echo?q=a%00b", "query")])
def test_a_nul_in_the_url_is_422_before_the_app_runs(url, where):
    r = _client().get(url)
    assert r.status_code == 422 and r.json()["errors"][0] == {
        "loc": [where], "msg": "must not contain NUL characters", "type": "nul_character"}
    assert calls == []


def test_each_request_is_counted_once_by_method_route_and_status():
    def count(route: str, status: str) -> float:
        return REGISTRY.get_sample_value("ledger_http_requests_total",
                                         {"method": "POST", "route": route, "status": status}) or 0.0

    before_ok, before_413 = count("/api/echo", "200"), count("<unmatched>", "413")
    c = _client()
    c.post("/api/echo", content=b"12")
    c.post("/api/echo", content=b"x" * 101)  # refused before routing: no route template
    assert count("/api/echo", "200") == before_ok + 1 and count("<unmatched>", "413") == before_413 + 1


def test_a_page_that_lets_a_declared_refusal_through_still_gets_the_problem_never_a_500():
    """Outside /api/ the app answers a body declared over the limit itself; one that lets the refusal escape (it
    reads the body and does not catch it) gets the API's problem, as a body found too large while it streams."""
    async def careless(scope, receive, send) -> None:  # noqa: ANN001
        calls.append(scope["path"])
        await receive()

    c = TestClient(RequestMiddleware(careless, limit=100, import_limit=1000), raise_server_exceptions=False)
    r = c.post("/page", content=b"x" * 101)
    assert r.status_code == 413 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["type"] == "/problems/payload-too-large" and calls == ["/page"]
