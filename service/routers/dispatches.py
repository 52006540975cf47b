"""Monthly dispatch (月调度, SPEC §4): a chain's report of a month, submitted once, amended with a reason."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from starlette.responses import Response

from service.deps import CtxDep, SessionDep, require_roles, settings_of
from service.domain.access import Role
from service.errors import responses
from service.routers.common import MONTH_PATTERN, IfMatch, parse_if_match, respond
from service.schemas.rhythm import DispatchInput, DispatchRead, dispatch_read
from service.usecases import dispatches as uc

router = APIRouter(tags=["tracking rhythm"])
WRITERS = [require_roles(Role.ADMIN, Role.DEPARTMENT, action="write dispatches")]
ChainCode = Annotated[str, Path(max_length=32, description="The chain's code.")]
Month = Annotated[str, Path(pattern=MONTH_PATTERN, description="The month, `YYYY-MM`.")]


@router.put("/chains/{code}/dispatches/{period}", response_model=DispatchRead, operation_id="put_dispatch",
            dependencies=WRITERS,
            responses={201: {"model": DispatchRead, "description": "Created"},
                       **responses(400, 401, 403, 404, 412, 422, 428)},
            description="Creates (201) or replaces (200, `If-Match` required) a chain's dispatch of a month that "
            "has begun (a later month → 422). `entries` name only the chain's own projects that are not voided, "
            "each at most once (else 422 naming the entry's index); `invested` ≥ 0 (万元). Once submitted, a PUT "
            "is an amendment: it needs `amend_reason` (422 without), is audited `dispatch.amended`, and changes "
            "each project's `cumulative_investment` by the difference of its figure. A PUT that changes nothing "
            "writes nothing. Department tokens write only for their chains (403).")
def put_dispatch(
    request: Request, code: ChainCode, period: Month, body: DispatchInput, session: SessionDep, ctx: CtxDep,
    if_match: IfMatch = None,
) -> Response:
    view, created = uc.put_dispatch(session, ctx=ctx, chain=code, period=period, data=body,
                                    if_match=parse_if_match(if_match), tz=settings_of(request).tz)
    return respond(request, session, dispatch_read(view), status_code=201 if created else 200,
                   version=view.row.version)


@router.get("/chains/{code}/dispatches/{period}", response_model=DispatchRead, operation_id="get_dispatch",
            responses=responses(401, 404, 422),
            description="The dispatch with `status` (`draft | submitted`), `submitted_at`, `due_on` and `late` "
            "(submitted after the schedule's due date; null while a draft). A month that does not exist → 422.")
def get_dispatch(request: Request, code: ChainCode, period: Month, session: SessionDep) -> Response:
    view = uc.get_dispatch(session, chain=code, period=period, tz=settings_of(request).tz)
    return respond(request, None, dispatch_read(view), version=view.row.version)


@router.post("/chains/{code}/dispatches/{period}/submit", response_model=DispatchRead,
             operation_id="submit_dispatch", dependencies=WRITERS,
             responses=responses(401, 403, 404, 409, 412, 422),
             description="Submits the draft (possible from the month's first day on; a second submit → 409). "
             "Each entry's `invested` is added to its project's `cumulative_investment` (one "
             "`project.investment_recorded` event per project, with `dispatch.submitted`, in one transaction). "
             "Honours `If-Match` when sent; send `Idempotency-Key` to make retries safe.")
def submit_dispatch(
    request: Request, code: ChainCode, period: Month, session: SessionDep, ctx: CtxDep, if_match: IfMatch = None
) -> Response:
    view = uc.submit_dispatch(session, ctx=ctx, chain=code, period=period, if_match=parse_if_match(if_match),
                              tz=settings_of(request).tz)
    return respond(request, session, dispatch_read(view), version=view.row.version)
