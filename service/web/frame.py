"""What every page shares: the router and its error handling, templates and rendering, the read and write
transactions, form parsing. The pages are the modules of ``service/web/pages/``; ``service/web/routes.py`` mounts them.

The web frontend for chain lead departments (SPEC §8): server-rendered pages at ``/``, zh-CN by default.

Every page reads through the use cases the API uses, and every action calls the same use case as the API with
a ``Ctx`` built from the signed-in session's actor exactly as ``service/deps.py`` builds it, in one write
transaction (``app.state.db.transaction(write=True)``, service/db/database.py): the same rules, the same rows,
the same audit events. Domain errors and validation details are shown inline, in the user's language.
A page offers only the actions the signed-in role may take; the use cases enforce the rules either way.

Forms work without JavaScript (POST → 303 redirect → GET). htmx (pinned, served from ``/static``) only
enhances the board: a stage move swaps the board in place instead of reloading the page.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import HTTPException, RequestValidationError
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.responses import (
    HTMLResponse,
    RedirectResponse,
    Response,
)

from service.deps import db_of, get_read_session, settings_of
from service.domain import errors as d
from service.domain import stages
from service.domain.access import AUDIT_READERS, Actor, Role
from service.domain.periods import MAX_YEAR, MIN_YEAR
from service.domain.problems import ProblemStatus
from service.domain.stages import LISTS, is_major
from service.errors import status_for
from service.logging import get_logger
from service.usecases import reference as reference_uc
from service.usecases import warnings as warnings_uc
from service.web import error_text, i18n
from service.web.error_text import FieldMessage
from service.web.session import (
    CsrfRefused,
    SignInRequired,
    csrf_token,
    pop_flash,
    session_actor,
    signed_in,
    signin_url,
    verify_csrf,
)

log = get_logger(__name__)

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
HTMX = "htmx-2.0.11.min.js"

BOARD_LIMIT = 200  # cards per board column
PROBLEMS_LIMIT = 500
WARNINGS_SHOWN = 20
LEDGER_LIMIT = 200  # rows per list on the page (exports carry every row)
HISTORY_LIMIT = 500
DISPATCH_ROWS_LIMIT = 2000
OPEN_PROBLEMS = frozenset({ProblemStatus.OPEN, ProblemStatus.IN_PROGRESS, ProblemStatus.REOPENED})

PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    ),
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}

YearQuery = Annotated[int | None, Query(ge=MIN_YEAR, le=MAX_YEAR)]
ChainPath = Annotated[str, PathParam(max_length=32)]
ProjectPath = Annotated[str, PathParam(max_length=26)]
MonthPath = Annotated[str, PathParam(max_length=16)]
TextQuery = Annotated[str | None, Query(max_length=32)]
PeriodQuery = Annotated[str | None, Query(max_length=16)]
ReportSession = Annotated[Session, Depends(get_read_session, scope="request")]


# ================================================================ templates


@lru_cache
def _asset_version(name: str) -> str:
    return hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:12]


def asset(name: str) -> str:
    """``/static/<name>?v=<content hash>``: browsers may cache assets for long, never a stale one."""
    return f"/static/{name}?v={_asset_version(name)}"


def amount(value: Decimal | str | None) -> str:
    if value is None:
        return ""
    return f"{Decimal(value):,.2f}"


def percent(value: float) -> str:
    return f"{value * 100:.0f}%"


ENV = Environment(
    loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(("html",)), undefined=StrictUndefined,
    trim_blocks=True, lstrip_blocks=True,
)
ENV.globals.update(asset=asset, htmx=HTMX, LISTS=[s.value for s in LISTS], is_major=is_major)
ENV.filters.update(amount=amount, percent=percent)


def lang_of(request: Request) -> str:
    """``?lang=zh|en`` chooses the language and the session remembers it; zh-CN by default."""
    chosen = request.query_params.get("lang")
    if chosen in i18n.LANGS:
        request.session["lang"] = chosen
        return chosen
    return i18n.lang_or_default(request.session.get("lang"))


def _lang_url(request: Request, lang: str) -> str:
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"] + [("lang", lang)]
    return f"{request.url.path}?{urlencode(params)}"


def can_write(actor: Actor | None, chain: str) -> bool:
    """May ``actor`` write for ``chain``? The domain's rule (``Actor.may_write``); nobody when signed out."""
    return actor is not None and actor.may_write(chain)


def badges(t: Callable[..., str]) -> Callable[[bool, bool], Markup]:
    """``flags(is_key, major)`` for the templates: the badges beside a project's name (重点 key project, 亿元以上
    major), built once per page in its language. Lists show them on every row, where a macro call each cost a
    third of a 50-row page's rendering."""
    key = Markup('<span class="badge key">{}</span>').format(t("flag.key"))
    major = Markup('<span class="badge major">{}</span>').format(t("flag.major"))
    shown = {(False, False): Markup(), (True, False): key, (False, True): major, (True, True): key + " " + major}
    return lambda is_key, is_major: shown[bool(is_key), bool(is_major)]


