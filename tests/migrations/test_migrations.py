"""Alembic builds every database: models == migrations, and every step downgrades and upgrades again."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlmodel import SQLModel

from service.db import tables  # noqa: F401
from service.db.engine import make_engine
from service.db.migrate import alembic_config, downgrade, upgrade


def _diff(url: str) -> list:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True, "render_as_batch": True})
            return compare_metadata(ctx, SQLModel.metadata)
    finally:
        engine.dispose()


def test_models_match_migrations(databases):
    url = databases.empty_url()
    upgrade(url)
    assert _diff(url) == []


def _revisions() -> list[str]:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def test_there_is_a_single_head():
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1


@pytest.mark.parametrize("revision", _revisions())
def test_stairway(databases, revision):
    """Upgrade to a revision, downgrade one step, upgrade again (fastapi-clean-example's stairway)."""
    url = databases.empty_url()
    script = ScriptDirectory.from_config(alembic_config(url))
    down = script.get_revision(revision).down_revision or "base"
    upgrade(url, revision)
    downgrade(url, down if isinstance(down, str) else down[0])
    upgrade(url, revision)
    if revision == script.get_current_head():
        assert _diff(url) == []
