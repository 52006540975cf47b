"""The command line (``chain-ledger …``) against the test database, through typer's CliRunner."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from service.cli import app as cli
from service.config import get_settings
from tests.api.conftest import events  # noqa: F401, F811 - a fixture

runner = CliRunner()


@pytest.fixture
def cli_env(monkeypatch, db_url: str) -> Iterator[str]:
    """Point the CLI's settings (read from LEDGER_* variables, cached) at the test database."""
    monkeypatch.setenv("LEDGER_DATABASE_URL", db_url)
    get_settings.cache_clear()
    yield db_url
    get_settings.cache_clear()


def _last_line(result) -> str:  # noqa: ANN001
    lines = result.stdout.strip().splitlines()
    assert lines, result.output
    return lines[-1].strip()


def test_seed_demo(cli_env, client, admin):
    result = runner.invoke(cli, ["seed", "--demo"])
    assert result.exit_code == 0, result.output
    assert _last_line(result).startswith("demo: ")
    assert "(0 new" not in _last_line(result)
    chains = client.get("/api/v1/chains", headers=admin).json()["items"]
    assert len(chains) >= 5
    again = runner.invoke(cli, ["seed", "--demo"])
    assert again.exit_code == 0, again.output
    assert "(0 new" in _last_line(again)


def test_seed_needs_a_mode(cli_env):
    result = runner.invoke(cli, ["seed"])
    assert result.exit_code != 0


def test_token_for_unknown_chain_fails(cli_env, client, admin):
    result = runner.invoke(cli, ["token", "create", "--role", "department", "--name", "x", "--chain", "NOPE"])
    assert result.exit_code != 0
    assert "NOPE" in result.output


def test_department_token_needs_a_chain(cli_env):
    result = runner.invoke(cli, ["token", "create", "--role", "department", "--name", "x"])
    assert result.exit_code != 0


def test_viewer_token_works(cli_env, client):
    result = runner.invoke(cli, ["token", "create", "--role", "viewer", "--name", "v"])
    assert result.exit_code == 0, result.output
    token = _last_line(result)
    r = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    assert r.json() == {"name": "v", "role": "viewer", "chains": []}
    # read-only: a write is refused
    r = client.post("/api/v1/departments", json={"code": "X", "name": "x"}, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 403


def test_department_token_after_seed(cli_env, client):
    assert runner.invoke(cli, ["seed", "--demo"]).exit_code == 0
    result = runner.invoke(cli, ["token", "create", "--role", "department", "--name", "经信局", "--chain", "ICT",
                                 "--chain", "AUTO"])
    assert result.exit_code == 0, result.output
    r = client.get("/api/v1/me", headers={"Authorization": f"Bearer {_last_line(result)}"})
    assert r.status_code == 200, r.text
    assert r.json() == {"name": "经信局", "role": "department", "chains": ["AUTO", "ICT"]}


def test_token_expiry_options_list_and_revoke(cli_env, client, admin, events):  # noqa: F811
    made = runner.invoke(cli, ["token", "create", "--role", "viewer", "--name", "到期", "--expires-on", "2099-06-30"])
    assert made.exit_code == 0, made.output
    token = _last_line(made)
    forever = runner.invoke(cli, ["token", "create", "--role", "auditor", "--name", "永久", "--never-expires"])
    assert forever.exit_code == 0, forever.output
    both = runner.invoke(cli, ["token", "create", "--role", "viewer", "--name", "x", "--expires-on", "2099-01-01",
                               "--never-expires"])
    assert both.exit_code != 0
    assert runner.invoke(cli, ["token", "create", "--role", "viewer", "--name", "x", "--expires-on", "soon"]
                         ).exit_code != 0
    listed = runner.invoke(cli, ["token", "list"])
    assert listed.exit_code == 0, listed.output
    rows = {line.split("\t")[1]: line.split("\t") for line in listed.stdout.strip().splitlines()[1:]}
    assert rows["到期"][5] == "2099-06-30T16:00:00+00:00" and rows["永久"][5] == "never"
    assert token not in listed.stdout and "test_" not in listed.stdout
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    revoked = runner.invoke(cli, ["token", "revoke", rows["到期"][0]])
    assert revoked.exit_code == 0, revoked.output
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert runner.invoke(cli, ["token", "revoke", rows["到期"][0]]).exit_code != 0  # already revoked
    assert runner.invoke(cli, ["token", "revoke", "999999"]).exit_code != 0
    created = [e for e in events(action="token.created") if e["data"]["after"]["name"] in ("到期", "永久")]
    assert len(created) == 2 and all(e["actor"] == {"name": "system", "role": "admin"} for e in created)
    (e,) = events(action="token.revoked")
    assert e["entity_id"] == rows["到期"][0] and token not in str(e)
