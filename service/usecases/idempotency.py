"""Idempotency keys (SPEC §1), in one place: the same key with the same request within 24 h replays the first
response and writes nothing; the same key with another request is refused (422); the same key still in flight is
refused (409).

The life of a key, as the request dependency (``service/deps.py: get_session``) drives it:
1. ``claim``, in a short transaction of its own before the request's: records the key ``in_flight`` with a lease,
   or finds it — done (``Replay``, or ``IdempotencyMismatch`` for another request), in flight (``IdempotencyConflict``),
   or abandoned by a request that died (its lease ran out: taken over).
2. ``complete``, in the request's own transaction (``respond`` calls it with the response it sends): the record
   becomes ``done`` with that response, so it commits with the write it answers, or not at all.
3. ``release`` when the request failed or answered without completing (nothing was written): the key is free again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.db.database import Database
from service.db.idempotency import IdempotencyRepo
from service.db.tables import IdempotencyRecord
from service.domain import errors as d


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """The first response of a key, as it was sent."""

    status: int
    body: str
    headers: str  # JSON object of the headers that were stored with it


class Replay(Exception):  # noqa: N818 - a signal, not an error
    """Answer with the stored first response of this key."""

    def __init__(self, response: StoredResponse):
        super().__init__("idempotent replay")
        self.response = response


@dataclass(frozen=True, slots=True)
class Key:
    token_id: int
    key: str
    method: str
    path: str
    body_hash: str


def check_key(key: str) -> None:
    if len(key) > 255 or not key.isprintable():
        raise d.InvalidInput.at(["header", "Idempotency-Key"], "Idempotency-Key must be 1–255 printable characters.")


def claim(db: Database, k: Key, *, now: datetime, ttl: timedelta, lease: timedelta) -> int:
    """Record ``k`` in flight and return its record id, in a transaction of its own; or raise ``Replay``,
    ``IdempotencyMismatch`` or ``IdempotencyConflict``."""
    try:
        with db.transaction(write=True) as session:
            repo = IdempotencyRepo(session)
            record = repo.get(k.token_id, k.key, for_update=True)
            if record is not None and record.created_at < now - ttl:
                repo.delete(record.id)  # expired: the key is fresh again
                session.flush()
                record = None
            if record is None:
                record = IdempotencyRecord(
                    token_id=k.token_id, key=k.key, method=k.method, path=k.path, body_hash=k.body_hash,
                    state="in_flight", created_at=now, locked_until=now + lease,
                )
                repo.add(record)
                return record.id  # type: ignore[return-value]
            same = record.method == k.method and record.path == k.path and record.body_hash == k.body_hash
            if record.state == "done":
                if not same:
                    raise d.IdempotencyMismatch(
                        "This Idempotency-Key was first used with a different request; use a new key.",
                    )
                raise Replay(StoredResponse(record.response_status or 200, record.response_body or "",
                                            record.response_headers or "{}"))
            if record.locked_until > now:
                raise d.IdempotencyConflict("A request with this Idempotency-Key is still in progress; retry later.")
            # The first attempt died mid-flight (its lease ran out without a commit): take the key over.
            record.method, record.path, record.body_hash = k.method, k.path, k.body_hash
            record.locked_until = now + lease
            session.flush()
            return record.id  # type: ignore[return-value]
    except IntegrityError as exc:  # a concurrent first use of the same key won the insert
        raise d.IdempotencyConflict("A request with this Idempotency-Key is still in progress; retry later.") from exc


def complete(session: Session, record_id: int, response: StoredResponse) -> None:
    """Store the response of a claimed key in the request's transaction (``session``)."""
    record = session.get(IdempotencyRecord, record_id)
    if record is not None:
        record.state = "done"
        record.response_status = response.status
        record.response_body = response.body
        record.response_headers = response.headers
        session.flush()


def release(db: Database, record_id: int) -> None:
    """Free a key whose request wrote nothing (it failed, or answered without ``complete``)."""
    with db.transaction(write=True) as session:
        record = session.get(IdempotencyRecord, record_id)
        if record is not None and record.state == "in_flight":
            IdempotencyRepo(session).delete(record_id)


def purge(db: Database, *, before: datetime) -> None:
    """Drop the keys older than ``before`` (they have expired)."""
    with db.transaction(write=True) as session:
        IdempotencyRepo(session).purge_older_than(before)
