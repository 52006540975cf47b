"""The benchmark's REFERENCE: a plain ASGI callable serving the shared reference work (bench/reference_core.py).

No framework at all: the path and the method pick a handler, the query string is parsed with ``parse_qsl``, the
body of a transition with orjson, and the handler's bytes go out with one header. Its twin with FastAPI as the
only difference is bench/reference_fastapi.py; the SQL, the driver usage and the JSON are the same code.

Run: ``BENCH_REF_DATABASE_URL=sqlite:////tmp/x.db uvicorn bench.reference:app --workers 1``.
"""

from __future__ import annotations

from datetime import date
from urllib.parse import parse_qsl, unquote

import orjson

from bench.reference_core import (
    HEALTHZ,
    NOT_FOUND,
    Problem,
    decode_cursor,
    failure,
    h_get,
    h_ledger,
    h_list,
    h_summary,
    h_transition,
    shutdown,
    startup,
)

_JSON_HEADERS = [(b"content-type", b"application/json")]
_PROJECT = "/api/v1/projects/"


async def _read_body(receive) -> bytes:  # noqa: ANN001
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            return body


async def _route(scope, receive) -> tuple[int, bytes]:  # noqa: ANN001
    path, method = scope["path"], scope["method"]
    query = dict(parse_qsl(scope["query_string"].decode())) if scope["query_string"] else {}
    if method == "GET":
        if path == "/api/v1/projects":
            after = decode_cursor(query["cursor"]) if "cursor" in query else None
            return 200, await h_list(query.get("chain"), int(query.get("limit", 50)), after)
        if path.startswith(_PROJECT):
            return 200, await h_get(unquote(path[len(_PROJECT):]))
        if path == "/api/v1/ledger/summary":
            return 200, await h_summary(query["period"])
        if path == "/api/v1/ledger":
            return 200, await h_ledger(query["period"], int(query.get("limit", 500)))
        if path == "/healthz":
            return 200, HEALTHZ
    elif method == "POST" and path.startswith(_PROJECT) and path.endswith("/transitions"):
        body = orjson.loads(await _read_body(receive))
        project_id = unquote(path[len(_PROJECT):-len("/transitions")])
        return 200, await h_transition(project_id, body["to"], date.fromisoformat(body["on"]))
    return 404, NOT_FOUND


async def app(scope, receive, send) -> None:  # noqa: ANN001
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await startup()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return
    try:
        status, body = await _route(scope, receive)
    except (Problem, KeyError, ValueError) as exc:
        status, body = failure(exc)
    await send({"type": "http.response.start", "status": status, "headers": _JSON_HEADERS})
    await send({"type": "http.response.body", "body": body})
