"""Fixtures of the security regression tests: the API contract helpers, a loopback-only network guard, a
resolver stub, and a small HTTP(S) receiver that records what reached it (Host header, SNI, body)."""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.api.conftest import db_state, events, execute_sql, move, new_project, unchanged  # noqa: F401
from tests.support.live_server import ServeProcess, add_token, live_admin, serve  # noqa: F401  (fixtures)

LOOPBACK = {"127.0.0.1", "::1", "::ffff:127.0.0.1"}


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch) -> list[tuple[str, int]]:
    """Every outgoing TCP connection the worker opens (httpcore goes through ``socket.create_connection``) is
    recorded, and one to anything but loopback fails the test before a packet leaves: these tests name
    169.254.169.254 and friends, and must never reach them."""
    opened: list[tuple[str, int]] = []
    real = socket.create_connection

    def guarded(address, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003
        opened.append((address[0], address[1]))
        if address[0] not in LOOPBACK:
            raise AssertionError(f"a test tried to connect to {address[0]}:{address[1]}")
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", guarded)
    return opened


class StubResolver:
    """Answers from a table instead of DNS; each name's answers are consumed in turn (the last one repeats),
    so a test can make a name change its address between two look-ups, as a rebinding attacker does."""

    def __init__(self, answers: dict[str, list[list[str]]] | None = None):
        self.answers = answers or {}
        self.calls: list[str] = []

    def __call__(self, host: str) -> list[str]:
        self.calls.append(host)
        queue = self.answers.get(host)
        if not queue:
            return []
        return list(queue.pop(0) if len(queue) > 1 else queue[0])


@dataclass
class Hit:
    path: str
    host: str | None
    sni: str | None
    body: dict


@dataclass
class CaptureServer:
    """An HTTP (or HTTPS with ``certfile``) server on 127.0.0.1 that answers 200 and records each request."""

    certfile: Path | None = None
    keyfile: Path | None = None
    hits: list[Hit] = field(default_factory=list)
    port: int = 0

    def start(self) -> CaptureServer:
        server = self
        sni_seen: dict[int, str | None] = {}

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                sni = sni_seen.get(id(self.connection)) if server.certfile else None
                server.hits.append(Hit(self.path, self.headers.get("host"), sni, json.loads(body)))
                self.send_response(200)
                self.send_header("content-length", "2")
                self.send_header("connection", "close")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args) -> None:  # noqa: ANN002
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if self.certfile:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(self.certfile, self.keyfile)

            def remember(sock, name, _ctx):  # noqa: ANN001
                sni_seen[id(sock)] = name

            ctx.sni_callback = remember
            self._httpd.socket = ctx.wrap_socket(self._httpd.socket, server_side=True)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


@pytest.fixture
def capture() -> Iterator[CaptureServer]:
    server = CaptureServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def tls_material(tmp_path_factory) -> dict[str, Path]:
    """A self-signed certificate for ``hooks.example.test`` (openssl CLI)."""
    where = tmp_path_factory.mktemp("tls")
    cert, key = where / "cert.pem", where / "key.pem"
    try:
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
             "-days", "2", "-subj", "/CN=hooks.example.test", "-addext", "subjectAltName=DNS:hooks.example.test"],
            check=True, capture_output=True, timeout=60,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        pytest.skip(f"openssl could not make a test certificate: {exc}")
    return {"cert": cert, "key": key}


@pytest.fixture
def tls_capture(tls_material) -> Iterator[CaptureServer]:
    server = CaptureServer(certfile=tls_material["cert"], keyfile=tls_material["key"]).start()
    yield server
    server.stop()


# ---------------------------------------------------------------- live servers (the import bombs)


