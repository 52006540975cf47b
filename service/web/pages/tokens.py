"""Tokens (admin): create one (its secret shown once, on the answer to the form, never stored in the session),
list them, revoke one — the use cases of /api/v1/tokens, audited the same way."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path as PathParam
from fastapi import Query, Request
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from starlette.responses import RedirectResponse, Response

from service.deps import settings_of
from service.domain import errors as d
from service.domain.access import Actor, Role
from service.schemas.tokens import TokenCreate, token_read
from service.usecases import tokens as tokens_uc
from service.web.error_text import FieldMessage
from service.web.frame import SignedIn, all_reference, lang_of, local_time, reading, refusal, render, router, writing
from service.web.session import flash, form_of, web_ctx

TOKENS_PAGE = 200
SEQ_MAX = 2**31 - 1


def _admin(actor: Actor) -> None:
    actor.require(Role.ADMIN, action="manage tokens")


def _page(request: Request, actor: Actor, *, after: int | None = None, status: int = 200,
          errors: list[FieldMessage] | None = None, values: dict[str, Any] | None = None,
          created: Any = None, secret: str | None = None) -> Response:
    with reading(request) as session:
        rows = tokens_uc.list_tokens(session, after=after, limit=TOKENS_PAGE + 1)
        chains = all_reference(session, "chain")
    tokens = [token_read(r) for r in rows[:TOKENS_PAGE]]
    return render(
        request, "tokens.html", actor=actor, status=status, nav="tokens", tokens=tokens, chains=chains,
        roles=[r.value for r in Role], errors=errors or [], values=values or {"name": "", "role": "viewer", "chains": [], "expires_on": "", "never_expires": False},
        created=created, secret=secret, more=tokens[-1].id if len(rows) > TOKENS_PAGE else None,
        local=lambda at: local_time(at, request),
    )


@router.get("/tokens")
def tokens_page(request: Request, actor: SignedIn,
                after: Annotated[int | None, Query(ge=0, le=SEQ_MAX)] = None) -> Response:
    _admin(actor)
    return _page(request, actor, after=after)


@router.post("/tokens")
def token_create(request: Request, actor: SignedIn) -> Response:
    _admin(actor)
    form = form_of(request)
    values = {"name": str(form.get("name") or ""), "role": str(form.get("role") or ""),
              "chains": [str(c) for c in form.getlist("chains")], "expires_on": str(form.get("expires_on") or ""),
              "never_expires": form.get("never_expires") == "true"}
    settings = settings_of(request)
    try:
        body = TokenCreate.model_validate({**values, "expires_on": values["expires_on"] or None})
        with writing(request) as session:
            row, secret = tokens_uc.create_token(
                session, ctx=web_ctx(request, actor), name=body.name, role=body.role, chains=body.chains,
                expires_on=body.expires_on, never_expires=body.never_expires, ttl_days=settings.token_ttl_days,
                tz=settings.tz)
            created = token_read(row)
    except (ValidationError, d.DomainError, IntegrityError) as exc:
        messages, status = refusal(lang_of(request), exc)
        return _page(request, actor, status=status, errors=messages, values=values)
    return _page(request, actor, status=201, created=created, secret=secret)


@router.post("/tokens/{token_id}/revoke")
def token_revoke(request: Request, actor: SignedIn, token_id: Annotated[int, PathParam(ge=1, le=SEQ_MAX)]) -> Response:
    _admin(actor)
    try:
        with writing(request) as session:
            row = tokens_uc.revoke_token(session, ctx=web_ctx(request, actor), token_id=token_id)
            name = row.name
    except (d.DomainError, IntegrityError) as exc:
        messages, status = refusal(lang_of(request), exc)
        return _page(request, actor, status=status, errors=messages)
    flash(request, "tokens.revoked", name=name)
    return RedirectResponse("/tokens", status_code=303)
