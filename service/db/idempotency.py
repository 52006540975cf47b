"""Idempotency records (SPEC §1): the first response of an ``Idempotency-Key``, kept 24 h."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from service.db.tables import IdempotencyRecord


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
