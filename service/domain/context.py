"""Who acts, under which request, at what moment: what every use case is given (no framework here)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from service.domain.access import Actor


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
