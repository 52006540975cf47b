"""Plans → writes: ``apply_import`` writes every project of a clean plan through the API's use cases, or nothing.

A use case that refuses what the plan allowed wins: the record takes its errors, the import is refused
(``InvalidInput``) and the caller's transaction rolls back.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from service.db.values import new_id
from service.domain import errors as d
from service.domain.context import Ctx
from service.domain.stages import LISTS, Stage
from service.schemas.imports import ImportReport, Outcome
from service.usecases import projects as projects_uc
from service.usecases.common import audit
from service.usecases.imports.plan import IMPORTERS, _plan
from service.usecases.imports.records import Cell, Record, Upload
from service.usecases.imports.report import _refusal, _report


def apply_import(session: Session, *, ctx: Ctx, upload: Upload) -> ImportReport:
    """Plan again in the caller's write transaction and write every project through the use cases, or — with any
    problem — raise ``InvalidInput`` (the caller rolls back: nothing is written)."""
    ctx.actor.require(*IMPORTERS, action="import projects")
    plan = _plan(session, ctx, upload.parsed)
    if plan.errors:
        raise _refusal(plan.errors, upload.file.sha256)
    import_id = new_id(ctx.now)
    note = f"导入 import {import_id} ({upload.file.sha256[:12]})"
    for r in plan.records:
        if r.outcome not in (Outcome.UNCHANGED, None) and not _apply(session, ctx, r, note=note):
            raise _refusal(r.errors, upload.file.sha256)  # the plan and a use case disagree: the use case wins
    report = _report(plan.records, upload, [], import_id=import_id, dry_run=False)
    s, f = report.summary, upload.file
    audit(session, ctx, action="import.applied", entity="import", entity_id=import_id, before=None, after={
        "sha256": f.sha256, "filename": f.name, "bytes": f.bytes, "media": f.media, "layout": f.layout,
        "rows": s.rows, "projects": s.projects, "created": s.create, "updated": s.update,
        "transitioned": s.transition, "unchanged": s.unchanged,
    })
    return report



def _apply(session: Session, ctx: Ctx, r: Record, *, note: str) -> bool:
    """Write one project's plan through the API's use cases; False (with the error on the record) if one refuses."""
    where: Cell | None = None
    try:
        if r.existing is None:
            assert r.create is not None
            where = r.milestones[r.create.stage]
            p = projects_uc.create_project(session, ctx=ctx, data=r.create)
        else:
            p = r.existing
            if r.update is not None:
                where = r.attrs[next(iter(r.changes))]
                p = projects_uc.update_project(session, ctx=ctx, project_id=p.id, data=r.update, if_match=p.version)
        for step, cell in r.steps:
            where = cell
            p = projects_uc.transition_project(session, ctx=ctx, project_id=p.id, if_match=None,
                                               data=step.model_copy(update={"note": note}))
    except d.DomainError as exc:
        _domain_errors(r, exc, where)
        return False
    r.project_id = p.id
    r.final_stage = Stage(p.stage)
    return True


def _domain_errors(r: Record, exc: d.DomainError, where: Cell | None) -> None:
    if not exc.errors:
        r.error(where, exc.detail, exc.slug)
        return
    for e in exc.errors:
        last = str(e.get("loc", ["row"])[-1])
        stage = Stage(last) if last in {s.value for s in LISTS} else None
        cell = (r.milestones.get(stage) if stage else None) or r.attrs.get(last) or where
        r.error(cell, e.get("msg") or exc.detail, exc.slug)
