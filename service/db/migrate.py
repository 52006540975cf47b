"""Run Alembic from code: the migrations ship in the package as ``service_migrations``.

Every upgrade or downgrade runs in one transaction that first takes the database's migration lock, so any number
of instances may start (and migrate) at once: the first migrates, the others wait, then find the schema at head
and do nothing. PostgreSQL: a transaction-level advisory lock (``pg_advisory_xact_lock``; released at commit, or
when a killed migrator's connection closes). SQLite: the write lock (``BEGIN IMMEDIATE``; others wait up to the
busy timeout, 30 s). The DDL of both is transactional, so a failed migration leaves the schema as it was."""

from __future__ import annotations

from importlib.resources import files

from alembic import command
from alembic.config import Config
from sqlalchemy import text

from service.db.engine import WRITE, is_sqlite, make_engine

#: The advisory lock's key on PostgreSQL (any 64-bit number that nothing else in the database uses; this one is
#: the first 8 bytes of sha256("chain-ledger migrations"), as a signed integer).
MIGRATION_LOCK_KEY = -3152225027736375278


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(files("service_migrations")))
    cfg.set_main_option("file_template", "%%(year)d_%%(month).2d_%%(day).2d_%%(slug)s")
    cfg.attributes["url"] = url
    return cfg


def _locked(url: str, run) -> None:  # noqa: ANN001
    """``run(cfg)`` on one connection, inside one transaction that holds the migration lock."""
    engine = make_engine(url, pool_size=1, max_overflow=0)
    try:
        with engine.connect() as conn:
            sqlite = is_sqlite(engine)
            if sqlite:
                conn = conn.execution_options(**{WRITE: True})  # BEGIN IMMEDIATE: SQLite's write lock
            with conn.begin():
                if not sqlite:
                    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
                cfg = alembic_config(url)
                # Alembic runs in this transaction (an "external" one: it neither begins nor commits it).
                cfg.attributes["connection"] = conn
                run(cfg)
    finally:
        engine.dispose()


def upgrade(url: str, revision: str = "head") -> None:
    _locked(url, lambda cfg: command.upgrade(cfg, revision))


def downgrade(url: str, revision: str) -> None:
    _locked(url, lambda cfg: command.downgrade(cfg, revision))


def current(url: str) -> list[str]:
    """The revisions the database is at (empty before the first migration)."""
    from alembic.migration import MigrationContext

    engine = make_engine(url, pool_size=1, max_overflow=0)
    try:
        with engine.connect() as conn:
            return list(MigrationContext.configure(conn).get_current_heads())
    finally:
        engine.dispose()
