"""The web session secret persists: generated once into the data folder (beside the SQLite file, the working
directory otherwise) and read back by every later start, worker and instance; or read from the file that
LEDGER_SESSION_SECRET_FILE names. A secret file that is missing, unreadable or empty stops the start with a clear
message; it is never replaced by a new secret."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest

from service.config import Settings
from service.session_secret import FILE_NAME, SecretError, data_folder, session_secret
from tests.support.live_server import ServeProcess, chain_ledger_command


def test_generated_once_beside_the_sqlite_file_and_kept(tmp_path):
    settings = Settings(database_url=f"sqlite:///{tmp_path}/ledger.db")
    first = session_secret(settings)
    path = tmp_path / FILE_NAME
    assert path.read_text().strip() == first and len(first) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert session_secret(settings) == first  # a restart reads it back
    assert session_secret(Settings(database_url=f"sqlite:///{tmp_path}/ledger.db")) == first


def test_postgres_uses_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = Settings(database_url="postgresql+psycopg://ledger@db/ledger")
    assert data_folder(settings.database_url) == tmp_path
    assert session_secret(settings) == (tmp_path / FILE_NAME).read_text().strip()


def test_workers_starting_together_share_one_secret(tmp_path):
    settings = Settings(database_url=f"sqlite:///{tmp_path}/ledger.db")
    with ThreadPoolExecutor(8) as pool:
        found = set(pool.map(lambda _: session_secret(settings), range(16)))
    assert len(found) == 1
    assert [p.name for p in tmp_path.iterdir()] == [FILE_NAME]  # no temporary file left behind


def test_set_secret_wins_and_writes_nothing(tmp_path):
    assert session_secret(Settings(database_url=f"sqlite:///{tmp_path}/l.db", session_secret="s3cret")) == "s3cret"
    assert not (tmp_path / FILE_NAME).exists()


def test_secret_file_setting(tmp_path):
    secret_file = tmp_path / "secret"
    secret_file.write_text("from-a-file\n")
    settings = Settings(database_url=f"sqlite:///{tmp_path}/l.db", session_secret_file=str(secret_file))
    assert session_secret(settings) == "from-a-file"
    assert not (tmp_path / FILE_NAME).exists()


@pytest.mark.parametrize("case", ["missing", "empty"])
def test_a_bad_secret_file_is_an_error_never_a_new_secret(tmp_path, case):
    secret_file = tmp_path / "secret"
    if case == "empty":
        secret_file.write_text("\n")
    with pytest.raises(SecretError, match="LEDGER_SESSION_SECRET_FILE names the session secret file"):
        session_secret(Settings(database_url=f"sqlite:///{tmp_path}/l.db", session_secret_file=str(secret_file)))
    kept = tmp_path / FILE_NAME
    kept.write_text("")  # a kept secret that got emptied: an error too, and the file is left as it is
    with pytest.raises(SecretError, match="is empty"):
        session_secret(Settings(database_url=f"sqlite:///{tmp_path}/l.db"))
    assert kept.read_text() == ""


def test_serve_stops_on_a_missing_secret_file(tmp_path):
    env = {**os.environ, "LEDGER_DATABASE_URL": f"sqlite:///{tmp_path}/l.db",
           "LEDGER_SESSION_SECRET_FILE": str(tmp_path / "nope")}
    env.pop("LEDGER_SESSION_SECRET", None)
    result = subprocess.run([*chain_ledger_command(), "serve", "--port", "1"], env=env, capture_output=True,
                            text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) <= 2 and "Traceback" not in result.stderr
    assert f"session secret file {tmp_path / 'nope'}" in lines[0] and "No such file" in lines[0]


def test_serve_logs_the_generated_secret_as_json_like_every_other_line(tmp_path):
    """The secret is generated before the app configures its logging; that line is a JSON line as well."""
    server = ServeProcess(f"sqlite:///{tmp_path}/ledger.db", log_path=tmp_path / "serve.log",
                          env={"LEDGER_SESSION_SECRET": "", "LEDGER_LOG_LEVEL": "INFO"})
    server.start()
    server.stop()
    lines = [line for line in server.log_path.read_text().splitlines() if line and not line.startswith("-----")]
    events = [json.loads(line)["event"] for line in lines]  # every line is JSON
    assert "session_secret_created" in events and "Application startup complete." in events
    assert (tmp_path / FILE_NAME).exists()
