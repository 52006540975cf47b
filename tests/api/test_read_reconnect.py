"""PostgreSQL's single-statement reads (the token, a project, a page) are not pinged at checkout; a read that
finds its connection gone — the server restarted, or closed an idle session — runs again on another one."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.api.conftest import IS_POSTGRES, P

pytestmark = pytest.mark.skipif(not IS_POSTGRES, reason="the reads pool without pre-ping is PostgreSQL's")


def _terminate_reads_connections(app) -> int:  # noqa: ANN001
    """Ends, server side, every backend of the reads pool (each connection the pool holds right now)."""
    pool = app.state.db.reads_engine.pool
    held = [app.state.db.reads_engine.raw_connection() for _ in range(pool.checkedin())]
    pids = [c.driver_connection.info.backend_pid for c in held]
    for connection in held:
        connection.close()
    with app.state.db.engine.connect() as conn:
        for pid in pids:
            conn.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid})
    return len(pids)


def test_reads_survive_their_connections_being_closed(app, client, admin, new_project):
    from service.db.engine import RETRY_READS

    assert getattr(app.state.db.reads_engine, RETRY_READS) and not app.state.db.reads_engine.pool._pre_ping  # noqa: SLF001
    project = new_project()
    for _ in range(3):  # several connections into the pool
        assert client.get(f"{P}/{project['id']}", headers=admin).status_code == 200
    assert _terminate_reads_connections(app) >= 1
    for _ in range(3):
        got = client.get(f"{P}/{project['id']}", headers=admin)
        assert got.status_code == 200, got.text
        assert got.json()["id"] == project["id"]
    assert _terminate_reads_connections(app) >= 1
    page = client.get(P, headers=admin)
    assert page.status_code == 200 and [p["id"] for p in page.json()["items"]] == [project["id"]]


def test_other_errors_are_not_retried(app):
    """Only a lost connection is retried: a statement the server refuses fails at once, on the same connection,
    which stays good."""
    import psycopg
    from sqlalchemy import literal_column, select

    from service.db.raw import reader

    with reader(app.state.db.reads_engine) as r:
        connection = r._connection  # noqa: SLF001
        with pytest.raises(psycopg.errors.DivisionByZero):
            r.first(None, lambda: select(literal_column("1/0")))
        assert r._connection is connection and connection.is_valid  # noqa: SLF001 - not invalidated, not replaced
        assert r.first(None, lambda: select(literal_column("2"))) is not None
