"""Records → plans: the use cases' rules, and no write. ``check_import`` (the dry run) plans and reports;
``apply_import`` plans again inside its write transaction and writes what the plan holds.

A row whose ``external_ref`` (ledger export without one: whose ``项目编号``) matches an existing project updates
it (``PATCH`` semantics for changed attributes; the chain never changes) and moves it forward through the
milestones it lacks (one ``project.transitioned`` per step, as through the API); milestones it already has must
be equal (a different date is an error: correct it with a revert). An import never moves a project back. Empty
optional cells of an existing project change nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from service import importing as xl
from service.db.imports import ImportLookups
from service.db.tables import Chain, District, Project
from service.domain import errors as d
from service.domain import project_fields as pf
from service.domain.access import Role
from service.domain.context import Ctx
from service.domain.stages import LABELS_ZH, LISTS, Stage, advance, check_milestones, check_transition_date
from service.schemas.imports import ImportReport, Outcome
from service.schemas.projects import ProjectCreate, ProjectUpdate, TransitionCreate
from service.usecases.imports.records import Cell, Record, Upload, _match, _records, _Reference, _show
from service.usecases.imports.report import _report

CANCEL_REASON = "台帐导入：文件中的项目已终止 (imported as cancelled: 阶段 终止 in the file)"
CANCEL_REASON_UNDATED = ("台帐导入：导出时已终止，终止日期取文件中最后一个里程碑日期 (imported as cancelled from a ledger "
                         "export without 终止日期)")
#: What an import may change of an existing project: what a PATCH changes, but the ref that matched it.
UPDATABLE = tuple(f.name for f in pf.PATCHABLE if not f.unique)
IMPORTERS = (Role.ADMIN, Role.DEPARTMENT, Role.INTEGRATION)


@dataclass(slots=True)
class _Plan:
    records: list[Record]
    errors: list[dict[str, Any]]
    held: tuple[list[Chain], list[District]]  # kept alive while the plan is applied (identity map hits)


def check_import(session: Session, *, ctx: Ctx, upload: Upload) -> ImportReport:
    """The dry run: what the import would do to the ledger as ``session`` reads it, row by row. Writes nothing
    (a read transaction is enough)."""
    ctx.actor.require(*IMPORTERS, action="import projects")
    plan = _plan(session, ctx, upload.parsed)
    return _report(plan.records, upload, plan.errors, import_id=None, dry_run=True)


def _plan(session: Session, ctx: Ctx, parsed: xl.ParsedFile) -> _Plan:
    lookups = ImportLookups(session)
    held = (lookups.chains(), lookups.districts())
    chains = _Reference([(c.code, c.name) for c in held[0]])
    districts = _Reference([(x.code, x.name) for x in held[1]])
    records = _records(parsed, chains, districts)
    _match(records, lookups)
    refused = {(e.get("sheet"), e["row"]) for e in parsed.errors}
    for r in records:
        _check_rights(r, ctx)
        if not r.errors and not any((src.sheet, src.row) in refused for src in r.rows):
            if r.existing is None:
                _plan_create(r, ctx)
            else:
                _plan_update(r, r.existing, ctx)
    errors = parsed.errors + [e for r in records for e in r.errors]
    errors.sort(key=lambda e: (parsed.sheets.index(e["sheet"]) if e.get("sheet") in parsed.sheets else 0,
                               e["row"] or 0))
    return _Plan(records=records, errors=errors, held=held)


def _check_rights(r: Record, ctx: Ctx) -> None:
    """SPEC §1 per row: a department imports rows of its own chains, an integration token rows at stage
    ``signed`` (whatever the ledger already holds). Changing an existing project is checked as the use cases
    check it (``_plan_update``)."""
    actor = ctx.actor
    chain = r.attrs.get("chain")
    if actor.role is Role.DEPARTMENT and chain is not None and chain.value not in actor.chains:
        r.error(chain, f"This department token is scoped to {sorted(actor.chains)}; it may not import rows of "
                f"chain '{chain.value}'.", "forbidden")
    if actor.role is Role.INTEGRATION:
        later = [c for s, c in r.milestones.items() if s is not Stage.SIGNED]
        if r.cancelled_on is not None:
            later.append(r.cancelled_on)
        if later or (r.stage is not None and r.stage.value is not Stage.SIGNED):
            cell = later[0] if later else r.stage
            r.error(cell, "The integration role imports rows at stage 'signed' only.", "forbidden")


def _validation_errors(r: Record, exc: ValidationError, where: Cell | None) -> None:
    for e in exc.errors():
        loc = [str(x) for x in e["loc"]]
        name = loc[-1] if loc else ""
        stage = Stage(name) if name in {s.value for s in LISTS} else None
        cell = (r.milestones.get(stage) if stage else None) or r.attrs.get(name) or where
        r.error(cell, f"{'.'.join(loc)}: {e['msg']}.", "invalid_value")


def _plan_create(r: Record, ctx: Ctx) -> None:
    if not r.milestones:
        r.error(None, "The project has no milestone date.", "missing_value")
        return
    furthest = max(r.milestones, key=LISTS.index)
    dates = {s: c.value for s, c in r.milestones.items()}
    for name, text in check_milestones(furthest, dates, today=ctx.today):
        stage = Stage(name)
        cell = r.milestones.get(stage)
        if cell is None:  # an earlier milestone is missing
            label = LABELS_ZH[stage]
            hint = (f"the file has no {label} row for this project (export a period that covers all its "
                    "milestones, or use the project sheet)") if r.ledger else f"'{stage.value}_on' is empty"
            r.error(r.milestones[furthest], f"A project on {LABELS_ZH[furthest]} needs its {label} date: {hint}.",
                    "missing_milestone")
        else:
            r.error(cell, f"{cell.column}: {text}", "invalid_milestone")
    if r.errors:
        return
    try:
        # Every field a POST /projects sets (its one definition), as the file gives it; an empty cell is the
        # field's default.
        attributes = {f.name: r.value(f.name) for f in pf.SETTABLE if r.value(f.name) is not None}
        r.create = ProjectCreate(
            **attributes, stage=furthest, milestones={s.value: c.value for s, c in r.milestones.items()},
        )
    except ValidationError as exc:
        _validation_errors(r, exc, r.milestones[furthest])
        return
    r.outcome, r.final_stage = Outcome.CREATE, furthest
    _stated_stage(r, furthest, cancelled=False, reached=furthest)
    _check_cancel(r, furthest, max(dates.values()), ctx)


def _stated_stage(r: Record, final: Stage, *, cancelled: bool, reached: Stage) -> None:
    """The file's 阶段 (and 终止日期) against where the import leaves the project (``final``, one of the four
    lists; ``cancelled``: the ledger has it cancelled already; ``reached``: the furthest milestone of the file)."""
    stage, cancel_on = r.stage, r.cancelled_on
    stated: Stage | None = stage.value if stage is not None else None
    if stage is not None and cancel_on is not None and stated is not Stage.CANCELLED:
        r.error(cancel_on, f"{cancel_on.column} is given but {stage.column} is '{_show(stated)}', not 终止.",
                "inconsistent_stage")
        return
    if stated is Stage.CANCELLED or cancel_on is not None:
        _stated_cancellation(r, cancelled=cancelled)
        return
    if stage is None or stated is None:
        return
    if cancelled:
        r.warnings.append("The project is cancelled in the ledger; the file's stage is older.")
        return
    if LISTS.index(stated) > LISTS.index(final):
        if r.ledger and r.dated:
            missing = LABELS_ZH[LISTS[LISTS.index(final) + 1]]
            r.error(stage, f"{stage.column} '{_show(stated)}' is ahead of the row's dates: its {missing} date is "
                    "empty.", "inconsistent_stage")
        else:
            r.warnings.append(f"{stage.column} says '{_show(stated)}' but the file dates the project only up to "
                              f"{LABELS_ZH[final]}: it stays at '{final.value}'.")
    elif LISTS.index(stated) < LISTS.index(reached):
        if r.existing is None or any(LISTS.index(s) > LISTS.index(stated) for s in r.milestones):
            r.error(stage, f"{stage.column} '{_show(stated)}' contradicts the file's {LABELS_ZH[reached]} date.",
                    "inconsistent_stage")
        else:
            r.warnings.append(f"The ledger has the project at '{final.value}', ahead of the file's stage.")


def _stated_cancellation(r: Record, *, cancelled: bool) -> None:
    """阶段 终止 (or a 终止日期): cancel on the file's 终止日期 — or, in an export written before it had one, on the
    last milestone date the file and the ledger know; nothing to do for a project the ledger has cancelled on
    the same date."""
    stage, cancel_on = r.stage, r.cancelled_on
    if cancelled:
        known = r.existing.cancelled_on if r.existing else None
        if cancel_on is not None and known is not None and cancel_on.value != known:
            r.error(cancel_on, f"{cancel_on.column}: {cancel_on.value.isoformat()} differs from the cancellation "
                    f"date {known.isoformat()} the ledger has.", "milestone_conflict")
        return
    if cancel_on is not None:
        r.cancel = cancel_on
    elif stage is not None and r.cancel_header is not None:
        r.error(stage, f"{stage.column} is 终止: the project's {r.cancel_header} is required.", "missing_value",
                column=r.cancel_header)
        return
    elif stage is not None:
        dates = [c.value for c in r.milestones.values()] + ([_latest(r.existing)] if r.existing else [])
        r.cancel = Cell(max(dates), stage.src, stage.column)
    r.final_stage = Stage.CANCELLED


def _check_cancel(r: Record, current: Stage, previous: date | None, ctx: Ctx) -> None:
    """The cancellation the file asks for, checked as ``transition_project`` checks it."""
    if r.cancel is None or r.errors:
        return
    reason = CANCEL_REASON if r.cancelled_on is not None else CANCEL_REASON_UNDATED
    _check_step(r, current, Stage.CANCELLED, r.cancel, previous, ctx, reason=reason)
    if not r.errors:
        r.final_stage = Stage.CANCELLED
        if r.outcome in (Outcome.UPDATE, Outcome.UNCHANGED):
            r.outcome = Outcome.TRANSITION


def _check_step(r: Record, current: Stage, target: Stage, cell: Cell, previous: date | None, ctx: Ctx, *,
                reason: str | None = None) -> bool:
    """One transition, checked with the rules ``transition_project`` applies; kept in ``r.steps`` when valid."""
    try:
        advance(current, target)
    except d.IllegalTransition as exc:
        r.error(cell, exc.detail, exc.slug)
        return False
    problem = check_transition_date(cell.value, previous=previous, today=ctx.today)
    if problem:
        r.error(cell, f"{cell.column}: {problem}", "invalid_milestone")
        return False
    try:
        step = TransitionCreate(to=target, on=cell.value, reason=reason)
    except ValidationError as exc:
        _validation_errors(r, exc, cell)
        return False
    r.steps.append((step, cell))
    return True


def _latest(p: Project) -> date:
    return max(d for d in (getattr(p, f"{s.value}_on") for s in LISTS) if d is not None)


def _plan_update(r: Record, p: Project, ctx: Ctx) -> None:
    r.project_id = p.id
    if p.voided_at is not None:
        r.error(None, f"Project {p.id} ({p.external_ref or p.name}) is voided; it can no longer change.", "conflict")
        return
    chain = r.attrs.get("chain")
    if chain is not None and chain.value != p.chain:
        r.error(chain, f"Project {p.id} is on chain '{p.chain}'; an import does not move it to '{chain.value}'.",
                "chain_change")
    for key in UPDATABLE:
        cell = r.attrs.get(key)
        if cell is not None and cell.value != getattr(p, key):
            r.changes[key] = cell.value
    current = Stage(p.stage)
    new: list[Stage] = []
    for stage in LISTS:
        cell = r.milestones.get(stage)
        if cell is None:
            continue
        known = getattr(p, f"{stage.value}_on")
        if known is not None and known != cell.value:
            r.error(cell, f"{cell.column}: {cell.value.isoformat()} differs from the {LABELS_ZH[stage]} date "
                    f"{known.isoformat()} the ledger has; correct it with a revert, not an import.",
                    "milestone_conflict")
        elif known is None:
            new.append(stage)
    if new:
        if current is Stage.CANCELLED:
            r.error(r.milestones[new[0]], f"Project {p.id} is cancelled; it cannot reach {LABELS_ZH[new[0]]}.",
                    "invalid-transition")
        else:
            expected = LISTS[LISTS.index(current) + 1:]
            for i, stage in enumerate(new):
                if i >= len(expected) or expected[i] is not stage:
                    missing = expected[i] if i < len(expected) else None
                    r.error(r.milestones[stage], f"Project {p.id} is at '{current.value}'"
                            + (f": its {LABELS_ZH[missing]} date is missing" if missing else "")
                            + "; stages move forward one at a time.", "missing_milestone")
                    break
    if r.errors:
        return
    r.transitions = [(s, r.milestones[s]) for s in new]
    final = new[-1] if new else current
    reached = max(r.milestones, key=LISTS.index) if r.milestones else LISTS[0]
    r.final_stage = final
    _stated_stage(r, final if final is not Stage.CANCELLED else current, cancelled=final is Stage.CANCELLED,
                  reached=reached)
    if r.errors:
        return
    writes = r.changes or r.transitions or r.cancel
    if writes:  # as _load_for_write checks it: the token must write for the project's chain
        try:
            ctx.actor.require_chain(p.chain, action="change projects" if r.changes else "move projects")
        except d.Forbidden as exc:
            cell = r.attrs.get(next(iter(r.changes))) if r.changes else (
                r.transitions[0][1] if r.transitions else r.cancel)
            r.error(cell, exc.detail, "forbidden")
            return
    if r.changes:
        try:
            r.update = ProjectUpdate(**r.changes)
        except ValidationError as exc:
            _validation_errors(r, exc, r.attrs.get(next(iter(r.changes))))
            return
    previous = max((getattr(p, f"{s.value}_on") for s in LISTS if getattr(p, f"{s.value}_on")), default=None)
    for stage, cell in r.transitions:
        if not _check_step(r, current, stage, cell, previous, ctx):
            return
        current, previous = stage, cell.value
    r.outcome = (Outcome.TRANSITION if (r.transitions or r.cancel) else
                 Outcome.UPDATE if r.changes else Outcome.UNCHANGED)
    _check_cancel(r, current, previous, ctx)
