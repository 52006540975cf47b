"""The annual appraisal (年考评): the ranking with each component's value and weight, so a chain sees why it ranks
where it does; for admin, the weights, a run and the publication — the use cases of /api/v1/appraisals."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path as PathParam
from fastapi import Request
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from starlette.responses import RedirectResponse, Response

from service.deps import settings_of
from service.domain import errors as d
from service.domain.access import Actor, Role
from service.domain.appraisal import COMPONENTS, DEFAULT_WEIGHTS
from service.domain.periods import MAX_YEAR, MIN_YEAR
from service.schemas.rhythm import Weights, appraisal_read
from service.usecases import appraisals as appraisals_uc
from service.web.error_text import FieldMessage
from service.web.frame import (
    SignedIn,
    all_reference,
    form_int,
    lang_of,
    reading,
    refusal,
    render,
    router,
    writing,
)
from service.web.session import flash, form_of, web_ctx

YearPath = Annotated[int, PathParam(ge=MIN_YEAR, le=MAX_YEAR)]


@router.get("/appraisals")
def appraisals_index(request: Request, actor: SignedIn) -> Response:
    """Last year's appraisal: the one a January visitor looks for."""
    lang_of(request)  # ?lang= on the way in is remembered for the page it redirects to
    return RedirectResponse(f"/appraisals/{web_ctx(request, actor).today.year - 1}", status_code=303)


def _page(request: Request, actor: Actor, year: int, *, status: int = 200,
          errors: list[FieldMessage] | None = None, values: dict[str, Any] | None = None) -> Response:
    ctx = web_ctx(request, actor)
    with reading(request) as session:
        try:
            row = appraisals_uc.get_appraisal(session, year=year)
            appraisal = appraisal_read(row, appraisals_uc.weights_of(row), appraisals_uc.rankings_of(row))
        except d.NotFound:
            appraisal = None
        chain_names = {c.code: c.name for c in all_reference(session, "chain")}
    weights = appraisal.weights.model_dump() if appraisal else dict(DEFAULT_WEIGHTS)
    return render(
        request, "appraisal.html", actor=actor, status=status, nav="appraisals", year=year,
        this_year=ctx.today.year, appraisal=appraisal, chain_names=chain_names, components=COMPONENTS,
        weights={k: str(v) for k, v in weights.items()} | (values or {}), errors=errors or [],
        is_admin=actor.role is Role.ADMIN,
    )


@router.get("/appraisals/{year}")
def appraisal_page(request: Request, year: YearPath, actor: SignedIn) -> Response:
    return _page(request, actor, year)


def _act(request: Request, actor: Actor, year: int, done: str, act) -> Response:  # noqa: ANN001
    """Run one admin action in a write transaction; a refusal shows the page with its message."""
    form = form_of(request)
    values = {k: str(form.get(k) or "") for k in COMPONENTS if k in form}
    try:
        with writing(request) as session:
            act(session, web_ctx(request, actor), form, form_int(form.get("version")))
    except (ValidationError, d.DomainError, IntegrityError) as exc:
        messages, status = refusal(lang_of(request), exc)
        return _page(request, actor, year, status=status, errors=messages, values=values)
    flash(request, done, year=str(year))
    return RedirectResponse(f"/appraisals/{year}", status_code=303)


@router.post("/appraisals/{year}/run")
def appraisal_run(request: Request, year: YearPath, actor: SignedIn) -> Response:
    tz = settings_of(request).tz
    return _act(request, actor, year, "appraisal.run_done", lambda s, ctx, form, version: appraisals_uc.run_appraisal(
        s, ctx=ctx, year=year, if_match=version, tz=tz))


@router.post("/appraisals/{year}/publish")
def appraisal_publish(request: Request, year: YearPath, actor: SignedIn) -> Response:
    return _act(request, actor, year, "appraisal.published_done",
                lambda s, ctx, form, version: appraisals_uc.publish_appraisal(s, ctx=ctx, year=year, if_match=version))


@router.post("/appraisals/{year}/weights")
def appraisal_weights(request: Request, year: YearPath, actor: SignedIn) -> Response:
    def act(s, ctx, form, version):  # noqa: ANN001, ANN202
        weights = Weights.model_validate_strings({k: str(form.get(k) or "").strip() for k in COMPONENTS})
        return appraisals_uc.set_weights(s, ctx=ctx, year=year, weights=weights.model_dump(), if_match=version)

    return _act(request, actor, year, "appraisal.weights_done", act)
