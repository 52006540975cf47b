"""Single-statement reads in worker threads take turns, ``read_concurrency`` at a time per process
(service/db/database.py: read_limiter). On a SQLite file they run on the event loop instead (tests/api/test_inline_reads.py),
so the turns are PostgreSQL's."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from service.config import Settings
from tests.api.conftest import IS_POSTGRES, P


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(database_url=db_url, read_concurrency=2, thread_limit=8)


class Gate:
    """Wraps a function: counts the calls inside it (and the peak), holds each until released."""

    def __init__(self, real):  # noqa: ANN001
        self.real, self.inside, self.peak = real, 0, 0
        self.lock, self.release = threading.Lock(), threading.Event()

    def __call__(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN204
        with self.lock:
            self.inside += 1
            self.peak = max(self.peak, self.inside)
        try:
            self.release.wait(30)
            return self.real(*args, **kwargs)
        finally:
            with self.lock:
                self.inside -= 1

    def wait_for(self, n: int) -> None:
        deadline = time.monotonic() + 30
        while self.inside < n:
            assert time.monotonic() < deadline, f"{self.inside} inside, expected {n}"
            time.sleep(0.01)
        time.sleep(0.2)  # grace for one more to get in, were the turns not kept


@pytest.mark.skipif(not IS_POSTGRES, reason="on a SQLite file these reads run on the event loop, not in threads")
def test_token_lookups_take_turns(client, admin, monkeypatch):
    from service.usecases import auth

    gate = Gate(auth.use_token)
    monkeypatch.setattr(auth, "use_token", gate)
    with ThreadPoolExecutor(6) as pool:
        calls = [pool.submit(client.get, "/api/v1/me", headers=admin) for _ in range(6)]
        try:
            gate.wait_for(2)
            assert gate.inside == 2
            assert client.get("/healthz").status_code == 200  # the loop answers while the reads wait their turn
            assert not any(f.done() for f in calls)
        finally:
            gate.release.set()
        assert [f.result().status_code for f in calls] == [200] * 6
    assert gate.peak == 2


@pytest.mark.skipif(not IS_POSTGRES, reason="on a SQLite file these reads run on the event loop, not in threads")
def test_project_reads_take_turns(client, admin, new_project, monkeypatch):
    """Two project reads held in their turns: a third waits (its token lookup, too, waits for a turn)."""
    from service.usecases import projects as uc

    project = new_project()
    gate = Gate(uc.read_project)
    monkeypatch.setattr(uc, "read_project", gate)
    with ThreadPoolExecutor(4) as pool:
        reads = [pool.submit(client.get, f"{P}/{project['id']}", headers=admin) for _ in range(3)]
        try:
            gate.wait_for(2)
            assert gate.inside == 2  # the third read waits for a turn
        finally:
            gate.release.set()
        assert [f.result().status_code for f in reads] == [200] * 3
    assert gate.peak == 2


def test_the_default_is_the_number_of_cpus(monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 6)
    assert Settings().read_concurrency == 6
    monkeypatch.setenv("LEDGER_READ_CONCURRENCY", "1")
    assert Settings().read_concurrency == 1