def render(request: Request, template: str, *, actor: Actor | None, status: int = 200,
           headers: dict[str, str] | None = None, **context: Any) -> HTMLResponse:
    lang = lang_of(request)
    t = i18n.translator(lang)
    other = "en" if lang == "zh" else "zh"
    flashed = pop_flash(request)
    context.setdefault("nav", None)
    html = ENV.get_template(template).render(
        lang=lang, html_lang=i18n.HTML_LANG[lang], other_lang=other, other_html_lang=i18n.HTML_LANG[other],
        lang_url=_lang_url(request, other), t=t, actor=actor, csrf=csrf_token(request),
        flash=t(flashed[0], **flashed[1]) if flashed else None,
        can_write=lambda chain: can_write(actor, chain),
        reads_audit=actor is not None and actor.role in AUDIT_READERS,
        administers=actor is not None and actor.role is Role.ADMIN,  # tokens, the calendar
        stage=lambda code: t(f"stage.{code}"),
        flags=badges(t),
        period_label=lambda p: i18n.period_label(lang, p),
        field_label=lambda name: error_text.field_label(lang, name),
        has=lambda key: key in i18n.MESSAGES,
        **context,
    )
    return HTMLResponse(html, status_code=status, headers={**PAGE_HEADERS, **(headers or {})})


def error_page(request: Request, status: int, messages: Sequence[FieldMessage]) -> HTMLResponse:
    actor = getattr(request.state, "actor", None)
    headers = {}
    if request.headers.get("hx-request"):  # an htmx swap shows the whole error in the page's main area
        headers = {"HX-Retarget": "#main", "HX-Reselect": "#main", "HX-Reswap": "outerHTML"}
    return render(request, "error.html", actor=actor, status=status, headers=headers, messages=messages)


# ================================================================ routes: errors become pages


class WebRoute(APIRoute):
    """A route whose domain errors, validation errors, CSRF refusals and missing sign-ins become HTML pages
    (the API's handlers answer problem+json)."""

    def get_route_handler(self):  # noqa: ANN201
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInRequired:
                lang_of(request)  # an English link that goes through sign-in stays English, and is remembered
                target = signin_url(request)
                if request.headers.get("hx-request"):
                    return Response(status_code=204, headers={"HX-Redirect": target})
                return RedirectResponse(target, status_code=303)
            except CsrfRefused:
                log.warning("web_csrf_refused", path=request.url.path)
                if request.headers.get("hx-request"):
                    return Response(status_code=403, headers={"HX-Refresh": "true"})
                lang = lang_of(request)
                return await run_in_threadpool(
                    error_page, request, 403, [FieldMessage(None, i18n.translate(lang, "error.csrf"))])
            except d.DomainError as exc:
                messages = error_text.domain_messages(lang_of(request), exc)
                return await run_in_threadpool(error_page, request, status_for(exc), messages)
            except RequestValidationError as exc:
                messages = error_text.validation_messages(lang_of(request), exc.errors())
                return await run_in_threadpool(error_page, request, 422, messages)
            except HTTPException as exc:  # RequestMiddleware's BodyTooLarge: a form bigger than a body may be
                if exc.status_code != 413:
                    raise
                kib = settings_of(request).max_body_bytes // 1024
                message = i18n.translate(lang_of(request), "error.too_large", kib=f"{kib:,}")
                return await run_in_threadpool(error_page, request, 413, [FieldMessage(None, message)])

        return route


router = APIRouter(include_in_schema=False, route_class=WebRoute, dependencies=[Depends(verify_csrf)])
SignedIn = Annotated[Actor, Depends(signed_in)]
MaybeSignedIn = Annotated[Actor | None, Depends(session_actor)]


@contextmanager
def reading(request: Request) -> Iterator[Session]:
    with db_of(request).transaction(write=False) as session:
        yield session


@contextmanager
def writing(request: Request) -> Iterator[Session]:
    with db_of(request).transaction(write=True) as session:
        yield session


def all_reference(session: Session, kind: str) -> list[Any]:
    """Every chain, district or department (``reference_uc.all_reference``)."""
    return reference_uc.all_reference(session, kind=kind)


def optional_text(value: Any) -> str | None:
    text = str(value or "").strip()
    return text or None


def form_int(value: Any) -> int | None:
    text = str(value or "").strip()
    return int(text) if text.isdigit() and len(text) < 10 else None


def form_bool(value: str | None) -> bool | None:
    return {"true": True, "false": False}.get((value or "").strip().lower())


def thresholds(request: Request) -> warnings_uc.Thresholds:
    s = settings_of(request)
    return warnings_uc.Thresholds(signed_days=s.warn_signed_days, started_days=s.warn_started_days,
                                  in_production_days=s.warn_in_production_days,
                                  dispatch_months=s.warn_dispatch_months)


def local_time(at: datetime | None, request: Request) -> str:
    if at is None:
        return ""
    return at.astimezone(settings_of(request).tz).strftime("%Y-%m-%d %H:%M")


def next_stage(stage: str) -> str | None:
    """The one forward move of a project at ``stage`` (the domain's stage machine), as the forms post it."""
    target = stages.next_stage(stage)
    return target.value if target else None


def refusal(lang: str, exc: Exception) -> tuple[list[FieldMessage], int]:
    """A refused write's messages (beside their fields, in ``lang``) and status: invalid input 422, a domain
    error its own status, a concurrent write that lost a uniqueness race 409."""
    if isinstance(exc, ValidationError):
        return error_text.validation_messages(lang, exc.errors()), 422
    if isinstance(exc, d.DomainError):
        return error_text.domain_messages(lang, exc), status_for(exc)
    if isinstance(exc, IntegrityError):
        return [FieldMessage(None, i18n.translate(lang, "err.concurrent"))], 409
    raise exc
