"""Who acts, under which request, at what moment: what every use case is given (no framework here)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from service.domain.access import Actor


class TreeHeadSigner(Protocol):
    """Signs audit tree heads (``service/signing.py``): a published report carries one (SPEC §6)."""

    key_id: str

    def sign(self, message: bytes) -> str: ...


@dataclass(frozen=True, slots=True)
class Ctx:
    """Who acts, under which request (the service's own id), at what moment. The HTTP edge (``service/deps.py``), the web pages and the
    CLI build one; use cases read the clock only through it."""

    actor: Actor
    request_id: str | None
    now: datetime
    today: date
    #: The ``X-Request-ID`` the client sent, kept beside the service's own ``request_id`` (never in its place).
    client_request_id: str | None = None
    signer: TreeHeadSigner | None = None  # unset (seeding, scripts): published reports carry no tree head
