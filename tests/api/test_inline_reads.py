"""On a SQLite file the token lookup and the bounded reads (a project, a page of projects) run on the event loop
through connections of their own (``inline_on_sqlite``): they answer even while every connection of the main
pool is held elsewhere. On PostgreSQL they run in worker threads like every other endpoint."""

from __future__ import annotations

import pytest

from tests.api.conftest import IS_POSTGRES, P

pytestmark = pytest.mark.skipif(IS_POSTGRES, reason="inline reads are SQLite's (PostgreSQL waits on the network)")


def test_bounded_reads_do_not_need_the_main_pool(app, client, admin, new_project):
    project = new_project()
    pool = app.state.engine.pool
    held = [app.state.engine.raw_connection() for _ in range(pool.size() + pool._max_overflow)]  # noqa: SLF001
    try:
        assert pool.checkedout() == len(held)
        assert client.get(f"{P}/{project['id']}", headers=admin).json()["id"] == project["id"]
        assert [p["id"] for p in client.get(P, headers=admin).json()["items"]] == [project["id"]]
        assert client.get("/api/v1/me", headers=admin).status_code == 200
    finally:
        for connection in held:
            connection.close()


def test_the_project_routes_are_marked_inline(app):
    from service.routers import projects

    assert projects.get_project.inline_read and projects.list_projects.inline_read
    assert app.state.inline_sessions is not None
