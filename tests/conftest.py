"""Test databases: SQLite by default, PostgreSQL with LEDGER_TEST_DB=postgres.

Every database is built by Alembic (never create_all). A request runs several transactions by design (token
lookup, idempotency claim, the write), so instead of a rolled-back transaction each test gets a fresh copy of
a migrated template: a file copy on SQLite, ``CREATE DATABASE … TEMPLATE`` on PostgreSQL. PostgreSQL
databases get random names and are dropped afterwards. In CI (CI=true) an unreachable PostgreSQL fails the
run; locally it skips.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from service.config import Settings
from service.db.engine import transaction
from service.db.migrate import upgrade
from service.db.tables import ApiToken
from service.db.tokens import TokenRepo, hash_token

# The key that signs audit tree heads (SPEC §6): one per test process, never in the working directory (the default
# place on PostgreSQL and for an in-memory SQLite database). A test that needs its own names one in Settings.
os.environ.setdefault("LEDGER_AUDIT_SIGNING_KEY", os.path.join(tempfile.mkdtemp(prefix="ledger-key-"), "key.pem"))

BACKEND = os.environ.get("LEDGER_TEST_DB", "sqlite")
PG_ADMIN_URL = os.environ.get("LEDGER_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def _pg_admin():
    """An engine on the server's admin database for CREATE/DROP DATABASE. NullPool: its connection closes when the
    block that took it ends. A pooled engine kept its connection open until the garbage collector found the
    engine; two per test, they piled up to PostgreSQL's max_connections (100) late in a long run."""
    return create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool)


class DatabaseFactory:
    """Makes fresh migrated databases quickly by cloning one migrated template."""

    def __init__(self, tmp_root):
        self.tmp_root = tmp_root
        self.created: list[str] = []
        if BACKEND == "postgres":
            try:
                with _pg_admin().connect() as conn:
                    conn.execute(text("SELECT 1"))
            except Exception as exc:  # noqa: BLE001
                if os.environ.get("CI") == "true":
                    pytest.fail(f"PostgreSQL unreachable in CI: {exc}")
                pytest.skip(f"PostgreSQL unreachable: {exc}")
            self.template = f"cl_tpl_{uuid.uuid4().hex[:12]}"
            with _pg_admin().connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{self.template}"'))
            upgrade(self._pg_url(self.template))
        else:
            self.template = str(tmp_root / "template.db")
            upgrade(f"sqlite:///{self.template}")

    def _pg_url(self, name: str) -> str:
        return make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)

    def empty_url(self) -> str:
        """A new database with no tables (for migration tests)."""
        if BACKEND == "postgres":
            name = f"cl_test_{uuid.uuid4().hex[:12]}"
            with _pg_admin().connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            self.created.append(name)
            return self._pg_url(name)
        return f"sqlite:///{self.tmp_root / (uuid.uuid4().hex + '.db')}"

    def fresh_url(self) -> str:
        if BACKEND == "postgres":
            name = f"cl_test_{uuid.uuid4().hex[:12]}"
            with _pg_admin().connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"'))
            self.created.append(name)
            return self._pg_url(name)
        path = self.tmp_root / (uuid.uuid4().hex + ".db")
        shutil.copyfile(self.template, path)
        return f"sqlite:///{path}"

    def drop(self, url: str) -> None:
        if BACKEND == "postgres":
            name = make_url(url).database
            with _pg_admin().connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            if name in self.created:
                self.created.remove(name)

    def close(self) -> None:
        if BACKEND == "postgres":
            with _pg_admin().connect() as conn:
                for name in [*self.created, self.template]:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def databases(tmp_path_factory) -> Iterator[DatabaseFactory]:
    factory = DatabaseFactory(tmp_path_factory.mktemp("db"))
    yield factory
    factory.close()


@pytest.fixture
def db_url(databases: DatabaseFactory) -> Iterator[str]:
    url = databases.fresh_url()
    yield url
    databases.drop(url)


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(database_url=db_url, idempotency_lease_seconds=60)


@pytest.fixture
def app(settings: Settings):
    from service.main import create_app

    return create_app(settings)


@pytest.fixture
def client(app) -> Iterator:
    from fastapi.testclient import TestClient

    with TestClient(app, raise_server_exceptions=False) as c:
        yield c
    app.state.db.engine.dispose()


@pytest.fixture
def sessions(app):
    return app.state.db.sessions


@pytest.fixture
def make_token(sessions):
    """make_token(role, name=..., chains=[...]) → bearer headers for a new token."""

    def make(role: str, name: str | None = None, chains: list[str] | None = None) -> dict[str, str]:
        token = f"test_{uuid.uuid4().hex}"
        with transaction(sessions, write=True) as session:
            TokenRepo(session).add(
                ApiToken(name=name or f"{role}-tester", role=role, token_hash=hash_token(token),
                         chains=json.dumps(chains or []), created_at=datetime.now(UTC))
            )
        return {"Authorization": f"Bearer {token}"}

    return make


@pytest.fixture
def admin(make_token) -> dict[str, str]:
    return make_token("admin", "admin-tester")


@pytest.fixture
def audit_count(sessions):
    from service.db.audit import AuditLog

    def count() -> int:
        with transaction(sessions, write=False) as session:
            return AuditLog(session).count()

    return count


@pytest.fixture
def reference(client, admin) -> dict[str, str]:
    """Two departments, three districts, two chains, created through the API."""
    for code, name in [("FGW", "市发改委"), ("JXJ", "市经信局")]:
        assert client.post("/api/v1/departments", json={"code": code, "name": name}, headers=admin).status_code == 201
    for code, name, kind in [("JA", "江岸区", "district"), ("HS", "洪山区", "district"),
                             ("DHGX", "东湖新技术开发区", "development_zone")]:
        r = client.post("/api/v1/districts", json={"code": code, "name": name, "kind": kind}, headers=admin)
        assert r.status_code == 201
    for code, name, dept in [("OPTICS", "光芯屏端网", "JXJ"), ("AUTO", "汽车制造", "FGW")]:
        r = client.post("/api/v1/chains", json={"code": code, "name": name, "leader": "链长", "lead_department": dept},
                        headers=admin)
        assert r.status_code == 201
    return {"chain": "OPTICS", "other_chain": "AUTO", "district": "JA"}




@pytest.fixture
def make_admin_token():
    """For tests that build their own app: an admin token on that app's database."""

    def make(app) -> dict[str, str]:
        token = f"test_{uuid.uuid4().hex}"
        with transaction(app.state.db.sessions, write=True) as session:
            TokenRepo(session).add(ApiToken(name="admin-tester", role="admin", token_hash=hash_token(token),
                                            chains="[]", created_at=datetime.now(UTC)))
        return {"Authorization": f"Bearer {token}"}

    return make
