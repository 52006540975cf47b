"""Quarterly inspection (季观摩, SPEC §4)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from starlette.responses import Response

from service.deps import CtxDep, SessionDep, require_roles
from service.domain.access import Role
from service.errors import responses
from service.routers.common import QUARTER_PATTERN, IfMatch, parse_if_match, respond
from service.schemas.rhythm import InspectionInput, InspectionRead, inspection_read
from service.usecases import inspections as uc

router = APIRouter(tags=["tracking rhythm"])
WRITERS = [require_roles(Role.ADMIN, Role.DEPARTMENT, action="record inspections")]
ChainCode = Annotated[str, Path(max_length=32, description="The chain's code.")]
Quarter = Annotated[str, Path(pattern=QUARTER_PATTERN, description="The quarter, `YYYY-Qn`.")]


@router.put("/chains/{code}/inspections/{period}", response_model=InspectionRead, operation_id="put_inspection",
            dependencies=WRITERS,
            responses={201: {"model": InspectionRead, "description": "Created"},
                       **responses(400, 401, 403, 404, 412, 422, 428)},
            description="Records (201) or replaces (200, `If-Match` required) a chain's inspection of a quarter: "
            "`held_on` not in the future and not before the quarter, `visited_projects` the chain's own "
            "non-voided projects (each once), `score` 0–100 (two decimals at most). A quarter that does not "
            "exist (2026-Q5) → 422. Audited `inspection.created` / `inspection.updated`. Department tokens write "
            "only for their chains (403).")
def put_inspection(
    request: Request, code: ChainCode, period: Quarter, body: InspectionInput, session: SessionDep, ctx: CtxDep,
    if_match: IfMatch = None,
) -> Response:
    view, created = uc.put_inspection(session, ctx=ctx, chain=code, period=period, data=body,
                                      if_match=parse_if_match(if_match))
    return respond(request, session, inspection_read(view), status_code=201 if created else 200,
                   version=view.row.version)


@router.get("/chains/{code}/inspections/{period}", response_model=InspectionRead, operation_id="get_inspection",
            responses=responses(401, 404, 422),
            description="The inspection with the schedule's `due_on` and `late` (held after it).")
def get_inspection(request: Request, code: ChainCode, period: Quarter, session: SessionDep) -> Response:
    view = uc.get_inspection(session, chain=code, period=period)
    return respond(request, None, inspection_read(view), version=view.row.version)
