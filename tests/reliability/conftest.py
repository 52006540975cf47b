"""Fixtures of the reliability suite (issue 8): live ``chain-ledger serve`` processes on the test database.

Each test gets a fresh migrated database from the root ``db_url`` fixture (SQLite file or PostgreSQL clone);
``serve()`` starts ``chain-ledger serve`` on it (a subprocess on a free loopback port, so requests really run
concurrently and the process can really be SIGKILLed); every server is stopped before the database is dropped.

The suite (issue 8): test_idempotency_race (1), test_if_match_race (2), test_stage_machine (3),
test_two_instances (4, PostgreSQL only), test_crash_recovery (5), test_schemathesis (6), test_hostile_input (8).
Item 7, the authorisation matrix generated from the route table, is tests/api/test_authorization_matrix.py.
Beyond the list: test_saturation (far more clients than threads and connections: no stall).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from service.db.engine import make_engine, make_sessionmaker
from tests.support.live_server import ServeProcess, add_token, live_admin, serve  # noqa: F401  (fixtures)


@pytest.fixture
def db_sessions(db_url: str) -> Iterator[sessionmaker[Session]]:
    """A session factory on this test's database, for white-box checks next to a live server."""
    engine = make_engine(db_url, pool_size=2)
    yield make_sessionmaker(engine)
    engine.dispose()
