"""The Merkle tree over the audit events and the signed tree heads (SPEC §6), as stored.

``append_leaf`` runs inside ``AuditLog.append``'s transaction, after the head row is locked: appends are
serialised, so the left siblings it reads are there. It costs one node read on average (a leaf completes one
perfect node on average) and one multi-row insert.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, insert, or_, select
from sqlalchemy.orm import Session

from service.db.raw import session_writer
from service.db.tables import AuditEvent, AuditTreeHead, AuditTreeNode
from service.domain import merkle

_NODE = AuditTreeNode.__table__
_HEAD = AuditTreeHead.__table__
_IN_CHUNK = 200  # (level, idx) pairs per statement


class AuditTree:
    def __init__(self, session: Session):
        self.session = session

    # ---------------------------------------------------------------- the tree

    def append_leaf(self, seq: int, event_hash: str) -> None:
        """Store the leaf of event ``seq`` and every perfect subtree it completes."""
        w = session_writer(self.session)

        def left_of(level: int, idx: int) -> bytes:
            row = w.first("audit.tree.node", lambda: select(_NODE.c.hash).where(
                _NODE.c.level == bindparam("level"), _NODE.c.idx == bindparam("idx")), level=level, idx=idx)
            if row is None:
                raise RuntimeError(f"audit tree node ({level}, {idx}) is missing: run the migration's backfill")
            return bytes.fromhex(row.hash)

        nodes = merkle.completed_nodes(seq - 1, merkle.leaf_hash(bytes.fromhex(event_hash)), left_of)
        w.execute_many("audit.tree.insert", lambda: insert(_NODE),
                       [{"level": level, "idx": idx, "hash": h.hex()} for level, idx, h in nodes])

    def nodes(self, wanted: Iterable[merkle.Node]) -> dict[merkle.Node, bytes]:
        """The stored nodes among ``wanted`` (one statement per 200: each ``level = … AND idx = …`` term is a
        primary-key lookup; SQLite scans the table for a row-value ``IN`` list)."""
        wanted = sorted(set(wanted))
        out: dict[merkle.Node, bytes] = {}
        for i in range(0, len(wanted), _IN_CHUNK):
            chunk = wanted[i:i + _IN_CHUNK]
            rows = self.session.execute(select(_NODE.c.level, _NODE.c.idx, _NODE.c.hash).where(
                or_(*(and_(_NODE.c.level == level, _NODE.c.idx == idx) for level, idx in chunk))))
            out.update({(row.level, row.idx): bytes.fromhex(row.hash) for row in rows})
        return out

    def hashes(self, ranges: list[tuple[int, int]]) -> list[bytes]:
        """MTH of each range of leaves, from the stored perfect nodes (one query for all of them)."""
        nodes = self.nodes(merkle.needed_nodes(ranges))
        return merkle.prove(ranges, nodes)

    def root(self, size: int) -> bytes:
        return self.hashes([(0, size)])[0] if size else merkle.EMPTY_ROOT

    def leaves(self, *, below: int, batch: int = 10000) -> Iterator[tuple[int, str]]:
        """The stored leaf hashes ``(index, hex)`` of indices below ``below``, in order."""
        stmt = (select(_NODE.c.idx, _NODE.c.hash).where(_NODE.c.level == 0, _NODE.c.idx < below)
                .order_by(_NODE.c.idx))
        result = self.session.connection().execute(stmt.execution_options(stream_results=True, yield_per=batch))
        for rows in result.partitions():
            yield from rows

    def event_hashes(self, *, upto: int) -> list[tuple[int, str]]:
        """``(seq, hash)`` of the events up to ``upto``, in seq order (the verifier's second look, on failure)."""
        rows = self.session.execute(select(AuditEvent.seq, AuditEvent.hash).where(AuditEvent.seq <= upto)
                                    .order_by(AuditEvent.seq))
        return [(row.seq, row.hash) for row in rows]

    # ---------------------------------------------------------------- signed heads

    def add_head(self, *, size: int, root: str, signed_at: datetime, key_id: str, signature: str) -> AuditTreeHead:
        head = AuditTreeHead(size=size, root=root, signed_at=signed_at, key_id=key_id, signature=signature)
        self.session.add(head)
        self.session.flush()
        return head

    def heads_page(self, *, after: int | None, limit: int) -> list[AuditTreeHead]:
        stmt = select(AuditTreeHead).order_by(AuditTreeHead.id).limit(limit)
        if after is not None:
            stmt = stmt.where(AuditTreeHead.id > after)
        return list(self.session.scalars(stmt))

    def heads_by_size(self) -> list[AuditTreeHead]:
        return list(self.session.scalars(select(AuditTreeHead).order_by(AuditTreeHead.size, AuditTreeHead.id)))

    def latest_heads(self, limit: int) -> list[AuditTreeHead]:
        """The last ``limit`` heads signed, newest first."""
        return list(self.session.scalars(select(AuditTreeHead).order_by(AuditTreeHead.id.desc()).limit(limit)))

    def last_head(self) -> AuditTreeHead | None:
        return self.session.scalars(select(AuditTreeHead).order_by(AuditTreeHead.id.desc()).limit(1)).first()


def backfill_rows(event_hashes: Iterable[tuple[int, str]]) -> Iterator[dict[str, Any]]:
    """Every node row of the tree over ``(seq, hash)`` in seq order (the migration's backfill)."""
    frontier = merkle.Frontier()
    for expected, (seq, event_hash) in enumerate(event_hashes, start=1):
        if seq != expected:
            raise RuntimeError(f"audit_event has a gap before seq {seq}: the tree cannot be built")
        frontier.append(merkle.leaf_hash(bytes.fromhex(event_hash)))
        for level, idx, h in frontier.completed:
            yield {"level": level, "idx": idx, "hash": h.hex()}
