"""The audit log (SPEC §6): hash-chained events, appended and read, never changed."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Select,
    String,
    Text,
    bindparam,
    cast,
    func,
    insert,
    literal,
    select,
    type_coerce,
    update,
)
from sqlalchemy.orm import Session

from service.db.audit_tree import AuditTree
from service.db.raw import session_writer
from service.db.tables import AuditEvent, AuditHead
from service.db.values import jsonable, rfc3339
from service.domain import audit_chain
from service.domain.access import Actor

_EVENT = AuditEvent.__table__
_HEAD = AuditHead.__table__

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
        # Lock the head row: concurrent writers queue here, so seq stays gapless and the chain unforked. The three
        # statements run on the session's connection as compiled once (service/db/raw.py), in its transaction.
        w = session_writer(self.session)
        head = w.first("audit.head.lock", lambda: select(_HEAD.c.seq, _HEAD.c.hash)
                       .where(_HEAD.c.id == 1).with_for_update())
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
        row = {**chained._asdict(), "at": now, "hash": audit_chain.link(chained)}
        w.execute("audit.insert", lambda: insert(_EVENT), **row)
        event = AuditEvent.model_construct(**row)  # what was written, as a row of the table (not in the session)
        w.execute("audit.head.update", lambda: update(_HEAD).where(_HEAD.c.id == 1).values(
            seq=bindparam("head_seq"), hash=bindparam("head_hash")), head_seq=event.seq, head_hash=event.hash)
        AuditTree(self.session).append_leaf(event.seq, event.hash)  # the Merkle tree's nodes, same transaction
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
