"""HTTP details shared by routers: JSON responses with ETag, If-Match, cursors, idempotency records."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
from fastapi import Header, Query, Request
from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator
from sqlalchemy.orm import Session
from starlette.responses import Response

from service.domain import errors as d
from service.domain.versions import IfMatch as EntityTags
from service.schemas.common import PATTERN_MESSAGES as TEXT_PATTERN_MESSAGES
from service.usecases import idempotency as keys


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
AsOf = Annotated[
    Annotated[datetime, BeforeValidator(_rfc3339_text)] | None,
    Query(description="Read the state the ledger knew at this moment (RFC 3339 with a time zone)."),
]
#: Years the ledger knows (``service/domain/periods.py``: MIN_YEAR–MAX_YEAR, 1990–2100), as a pattern.
_YEAR = "(199[0-9]|20[0-9]{2}|2100)"
#: A period of the ledger: ``2026``, ``2026-Q2`` or ``2026-05``.
PERIOD_PATTERN = f"^{_YEAR}(-Q[1-4]|-(0[1-9]|1[0-2]))?$"
MONTH_PATTERN = f"^{_YEAR}-(0[1-9]|1[0-2])$"
QUARTER_PATTERN = f"^{_YEAR}-Q[1-4]$"

#: ``If-Match`` as RFC 9110 spells it: ``*``, or entity tags separated by commas (``"3"``, ``W/"3"``; a bare ``3``
#: is read too). This service's tags are versions: ``"3"``.
_ENTITY_TAG = r'((W/)?"[!#-~]{0,80}"|[0-9]{1,18})'
ETAG_PATTERN = rf"^\s*(\*|{_ENTITY_TAG}(\s*,\s*{_ENTITY_TAG}){{0,20}})\s*$"
_TAG = re.compile(r'(?:W/)?"[^"]*"|[0-9]+')
IfMatch = Annotated[  # a string when sent (the schema has no null: a header is absent, never null)
    str,
    Header(alias="If-Match", pattern=ETAG_PATTERN, description='The ETag read before, e.g. "3". Required on PUT '
           "of an existing resource (428 without it); 412 when the resource has changed since."),
]
#: ``If-Match`` where every request needs it (PATCH): a request without it answers 428, not 422.
IfMatchRequired = Annotated[
    str,
    Header(alias="If-Match", pattern=ETAG_PATTERN, description='The ETag read before, e.g. "3" (428 without it; '
           "412 when the resource has changed since)."),
]


#: What a value refused by one of these patterns should have been, said the way a person reads it (the problem's
#: ``errors[].msg``; the pattern itself stays in the OpenAPI document).
PATTERN_MESSAGES: dict[str, str] = {
    **TEXT_PATTERN_MESSAGES,
    PERIOD_PATTERN: "must be a period: YYYY, YYYY-Qn or YYYY-MM (1990–2100), e.g. 2026, 2026-Q2, 2026-05",
    MONTH_PATTERN: "must be a month, YYYY-MM (1990–2100), e.g. 2026-05",
    QUARTER_PATTERN: "must be a quarter, YYYY-Qn (1990–2100), e.g. 2026-Q2",
    ETAG_PATTERN: 'must be the entity tag(s) the ETag header gave, e.g. "3" (or *)',
}


def parse_if_match(value: str | None) -> EntityTags | None:
    """``"3"``, ``W/"3"``, a bare ``3``, a list of them, or ``*`` (any current version). A tag that is not a
    version this service wrote (``"abc"``) can never match (412); text that is no entity tag at all is refused
    by the header's pattern before this runs."""
    if value is None:
        return None
    if value.strip() == "*":
        return EntityTags(frozenset(), any=True)
    versions = set()
    for tag in _TAG.findall(value):
        text = tag.removeprefix("W/").strip('"')
        if text.isdigit() and len(text) <= 18:
            versions.add(int(text))
    return EntityTags(frozenset(versions))


#: The largest sequence number a column can hold (``audit_event.seq`` is a 32-bit INTEGER on PostgreSQL):
#: a larger ``after`` or cursor value is invalid input, not a query that overflows.
SEQ_MAX = 2**31 - 1


@dataclass(frozen=True, slots=True)
class Keyset:
    """How a list's cursor spells the key of the last row it returned. A cursor is that key itself, checked by
    ``pattern`` (stated in the OpenAPI document): every text the pattern admits is a valid position in the list,
    so the contract says exactly what the endpoint accepts. Clients still treat cursors as opaque."""

    pattern: str
    parse: Callable[[str], list[Any]]
    description: str


_ULID = "[0-9A-HJKMNP-TV-Z]{26}"
#: Lists ordered by a ULID (projects, problems, webhooks).
BY_ID = Keyset(rf"^{_ULID}$", lambda text: [text], "a ULID")
#: Lists ordered by a code (departments, districts, chains).
BY_CODE = Keyset(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$", lambda text: [text], "a code")
#: Lists ordered by a number (audit events, history, revisions, deliveries); at most nine digits.
BY_NUMBER = Keyset(r"^(0|[1-9][0-9]{0,8})$", lambda text: [int(text)], "a number")
#: The warnings: their rule's rank, then the project's id.
BY_RANK_AND_ID = Keyset(rf"^[0-9]-{_ULID}$", lambda text: [int(text[0]), text[2:]], "a rank and a ULID")


def cursor_query(keyset: Keyset) -> Any:
    """The ``?cursor=`` parameter of a list ordered by ``keyset``."""
    return Annotated[str | None, Query(
        pattern=keyset.pattern, max_length=40,
        description=f"Opaque cursor from `next_cursor` (its spelling: {keyset.description} matching the pattern).",
    )]


PATTERN_MESSAGES.update({k.pattern: "Not a cursor issued by this endpoint."
                         for k in (BY_ID, BY_CODE, BY_NUMBER, BY_RANK_AND_ID)})
IdCursor = cursor_query(BY_ID)
CodeCursor = cursor_query(BY_CODE)
NumberCursor = cursor_query(BY_NUMBER)
RankCursor = cursor_query(BY_RANK_AND_ID)


def cursor_values(cursor: str | None, keyset: Keyset) -> list[Any] | None:
    """The keyset values a cursor names (the query parameter's pattern has checked its spelling)."""
    if cursor is None:
        return None
    if not re.match(keyset.pattern, cursor):  # unreachable through the route; kept for direct callers
        raise d.InvalidInput.at(["query", "cursor"], "Not a cursor issued by this endpoint.")
    return keyset.parse(cursor)


def next_cursor(rows: list[Any], limit: int, key) -> str | None:  # noqa: ANN001
    """A cursor after the last row when the page is full (``rows`` fetched with limit + 1)."""
    if len(rows) <= limit:
        return None
    return "-".join(str(v) for v in key(rows[limit - 1]))


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
