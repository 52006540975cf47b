"""Browser sessions of the web frontend: server-side sessions, CSRF tokens and the signed-in actor.

- A session is a row (``web_session``, ``service/usecases/auth.py``): sign-in creates it, sign-out deletes it, and
  it ends ``LEDGER_SESSION_IDLE_MINUTES`` (120) after its last page or ``LEDGER_SESSION_ABSOLUTE_HOURS`` (12) after
  sign-in, or as soon as its token is revoked or expires. Every page reads the row and the token again (no cache),
  so a copied cookie stops working the moment its session ends.
- The cookie is Starlette's ``SessionMiddleware`` (signed with ``LEDGER_SESSION_SECRET``; HttpOnly,
  SameSite=Strict, Secure when the request came over https), applied to the browser pages only: API, static
  and operations paths never carry or set it. It holds the session's random secret (only its SHA-256 is stored),
  the CSRF token, the language and a one-shot flash message — never the token nor its hash.
- CSRF: a synchronizer token kept in the session is put in every form; every POST must send it back (form
  field ``csrf`` or header ``X-CSRF-Token``), else 403 before any use case runs.
"""

from __future__ import annotations

import functools
import hmac
import secrets
from datetime import date, datetime, timedelta
from urllib.parse import parse_qsl, quote

from fastapi import Request
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from service.deps import ctx_of, db_of, request_now, settings_of
from service.domain.access import Actor
from service.domain.context import Ctx
from service.usecases import auth

SESSION_COOKIE = "ledger_session"
#: Lifetime of the cookie (the absolute lifetime of a session; the session's row decides whether it still works).
SESSION_MAX_AGE = 12 * 3600
#: Paths that never use the browser session (the API authenticates with bearer tokens only).
UNSESSIONED = ("/api/", "/static/", "/healthz", "/readyz", "/metrics", "/docs", "/openapi.json")
#: Largest form a browser page posts (a monthly dispatch of a few hundred projects is far below it).
MAX_FORM_FIELDS = 20_000


class WebSessionMiddleware:
    """Starlette's ``SessionMiddleware`` for the browser pages: ``Secure`` when the request came over https
    (uvicorn sets the scheme from ``X-Forwarded-Proto`` of trusted proxies), not applied to API paths."""

    def __init__(self, app: ASGIApp, *, secret_key: str, max_age: int = SESSION_MAX_AGE):
        self.app = app
        common = {"secret_key": secret_key, "session_cookie": SESSION_COOKIE, "max_age": max_age,
                  "same_site": "strict"}
        self.plain = SessionMiddleware(app, https_only=False, **common)
        self.secure = SessionMiddleware(app, https_only=True, **common)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(UNSESSIONED):
            await self.app(scope, receive, send)
            return
        await (self.secure if scope.get("scheme") == "https" else self.plain)(scope, receive, send)


# ---------------------------------------------------------------- signals the web routes turn into responses


class SignInRequired(Exception):
    """No signed-in session (or its token was revoked): the page redirects to the sign-in form."""


class CsrfRefused(Exception):
    """A POST without the session's CSRF token: 403, nothing runs."""


# ---------------------------------------------------------------- CSRF


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


