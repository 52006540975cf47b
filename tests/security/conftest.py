"""Fixtures of the security suite: live ``chain-ledger serve`` processes on the test's database (as
tests/reliability starts them), for what only a real server shows — its memory, and other requests answered
while a hostile upload is on its way."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.support.live_server import ServeProcess, add_token


@pytest.fixture
def serve(db_url: str, tmp_path) -> Iterator[Callable[..., ServeProcess]]:  # noqa: ANN001
    """serve(env={...}) → a started ``chain-ledger serve`` on this test's database."""
    servers: list[ServeProcess] = []

    def start(env: dict[str, str] | None = None) -> ServeProcess:
        server = ServeProcess(db_url, log_path=tmp_path / f"serve-{len(servers)}.log", env=env)
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.kill()


@pytest.fixture
def live_admin(db_url: str) -> dict[str, str]:
    return add_token(db_url, "admin", name="security-admin")
