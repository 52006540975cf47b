"""Reference data: departments, districts, chains (SPEC §2)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from service.deps import CtxDep, SessionDep, require_roles
from service.domain.access import Role
from service.errors import responses
from service.routers.common import (
    BY_CODE,
    CodeCursor,
    IfMatchRequired,
    Limit,
    cursor_values,
    json_response,
    next_cursor,
    parse_if_match,
    respond,
)
from service.schemas.common import Page
from service.schemas.reference import (
    ChainCreate,
    ChainRead,
    ChainUpdate,
    DepartmentCreate,
    DepartmentRead,
    DistrictCreate,
    DistrictRead,
)
from service.usecases import reference as uc

router = APIRouter(tags=["reference data"])
ADMIN_ONLY = [require_roles(Role.ADMIN, action="change reference data")]
WRITE_ERRORS = responses(400, 401, 403, 409, 422)
READ_ERRORS = responses(401, 422)


def _page(session, kind: str, read, cursor, limit) -> Response:  # noqa: ANN001
    after = cursor_values(cursor, BY_CODE)
    rows = uc.list_reference(session, kind=kind, after=after[0] if after else None, limit=limit + 1)
    return json_response(Page[read](
        items=[read.model_validate(r, from_attributes=True) for r in rows[:limit]],
        next_cursor=next_cursor(rows, limit, lambda r: [r.code]),
    ))


@router.post("/departments", status_code=201, response_model=DepartmentRead, operation_id="create_department",
             dependencies=ADMIN_ONLY, responses=WRITE_ERRORS)
def create_department(request: Request, body: DepartmentCreate, session: SessionDep, ctx: CtxDep) -> Response:
    row = uc.create_department(session, ctx=ctx, data=body)
    return respond(request, session, DepartmentRead.model_validate(row, from_attributes=True), status_code=201,
                   version=row.version)


@router.get("/departments", response_model=Page[DepartmentRead], operation_id="list_departments",
            responses=READ_ERRORS)
def list_departments(session: SessionDep, cursor: CodeCursor = None, limit: Limit = 50) -> Response:
    return _page(session, "department", DepartmentRead, cursor, limit)


@router.post("/districts", status_code=201, response_model=DistrictRead, operation_id="create_district",
             dependencies=ADMIN_ONLY, responses=WRITE_ERRORS)
def create_district(request: Request, body: DistrictCreate, session: SessionDep, ctx: CtxDep) -> Response:
    row = uc.create_district(session, ctx=ctx, data=body)
    return respond(request, session, DistrictRead.model_validate(row, from_attributes=True), status_code=201,
                   version=row.version)


@router.get("/districts", response_model=Page[DistrictRead], operation_id="list_districts", responses=READ_ERRORS)
def list_districts(session: SessionDep, cursor: CodeCursor = None, limit: Limit = 50) -> Response:
    return _page(session, "district", DistrictRead, cursor, limit)


@router.post("/chains", status_code=201, response_model=ChainRead, operation_id="create_chain",
             dependencies=ADMIN_ONLY, responses=WRITE_ERRORS)
def create_chain(request: Request, body: ChainCreate, session: SessionDep, ctx: CtxDep) -> Response:
    row = uc.create_chain(session, ctx=ctx, data=body)
    return respond(request, session, ChainRead.model_validate(row, from_attributes=True), status_code=201,
                   version=row.version)


@router.get("/chains", response_model=Page[ChainRead], operation_id="list_chains", responses=READ_ERRORS)
def list_chains(session: SessionDep, cursor: CodeCursor = None, limit: Limit = 50) -> Response:
    return _page(session, "chain", ChainRead, cursor, limit)


@router.get("/chains/{code}", response_model=ChainRead, operation_id="get_chain", responses=responses(401, 404))
def get_chain(request: Request, code: str, session: SessionDep) -> Response:
    row = uc.get_chain(session, code=code)
    return respond(request, None, ChainRead.model_validate(row, from_attributes=True), version=row.version)


@router.patch("/chains/{code}", response_model=ChainRead, operation_id="update_chain", dependencies=ADMIN_ONLY,
              responses=responses(400, 401, 403, 404, 412, 422, 428))
def update_chain(
    request: Request, code: str, body: ChainUpdate, session: SessionDep, ctx: CtxDep, if_match: IfMatchRequired
) -> Response:
    row = uc.update_chain(session, ctx=ctx, code=code, data=body, if_match=parse_if_match(if_match))
    return respond(request, session, ChainRead.model_validate(row, from_attributes=True), version=row.version)
