"""HTTP details shared by routers: JSON responses with ETag, If-Match, cursors, idempotency records."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
from fastapi import Header, Query, Request
from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator
from sqlalchemy.orm import Session
from starlette.responses import Response

from service.domain import errors as d
from service.domain.audit_chain import canonical_json
from service.usecases import idempotency as keys

_ETAG = re.compile(r'^\s*(?:W/)?"?(\d{1,18})"?\s*$')

def _utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError("is out of range once converted to UTC") from exc


_RFC3339_START = re.compile(r"^\s*\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def _rfc3339_text(value: Any) -> Any:
    """Timestamps are RFC 3339 text: pydantic alone would read a bare number as Unix seconds (``0.5`` → 1970)."""
    if isinstance(value, str) and not _RFC3339_START.match(value):
        raise ValueError("must be an RFC 3339 timestamp such as 2026-05-05T00:00:00+08:00")
    return value


#: A timestamp query parameter: RFC 3339 with an offset (a naive time would be ambiguous), as UTC.
Instant = Annotated[AwareDatetime, BeforeValidator(_rfc3339_text), AfterValidator(_utc)]

Limit = Annotated[int, Query(ge=1, le=500, description="Page size (default 50, max 500).")]
Cursor = Annotated[str | None, Query(max_length=512, description="Opaque cursor from `next_cursor`.")]
AsOf = Annotated[
    Annotated[datetime, BeforeValidator(_rfc3339_text)] | None,
    Query(description="Read the state the ledger knew at this moment (RFC 3339 with a time zone)."),
]
IfMatch = Annotated[
    str | None,
    Header(alias="If-Match", description='The ETag read before, e.g. "3". Required on PATCH/PUT of a resource.'),
]


def parse_if_match(value: str | None) -> int | None:
    """``"3"``, ``W/"3"`` or ``3`` → 3. Anything else can never match the current version (412)."""
    if value is None:
        return None
    match = _ETAG.match(value)
    if not match:
        raise d.StaleVersion(f"If-Match {value!r} is not an ETag this service issued.")
    return int(match.group(1))


#: The largest sequence number a column can hold (``audit_event.seq`` is a 32-bit INTEGER on PostgreSQL):
#: a larger ``after`` or cursor value is invalid input, not a query that overflows.
SEQ_MAX = 2**31 - 1
#: Keyset positions are ids, codes or sequence numbers: nothing else can come from a cursor we issued.
_CURSOR_INT_MAX = SEQ_MAX


def _cursor_value_ok(value: Any, kind: type | None) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return kind in (None, int) and 0 <= value <= _CURSOR_INT_MAX
    if isinstance(value, str):
        return kind in (None, str) and len(value) <= 200 and "\x00" not in value
    return False


def encode_cursor(values: Sequence[Any]) -> str:
    """An opaque keyset cursor: the canonical JSON of the last row's key, in URL-safe base64."""
    return base64.urlsafe_b64encode(canonical_json(list(values)).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> list[Any]:
    """Raise ValueError on anything that is not a cursor this service issued."""
    padded = cursor + "=" * (-len(cursor) % 4)
    try:
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except Exception as exc:  # noqa: BLE001 - any decoding failure means "not our cursor"
        raise ValueError("malformed cursor") from exc
    if not isinstance(values, list):
        raise ValueError("malformed cursor")
    return values


def cursor_values(cursor: str | None, arity: int, *, types: tuple[type, ...] | None = None) -> list[Any] | None:
    """Decode a cursor into its ``arity`` keyset values (each a str or a non-negative int, of ``types`` when
    given). Anything else was not issued by this endpoint: 422, never a query with a value of the wrong type."""
    if cursor is None:
        return None
    try:
        values = decode_cursor(cursor)
    except ValueError:
        values = None
    if (
        values is None
        or len(values) != arity
        or not all(_cursor_value_ok(v, types[i] if types else None) for i, v in enumerate(values))
    ):
        raise d.InvalidInput.at(["query", "cursor"], "Not a cursor issued by this endpoint.")
    return values


def next_cursor(rows: list[Any], limit: int, key) -> str | None:  # noqa: ANN001
    """A cursor after the last row when the page is full (``rows`` fetched with limit + 1)."""
    if len(rows) <= limit:
        return None
    return encode_cursor(key(rows[limit - 1]))


def json_response(
    model: BaseModel | dict[str, Any],
    *,
    status_code: int = 200,
    version: int | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """``model`` serialised once (pydantic → JSON bytes; a dict of plain JSON values, e.g. ``project_json``,
    by orjson with UTC as ``Z`` as pydantic writes it), with its ETag when it has a version.

    Every endpoint that holds the request's session answers with a ``Response`` built here or by ``respond``,
    never with a model: FastAPI would validate and serialise a returned model in another worker thread while
    the session still holds its connection (docs/performance.md; tests/test_routes.py holds the line)."""
    body = (model.__pydantic_serializer__.to_json(model) if isinstance(model, BaseModel)
            else orjson.dumps(model, option=orjson.OPT_UTC_Z))
    return Response(body, status_code=status_code, media_type="application/json", headers=_headers(version, headers))


def _headers(version: int | None, headers: dict[str, str] | None) -> dict[str, str]:
    out = dict(headers or {})
    if version is not None:
        out["ETag"] = f'"{version}"'
    return out


def respond(
    request: Request,
    session: Session | None,
    model: BaseModel | dict[str, Any],
    *,
    status_code: int = 200,
    version: int | None = None,
    headers: dict[str, str] | None = None,
    stored: BaseModel | dict[str, Any] | None = None,
) -> Response:
    """``json_response``; when the request claimed an Idempotency-Key, this exact response is also stored, in the
    same transaction as the write it answers (``service/usecases/idempotency.py``) — or ``stored`` instead, when
    given (the same answer without what must be shown only once, such as a secret: replays then repeat
    ``stored``)."""
    out = _headers(version, headers)
    response = json_response(model, status_code=status_code, headers=out)
    record_id = getattr(request.state, "idempotency_record", None)
    if record_id is not None and session is not None and 200 <= status_code < 300:
        body = (response if stored is None else json_response(stored)).body.decode()
        keys.complete(session, record_id, keys.StoredResponse(status_code, body, orjson.dumps(out).decode()))
        request.state.idempotency_done = True
    return response


def replay(stored: keys.StoredResponse) -> Response:
    """The first response of an Idempotency-Key again, marked ``Idempotent-Replayed: true``."""
    headers = orjson.loads(stored.headers or "{}")
    headers["Idempotent-Replayed"] = "true"
    return Response(stored.body.encode(), status_code=stored.status, media_type="application/json", headers=headers)
