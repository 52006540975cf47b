"""Who a token is (SPEC §1): the actor of a live token, read on every request."""

from __future__ import annotations

import json

from service.db.raw import Reader
from service.db.tokens import hash_token, live_token
from service.domain import errors as d
from service.domain.access import Actor, Role


def token_hash(token: str) -> str:
    """What is stored of a token, and what a web session keeps of the one it signed in with."""
    return hash_token(token)


def actor_for_token_hash(r: Reader, *, token_hash: str) -> Actor | None:
    """The actor of a live token by the hash of its secret (None when unknown or revoked); the web frontend's
    sessions hold the hash."""
    row = live_token(r, token_hash)
    if row is None:
        return None
    return Actor(name=row.name, role=Role(row.role), chains=frozenset(json.loads(row.chains)), token_id=row.id)


def authenticate(r: Reader, *, token: str) -> Actor:
    """The actor of a bearer token; 401 when it is unknown or revoked."""
    actor = actor_for_token_hash(r, token_hash=hash_token(token))
    if actor is None:
        raise d.Unauthenticated("Unknown or revoked token.")
    return actor