async def read_form(request: Request) -> FormData:
    """An ``application/x-www-form-urlencoded`` body (what every page's forms post) as FormData."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/x-www-form-urlencoded":
        return FormData()
    try:
        text = (await request.body()).decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS, strict_parsing=False)
    except (UnicodeDecodeError, ValueError):
        return FormData()
    return FormData(pairs)


async def verify_csrf(request: Request) -> None:
    """Router dependency: on POST, parse the form (kept in ``request.state.form``) and check its CSRF token."""
    if request.method != "POST":
        return
    form = await read_form(request)
    request.state.form = form
    sent = str(form.get("csrf") or request.headers.get("x-csrf-token") or "")
    expected = str(request.session.get("csrf") or "")
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise CsrfRefused


def form_of(request: Request) -> FormData:
    return getattr(request.state, "form", None) or FormData()


# ---------------------------------------------------------------- the signed-in actor


def _lifetimes(request: Request) -> tuple[timedelta, timedelta]:
    settings = settings_of(request)
    return timedelta(minutes=settings.session_idle_minutes), timedelta(hours=settings.session_absolute_hours)


def _clear(request: Request) -> None:
    """Forget everything the cookie holds but the language."""
    lang = request.session.get("lang")
    request.session.clear()
    if lang:
        request.session["lang"] = lang


def sign_in(request: Request, token: str) -> Actor | None:
    """Check ``token``; on success start a new server-side session (new CSRF token, the language kept; a session
    the cookie named before is ended)."""
    db = db_of(request)
    previous = request.session.get("sid")
    with db.transaction(write=True) as session:
        started = auth.sign_in(session, token=token, now=request_now(request))
        if started is not None and previous:
            auth.sign_out(session, secret=str(previous))
    if started is None:
        return None
    actor, secret = started
    _clear(request)
    request.session["sid"] = secret
    request.session["csrf"] = secrets.token_urlsafe(32)
    request.state.actor = actor
    request.state.session_actor = actor
    return actor


def sign_out(request: Request) -> None:
    """End the session on the server (its cookie, wherever copied, signs no one in any more) and in the cookie."""
    secret = request.session.get("sid")
    if secret:
        with db_of(request).transaction(write=True) as session:
            auth.sign_out(session, secret=str(secret))
    _clear(request)
    request.state.session_actor = None


async def session_actor(request: Request) -> Actor | None:
    """Dependency: the signed-in actor, or None. A session that has ended (signed out, idle, too old, its token
    revoked or expired) signs no one in; one ended by time is deleted.

    ``async``, as the API's ``get_actor``: the check is one read placed by ``Database.read`` (on the event loop on
    a SQLite file) and the occasional bookkeeping write takes its write turn, so a page does not pay a hop to a
    worker thread for its sign-in before the one for its own work."""
    if hasattr(request.state, "session_actor"):
        return request.state.session_actor
    actor = None
    secret = request.session.get("sid")
    if secret:
        now = request_now(request)
        idle, absolute = _lifetimes(request)
        db = db_of(request)
        today = now.astimezone(settings_of(request).tz).date()
        check = await db.read(auth.check_session, secret=str(secret), now=now, today=today, idle=idle,
                              absolute=absolute)
        if check.ended or check.seen or check.first_use_today:
            await db.run_write(functools.partial(_keep_session, secret=str(secret), check=check, now=now,
                                                 today=today))
        actor = check.actor
        if actor is None:
            _clear(request)
        else:
            request.state.actor = actor  # the request log names the actor, as for API calls
    elif request.session.get("token"):
        _clear(request)  # a cookie of the signed-cookie sessions before server-side ones: no longer valid
    request.state.session_actor = actor
    return actor


def _keep_session(session: Session, *, secret: str, check: auth.SessionCheck, now: datetime, today: date) -> None:
    """A session's bookkeeping after its check: delete it when it has ended, else note that it was seen (and a
    page's first use of the token today, as an API call's)."""
    if check.ended:
        auth.sign_out(session, secret=secret)
        return
    auth.session_seen(session, secret=secret, now=now)
    if check.first_use_today and check.actor is not None:
        auth.record_use(session, token_id=check.actor.token_id, today=today)


async def signed_in(request: Request) -> Actor:
    """Dependency: the signed-in actor; otherwise the page redirects to the sign-in form."""
    actor = await session_actor(request)
    if actor is None:
        raise SignInRequired
    return actor


def signin_url(request: Request) -> str:
    """The sign-in form, coming back to this page afterwards (a form's POST target is not a page: back to /)."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method != "GET" or target == "/":
        return "/signin"
    return f"/signin?next={quote(target, safe='')}"


def safe_next(value: str | None) -> str:
    """Where to go after signing in: a path of this site only (never ``//host`` or a URL)."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


def web_ctx(request: Request, actor: Actor) -> Ctx:
    """Who acts, under which request, at what moment: exactly as the API's ``get_ctx`` builds it."""
    return ctx_of(request, actor)


def today_of(request: Request) -> date:
    return request_now(request).astimezone(settings_of(request).tz).date()


# ---------------------------------------------------------------- flash messages (one-shot, after a redirect)


def flash(request: Request, key: str, **params: str) -> None:
    request.session["flash"] = [key, params]


def pop_flash(request: Request) -> tuple[str, dict[str, str]] | None:
    value = request.session.pop("flash", None)
    if not value:
        return None
    key, params = value
    return str(key), dict(params)
