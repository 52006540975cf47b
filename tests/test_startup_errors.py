"""Clear failures at start: a wrong URL, an unreachable server, a missing PostgreSQL database and a read-only data
folder each end ``chain-ledger`` with two lines on stderr (what is wrong and what to do; no traceback) and exit
status 2; ``--debug`` shows the traceback. ``migrate --create-database`` creates a missing PostgreSQL database."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from service.db.migrate import current
from service.db.preflight import explain
from tests.conftest import BACKEND, PG_ADMIN_URL
from tests.support.live_server import chain_ledger_command, free_port


def run(url: str, *args: str, user: list[str] | None = None, cwd: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "LEDGER_DATABASE_URL": url, "LEDGER_LOG_LEVEL": "WARNING"}
    return subprocess.run([*(user or []), *chain_ledger_command(), *args], env=env, capture_output=True, text=True,
                          timeout=120, stdin=subprocess.DEVNULL, cwd=cwd)


def assert_short(result: subprocess.CompletedProcess, *needles: str) -> None:
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stderr
    assert len(lines) <= 2, result.stderr
    assert "Traceback" not in result.stderr and "╭" not in result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.mark.parametrize(("url", "needles"), [
    ("mysql://u@localhost/ledger", ["'mysql' is not supported", "postgresql+psycopg://"]),
    ("not a url", ["is no database URL", "sqlite:///"]),
    ("postgresql+asyncpg://u@localhost/ledger", ["'asyncpg' driver", "postgresql+psycopg://"]),
])
def test_wrong_url(url, needles):
    assert_short(run(url, "migrate"), *needles)


def test_unreachable_server():
    url = f"postgresql+psycopg://ledger@127.0.0.1:{free_port()}/ledger"
    for args in (["migrate"], ["serve", "--no-migrate"], ["serve"]):
        assert_short(run(url, *args), "cannot reach PostgreSQL at 127.0.0.1:", "Connection refused",
                     "is the server running")


def test_missing_sqlite_folder(tmp_path):
    assert_short(run(f"sqlite:///{tmp_path}/no/such/folder/ledger.db", "serve"), "does not exist", "mkdir -p")


def test_debug_shows_the_traceback():
    result = run("mysql://u@localhost/ledger", "--debug", "migrate")
    assert result.returncode != 0
    assert "StartupError" in result.stderr and len(result.stderr.splitlines()) > 2


def _as_nobody() -> list[str]:
    if os.geteuid() != 0:
        return []  # not root: the permission bits apply to us already
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("root without setpriv: permission bits do not apply to root")
    prefix = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]
    probe = subprocess.run([*prefix, *chain_ledger_command(), "--help"], capture_output=True, timeout=60)
    if probe.returncode != 0:
        pytest.skip("user nobody cannot run this checkout's chain-ledger")
    return prefix


def test_read_only_data_folder():
    user = _as_nobody()
    folder = Path(tempfile.mkdtemp(prefix="ledger-ro-"))
    try:
        folder.chmod(0o555)
        result = run(f"sqlite:///{folder}/ledger.db", "serve", user=user, cwd="/")
        assert_short(result, f"the data folder {folder} is read-only", "ledger.db", "writable")
    finally:
        folder.chmod(0o755)
        shutil.rmtree(folder)


def test_read_only_errors_during_a_migration_are_explained(tmp_path):
    err = Exception("(sqlite3.OperationalError) attempt to write a readonly database")
    message = explain(f"sqlite:///{tmp_path}/ledger.db", err)
    assert message and "read-only" in message
    assert explain("sqlite:///x.db", RuntimeError("something else")) is None


@pytest.mark.skipif(BACKEND != "postgres", reason="PostgreSQL databases: LEDGER_TEST_DB=postgres")
def test_missing_postgres_database_and_create_database():
    name = f"cl_missing_{uuid.uuid4().hex[:10]}"
    url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    assert_short(run(url, "serve"), f"PostgreSQL database '{name}' does not exist", "--create-database")
    try:
        created = run(url, "migrate", "--create-database")
        assert created.returncode == 0, created.stderr
        assert "database created" in created.stderr and created.stdout.strip() == "database at head"
        assert len(current(url)) == 1
        again = run(url, "migrate", "--create-database")  # exists now: just migrates
        assert again.returncode == 0 and "database created" not in again.stderr
    finally:
        from sqlalchemy import create_engine, text

        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
