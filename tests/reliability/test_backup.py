"""``chain-ledger backup`` under write load and ``chain-ledger restore``: the copy is one consistent state (its audit
chain verifies, and it holds every project whose write had answered before the backup began), on SQLite (online
backup API) and PostgreSQL (pg_dump / pg_restore)."""

from __future__ import annotations

import threading
import time

import httpx
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from service.cli import app as cli
from service.config import Settings, get_settings
from service.main import create_app
from tests.reliability.support import P, project_body, seed_reference, verify

runner = CliRunner()


def _cli(monkeypatch, url: str, *args: str):  # noqa: ANN001, ANN202
    monkeypatch.setenv("LEDGER_DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        return runner.invoke(cli, list(args))
    finally:
        get_settings.cache_clear()


def _projects(url: str, headers: dict[str, str]) -> tuple[int, dict]:
    app = create_app(Settings(database_url=url))
    with TestClient(app) as client:
        r = client.get(P, params={"limit": 500}, headers=headers)
        assert r.status_code == 200, r.text
        result = verify(client, headers)
    app.state.db.dispose()
    return len(r.json()["items"]), result


def test_backup_under_write_load_then_restore(serve, live_admin, databases, monkeypatch, tmp_path):
    server = serve()
    http = httpx.Client(base_url=server.url, timeout=60)
    seed_reference(http, live_admin)
    answered = []  # projects whose create had answered 201
    stop = threading.Event()

    def write(worker: int) -> None:
        client = httpx.Client(base_url=server.url, timeout=60)
        deadline = time.monotonic() + 60
        i = 0
        while not stop.is_set() and time.monotonic() < deadline and i < 400:
            r = client.post(P, json=project_body(f"备份项目{worker}-{i}"), headers=live_admin)
            assert r.status_code == 201, r.text
            answered.append(r.json()["id"])
            i += 1
        client.close()

    writers = [threading.Thread(target=write, args=(w,)) for w in range(2)]
    for t in writers:
        t.start()
    try:
        while len(answered) < 20:
            time.sleep(0.02)
        before = len(answered)
        path = tmp_path / "ledger.backup"
        result = _cli(monkeypatch, server.database_url, "backup", str(path))
        during = len(answered)
        assert result.exit_code == 0, result.output
        assert "written to" in result.output
        time.sleep(0.3)  # the writers keep going after the backup
    finally:
        stop.set()
        for t in writers:
            t.join(90)
    assert len(answered) > during, "the service kept writing"

    target = databases.empty_url()
    restored = _cli(monkeypatch, target, "restore", str(path))
    assert restored.exit_code == 0, restored.output
    count, audit = _projects(target, live_admin)
    # One consistent state: its hash chain verifies and it holds every project answered before the backup began
    # (and none that did not exist yet when it ended).
    assert audit["ok"] is True and audit["events"] > count
    assert before <= count <= len(answered)
    original, _ = _projects(server.database_url, live_admin)
    assert original == len(answered)


def test_restore_refuses_a_database_with_data_unless_forced(databases, monkeypatch, tmp_path, client, admin):
    # `client` built the app on db_url (migrated, one admin token); back it up.
    url = client.app.state.settings.database_url
    assert client.post("/api/v1/departments", json={"code": "JXJ", "name": "市经信局"}, headers=admin).status_code == 201
    path = tmp_path / "one.backup"
    assert _cli(monkeypatch, url, "backup", str(path)).exit_code == 0
    other = databases.fresh_url()  # migrated: not empty
    refused = _cli(monkeypatch, other, "restore", str(path))
    assert refused.exit_code == 1
    assert "not empty" in refused.output and "--force" in refused.output
    forced = _cli(monkeypatch, other, "restore", "--force", str(path))
    assert forced.exit_code == 0, forced.output
    count, audit = _projects(other, admin)
    assert audit["ok"] is True and audit["events"] >= 1
    databases.drop(other)


def test_backup_refuses_to_overwrite(client, monkeypatch, tmp_path):
    url = client.app.state.settings.database_url
    path = tmp_path / "exists.backup"
    path.write_text("keep me")
    result = _cli(monkeypatch, url, "backup", str(path))
    assert result.exit_code == 1
    assert "exists" in result.output and path.read_text() == "keep me"


@pytest.mark.parametrize("content", [b"not a backup at all", b"SQLite format 3\x00" + b"\x00" * 100])
def test_restore_refuses_what_is_no_backup(databases, monkeypatch, tmp_path, content):
    path = tmp_path / "junk.backup"
    path.write_bytes(content)
    result = _cli(monkeypatch, databases.empty_url(), "restore", str(path))
    assert result.exit_code == 1
    assert "restore failed:" in result.output
    assert "Traceback" not in result.output
