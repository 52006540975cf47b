"""A real webhook receiver for tests: a small ASGI app under uvicorn, in a thread, on a free loopback port.

It verifies every request's Standard Webhooks signature with the ``standardwebhooks`` package, records what it
got, and fails on demand: ``plan`` holds the behaviour of the next requests (``ok``, ``500``, ``timeout`` — answer
only after ``slow_seconds`` —, ``reset`` — abort the TCP connection with an RST before reading the request),
``rule(payload)`` may choose one per message, ``default`` covers the rest. ``stop()`` takes it down (connection
refused) and ``start()`` brings it back on the same port.
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import uvicorn
from standardwebhooks import Webhook, WebhookVerificationError
from uvicorn.protocols.http.h11_impl import H11Protocol


@dataclass
class Received:
    mode: str  # ok | 500 | timeout | reset
    webhook_id: str | None
    valid: bool | None  # signature verified (None: the request was never read)
    payload: dict[str, Any] | None
    at: float  # time.monotonic()

    @property
    def delivered(self) -> bool:
        return self.mode == "ok" and bool(self.valid)

    @property
    def type(self) -> str | None:
        return self.payload["type"] if self.payload else None

    @property
    def entity_id(self) -> str | None:
        return self.payload["data"]["entity_id"] if self.payload else None

    @property
    def seq(self) -> int | None:
        return self.payload["data"]["seq"] if self.payload else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Receiver:
    def __init__(self, secret: str | None = None, *, slow_seconds: float = 1.5, latency: float = 0.0):
        self.secret = secret
        self.slow_seconds = slow_seconds
        self.latency = latency  # seconds every answer takes (to keep several workers busy at once)
        self.plan: deque[str] = deque()
        self.rule: Callable[[dict[str, Any]], str | None] | None = None
        self.default = "ok"
        self.received: list[Received] = []
        self.port = free_port()
        self._lock = threading.Lock()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/ledger"

    # ---------------------------------------------------------------- what was received

    def delivered(self) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.delivered]

    def log(self) -> list[Received]:
        with self._lock:
            return list(self.received)

    def _record(self, item: Received) -> None:
        with self._lock:
            self.received.append(item)

    def _decide(self, payload: dict[str, Any] | None) -> str:
        with self._lock:
            if self.plan:
                return self.plan.popleft()
        if self.rule is not None and payload is not None:
            chosen = self.rule(payload)
            if chosen:
                return chosen
        return self.default

    def _take_reset(self) -> bool:
        with self._lock:
            if self.plan and self.plan[0] == "reset":
                self.plan.popleft()
                return True
        return False

    # ---------------------------------------------------------------- the ASGI app

    async def _app(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None
        valid = False
        if self.secret:
            try:
                Webhook(self.secret).verify(body, headers)
                valid = True
            except WebhookVerificationError:
                valid = False
        mode = self._decide(payload)
        if mode == "reset":  # decided from the payload: answer 500 (a real RST needs the raw connection)
            mode = "500"
        self._record(Received(mode=mode, webhook_id=headers.get("webhook-id"), valid=valid, payload=payload,
                              at=time.monotonic()))
        if mode == "timeout":
            await asyncio.sleep(self.slow_seconds)
        elif self.latency:
            await asyncio.sleep(self.latency)
        status = 500 if mode == "500" else (200 if valid else 401)
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"text/plain"), (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": b"accepted" if status == 200 else b"refused"})

    def _protocol(self) -> type[H11Protocol]:
        receiver = self

        class ResettingProtocol(H11Protocol):
            """Aborts a new connection with an RST when the plan says ``reset`` (every answer closes the
            connection, so each request arrives on a new one)."""

            _decided = False

            def data_received(self, data: bytes) -> None:
                if not self._decided:
                    self._decided = True
                    if receiver._take_reset():
                        webhook_id = None
                        for line in data.split(b"\r\n"):
                            if line.lower().startswith(b"webhook-id:"):
                                webhook_id = line.split(b":", 1)[1].strip().decode()
                        receiver._record(Received(mode="reset", webhook_id=webhook_id, valid=None, payload=None,
                                                  at=time.monotonic()))
                        sock = self.transport.get_extra_info("socket")
                        if sock is not None:
                            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                        self.transport.abort()
                        return
                super().data_received(data)

        return ResettingProtocol

    # ---------------------------------------------------------------- up and down

    def start(self) -> Receiver:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        sock.listen(64)
        self._sock = sock
        config = uvicorn.Config(self._app, host="127.0.0.1", port=self.port, lifespan="off", log_config=None, interface="asgi3",
                                log_level="warning", access_log=False, http=self._protocol(),
                                timeout_graceful_shutdown=1)
        server = uvicorn.Server(config)
        self._server = server
        self._thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True,
                                        name=f"receiver-{self.port}")
        self._thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the test receiver did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)
        if self._sock is not None:
            self._sock.close()
        self._server = self._thread = self._sock = None
