"""Every query of the service lives here. Repositories ``flush()``; the request's session commits."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import time
from collections.abc import Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import (
    Integer,
    Select,
    String,
    Text,
    and_,
    bindparam,
    cast,
    delete,
    func,
    literal,
    or_,
    select,
    type_coerce,
    update,
)
from sqlalchemy.orm import Session

from service.db.raw import Reader
from service.db.tables import (
    ApiToken,
    AuditEvent,
    AuditHead,
    Chain,
    Department,
    District,
    IdempotencyRecord,
    Project,
    ProjectTransition,
)
from service.domain import audit_chain
from service.domain.access import Actor
from service.domain.stages import MAJOR_THRESHOLD

# ---------------------------------------------------------------- values


def jsonable(value: Any) -> Any:
    """A value as it appears in audit data and webhooks: dates ISO, amounts as 2-decimal strings."""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, datetime):
        return rfc3339(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    return value


def rfc3339(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_id(now: datetime | None = None) -> str:
    """A ULID: 48-bit millisecond time + 80 random bits, Crockford base32, sortable by creation time."""
    ms = int((now.timestamp() if now else time.time()) * 1000)
    value = (ms << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def diff(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The fields that changed, as ``(before, after)`` restricted to them."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}


# ---------------------------------------------------------------- cursors


def encode_cursor(values: Sequence[Any]) -> str:
    raw = audit_chain.canonical_json(jsonable(list(values))).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


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


# ---------------------------------------------------------------- audit


# The fields of an event that the service itself names (a role, an action, an entity type, a request id that the
# middleware accepted or generated): plain ASCII that needs no escaping in JSON, CSV or a log line. ``append``
# refuses anything else, so the PostgreSQL export can splice them without an escaping call per row.
_PLAIN_FIELD = re.compile(r"[A-Za-z0-9._:-]{1,100}")


class AuditLog:
    """Appends hash-chained events. The only writer of ``audit_event``; it never updates or deletes."""

    def __init__(self, session: Session):
        self.session = session

    def append(
        self,
        *,
        actor: Actor,
        request_id: str | None,
        action: str,
        entity: str,
        entity_id: str,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
        now: datetime,
        extra: dict[str, Any] | None = None,
    ) -> AuditEvent:
        for name, value in (("actor_role", actor.role.value), ("action", action), ("entity", entity),
                            ("request_id", request_id)):
            if value is not None and not _PLAIN_FIELD.fullmatch(value):
                raise ValueError(f"audit {name} {value!r} is not a plain name ({_PLAIN_FIELD.pattern})")
        # Lock the head row: concurrent writers queue here, so seq stays gapless and the chain unforked.
        head = self.session.execute(
            select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1).with_for_update()
        ).one()
        payload: dict[str, Any] = {"before": jsonable(before), "after": jsonable(after)}
        if extra:
            payload.update(jsonable(extra))
        chained = audit_chain.ChainedEvent(
            seq=head.seq + 1,
            at=rfc3339(now),
            actor_name=actor.name,
            actor_role=actor.role.value,
            request_id=request_id,
            action=action,
            entity=entity,
            entity_id=str(entity_id),
            data=audit_chain.canonical_json(payload),
            prev_hash=head.hash,
        )
        digest = audit_chain.link(chained)
        event = AuditEvent(
            seq=chained.seq,
            at=now,
            actor_name=chained.actor_name,
            actor_role=chained.actor_role,
            request_id=request_id,
            action=action,
            entity=entity,
            entity_id=chained.entity_id,
            data=chained.data,
            prev_hash=chained.prev_hash,
            hash=digest,
        )
        self.session.add(event)
        self.session.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=chained.seq, hash=digest))
        self.session.flush()
        return event

    def count(self) -> int:
        return self.session.scalar(select(func.count()).select_from(AuditEvent)) or 0

    def head(self) -> tuple[int, str]:
        row = self.session.execute(select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1)).one()
        return row.seq, row.hash

    def page(
        self,
        *,
        after: int | None,
        entity: str | None,
        entity_id: str | None,
        action: str | None,
        since: datetime | None,
        until: datetime | None,
        limit: int,
    ) -> list[AuditEvent]:
        stmt = select(AuditEvent).order_by(AuditEvent.seq).limit(limit)
        if after is not None:
            stmt = stmt.where(AuditEvent.seq > after)
        if entity:
            stmt = stmt.where(AuditEvent.entity == entity)
        if entity_id:
            stmt = stmt.where(AuditEvent.entity_id == entity_id)
        if action:
            stmt = stmt.where(AuditEvent.action == action)
        if since:
            stmt = stmt.where(AuditEvent.at >= since)
        if until:
            stmt = stmt.where(AuditEvent.at < until)
        return list(self.session.scalars(stmt))

    def _at_text(self):  # noqa: ANN202
        """``at`` as the RFC 3339 text that was hashed, formatted by the database (no per-row datetime)."""
        if self.session.get_bind().dialect.name == "postgresql":
            return func.to_char(func.timezone("UTC", AuditEvent.at), 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
        # SQLAlchemy stores SQLite datetimes as 'YYYY-MM-DD HH:MM:SS.ffffff' (naive UTC here).
        return func.replace(type_coerce(AuditEvent.at, String), " ", "T").concat("Z")

    def _export_select(self, after: int, *columns: Any) -> Select[Any]:
        """The events after ``after`` in seq order: ``columns``, by default ``(*ChainedEvent fields, hash)`` with
        ``at`` as the hashed text."""
        cols = columns or (
            AuditEvent.seq, self._at_text(), AuditEvent.actor_name, AuditEvent.actor_role, AuditEvent.request_id,
            AuditEvent.action, AuditEvent.entity, AuditEvent.entity_id, AuditEvent.data, AuditEvent.prev_hash,
            AuditEvent.hash,
        )
        return select(*cols).where(AuditEvent.seq > after).order_by(AuditEvent.seq)

    def stream_rows(self, *, after: int = 0, batch: int = 10000) -> Iterator[Sequence[Any]]:
        """Every event after ``after`` in seq order as plain rows ``(*ChainedEvent fields, hash)``, with ``at``
        as the hashed RFC 3339 text. A server-side cursor (psycopg) or incremental fetch (sqlite3) keeps
        memory bounded by one batch."""
        result = self.session.connection().execution_options(stream_results=True, yield_per=batch).execute(
            self._export_select(after)
        )
        for rows in result.partitions():
            yield from rows

    def copy_csv(self, *, after: int = 0, chunk_bytes: int = 1 << 18) -> Iterator[bytes]:
        """PostgreSQL only: the rows of ``stream_rows`` as CSV lines written by the server itself (``COPY … TO
        STDOUT WITH (FORMAT csv)``), relayed in chunks of about ``chunk_bytes``. The quoting is RFC 4180's, as
        the row loop's, except that PostgreSQL quotes an empty string (``""``) where the loop leaves the field
        empty: a CSV reader reads both as the same empty text."""
        yield from self._copy(self._export_select(after), "WITH (FORMAT csv)", chunk_bytes)

    def copy_ndjson(self, *, after: int = 0, chunk_bytes: int = 1 << 18) -> Iterator[bytes]:
        """PostgreSQL only: the export's NDJSON lines (the shape of /audit/events items) written by the server.
        Each line is one text column built by concatenation. The two free texts (the actor's name, the entity's
        id) are escaped by ``to_json``, which escapes as Python's JSON encoder does (quote, backslash, control
        characters; UTF-8 kept); the fields the service names itself (role, request id, action, entity) are plain
        ASCII — ``append`` refuses anything else — and are spliced between quotes: ``to_json`` is most of the
        line's cost (six calls took 2.5 s a million rows, two take 1.8 s, none 1.3 s). ``data`` is spliced in as
        stored. COPY's text format then doubles every backslash and would escape control characters and tabs —
        a JSON text holds none raw — so undoubling the backslashes of whole rows gives the lines back exactly."""
        e = AuditEvent

        def string(col: Any) -> Any:  # a JSON string of a free text column
            return cast(func.to_json(col), Text)

        def plain(col: Any) -> Any:  # a JSON string of a plain name (or null)
            return func.coalesce(literal('"', Text).op("||")(col).op("||")(literal('"', Text)), "null")

        parts = [
            '{"seq":', cast(e.seq, Text), ',"at":"', self._at_text(), '","actor":{"name":', string(e.actor_name),
            ',"role":', plain(e.actor_role), '},"request_id":', plain(e.request_id), ',"action":', plain(e.action),
            ',"entity":', plain(e.entity), ',"entity_id":', string(e.entity_id), ',"data":', e.data,
            ',"prev_hash":"', e.prev_hash, '","hash":"', e.hash, '"}',
        ]
        line = literal(parts[0], Text)
        for part in parts[1:]:
            line = line.op("||")(literal(part, Text) if isinstance(part, str) else part)
        for chunk in self._copy(self._export_select(after, line.label("line")), "", chunk_bytes):
            yield chunk.replace(b"\\\\", b"\\")

    def _copy(self, stmt: Select[Any], options: str, chunk_bytes: int) -> Iterator[bytes]:
        """``COPY (stmt) TO STDOUT`` on the session's connection, its rows gathered into chunks (one row per
        message from the server; a chunk always ends at a row's end)."""
        connection = self.session.connection()
        sql = stmt.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True})
        cursor = connection.connection.driver_connection.cursor()
        try:
            with cursor.copy(f"COPY ({sql}) TO STDOUT {options}".rstrip()) as copy:
                buffer = bytearray()
                for data in copy:
                    buffer += data
                    if len(buffer) >= chunk_bytes:
                        yield bytes(buffer)
                        buffer.clear()
                if buffer:
                    yield bytes(buffer)
        finally:
            cursor.close()

    def for_entity(self, entity: str, entity_id: str) -> list[AuditEvent]:
        return list(
            self.session.scalars(
                select(AuditEvent)
                .where(AuditEvent.entity == entity, AuditEvent.entity_id == entity_id)
                .order_by(AuditEvent.seq)
            )
        )


