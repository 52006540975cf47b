"""The ledger's reports take turns, ``report_concurrency`` at a time per process (service/deps.py: report_turn)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from service.config import Settings
from service.db import ledger


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(database_url=db_url, report_concurrency=2)


def test_reports_take_turns_and_other_requests_do_not_wait(client, admin, monkeypatch):
    """Six reports, two turns: two run (held inside until released), four wait; a request that is not a report
    is answered meanwhile. No wall-clock bound: the reports are held by an event, not by time."""
    inside, peak, lock = 0, 0, threading.Lock()
    release = threading.Event()
    real_totals = ledger.LedgerQueries.totals

    def totals(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        nonlocal inside, peak
        with lock:
            inside += 1
            peak = max(peak, inside)
        try:
            release.wait(30)
            return real_totals(self, *args, **kwargs)
        finally:
            with lock:
                inside -= 1

    def wait_until(condition) -> None:  # noqa: ANN001
        deadline = time.monotonic() + 30
        while not condition():
            assert time.monotonic() < deadline
            time.sleep(0.01)

    monkeypatch.setattr(ledger.LedgerQueries, "totals", totals)
    with ThreadPoolExecutor(6) as pool:
        reports = [pool.submit(client.get, "/api/v1/ledger", params={"period": "2026"}, headers=admin)
                   for _ in range(6)]
        try:
            wait_until(lambda: inside >= 2)
            time.sleep(0.2)  # grace for a third report to get in, were the turns not kept
            assert inside == 2
            assert client.get("/api/v1/me", headers=admin).status_code == 200  # answered while reports wait
            assert inside == 2 and not any(f.done() for f in reports)
        finally:
            release.set()
        statuses = [f.result().status_code for f in reports]
    assert statuses == [200] * 6
    assert peak == 2  # two at a time, never more, and both turns were used


def test_the_default_is_the_number_of_cpus(monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 6)
    assert Settings().report_concurrency == 6
    monkeypatch.setenv("LEDGER_REPORT_CONCURRENCY", "1")
    assert Settings().report_concurrency == 1
