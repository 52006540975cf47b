"""Any number of instances may start at once on one database: the migrations run under a lock (PostgreSQL's
advisory lock, SQLite's write lock), so the first migrates and the others find the schema at head.

Three ``upgrade`` processes released at the same instant on one empty database, and three ``chain-ledger serve``
started together on another, all succeed and leave exactly one schema at head."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import httpx
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from service.db.engine import make_engine
from service.db.migrate import alembic_config, current
from tests.support.live_server import ServeProcess, chain_ledger_command

RACER = """
import sys, time
from service.db.migrate import upgrade
start, url = float(sys.argv[1]), sys.argv[2]
time.sleep(max(0.0, start - time.time()))
upgrade(url)
print("migrated")
"""


def _head() -> str:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def _tables(url: str) -> set[str]:
    engine = make_engine(url, pool_size=1)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_three_migrations_at_the_same_instant(databases):
    url = databases.empty_url()
    start = time.time() + 4  # every process has imported the service (~1-2 s) before the moment comes
    procs = [subprocess.Popen([sys.executable, "-c", RACER, str(start), url], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True) for _ in range(3)]
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], "\n----\n".join(outputs)
    assert current(url) == [_head()]
    assert {"project", "audit_event", "alembic_version"} <= _tables(url)


def test_three_instances_start_together_on_an_empty_database(databases, tmp_path):
    url = databases.empty_url()
    servers = [ServeProcess(url, log_path=tmp_path / f"serve-{i}.log") for i in range(3)]
    errors: list[BaseException] = []

    def start(server: ServeProcess) -> None:
        try:
            server.start(timeout=90)
        except BaseException as exc:  # noqa: BLE001 - reported below with the servers' logs
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(s,)) for s in servers]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not errors, errors
        for server in servers:
            assert httpx.get(f"{server.url}/readyz", timeout=5).status_code == 200
        assert current(url) == [_head()]
    finally:
        for server in servers:
            server.kill()


def test_serve_no_migrate_leaves_the_schema_alone(databases, tmp_path):
    """``serve --no-migrate`` on an empty database serves (liveness) but migrates nothing."""
    url = databases.empty_url()
    server = ServeProcess(url, log_path=tmp_path / "serve.log")
    proc = subprocess.Popen([*chain_ledger_command(), "serve", "--no-migrate", "--port", str(server.port)],
                            env=server.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{server.url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise AssertionError("serve --no-migrate did not answer /healthz")
        assert current(url) == []
    finally:
        proc.kill()
        proc.wait(15)