# ---------------------------------------------------------------- tokens


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


_TOKEN = ApiToken.__table__
_TOKEN_BY_HASH = select(_TOKEN.c.id, _TOKEN.c.name, _TOKEN.c.role, _TOKEN.c.chains).where(
    _TOKEN.c.token_hash == bindparam("token_hash"), _TOKEN.c.revoked_at.is_(None)
)


def live_token(r: Reader, token_hash: str) -> Any | None:
    """``(id, name, role, chains)`` of a live token (None when unknown or revoked): read on every request."""
    return r.first("token.live", lambda: _TOKEN_BY_HASH, token_hash=token_hash)


class TokenRepo:
    def __init__(self, session: Session):
        self.session = session

    def add(self, token: ApiToken) -> ApiToken:
        self.session.add(token)
        self.session.flush()
        return token


# ---------------------------------------------------------------- reference data


class ReferenceRepo:
    def __init__(self, session: Session):
        self.session = session

    def department(self, code: str) -> Department | None:
        return self.session.get(Department, code)

    def district(self, code: str) -> District | None:
        return self.session.get(District, code)

    def chain(self, code: str, *, for_update: bool = False) -> Chain | None:
        return self.session.get(Chain, code, with_for_update=for_update or None)

    def add(self, row: Department | District | Chain) -> None:
        self.session.add(row)
        self.session.flush()

    def page(self, model: type[Department] | type[District] | type[Chain], *, after: str | None, limit: int) -> list[Any]:
        stmt = select(model).order_by(model.code).limit(limit)
        if after is not None:
            stmt = stmt.where(model.code > after)
        return list(self.session.scalars(stmt))


