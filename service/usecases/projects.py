"""Projects on the four lists: create, patch, transition, revert, cancel, void, record investment.

Every change of a project goes through ``_change``: it compares the project before and after on every audited
field of its one definition (``service/domain/project_fields.py``), and when anything differs it writes the
changed columns, a new version (``version`` + 1, the history row) and one audit event holding ``before`` and
``after`` of exactly the fields that changed — in the caller's transaction. A field cannot be changed without
being versioned and audited: there is no list of fields to forget.

A project is a record of its stored fields (``service/db/projects.py``): read once, checked against the domain's
rules, replaced by a new record; the new record is what the answer shows.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.db.projects import ProjectQueries, ProjectRecord, ProjectStore
from service.db.raw import Reader, savepoint
from service.db.reference import ReferenceRepo
from service.db.values import jsonable, new_id
from service.domain import errors as d
from service.domain import project_fields as pf
from service.domain.access import Role
from service.domain.context import Ctx
from service.domain.queries import ProjectFilter
from service.domain.stages import (
    LISTS,
    Stage,
    advance,
    check_milestones,
    check_transition_date,
    latest_milestone,
)
from service.schemas.projects import ProjectCreate, ProjectUpdate, TransitionCreate
from service.usecases.common import audit, check_version


def snapshot(p: Any) -> dict[str, Any]:
    """The audited fields of a project record as audit values (the ``after`` of its creation)."""
    return {name: jsonable(getattr(p, name)) for name in pf.AUDITED}


def _change(session: Session, ctx: Ctx, p: Any, action: str, changes: dict[str, Any], **extra: Any) -> Any:
    """Apply ``changes`` (column → new value) to the project ``p``: when any audited field differs, one UPDATE
    of the changed columns, a new version in the history and one audit event with ``before``/``after`` of the
    changed fields; otherwise nothing. Returns the project as it now is."""
    changed = {k: v for k, v in changes.items() if getattr(p, k) != v}
    unknown = set(changed) - set(pf.AUDITED)
    if unknown:  # bookkeeping columns move with every change, never on their own
        raise ValueError(f"not an audited project field: {sorted(unknown)}")
    if not changed:
        return p
    new = p._replace(**changed, version=p.version + 1, updated_at=ctx.now)
    store = ProjectStore(session)
    store.update(p.id, {**changed, "version": new.version, "updated_at": ctx.now})
    store.record_version(new, ctx.now, first=False)
    audit(session, ctx, action=action, entity="project", entity_id=p.id, changed_only=False,
          before={k: getattr(p, k) for k in changed}, after=changed,
          extra={k: v for k, v in extra.items() if v is not None} or None)
    return new


def _require_refs(session: Session, *, chain: str | None, district: str | None) -> None:
    repo = ReferenceRepo(session)
    errors = []
    if chain is not None and repo.chain(chain) is None:
        errors.append({"loc": ["body", "chain"], "msg": f"Unknown chain '{chain}'."})
    if district is not None and repo.district(district) is None:
        errors.append({"loc": ["body", "district"], "msg": f"Unknown district '{district}'."})
    if errors:
        raise d.InvalidInput("; ".join(e["msg"] for e in errors), errors=errors)


def _require_unique_ref(session: Session, ref: str | None, *, own_id: str | None = None) -> None:
    if ref is None:
        return
    existing = ProjectQueries(session).by_external_ref(ref)
    if existing is not None and existing.id != own_id:
        raise d.Duplicate(f"external_ref '{ref}' is already project {existing.id}.", existing_id=existing.id)


def create_project(session: Session, *, ctx: Ctx, data: ProjectCreate) -> Any:
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
    _require_unique_ref(session, data.external_ref)
    p = ProjectRecord.new(
        id=new_id(ctx.now), stage=data.stage.value, cumulative_investment=Decimal("0.00"), version=1,
        created_at=ctx.now, updated_at=ctx.now, **{f.name: getattr(data, f.name) for f in pf.SETTABLE},
        **{pf.milestone_field(s.value): milestones[s] for s in LISTS},
    )
    store = ProjectStore(session)
    if data.external_ref is None:
        store.insert(p)
    else:
        # A concurrent push of the same external_ref can pass the check above (READ COMMITTED on PostgreSQL);
        # the unique index then refuses ours, and the 409 names the project that won.
        try:
            with savepoint(session):
                store.insert(p)
        except IntegrityError:
            _require_unique_ref(session, data.external_ref)
            raise
    store.record_version(p, ctx.now, first=True)
    audit(session, ctx, action="project.created", entity="project", entity_id=p.id, before=None, after=snapshot(p))
    return p


def get_project(session: Session, *, project_id: str, for_update: bool = False) -> Any:
    p = ProjectQueries(session).row(project_id, for_update=for_update)
    if p is None:
        raise d.NotFound(f"No project '{project_id}'.")
    return p


def read_project(r: Reader, *, project_id: str) -> Any:
    """The project as a record (the API's read path: one statement on a ``Reader``, no session)."""
    row = ProjectQueries(r).row(project_id)
    if row is None:
        raise d.NotFound(f"No project '{project_id}'.")
    return row


def list_projects(source: Session | Reader, *, f: ProjectFilter, after: str | None, limit: int) -> list[Any]:
    """A page of projects in id order: ``GET /projects`` (on a ``Reader``) and the web's pages (in a session)."""
    return ProjectQueries(source).page(f, after=after, limit=limit)


def _load_for_write(
    session: Session, ctx: Ctx, project_id: str, if_match: int | None, *, required: bool, action: str
) -> Any:
    p = get_project(session, project_id=project_id, for_update=True)
    ctx.actor.require_chain(p.chain, action=action)
    check_version(p.version, if_match, required=required)
    if p.voided_at is not None:
        raise d.Conflict(f"Project {p.id} is voided; it can no longer change.")
    return p


def update_project(
    session: Session, *, ctx: Ctx, project_id: str, data: ProjectUpdate, if_match: int | None
) -> Any:
    p = _load_for_write(session, ctx, project_id, if_match, required=True, action="change projects")
    changes = data.model_dump(exclude_unset=True)
    for f in pf.PATCHABLE:
        if f.name in changes and changes[f.name] is None and not f.nullable:
            raise d.InvalidInput.at(["body", f.name], f"'{f.name}' cannot be null.")
    _require_refs(session, chain=None, district=changes.get("district"))
    if changes.get("external_ref") is not None:
        _require_unique_ref(session, changes["external_ref"], own_id=p.id)
    return _change(session, ctx, p, "project.updated", changes)


def transition_project(
    session: Session, *, ctx: Ctx, project_id: str, data: TransitionCreate, if_match: int | None
) -> Any:
    p = _load_for_write(session, ctx, project_id, if_match, required=False, action="move projects")
    current = Stage(p.stage)
    target = advance(current, data.to)
    if target is Stage.CANCELLED and not data.reason:
        raise d.InvalidInput.at(["body", "reason"], "A reason is required to cancel a project.")
    problem = check_transition_date(data.on, previous=latest_milestone(p), today=ctx.today)
    if problem:
        raise d.InvalidInput.at(["body", "on"], problem)
    if target is Stage.CANCELLED:
        changes = {"stage": target.value, "cancelled_on": data.on, "cancel_reason": data.reason}
    else:
        changes = {"stage": target.value, pf.milestone_field(target.value): data.on}
    ProjectStore(session).add_transition(
        project_id=p.id, from_stage=current.value, to_stage=target.value, on=data.on, note=data.note,
        reason=data.reason, created_at=ctx.now,
    )
    return _change(session, ctx, p, "project.transitioned", changes, note=data.note, reason=data.reason)


def revert_transition(session: Session, *, ctx: Ctx, project_id: str, reason: str, if_match: int | None) -> Any:
    p = _load_for_write(session, ctx, project_id, if_match, required=False, action="revert transitions")
    last = ProjectQueries(session).latest_transition(p.id)
    if last is None:
        raise d.Conflict(f"Project {p.id} has no transition to revert.")
    undone = Stage(last.to_stage)
    if undone is Stage.CANCELLED:
        changes = {"stage": last.from_stage, "cancelled_on": None, "cancel_reason": None}
    else:
        changes = {"stage": last.from_stage, pf.milestone_field(undone.value): None}
    ProjectStore(session).mark_reverted(last.id, ctx.now)
    return _change(session, ctx, p, "project.reverted", changes, reason=reason)


def void_project(session: Session, *, ctx: Ctx, project_id: str, reason: str, if_match: int | None) -> Any:
    p = _load_for_write(session, ctx, project_id, if_match, required=False, action="void projects")
    return _change(session, ctx, p, "project.voided", {"voided_at": ctx.now, "void_reason": reason}, reason=reason)


def add_investment(
    session: Session, *, ctx: Ctx, project_id: str, delta: Decimal, cause: dict[str, Any]
) -> Any:
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
    return _change(session, ctx, p, "project.investment_recorded",
                   {"cumulative_investment": p.cumulative_investment + delta}, cause=cause, delta=delta)
