"""Signing in and out."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request
from starlette.responses import (
    RedirectResponse,
    Response,
)

from service.web.frame import (
    MaybeSignedIn,
    lang_of,
    log,
    render,
    router,
)
from service.web.session import (
    flash,
    form_of,
    safe_next,
    sign_in,
    sign_out,
)


@router.get("/signin")
def signin_page(
    request: Request, actor: MaybeSignedIn, next_: Annotated[str | None, Query(alias="next", max_length=2000)] = None
) -> Response:
    lang_of(request)  # ?lang= applies even when the visitor is already signed in
    if actor is not None:
        return RedirectResponse(safe_next(next_), status_code=303)
    return render(request, "signin.html", actor=None, next=safe_next(next_), failed=False)


@router.post("/signin")
def signin_submit(request: Request) -> Response:
    form = form_of(request)
    token = str(form.get("token") or "").strip()
    target = safe_next(str(form.get("next") or ""))
    actor = sign_in(request, token) if 0 < len(token) <= 512 else None
    if actor is None:
        log.info("web_signin_failed")
        return render(request, "signin.html", actor=None, next=target, failed=True, status=401)
    log.info("web_signed_in", actor=f"{actor.role}:{actor.name}")
    return RedirectResponse(target, status_code=303)


@router.post("/signout")
def signout(request: Request) -> Response:
    sign_out(request)
    flash(request, "auth.signed_out")
    return RedirectResponse("/signin", status_code=303)
