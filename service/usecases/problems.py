"""Prominent problems (突出问题, SPEC §4): raise, follow through their lifecycle, list (overdue ones too)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from service.db.reference import ReferenceRepo
from service.db.rhythm import ProblemRepo
from service.db.tables import Problem
from service.db.values import new_id
from service.domain import errors as d
from service.domain.access import Role
from service.domain.context import Ctx
from service.domain.problems import (
    INITIAL,
    ProblemStatus,
    is_overdue,
    resolved_on_after,
    transition,
)
from service.domain.queries import ProblemFilter
from service.schemas.rhythm import ProblemCreate, ProblemTransitionInput
from service.usecases.common import audit, check_version
from service.usecases.rhythm import check_chain_projects

FIELDS = ("chain", "project_id", "title", "detail", "owner_unit", "due_on", "status", "resolved_on")


def snapshot(p: Problem) -> dict[str, Any]:
    return {f: getattr(p, f) for f in FIELDS}


def overdue(p: Problem, today: date) -> bool:
    return is_overdue(ProblemStatus(p.status), due_on=p.due_on, today=today)


def create_problem(session: Session, *, ctx: Ctx, data: ProblemCreate) -> Problem:
    ctx.actor.require(Role.ADMIN, Role.DEPARTMENT, action="raise problems")
    if ReferenceRepo(session).chain(data.chain) is None:
        raise d.InvalidInput.at(["body", "chain"], f"Unknown chain '{data.chain}'.")
    ctx.actor.require_chain(data.chain, action="raise problems")
    if data.project_id is not None:
        check_chain_projects(session, data.chain, [data.project_id], loc=lambda _: ["body", "project_id"],
                             label=None)
    p = Problem(id=new_id(ctx.now), chain=data.chain, project_id=data.project_id, title=data.title,
                detail=data.detail, owner_unit=data.owner_unit, due_on=data.due_on, status=INITIAL.value,
                created_at=ctx.now, updated_at=ctx.now)
    ProblemRepo(session).add(p)
    audit(session, ctx, action="problem.created", entity="problem", entity_id=p.id, before=None, after=snapshot(p))
    return p


def get_problem(session: Session, *, problem_id: str, for_update: bool = False) -> Problem:
    p = ProblemRepo(session).get(problem_id, for_update=for_update)
    if p is None:
        raise d.NotFound(f"No problem '{problem_id}'.")
    return p


def list_problems(session: Session, *, f: ProblemFilter, today: date, after: str | None, limit: int) -> list[Problem]:
    return ProblemRepo(session).page(f, today=today, after=after, limit=limit)


def transition_problem(
    session: Session, *, ctx: Ctx, problem_id: str, data: ProblemTransitionInput, if_match: int | None
) -> Problem:
    """Move a problem along its lifecycle (409 ``invalid-transition`` naming ``allowed``). Honours If-Match."""
    ctx.actor.require(Role.ADMIN, Role.DEPARTMENT, action="move problems")
    p = get_problem(session, problem_id=problem_id, for_update=True)
    ctx.actor.require_chain(p.chain, action="move problems")
    check_version(p.version, if_match, required=False)
    target = transition(ProblemStatus(p.status), data.to)
    before = snapshot(p)
    p.status = target.value
    p.resolved_on = resolved_on_after(target, previous=p.resolved_on, today=ctx.today)
    p.version += 1
    p.updated_at = ctx.now
    session.flush()
    audit(session, ctx, action="problem.transitioned", entity="problem", entity_id=p.id, before=before,
          after=snapshot(p), extra={"note": data.note})
    return p
