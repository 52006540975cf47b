"""Departments, districts and chains (admin writes; everyone reads)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from service.db.reference import ReferenceRepo
from service.db.tables import Chain, Department, District
from service.domain import errors as d
from service.domain.access import Role
from service.domain.context import Ctx
from service.schemas.reference import (
    ChainCreate,
    ChainUpdate,
    DepartmentCreate,
    DistrictCreate,
)
from service.usecases.common import audit, check_version

CHAIN_FIELDS = ("name", "leader", "lead_department", "benchmark_city")


def _snapshot(row: Department | District | Chain, fields: tuple[str, ...]) -> dict[str, Any]:
    return {f: getattr(row, f) for f in fields}


def create_department(session: Session, *, ctx: Ctx, data: DepartmentCreate) -> Department:
    ctx.actor.require(Role.ADMIN, action="create departments")
    repo = ReferenceRepo(session)
    if repo.department(data.code):
        raise d.Duplicate(f"Department '{data.code}' already exists.", existing=data.code)
    row = Department(code=data.code, name=data.name, created_at=ctx.now, updated_at=ctx.now)
    repo.add(row)
    audit(session, ctx, action="department.created", entity="department", entity_id=row.code,
          before=None, after=_snapshot(row, ("code", "name")))
    return row


def create_district(session: Session, *, ctx: Ctx, data: DistrictCreate) -> District:
    ctx.actor.require(Role.ADMIN, action="create districts")
    repo = ReferenceRepo(session)
    if repo.district(data.code):
        raise d.Duplicate(f"District '{data.code}' already exists.", existing=data.code)
    row = District(code=data.code, name=data.name, kind=data.kind.value, created_at=ctx.now, updated_at=ctx.now)
    repo.add(row)
    audit(session, ctx, action="district.created", entity="district", entity_id=row.code,
          before=None, after=_snapshot(row, ("code", "name", "kind")))
    return row


def _require_department(repo: ReferenceRepo, code: str) -> None:
    if repo.department(code) is None:
        raise d.InvalidInput.at(["body", "lead_department"], f"Unknown lead department '{code}'.")


def create_chain(session: Session, *, ctx: Ctx, data: ChainCreate) -> Chain:
    ctx.actor.require(Role.ADMIN, action="create chains")
    repo = ReferenceRepo(session)
    _require_department(repo, data.lead_department)
    if repo.chain(data.code):
        raise d.Duplicate(f"Chain '{data.code}' already exists.", existing=data.code)
    row = Chain(**data.model_dump(), created_at=ctx.now, updated_at=ctx.now)
    repo.add(row)
    audit(session, ctx, action="chain.created", entity="chain", entity_id=row.code,
          before=None, after={"code": row.code, **_snapshot(row, CHAIN_FIELDS)})
    return row


def update_chain(session: Session, *, ctx: Ctx, code: str, data: ChainUpdate, if_match: int | None) -> Chain:
    ctx.actor.require(Role.ADMIN, action="change chains")
    repo = ReferenceRepo(session)
    row = get_chain(session, code=code, for_update=True)
    check_version(row.version, if_match, required=True)
    changes = data.model_dump(exclude_unset=True)
    if "lead_department" in changes:
        if changes["lead_department"] is None:
            raise d.InvalidInput.at(["body", "lead_department"], "A chain must have a lead department.")
        _require_department(repo, changes["lead_department"])
    for f in ("name", "leader"):
        if f in changes and changes[f] is None:
            raise d.InvalidInput.at(["body", f], f"'{f}' cannot be null.")
    before = _snapshot(row, CHAIN_FIELDS)
    for key, value in changes.items():
        setattr(row, key, value)
    after = _snapshot(row, CHAIN_FIELDS)
    if after != before:
        row.version += 1
        row.updated_at = ctx.now
        session.flush()
        audit(session, ctx, action="chain.updated", entity="chain", entity_id=row.code, before=before, after=after)
    return row


def get_chain(session: Session, *, code: str, for_update: bool = False) -> Chain:
    row = ReferenceRepo(session).chain(code, for_update=for_update)
    if row is None:
        raise d.NotFound(f"No chain '{code}'.")
    return row


#: The reference tables by kind.
_KINDS: dict[str, type[Department] | type[District] | type[Chain]] = {
    "department": Department, "district": District, "chain": Chain,
}


def list_reference(session: Session, *, kind: str, after: str | None, limit: int) -> list[Any]:
    """A page of departments, districts or chains in code order, after the code ``after``."""
    return ReferenceRepo(session).page(_KINDS[kind], after=after, limit=limit)


def all_reference(session: Session, *, kind: str) -> list[Any]:
    """Every department, district or chain, in code order (the web's pickers and names)."""
    rows: list[Any] = []
    after = None
    while True:
        page = list_reference(session, kind=kind, after=after, limit=500)
        rows.extend(page)
        if len(page) < 500:
            return rows
        after = page[-1].code


def get_department(session: Session, *, code: str) -> Department | None:
    return ReferenceRepo(session).department(code)
