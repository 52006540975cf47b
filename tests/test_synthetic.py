"""The synthetic data set is built like real writes: a valid hash chain and a matching version history."""

import pytest
from sqlalchemy import func, select, text

from service.db.engine import make_engine, make_sessionmaker, transaction
from service.db.tables import AuditEvent, Project, ProjectVersion
from service.synthetic import seed_synthetic
from service.usecases.audit import verify_chain
from tests.api.conftest import IS_POSTGRES


def test_synthetic_projects_verify_and_match_their_history(db_url):
    summary = seed_synthetic(db_url, 60, seed=7)
    seed_synthetic(db_url, 15, seed=8)  # a second run continues the same chain
    engine = make_engine(db_url)
    try:
        with transaction(make_sessionmaker(engine), write=False) as s:
            assert verify_chain(s).ok
            projects = s.scalar(select(func.count()).select_from(Project))
            project_events = s.scalar(select(func.count()).where(AuditEvent.entity == "project"))
            versions = s.scalar(select(func.count()).select_from(ProjectVersion))
            open_versions = s.scalar(select(func.count()).where(ProjectVersion.recorded_to.is_(None)))
            stages = set(s.scalars(select(Project.stage).distinct()))
    finally:
        engine.dispose()
    assert summary.startswith("synthetic: 60 projects")
    assert projects == 75 and open_versions == 75
    assert versions == project_events  # one version per project event
    assert project_events >= 75 * 5
    assert {"signed", "started", "in_production", "at_capacity"} <= stages


@pytest.mark.skipif(not IS_POSTGRES, reason="PostgreSQL's statistics (SQLite gathers none by itself)")
def test_postgres_tables_have_statistics_after_the_load(db_url):
    """A bulk load ends with ANALYZE on PostgreSQL: the planner never works from guesses on the loaded tables."""
    seed_synthetic(db_url, 40, seed=3)
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            analysed = set(conn.scalars(text(
                "SELECT relname FROM pg_stat_user_tables WHERE last_analyze IS NOT NULL OR last_autoanalyze IS NOT NULL")))
    finally:
        engine.dispose()
    assert {"project", "project_version", "project_transition", "audit_event"} <= analysed
