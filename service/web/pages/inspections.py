"""A chain's quarterly inspection (季观摩): the record, and for admin and the chain's department the form that
records or replaces it — the inspection use cases of /api/v1/chains/{code}/inspections."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path as PathParam
from fastapi import Request
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from starlette.responses import RedirectResponse, Response

from service.domain import errors as d
from service.domain.access import Actor
from service.domain.queries import ProjectFilter
from service.schemas.rhythm import InspectionInput, inspection_read
from service.usecases import inspections as inspections_uc
from service.usecases import projects as projects_uc
from service.usecases import reference as reference_uc
from service.web.error_text import FieldMessage
from service.web.frame import (
    ChainPath,
    SignedIn,
    can_write,
    form_int,
    lang_of,
    reading,
    refusal,
    render,
    router,
    writing,
)
from service.web.session import flash, form_of, web_ctx

QuarterPath = Annotated[str, PathParam(max_length=16)]
VISITABLE = 500  # the chain's projects offered as visited


def _page(request: Request, actor: Actor, code: str, period: str, *, status: int = 200,
          errors: list[FieldMessage] | None = None, values: dict[str, Any] | None = None) -> Response:
    quarter = inspections_uc.quarter_of(period)
    with reading(request) as session:
        chain = reference_uc.get_chain(session, code=code)
        try:
            record = inspection_read(inspections_uc.get_inspection(session, chain=code, period=period))
        except d.NotFound:
            record = None
        projects = projects_uc.list_projects(session, f=ProjectFilter(chain=code), after=None, limit=VISITABLE)
    if values is None:
        values = ({"held_on": record.held_on.isoformat(), "score": str(record.score), "findings": record.findings,
                   "visited_projects": record.visited_projects} if record else
                  {"held_on": "", "score": "", "findings": "", "visited_projects": []})
    return render(
        request, "inspection.html", actor=actor, status=status, nav="chain", chain=chain, quarter=quarter,
        record=record, projects=projects, values=values, errors=errors or [], writable=can_write(actor, code),
        names={p.id: p.name for p in projects},
    )


@router.get("/chains/{code}/inspections/{period}")
def inspection_page(request: Request, code: ChainPath, period: QuarterPath, actor: SignedIn) -> Response:
    return _page(request, actor, code, period)


@router.post("/chains/{code}/inspections/{period}")
def inspection_save(request: Request, code: ChainPath, period: QuarterPath, actor: SignedIn) -> Response:
    form = form_of(request)
    values = {"held_on": str(form.get("held_on") or ""), "score": str(form.get("score") or ""),
              "findings": str(form.get("findings") or ""),
              "visited_projects": [str(v) for v in form.getlist("visited_projects")]}
    try:
        data = InspectionInput.model_validate(values)
        with writing(request) as session:
            inspections_uc.put_inspection(session, ctx=web_ctx(request, actor), chain=code, period=period,
                                          data=data, if_match=form_int(form.get("version")))
    except (ValidationError, d.DomainError, IntegrityError) as exc:
        messages, status = refusal(lang_of(request), exc)
        return _page(request, actor, code, period, status=status, errors=messages, values=values)
    flash(request, "inspection.saved", period=period)
    return RedirectResponse(f"/chains/{code}/inspections/{period}", status_code=303)
