"""API tokens: only a SHA-256 hash of each is stored."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from service.db.raw import Reader
from service.db.tables import ApiToken


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


_TOKEN = ApiToken.__table__
_TOKEN_BY_HASH = select(_TOKEN.c.id, _TOKEN.c.name, _TOKEN.c.role, _TOKEN.c.chains).where(
    _TOKEN.c.token_hash == bindparam("token_hash"), _TOKEN.c.revoked_at.is_(None)
)


def live_token(r: Reader, token_hash: str) -> Any | None:
    """``(id, name, role, chains)`` of a live token (None when unknown or revoked): read on every request."""
    return r.first("token.live", lambda: _TOKEN_BY_HASH, token_hash=token_hash)


class TokenRepo:
    def __init__(self, session: Session):
        self.session = session

    def add(self, token: ApiToken) -> ApiToken:
        self.session.add(token)
        self.session.flush()
        return token
