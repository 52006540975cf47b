"""The audit tree migration builds the Merkle tree of the events already there (SPEC §6)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.orm import configure_mappers

from service.db.audit import AuditLog
from service.db.engine import make_engine, make_sessionmaker, transaction
from service.db.migrate import downgrade, upgrade
from service.domain import merkle
from service.domain.access import Actor, Role


def _nodes(engine) -> list[tuple[int, int, str]]:  # noqa: ANN001
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text("SELECT level, idx, hash FROM audit_tree_node ORDER BY level, idx"))]


def test_the_upgrade_backfills_the_tree_as_append_builds_it(databases):
    configure_mappers()  # as the app does at start (the rows append builds are mapped objects)
    url = databases.empty_url()
    upgrade(url)
    engine = make_engine(url)
    try:
        sessions = make_sessionmaker(engine)
        actor = Actor(name="tester", role=Role.ADMIN)
        for i in range(37):
            with transaction(sessions, write=True) as session:
                AuditLog(session).append(actor=actor, request_id=None, action="test.done", entity="test",
                                         entity_id=str(i), before=None, after={"i": i}, now=datetime.now(UTC))
        built = _nodes(engine)
        with engine.connect() as conn:
            hashes = [bytes.fromhex(h) for (h,) in conn.execute(text("SELECT hash FROM audit_event ORDER BY seq"))]
        assert len(built) == 37 + (37 - 3)  # n leaves and n - popcount(n) inner nodes (37 = 0b100101)
        leaves = [merkle.leaf_hash(h) for h in hashes]
        stored = {(lv, ix): bytes.fromhex(h) for lv, ix, h in built}
        assert merkle.range_hash(0, 37, stored) == merkle.root_of(leaves)
        downgrade(url, "0005_webhook_scope")
        upgrade(url)
        assert _nodes(engine) == built
    finally:
        engine.dispose()
