"""API tokens: only a SHA-256 hash of each is stored; and the web sessions signed in with them."""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from typing import Any

from sqlalchemy import bindparam, delete, or_, select, update
from sqlalchemy.orm import Session

from service.db.raw import Reader
from service.db.tables import ApiToken, WebSession


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


_TOKEN = ApiToken.__table__
_SESSION = WebSession.__table__
_LIVE_COLUMNS = (_TOKEN.c.id, _TOKEN.c.name, _TOKEN.c.role, _TOKEN.c.chains, _TOKEN.c.expires_at,
                 _TOKEN.c.last_used_on)
_TOKEN_BY_HASH = select(*_LIVE_COLUMNS).where(
    _TOKEN.c.token_hash == bindparam("token_hash"), _TOKEN.c.revoked_at.is_(None)
)
_SESSION_BY_ID = select(*_LIVE_COLUMNS, _SESSION.c.created_at.label("session_created_at"),
                        _SESSION.c.last_seen_at).join(_TOKEN, _TOKEN.c.id == _SESSION.c.token_id).where(
    _SESSION.c.id == bindparam("session_id"), _TOKEN.c.revoked_at.is_(None)
)


def live_token(r: Reader, token_hash: str) -> Any | None:
    """``(id, name, role, chains, expires_at, last_used_on)`` of an unrevoked token (None when unknown or
    revoked; the caller checks the expiry against its clock): read on every request."""
    return r.first("token.live", lambda: _TOKEN_BY_HASH, token_hash=token_hash)


def session_token(r: Reader, session_id: str) -> Any | None:
    """The token fields of ``live_token`` plus ``session_created_at`` and ``last_seen_at`` of a web session whose
    token is not revoked (None otherwise)."""
    return r.first("web_session.live", lambda: _SESSION_BY_ID, session_id=session_id)


class TokenRepo:
    def __init__(self, session: Session):
        self.session = session

    def add(self, token: ApiToken) -> ApiToken:
        self.session.add(token)
        self.session.flush()
        return token

    def get(self, token_id: int, *, for_update: bool = False) -> ApiToken | None:
        stmt = select(ApiToken).where(ApiToken.id == token_id)
        if for_update:
            stmt = stmt.with_for_update()
        return self.session.scalars(stmt).first()

    def page(self, *, after: int | None, limit: int) -> list[ApiToken]:
        stmt = select(ApiToken).order_by(ApiToken.id).limit(limit)
        if after is not None:
            stmt = stmt.where(ApiToken.id > after)
        return list(self.session.scalars(stmt))

    def revoke(self, token: ApiToken, *, now: datetime) -> None:
        """Revoke ``token`` and end every web session signed in with it, in the caller's transaction."""
        token.revoked_at = now
        self.session.add(token)
        self.session.flush()
        self.session.execute(delete(WebSession).where(WebSession.token_id == token.id))

    def touch(self, token_id: int, today: date) -> int:
        """Record ``today`` as the token's last day of use (a no-op when it already is)."""
        result = self.session.execute(update(ApiToken).where(
            ApiToken.id == token_id, or_(ApiToken.last_used_on.is_(None), ApiToken.last_used_on < today),
        ).values(last_used_on=today))
        return result.rowcount or 0


class SessionRepo:
    """Browser sessions: created at sign-in, seen on every page, deleted at sign-out or when ended."""

    def __init__(self, session: Session):
        self.session = session

    def add(self, session_id: str, *, token_id: int, now: datetime) -> None:
        self.session.add(WebSession(id=session_id, token_id=token_id, created_at=now, last_seen_at=now))
        self.session.flush()

    def seen(self, session_id: str, now: datetime) -> None:
        self.session.execute(update(WebSession).where(WebSession.id == session_id).values(last_seen_at=now))

    def end(self, session_id: str) -> None:
        self.session.execute(delete(WebSession).where(WebSession.id == session_id))

    def purge(self, *, idle_before: datetime, created_before: datetime) -> int:
        """Delete the sessions that have ended (unused since ``idle_before`` or signed in before
        ``created_before``)."""
        result = self.session.execute(delete(WebSession).where(
            or_(WebSession.last_seen_at < idle_before, WebSession.created_at < created_before)))
        return result.rowcount or 0