# ---------------------------------------------------------------- projects




@dataclass(frozen=True, slots=True)
class ProjectFilter:
    chain: str | None = None
    district: str | None = None
    stage: str | None = None
    key: bool | None = None
    major: bool | None = None
    q: str | None = None
    include_voided: bool = False


def _like_literal(text: str) -> str:
    """Escape LIKE metacharacters so ``q`` matches its text literally."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def filter_values(f: ProjectFilter) -> dict[str, Any]:
    """The values of ``f``'s conditions, by the name of their bind parameter (``apply_project_filter``)."""
    values: dict[str, Any] = {}
    if f.chain:
        values["f_chain"] = f.chain
    if f.district:
        values["f_district"] = f.district
    if f.stage:
        values["f_stage"] = f.stage
    if f.key is not None:
        values["f_key"] = f.key
    if f.q:
        values["f_q"] = _like_literal(f.q)
    return values


def statement_shape(name: Hashable, f: ProjectFilter, values: Mapping[str, Any]) -> tuple[Hashable, ...]:
    """The key of a statement that ``apply_project_filter`` restricted by ``f`` and that binds ``values`` (the
    filter's and its own): ``include_voided`` and ``major`` change its text, every other value only by being
    bound, so statements of one shape share one compilation (service/db/raw.py)."""
    return (name, f.include_voided, f.major, *sorted(values))


