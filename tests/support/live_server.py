"""Live servers for tests that need real sockets and real concurrency (tests/reliability).

``ServeProcess`` runs ``chain-ledger serve`` exactly as an operator would — a subprocess that migrates, then serves
on a free loopback port — and can be killed (SIGKILL included) and restarted on the same port and database.
``add_token`` writes an API token straight into a database, so a test can talk to a server it did not build.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from service.db.engine import make_engine, make_sessionmaker, transaction
from service.db.tables import ApiToken
from service.db.tokens import TokenRepo, hash_token


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def chain_ledger_command() -> list[str]:
    """The ``chain-ledger`` console script of the running interpreter's environment."""
    script = Path(sys.executable).with_name("chain-ledger")
    if script.exists():
        return [str(script)]
    found = shutil.which("chain-ledger")
    if found:
        return [found]
    return [sys.executable, "-c", "from service.cli import main; main()"]


def add_token(database_url: str, role: str = "admin", *, name: str | None = None,
              chains: list[str] | None = None) -> dict[str, str]:
    """Store a new token in ``database_url``; return its bearer headers."""
    token = f"test_{uuid.uuid4().hex}"
    engine = make_engine(database_url, pool_size=1)
    try:
        with transaction(make_sessionmaker(engine), write=True) as session:
            TokenRepo(session).add(ApiToken(name=name or f"{role}-live", role=role, token_hash=hash_token(token),
                                            chains=json.dumps(chains or []), created_at=datetime.now(UTC)))
    finally:
        engine.dispose()
    return {"Authorization": f"Bearer {token}"}


class ServeProcess:
    """``chain-ledger serve --port P`` on ``database_url``; ``env`` adds LEDGER_* settings. Output goes to
    ``log_path`` (appended across restarts), so a failing test can show what the server said."""

    def __init__(self, database_url: str, *, log_path: Path, port: int | None = None,
                 env: dict[str, str] | None = None):
        self.database_url = database_url
        self.port = port or free_port()
        self.log_path = log_path
        self.env = {
            **os.environ,
            "LEDGER_DATABASE_URL": database_url,
            "LEDGER_LOG_LEVEL": "WARNING",
            "LEDGER_WEBHOOK_WORKER": "false",
            "LEDGER_SESSION_SECRET": "reliability-tests",
            **(env or {}),
        }
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> ServeProcess:
        """Start and wait until ``/readyz`` answers 200. Retries a few times when the port is not free yet."""
        for attempt in range(5):
            with open(self.log_path, "ab") as log:
                log.write(f"\n----- start #{self.starts + 1} (attempt {attempt + 1}) on port {self.port}\n".encode())
                log.flush()
                self.proc = subprocess.Popen(
                    [*chain_ledger_command(), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                    env=self.env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
            if self._wait_ready(timeout):
                self.starts += 1
                return self
            if self.proc.poll() is None:  # alive but not ready in time: a real failure
                self.kill()
                break
            time.sleep(0.5 * (attempt + 1))  # exited at once: most likely the port is still taken
        raise RuntimeError(f"chain-ledger serve did not become ready; log:\n{self.log_tail()}")

    def _wait_ready(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                return False
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return True
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        return False

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Send ``sig`` to the server (SIGKILL by default: no cleanup at all) and reap it."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(sig)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(15)

    def stop(self) -> None:
        """Graceful stop (SIGTERM), SIGKILL when it does not end in time."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.kill()

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return "<no log>"


def wait_for(predicate: Callable[[], object], timeout: float = 12.0, what: str = "condition") -> object:
    """``predicate()`` once it is truthy, polled every 20 ms; fails the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def serve(db_url: str, tmp_path: Path) -> Iterator[Callable[..., ServeProcess]]:
    """serve(env={...}, port=None) → a started ``chain-ledger serve`` on this test's database (killed after)."""
    servers: list[ServeProcess] = []

    def start(env: dict[str, str] | None = None, port: int | None = None) -> ServeProcess:
        server = ServeProcess(db_url, log_path=tmp_path / f"serve-{len(servers)}.log", port=port, env=env)
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.kill()


@pytest.fixture
def live_admin(db_url: str) -> dict[str, str]:
    """Bearer headers of an admin token stored in this test's database (for live servers)."""
    return add_token(db_url, "admin", name="live-admin")
