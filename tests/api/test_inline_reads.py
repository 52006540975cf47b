"""On a SQLite file the token lookup and the bounded reads (a project, a page of projects) run on the event loop
through connections of their own (``Database.read``): they answer even while every connection of the main
pool is held elsewhere. On PostgreSQL they run in worker threads like every other endpoint."""

from __future__ import annotations

import pytest

from tests.api.conftest import IS_POSTGRES, P

pytestmark = pytest.mark.skipif(IS_POSTGRES, reason="inline reads are SQLite's (PostgreSQL waits on the network)")


def test_bounded_reads_do_not_need_the_main_pool(app, client, admin, new_project):
    project = new_project()
    pool = app.state.db.engine.pool
    held = [app.state.db.engine.raw_connection() for _ in range(pool.size() + pool._max_overflow)]  # noqa: SLF001
    try:
        assert pool.checkedout() == len(held)
        assert client.get(f"{P}/{project['id']}", headers=admin).json()["id"] == project["id"]
        assert [p["id"] for p in client.get(P, headers=admin).json()["items"]] == [project["id"]]
        assert client.get("/api/v1/me", headers=admin).status_code == 200
    finally:
        for connection in held:
            connection.close()


def test_a_sqlite_file_reads_on_the_loop(app):
    assert app.state.db.reads_inline
    assert app.state.db.reads_engine is app.state.db.inline_engine is not None
