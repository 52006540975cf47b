"""Projects on the four lists: create, patch, transition, revert, cancel, void."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.db.history import ProjectHistory
from service.db.raw import Reader
from service.db.repositories import ProjectFilter, ProjectReads, ProjectRepo, ReferenceRepo, jsonable, new_id
from service.db.tables import Project, ProjectTransition
from service.domain.context import Ctx
from service.domain import errors as d
from service.domain.access import Role
from service.domain.stages import LISTS, Stage, advance, check_milestones, check_transition_date
from service.schemas.projects import ProjectCreate, ProjectUpdate, TransitionCreate
from service.usecases.common import audit, check_version

MILESTONE_COLUMN = {s: f"{s.value}_on" for s in LISTS}
SNAPSHOT_FIELDS = (
    "external_ref", "name", "chain", "district", "investor", "planned_investment", "is_key", "stage",
    "signed_on", "started_on", "in_production_on", "at_capacity_on", "cancelled_on", "cancel_reason",
    "voided_at", "void_reason", "cumulative_investment",
)


def snapshot(p: Project) -> dict[str, Any]:
    return jsonable({f: getattr(p, f) for f in SNAPSHOT_FIELDS})


def _audit(session: Session, ctx: Ctx, action: str, p: Project, before: dict[str, Any] | None, **extra: Any) -> None:
    """Every project change goes through here: its new version in the history and its audit event."""
    ProjectHistory(session).record(p, ctx.now)
    audit(session, ctx, action=action, entity="project", entity_id=p.id, before=before, after=snapshot(p),
          extra={k: v for k, v in extra.items() if v is not None} or None)


def _require_refs(session: Session, *, chain: str | None, district: str | None) -> None:
    repo = ReferenceRepo(session)
    errors = []
    if chain is not None and repo.chain(chain) is None:
        errors.append({"loc": ["body", "chain"], "msg": f"Unknown chain '{chain}'."})
    if district is not None and repo.district(district) is None:
        errors.append({"loc": ["body", "district"], "msg": f"Unknown district '{district}'."})
    if errors:
        raise d.InvalidInput("; ".join(e["msg"] for e in errors), errors=errors)


def _require_unique_ref(repo: ProjectRepo, ref: str | None, *, own_id: str | None = None) -> None:
    if ref is None:
        return
    existing = repo.by_external_ref(ref)
    if existing is not None and existing.id != own_id:
        raise d.Duplicate(f"external_ref '{ref}' is already project {existing.id}.", existing_id=existing.id)


def create_project(session: Session, *, ctx: Ctx, data: ProjectCreate) -> Project:
    actor = ctx.actor
    actor.require(Role.ADMIN, Role.DEPARTMENT, Role.INTEGRATION, action="create projects")
    if actor.role is Role.INTEGRATION and data.stage is not Stage.SIGNED:
        raise d.Forbidden("The integration role creates projects at stage 'signed' only.")
    if actor.role is Role.DEPARTMENT:
        actor.require_chain(data.chain, action="create projects")
    milestones = {s: getattr(data.milestones, s.value) for s in LISTS}
    problems = check_milestones(data.stage, milestones, today=ctx.today)
    if problems:
        errors = [
            {"loc": ["body", "stage"] if f == "stage" else ["body", "milestones", f], "msg": m} for f, m in problems
        ]
        raise d.InvalidInput("; ".join(f"{f}: {m}" for f, m in problems), errors=errors)
    _require_refs(session, chain=data.chain, district=data.district)
    repo = ProjectRepo(session)
    _require_unique_ref(repo, data.external_ref)
    p = Project(
        id=new_id(ctx.now),
        external_ref=data.external_ref,
        name=data.name,
        chain=data.chain,
        district=data.district,
        investor=data.investor,
        planned_investment=data.planned_investment,
        is_key=data.is_key,
        stage=data.stage.value,
        cumulative_investment=Decimal("0.00"),
        created_at=ctx.now,
        updated_at=ctx.now,
        **{MILESTONE_COLUMN[s]: milestones[s] for s in LISTS},
    )
    if data.external_ref is None:
        repo.add(p)
    else:
        # A concurrent push of the same external_ref can pass the check above (READ COMMITTED on PostgreSQL);
        # the unique index then refuses ours, and the 409 names the project that won.
        try:
            with session.begin_nested():
                repo.add(p)
        except IntegrityError:
            _require_unique_ref(repo, data.external_ref)
            raise
    _audit(session, ctx, "project.created", p, None)
    return p


def get_project(session: Session, *, project_id: str, for_update: bool = False) -> Project:
    p = ProjectRepo(session).get(project_id, for_update=for_update)
    if p is None:
        raise d.NotFound(f"No project '{project_id}'.")
    return p


def list_projects(session: Session, *, f: ProjectFilter, after: str | None, limit: int) -> list[Project]:
    return ProjectRepo(session).page(f, after=after, limit=limit)


def read_project(r: Reader, *, project_id: str) -> Any:
    """The project as a record typed like a Core row (the API's read path: no session, no ORM object)."""
    row = ProjectReads(r).row(project_id)
    if row is None:
        raise d.NotFound(f"No project '{project_id}'.")
    return row


def list_project_rows(r: Reader, *, f: ProjectFilter, after: str | None, limit: int) -> list[Any]:
    return ProjectReads(r).page(f, after=after, limit=limit)


def _load_for_write(
    session: Session, ctx: Ctx, project_id: str, if_match: int | None, *, required: bool, action: str
) -> Project:
    p = get_project(session, project_id=project_id, for_update=True)
    ctx.actor.require_chain(p.chain, action=action)
    check_version(p.version, if_match, required=required)
    if p.voided_at is not None:
        raise d.Conflict(f"Project {p.id} is voided; it can no longer change.")
    return p


def _bump(p: Project, ctx: Ctx) -> None:
    p.version += 1
    p.updated_at = ctx.now


def update_project(
    session: Session, *, ctx: Ctx, project_id: str, data: ProjectUpdate, if_match: int | None
) -> Project:
    p = _load_for_write(session, ctx, project_id, if_match, required=True, action="change projects")
    changes = data.model_dump(exclude_unset=True)
    for f in ("name", "district", "investor", "planned_investment", "is_key"):
        if f in changes and changes[f] is None:
            raise d.InvalidInput.at(["body", f], f"'{f}' cannot be null.")
    _require_refs(session, chain=None, district=changes.get("district"))
    repo = ProjectRepo(session)
    if changes.get("external_ref") is not None:
        _require_unique_ref(repo, changes["external_ref"], own_id=p.id)
    before = snapshot(p)
    for key, value in changes.items():
        setattr(p, key, value)
    if snapshot(p) != before:
        _bump(p, ctx)
        session.flush()
        _audit(session, ctx, "project.updated", p, before)
    return p


def transition_project(
    session: Session, *, ctx: Ctx, project_id: str, data: TransitionCreate, if_match: int | None
) -> Project:
    p = _load_for_write(session, ctx, project_id, if_match, required=False, action="move projects")
    current = Stage(p.stage)
    target = advance(current, data.to)
    if target is Stage.CANCELLED and not data.reason:
        raise d.InvalidInput.at(["body", "reason"], "A reason is required to cancel a project.")
    previous = max((getattr(p, MILESTONE_COLUMN[s]) for s in LISTS if getattr(p, MILESTONE_COLUMN[s])), default=None)
    problem = check_transition_date(data.on, previous=previous, today=ctx.today)
    if problem:
        raise d.InvalidInput.at(["body", "on"], problem)
    before = snapshot(p)
    if target is Stage.CANCELLED:
        p.cancelled_on, p.cancel_reason = data.on, data.reason
    else:
        setattr(p, MILESTONE_COLUMN[target], data.on)
    p.stage = target.value
    _bump(p, ctx)
    ProjectRepo(session).add_transition(
        ProjectTransition(
            project_id=p.id, from_stage=current.value, to_stage=target.value, on=data.on, note=data.note,
            reason=data.reason, created_at=ctx.now,
        )
    )
    _audit(session, ctx, "project.transitioned", p, before, note=data.note, reason=data.reason)
    return p


def revert_transition(session: Session, *, ctx: Ctx, project_id: str, reason: str, if_match: int | None) -> Project:
    p = _load_for_write(session, ctx, project_id, if_match, required=False, action="revert transitions")
    repo = ProjectRepo(session)
    last = repo.latest_transition(p.id)
    if last is None:
        raise d.Conflict(f"Project {p.id} has no transition to revert.")
    before = snapshot(p)
    target = Stage(last.to_stage)
    if target is Stage.CANCELLED:
        p.cancelled_on, p.cancel_reason = None, None
    else:
        setattr(p, MILESTONE_COLUMN[target], None)
    p.stage = last.from_stage
    last.reverted_at = ctx.now
    _bump(p, ctx)
    session.flush()
    _audit(session, ctx, "project.reverted", p, before, reason=reason)
    return p


def void_project(session: Session, *, ctx: Ctx, project_id: str, reason: str, if_match: int | None) -> Project:
    p = _load_for_write(session, ctx, project_id, if_match, required=False, action="void projects")
    before = snapshot(p)
    p.voided_at, p.void_reason = ctx.now, reason
    _bump(p, ctx)
    session.flush()
    _audit(session, ctx, "project.voided", p, before, reason=reason)
    return p


def add_investment(
    session: Session, *, ctx: Ctx, project_id: str, delta: Decimal, cause: dict[str, Any]
) -> Project:
    """Add ``delta`` 万元 to the project's ``cumulative_investment`` (the sum of its submitted monthly dispatch
    figures): a submitted dispatch adds each entry's ``invested``, an amendment of a submitted dispatch the
    difference (which may be negative). ``cause`` names the dispatch (chain, period). A new project version and
    one ``project.investment_recorded`` event, in the caller's transaction; a zero delta changes nothing."""
    p = get_project(session, project_id=project_id, for_update=True)
    ctx.actor.require_chain(p.chain, action="record investment")
    if p.voided_at is not None:
        raise d.Conflict(f"Project {p.id} is voided; it can no longer change.")
    if delta == 0:
        return p
    before = snapshot(p)
    p.cumulative_investment = p.cumulative_investment + delta
    _bump(p, ctx)
    session.flush()
    _audit(session, ctx, "project.investment_recorded", p, before, cause=cause, delta=delta)
    return p
