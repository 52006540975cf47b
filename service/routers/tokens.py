"""API tokens (SPEC §1, issue 19): create, list, revoke — admin only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from starlette.responses import Response

from service.deps import CtxDep, SessionDep, require_roles, settings_of
from service.domain.access import Role
from service.errors import responses
from service.routers.common import BY_NUMBER, Limit, NumberCursor, cursor_values, json_response, next_cursor, respond
from service.schemas.common import Page
from service.schemas.tokens import TokenCreate, TokenCreated, TokenRead, token_created, token_read
from service.usecases import tokens as uc

router = APIRouter(tags=["tokens"], dependencies=[require_roles(Role.ADMIN, action="manage tokens")])
TokenId = Annotated[int, Path(ge=1, le=2**31 - 1)]

LIFECYCLE = (
    "A token works until it is revoked or its `expires_at` passes; from then on every request with it answers 401 "
    "at once, on every instance (the token is read on every request; there is no cache), and every web session "
    "signed in with it ends. The secret is never stored (only its SHA-256) and never shown again."
)


@router.post("/tokens", status_code=201, response_model=TokenCreated, operation_id="create_token",
             responses=responses(400, 401, 403, 422),
             description="Creates a token. The answer carries its `secret` once; store it now. The secret is not "
             "kept for replays: an Idempotency-Key replay answers the same 201 with `\"secret\": null` (if the "
             "first answer was lost, revoke the token and create another). `expires_on` is the last day it "
             "works; without it the token expires `LEDGER_TOKEN_TTL_DAYS` (365) days after creation; "
             "`never_expires: true` gives `expires_at: null`. Audited as `token.created` (no secret, no hash). "
             + LIFECYCLE)
def create_token(request: Request, body: TokenCreate, session: SessionDep, ctx: CtxDep) -> Response:
    settings = settings_of(request)
    row, secret = uc.create_token(session, ctx=ctx, name=body.name, role=body.role, chains=body.chains,
                                  expires_on=body.expires_on, never_expires=body.never_expires,
                                  ttl_days=settings.token_ttl_days, tz=settings.tz)
    return respond(request, session, token_created(row, secret=secret), status_code=201,
                   stored=token_created(row, secret=None))


@router.get("/tokens", response_model=Page[TokenRead], operation_id="list_tokens",
            responses=responses(401, 403, 422),
            description="Every token, revoked and expired ones included, in creation (id) order; never a secret "
            "nor its hash.")
def list_tokens(session: SessionDep, cursor: NumberCursor = None, limit: Limit = 50) -> Response:
    after = cursor_values(cursor, BY_NUMBER)
    rows = uc.list_tokens(session, after=after[0] if after else None, limit=limit + 1)
    return json_response(Page[TokenRead](items=[token_read(r) for r in rows[:limit]],
                                         next_cursor=next_cursor(rows, limit, lambda r: [r.id])))


@router.post("/tokens/{token_id}/revoke", response_model=TokenRead, operation_id="revoke_token",
             responses=responses(401, 403, 404, 409, 422),
             description="Revokes a token (409 when it already is). Audited as `token.revoked`. " + LIFECYCLE)
def revoke_token(request: Request, token_id: TokenId, session: SessionDep, ctx: CtxDep) -> Response:
    row = uc.revoke_token(session, ctx=ctx, token_id=token_id)
    return respond(request, session, token_read(row))
