"""The service's one pure-ASGI middleware: input limits, request id, security headers, access log and metrics."""

from __future__ import annotations

import re
import time
import uuid
from urllib.parse import unquote_plus

import orjson
import structlog
from fastapi import HTTPException
from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.logging import get_logger

log = get_logger("chain_ledger.request")

REQUESTS = Counter("ledger_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "ledger_http_request_duration_seconds", "HTTP request latency", ["method", "route"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")


class RequestMiddleware:
    """The one middleware every request passes (pure ASGI), doing what every request needs, in this order:

    1. **Input limits** before any route runs: 422 for a NUL character in the URL (PostgreSQL cannot even compare
       text holding one, so it must never reach a query); 413 for a body over ``limit`` (``import_limit`` for
       ``…/projects/import``), by ``Content-Length`` or by counting what arrives. An API request declared too large
       gets its problem+json here; a web page's is passed on with a body that refuses to be read, so that the page
       answers in the user's language (``WebRoute``) — in both cases no byte of it is read.
    2. **The request's id**: the service's own, echoed as ``X-Request-ID``. A client's ``X-Request-ID`` (when it is
       plain: ``[A-Za-z0-9._:-]``, at most 100 characters) is kept beside it as ``client_request_id`` — in the log
       line and in the audit events the request writes — never in its place.
    3. **Headers of every response**: ``X-Content-Type-Options: nosniff`` (a browser never guesses a type the
       service did not send).
    4. **One access log line and the metrics** (count and latency by route template) when the request ends.

    One layer instead of a stack of them: each layer of middleware costs every request a call and a wrapped
    ``send`` (docs/performance.md, "The request pipeline")."""

    def __init__(self, app: ASGIApp, *, limit: int, import_limit: int):
        self.app = app
        self.limit = limit
        self.import_limit = import_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex
        limit = self.import_limit if scope["path"].endswith("/projects/import") else self.limit
        client_request_id = None
        declared = 0
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                candidate = value.decode("latin-1")
                if client_request_id is None and _REQUEST_ID.match(candidate):
                    client_request_id = candidate
            elif name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        state["client_request_id"] = client_request_id
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500
        responded = False
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def send_wrapper(message: Message) -> None:
            nonlocal status, responded
            if message["type"] == "http.response.start":
                status = message["status"]
                responded = True
                message.setdefault("headers", []).extend(
                    ((b"x-request-id", request_id.encode()), (b"x-content-type-options", b"nosniff")))
            await send(message)

        try:
            where = _nul_in_url(scope)
            if where is not None:
                await _send_problem(send_wrapper, 422, {
                    "type": "/problems/validation-error",
                    "title": "Invalid input",
                    "status": 422,
                    "detail": f"The {where} of the URL contains a NUL character.",
                    "errors": [{"loc": [where], "msg": "must not contain NUL characters", "type": "nul_character"}],
                })
            elif declared > limit and scope["path"].startswith("/api/"):
                await _too_large(send_wrapper, limit)
            else:
                # A web page declared too large reads nothing (its first read raises) and answers with a page in
                # the user's language; whatever lets the refusal through unanswered gets the problem here.
                body = _refuse_body(limit) if declared > limit else counting_receive
                try:
                    await self.app(scope, body, send_wrapper)
                except BodyTooLarge:
                    if not responded:
                        await _too_large(send_wrapper, limit)
        finally:
            elapsed = time.perf_counter() - started
            template = route_template(scope)
            actor = state.get("actor")
            REQUESTS.labels(scope["method"], template, str(status)).inc()
            LATENCY.labels(scope["method"], template).observe(elapsed)
            log.info(
                "request",
                method=scope["method"],
                route=template,
                status=status,
                duration_ms=round(elapsed * 1000, 2),
                actor=f"{actor.role}:{actor.name}" if actor else None,
                client_request_id=client_request_id,
            )
            structlog.contextvars.unbind_contextvars("request_id")


def route_template(scope: Scope) -> str:
    """The matched route's path template with its router prefix (``/api/v1/projects/{project_id}``)."""
    effective = scope.get("fastapi", {}).get("effective_route_context")  # FastAPI ≥ 0.16x: included routers
    path = getattr(effective, "path", None) or getattr(scope.get("route"), "path", None)
    return path or "<unmatched>"


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` once the body passes the limit; FastAPI lets HTTPException through as is."""

    def __init__(self, limit: int):
        super().__init__(413, f"The request body exceeds the limit of {limit} bytes.")


def _refuse_body(limit: int) -> Receive:
    """A ``receive`` for a body declared larger than ``limit``: the route's first read of it raises, before a byte
    of it is read."""

    async def receive() -> Message:
        raise BodyTooLarge(limit)

    return receive


def _nul_in_url(scope: Scope) -> str | None:
    """``"path"`` or ``"query"`` when that part of the URL decodes to text holding a NUL character."""
    if "\x00" in scope["path"]:
        return "path"
    query = scope.get("query_string", b"")
    if query and "\x00" in unquote_plus(query.decode("latin-1")):
        return "query"
    return None


async def _too_large(send: Send, limit: int) -> None:
    await _send_problem(send, 413, {
        "type": "/problems/payload-too-large",
        "title": "Payload too large",
        "status": 413,
        "detail": f"The request body exceeds the limit of {limit} bytes.",
    })


async def _send_problem(send: Send, status: int, problem: dict) -> None:
    body = orjson.dumps(problem)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
