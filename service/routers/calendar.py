"""The working-day calendar behind the schedule's due dates (SPEC §4)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from starlette.responses import Response

from service.deps import CtxDep, SessionDep, require_roles
from service.domain.access import Role
from service.domain.periods import MAX_YEAR, MIN_YEAR
from service.errors import responses
from service.routers.common import IfMatch, parse_if_match, respond
from service.schemas.rhythm import CalendarInput, CalendarRead, calendar_read
from service.usecases import calendar as uc

router = APIRouter(tags=["tracking rhythm"])
ADMIN_ONLY = [require_roles(Role.ADMIN, action="load the working-day calendar")]
Year = Annotated[int, Path(ge=MIN_YEAR, le=MAX_YEAR, description="The calendar year, e.g. 2027.")]


@router.put("/calendar/{year}", response_model=CalendarRead, operation_id="put_calendar", dependencies=ADMIN_ONLY,
            responses={201: {"model": CalendarRead, "description": "Created"},
                       **responses(400, 401, 403, 409, 412, 422, 428)},
            description="Loads the official working-day calendar of a year as the State Council published it "
            "(each November for the next year): `holidays` are the dates off, `workdays` the adjusted working "
            "days (调休, Saturdays or Sundays). It overrides the maintained library for that year. The first PUT "
            "creates the override (201); replacing it needs `If-Match` (200). Audited `calendar.created` / "
            "`calendar.updated`. Admin only.")
def put_calendar(
    request: Request, year: Year, body: CalendarInput, session: SessionDep, ctx: CtxDep, if_match: IfMatch = None
) -> Response:
    view, created = uc.put_calendar(session, ctx=ctx, year=year, holidays=body.holidays, workdays=body.workdays,
                                    if_match=parse_if_match(if_match))
    return respond(request, session, calendar_read(view), status_code=201 if created else 200,
                   version=view.override.version)


@router.get("/calendar/{year}", response_model=CalendarRead, operation_id="get_calendar",
            responses=responses(401, 422),
            description="The calendar in use for a year and its source: `override` (loaded with PUT; the response "
            "carries its ETag), `library` (the chinese-calendar package, which covers the years it was released "
            "for) or `weekends` (no data: Saturdays and Sundays are the only days off, and the schedule's items "
            "that depend on the year are `provisional`).")
def get_calendar(request: Request, year: Year, session: SessionDep) -> Response:
    view = uc.get_calendar(session, year=year)
    return respond(request, None, calendar_read(view), version=view.override.version if view.override else None)
