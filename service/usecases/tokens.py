"""API tokens (SPEC §1, issue 19): create (the secret shown once), list, revoke — admin only, each write audited
as ``token.created`` / ``token.revoked`` (never the secret nor its hash). The API and the CLI both come here."""

from __future__ import annotations

import json
import secrets
from datetime import date, tzinfo
from typing import Any

from sqlalchemy.orm import Session

from service.db.reference import ReferenceRepo
from service.db.tables import ApiToken
from service.db.tokens import TokenRepo, hash_token
from service.domain import errors as d
from service.domain import tokens as rules
from service.domain.access import Role
from service.domain.context import Ctx
from service.usecases.common import audit


def _snapshot(row: ApiToken) -> dict[str, Any]:
    """What the audit log keeps of a token: never its secret nor its hash."""
    return {"id": row.id, "name": row.name, "role": row.role, "chains": json.loads(row.chains),
            "expires_at": row.expires_at}


def new_secret() -> str:
    return "cl_" + secrets.token_urlsafe(32)


def create_token(
    session: Session, *, ctx: Ctx, name: str, role: Role, chains: list[str], expires_on: date | None,
    never_expires: bool, ttl_days: int, tz: tzinfo,
) -> tuple[ApiToken, str]:
    """A new token and its secret (shown once; only its SHA-256 is stored)."""
    ctx.actor.require(Role.ADMIN, action="manage tokens")
    chains = sorted(set(chains))
    if role is Role.DEPARTMENT and not chains:
        raise d.InvalidInput.at(["body", "chains"], "A department token needs at least one chain.")
    if role is not Role.DEPARTMENT and chains:
        raise d.InvalidInput.at(["body", "chains"], "Only department tokens take chains.")
    reference = ReferenceRepo(session)
    for i, code in enumerate(chains):
        if reference.chain(code) is None:
            raise d.InvalidInput.at(["body", "chains", i], f"Unknown chain '{code}'.")
    expires_at = rules.expires_at(now=ctx.now, today=ctx.today, tz=tz, ttl_days=ttl_days, expires_on=expires_on,
                                  never_expires=never_expires)
    secret = new_secret()
    row = TokenRepo(session).add(ApiToken(name=name, role=role.value, token_hash=hash_token(secret),
                                          chains=json.dumps(chains), created_at=ctx.now, expires_at=expires_at))
    audit(session, ctx, action="token.created", entity="token", entity_id=str(row.id), before=None,
          after=_snapshot(row))
    return row, secret


def list_tokens(session: Session, *, after: int | None, limit: int) -> list[ApiToken]:
    return TokenRepo(session).page(after=after, limit=limit)


def revoke_token(session: Session, *, ctx: Ctx, token_id: int) -> ApiToken:
    """Revoke a token: it answers 401 from its next request on, and every web session signed in with it ends."""
    ctx.actor.require(Role.ADMIN, action="manage tokens")
    repo = TokenRepo(session)
    row = repo.get(token_id, for_update=True)
    if row is None:
        raise d.NotFound(f"No token {token_id}.")
    if row.revoked_at is not None:
        raise d.Conflict(f"Token {token_id} was already revoked.")
    repo.revoke(row, now=ctx.now)
    audit(session, ctx, action="token.revoked", entity="token", entity_id=str(row.id),
          before={"revoked_at": None}, after={"revoked_at": row.revoked_at}, changed_only=False,
          extra={"name": row.name, "role": row.role})
    return row
