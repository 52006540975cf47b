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
    inside, peak, lock = 0, 0, threading.Lock()
    slow = threading.Event()
    real_totals = ledger.LedgerQueries.totals

    def totals(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        nonlocal inside, peak
        with lock:
            inside += 1
            peak = max(peak, inside)
        try:
            slow.wait(0.3)  # long enough for all the others to arrive
            return real_totals(self, *args, **kwargs)
        finally:
            with lock:
                inside -= 1

    monkeypatch.setattr(ledger.LedgerQueries, "totals", totals)
    started = time.monotonic()
    with ThreadPoolExecutor(6) as pool:
        reports = [pool.submit(client.get, "/api/v1/ledger", params={"period": "2026"}, headers=admin)
                   for _ in range(6)]
        time.sleep(0.1)
        me = client.get("/api/v1/me", headers=admin)  # not a report: answered while reports wait their turn
        me_after = time.monotonic() - started
        statuses = [f.result().status_code for f in reports]
    assert statuses == [200] * 6
    assert me.status_code == 200 and me_after < 0.3 * 2
    assert peak == 2  # two at a time, never more, and both turns were used
    assert time.monotonic() - started >= 0.3 * 3  # six reports, two at a time: three rounds


def test_the_default_is_the_number_of_cpus(monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 6)
    assert Settings().report_concurrency == 6
    monkeypatch.setenv("LEDGER_REPORT_CONCURRENCY", "1")
    assert Settings().report_concurrency == 1
