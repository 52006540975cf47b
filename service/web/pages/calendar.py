"""The working-day calendar (admin): the one in use for a year and its source; loading a year as the State
Council publishes it (holidays and adjusted working days) — the calendar use cases of /api/v1/calendar."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import Path as PathParam
from fastapi import Request
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from starlette.responses import RedirectResponse, Response

from service.domain import errors as d
from service.domain.access import Actor, Role
from service.domain.periods import MAX_YEAR, MIN_YEAR
from service.schemas.rhythm import CalendarInput, calendar_read
from service.usecases import calendar as calendar_uc
from service.web.error_text import FieldMessage
from service.web.frame import SignedIn, form_int, lang_of, reading, refusal, render, router, writing
from service.web.session import flash, form_of, web_ctx

YearPath = Annotated[int, PathParam(ge=MIN_YEAR, le=MAX_YEAR)]
_SEPARATORS = re.compile(r"[\s,，、;；]+")


def _admin(actor: Actor) -> None:
    actor.require(Role.ADMIN, action="load the working-day calendar")


def _dates(text: str) -> list[str]:
    """Dates as typed: one per line, or separated by commas or spaces."""
    return [part for part in _SEPARATORS.split(text.strip()) if part]


def _page(request: Request, actor: Actor, year: int, *, status: int = 200,
          errors: list[FieldMessage] | None = None, values: dict[str, Any] | None = None) -> Response:
    with reading(request) as session:
        calendar = calendar_read(calendar_uc.get_calendar(session, year=year))
    typed = values or {"holidays": "\n".join(d.isoformat() for d in calendar.holidays),
                       "workdays": "\n".join(d.isoformat() for d in calendar.workdays)}
    return render(request, "calendar.html", actor=actor, status=status, nav="calendar", year=year,
                  calendar=calendar, values=typed, errors=errors or [],
                  this_year=web_ctx(request, actor).today.year)


@router.get("/calendar")
def calendar_index(request: Request, actor: SignedIn) -> Response:
    """Next year's calendar: the one an admin loads each November."""
    lang_of(request)  # ?lang= on the way in is remembered for the page it redirects to
    return RedirectResponse(f"/calendar/{web_ctx(request, actor).today.year + 1}", status_code=303)


@router.get("/calendar/{year}")
def calendar_page(request: Request, year: YearPath, actor: SignedIn) -> Response:
    _admin(actor)
    return _page(request, actor, year)


@router.post("/calendar/{year}")
def calendar_save(request: Request, year: YearPath, actor: SignedIn) -> Response:
    _admin(actor)
    form = form_of(request)
    values = {"holidays": str(form.get("holidays") or ""), "workdays": str(form.get("workdays") or "")}
    try:
        body = CalendarInput.model_validate({k: _dates(v) for k, v in values.items()})
        with writing(request) as session:
            calendar_uc.put_calendar(session, ctx=web_ctx(request, actor), year=year, holidays=body.holidays,
                                     workdays=body.workdays, if_match=form_int(form.get("version")))
    except (ValidationError, d.DomainError, IntegrityError) as exc:
        messages, status = refusal(lang_of(request), exc)
        return _page(request, actor, year, status=status, errors=messages, values=values)
    flash(request, "calendar.saved", year=str(year))
    return RedirectResponse(f"/calendar/{year}", status_code=303)