#: The filters that are one equality each: bind parameter → project column.
_EQUALITY_FILTERS = {"f_chain": "chain", "f_district": "district", "f_stage": "stage", "f_key": "is_key"}


def apply_project_filter(stmt, f: ProjectFilter, table=Project):  # noqa: ANN001, ANN201
    """``stmt`` restricted by ``f``. Each value is a named bind parameter (``f_chain``, …, ``filter_values``),
    so the statement's text depends only on which filters are set: ``ProjectReads`` compiles it once per shape."""
    conds = []
    if not f.include_voided:
        conds.append(table.voided_at.is_(None))
    values = filter_values(f)
    for name, column in _EQUALITY_FILTERS.items():
        if name in values:
            conds.append(getattr(table, column) == bindparam(name, values[name]))
    if f.major is not None:
        threshold = table.planned_investment >= MAJOR_THRESHOLD
        conds.append(threshold if f.major else ~threshold)
    if "f_q" in values:
        pattern = bindparam("f_q", values["f_q"])
        # Case-insensitive on both databases (LIKE is case-sensitive on PostgreSQL, not on SQLite).
        conds.append(or_(table.name.ilike(pattern, escape="\\"), table.investor.ilike(pattern, escape="\\")))
    return stmt.where(and_(*conds)) if conds else stmt


class ProjectRepo:
    def __init__(self, session: Session):
        self.session = session

    def get(self, project_id: str, *, for_update: bool = False) -> Project | None:
        return self.session.get(Project, project_id, with_for_update=for_update or None)

    def by_external_ref(self, ref: str) -> Project | None:
        return self.session.scalar(select(Project).where(Project.external_ref == ref))

    def add(self, project: Project) -> None:
        self.session.add(project)
        self.session.flush()

    def page(self, f: ProjectFilter, *, after: str | None, limit: int) -> list[Project]:
        stmt = apply_project_filter(select(Project), f).order_by(Project.id).limit(limit)
        if after is not None:
            stmt = stmt.where(Project.id > after)
        return list(self.session.scalars(stmt))

    def add_transition(self, row: ProjectTransition) -> None:
        self.session.add(row)
        self.session.flush()

    def latest_transition(self, project_id: str) -> ProjectTransition | None:
        return self.session.scalar(
            select(ProjectTransition)
            .where(ProjectTransition.project_id == project_id, ProjectTransition.reverted_at.is_(None))
            .order_by(ProjectTransition.id.desc())
            .limit(1)
        )


_PROJECT = Project.__table__


class ProjectReads:
    """The API's hot project reads, one statement each on a ``Reader`` (service/db/raw.py): records typed like
    Core rows of ``project``, with no session, ORM identity map or per-statement compilation."""

    def __init__(self, r: Reader):
        self.r = r

    def row(self, project_id: str) -> Any | None:
        return self.r.first("project.row", lambda: select(_PROJECT).where(_PROJECT.c.id == bindparam("id")),
                            id=project_id)

    def page(self, f: ProjectFilter, *, after: str | None, limit: int) -> list[Any]:
        values: dict[str, Any] = {**filter_values(f), "limit": limit}
        if after is not None:
            values["after"] = after

        def build() -> Select[Any]:
            stmt = apply_project_filter(select(_PROJECT), f, table=_PROJECT.c).order_by(_PROJECT.c.id)
            if after is not None:
                stmt = stmt.where(_PROJECT.c.id > bindparam("after"))
            return stmt.limit(bindparam("limit", type_=Integer))

        return self.r.all(statement_shape("project.page", f, values), build, **values)


# ---------------------------------------------------------------- idempotency


class IdempotencyRepo:
    def __init__(self, session: Session):
        self.session = session

    def get(self, token_id: int, key: str, *, for_update: bool = False) -> IdempotencyRecord | None:
        stmt = select(IdempotencyRecord).where(IdempotencyRecord.token_id == token_id, IdempotencyRecord.key == key)
        if for_update:
            stmt = stmt.with_for_update()
        return self.session.scalar(stmt)

    def add(self, record: IdempotencyRecord) -> None:
        self.session.add(record)
        self.session.flush()

    def delete(self, record_id: int) -> None:
        self.session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.id == record_id))

    def purge_older_than(self, cutoff: datetime) -> None:
        self.session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.created_at < cutoff))

