"""Project import (SPEC §7): a spreadsheet of projects, checked row by row, written all or nothing.

Three steps, each bounded, so that no file can hold the ledger up:
1. ``read_upload`` parses the file (``service.importing``: a stream, within ``Limits``), with no database at all.
2. ``check_import`` plans every project from a read of the ledger — reference data and the projects the rows
   match — and checks each with the rules the use cases apply (``check_milestones``, ``advance``,
   ``check_transition_date``, the API's input schemas, reference look-ups, rights, duplicate ``external_ref``s).
   It writes nothing: it is the dry run, and the refusal of a bad file before any write lock is taken.
3. ``apply_import`` plans again inside the write transaction (the ledger may have moved since step 2) and writes
   the plan through the API's use cases (create, patch, transition), so permissions, history
   (``project_version``), audit events and webhook outbox rows are exactly what the same requests would write.
   All or nothing: any problem raises ``InvalidInput`` and the caller's transaction rolls back. A successful import
   appends one more event, ``import.applied``, with the file's SHA-256 and row count; every event of an import
   carries the request's id.

How rows become projects:
- A **project sheet** has one row per project: the attributes and a date per milestone (``signed_on`` …
  ``at_capacity_on``; ``signed_on`` required). An optional ``stage``/``阶段`` column may say ``终止``/``cancelled``,
  and an optional ``cancelled_on``/``终止日期`` gives the cancellation date.
- A **ledger export** has one row per list a project is on in the exported period. Rows are grouped by
  ``external_ref`` (or, without one, by ``项目编号``) and must agree (attributes, stage, dates). Since exports carry
  them, each row also holds the project's four milestone dates and its 终止日期, so a row stands on its own and an
  export of any period imports as the same projects: the milestones come from the date columns (and must agree
  with the row's list and 日期), and 阶段 终止 cancels the project on its 终止日期. An export written before the
  date columns (清单/日期 only) gives the furthest milestone the file holds: ``终止`` then cancels the project on its
  last milestone date in the file, and a ``阶段`` ahead of the file's dates (the later milestone fell outside the
  exported period) is a warning — with the date columns it is an error.
- A row whose ``external_ref`` (ledger export without one: whose ``项目编号``) matches an existing project
  updates it (``PATCH`` semantics for changed attributes; the chain never changes) and moves it forward through
  the milestones it lacks (one ``project.transitioned`` per step, as through the API); milestones it already
  has must be equal (a different date is an error: correct it with a revert). An import never moves a project
  back. Empty optional cells of an existing project change nothing.
- Chains and districts are given by code or by exact name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import IO, Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy.orm import Session

from service import importing as xl
from service.db.imports import ImportLookups
from service.db.tables import Chain, District, Project
from service.db.values import new_id
from service.domain import errors as d
from service.domain import project_fields as pf
from service.domain.access import Role
from service.domain.context import Ctx
from service.domain.stages import LABELS_ZH, LISTS, Stage, advance, check_milestones, check_transition_date
from service.schemas.common import Amount, Day, Name, ShortText
from service.schemas.imports import (
    ImportFile,
    ImportReport,
    ImportRowRead,
    ImportSummary,
    Outcome,
)
from service.schemas.projects import ProjectCreate, ProjectUpdate, TransitionCreate
from service.usecases import projects as projects_uc
from service.usecases.common import audit

CANCEL_REASON = "台帐导入：文件中的项目已终止 (imported as cancelled: 阶段 终止 in the file)"
CANCEL_REASON_UNDATED = ("台帐导入：导出时已终止，终止日期取文件中最后一个里程碑日期 (imported as cancelled from a ledger "
                         "export without 终止日期)")
#: What an import may change of an existing project: what a PATCH changes, but the ref that matched it.
UPDATABLE = tuple(f.name for f in pf.PATCHABLE if not f.unique)
IMPORTERS = (Role.ADMIN, Role.DEPARTMENT, Role.INTEGRATION)

#: How a cell becomes a value, and the API's type that then checks it, by the kind of the field it fills.
_READ_KIND: dict[pf.Kind, Any] = {
    pf.Kind.ID: xl.as_text, pf.Kind.REF: xl.as_text, pf.Kind.NAME: xl.as_text, pf.Kind.CODE: xl.as_text,
    pf.Kind.AMOUNT: xl.as_amount, pf.Kind.FLAG: xl.as_bool, pf.Kind.STAGE: xl.as_stage, pf.Kind.DATE: xl.as_date,
}
_CHECK_KIND: dict[pf.Kind, Any] = {
    pf.Kind.ID: TypeAdapter(ShortText), pf.Kind.REF: TypeAdapter(ShortText), pf.Kind.NAME: TypeAdapter(Name),
    pf.Kind.AMOUNT: TypeAdapter(Amount), pf.Kind.DATE: TypeAdapter(Day),
}
_FIELDS = [pf.BY_NAME[key] for key in xl.COLUMNS if key in pf.BY_NAME and pf.BY_NAME[key].stored]
_CONVERT = {"list": xl.as_list, "on": xl.as_date, **{f.name: _READ_KIND[f.kind] for f in _FIELDS}}
_VALIDATE = {"on": TypeAdapter(Day), **{f.name: _CHECK_KIND[f.kind] for f in _FIELDS if f.kind in _CHECK_KIND}}
_REQUIRED_CELLS = tuple(f.name for f in pf.SETTABLE if f.required)


@dataclass(frozen=True, slots=True)
class Upload:
    """A file read and parsed, with nothing of the database: what the plan and the apply work from."""

    parsed: xl.ParsedFile
    file: ImportFile


@dataclass(slots=True)
class Cell:
    value: Any
    src: xl.SourceRow
    column: str


@dataclass(slots=True)
class Record:
    """One project as the file describes it, and what the import does to it."""

    key: str | None
    rows: list[xl.SourceRow]
    ledger: bool = False
    dated: bool = False  # its rows carry the four milestone date columns (a project sheet, a ledger export now)
    cancel_header: str | None = None  # its rows' 终止日期 column, as headed in the file
    attrs: dict[str, Cell] = field(default_factory=dict)
    ident: Cell | None = None  # 项目编号 of a ledger export
    lists: dict[Stage, Cell] = field(default_factory=dict)  # ledger: the 日期 of each list row
    milestones: dict[Stage, Cell] = field(default_factory=dict)
    cancelled_on: Cell | None = None
    stage: Cell | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    existing: Project | None = None
    outcome: Outcome | None = None
    create: ProjectCreate | None = None
    changes: dict[str, Any] = field(default_factory=dict)
    update: ProjectUpdate | None = None
    transitions: list[tuple[Stage, Cell]] = field(default_factory=list)
    steps: list[tuple[TransitionCreate, Cell]] = field(default_factory=list)  # checked, in order (cancel last)
    cancel: Cell | None = None
    project_id: str | None = None
    final_stage: Stage | None = None

    def value(self, key: str) -> Any:
        cell = self.attrs.get(key)
        return cell.value if cell else None

    def error(self, cell_or_row: Cell | xl.SourceRow | None, text: str, type_: str, column: str | None = None) -> None:
        src = cell_or_row.src if isinstance(cell_or_row, Cell) else (cell_or_row or self.rows[0])
        col = column if column is not None else (cell_or_row.column if isinstance(cell_or_row, Cell) else None)
        self.errors.append(xl.problem(src.row, col, text, type_, sheet=src.sheet))


class _Reference:
    """Chain and district codes, found by code or by exact name."""

    def __init__(self, pairs: list[tuple[str, str]]):
        self.codes = {code for code, _ in pairs}
        names: dict[str, list[str]] = {}
        for code, name in pairs:
            names.setdefault(name, []).append(code)
        self.by_name = {n: c[0] for n, c in names.items() if len(c) == 1}

    def find(self, text: str) -> str | None:
        return text if text in self.codes else self.by_name.get(text)


@dataclass(slots=True)
class _Plan:
    records: list[Record]
    errors: list[dict[str, Any]]
    held: tuple[list[Chain], list[District]]  # kept alive while the plan is applied (identity map hits)


# ---------------------------------------------------------------- the use cases


def read_upload(source: IO[bytes] | bytes, *, filename: str | None, sha256: str, size: int,
                limits: xl.Limits) -> Upload:
    """Parse the file within ``limits``: no database, no lock. A file that cannot be imported as a whole raises
    ``InvalidInput`` (422, naming the limit it passed, if any); one that is no spreadsheet ``NotASpreadsheet``."""
    try:
        parsed = xl.parse(source, limits=limits)
    except xl.FileRejected as exc:
        raise d.InvalidInput(exc.detail, errors=exc.errors, sha256=sha256, **exc.extra) from exc
    return Upload(parsed=parsed, file=ImportFile(name=filename, sha256=sha256, bytes=size, media=parsed.media,
                                                 encoding=parsed.encoding, layout=parsed.layout,
                                                 sheets=parsed.sheets))


def check_import(session: Session, *, ctx: Ctx, upload: Upload) -> ImportReport:
    """The dry run: what the import would do to the ledger as ``session`` reads it, row by row. Writes nothing
    (a read transaction is enough)."""
    ctx.actor.require(*IMPORTERS, action="import projects")
    plan = _plan(session, ctx, upload.parsed)
    return _report(plan.records, upload, plan.errors, import_id=None, dry_run=True)


def refusal(report: ImportReport) -> d.InvalidInput:
    """The 422 of an import whose report (a dry run's, or a plan's) has errors: nothing is written."""
    return _refusal(report.errors, report.file.sha256)


def _refusal(errors: list[dict[str, Any]], sha256: str) -> d.InvalidInput:
    first = errors[0]
    return d.InvalidInput(
        f"{len(errors)} problem(s) in the file; nothing was imported. First: row {first['row']}, "
        f"{first['column'] or 'row'}: {first['problem']}",
        errors=errors, sha256=sha256,
    )


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


# ---------------------------------------------------------------- rows → records


def _cells(parsed: xl.ParsedFile, row: xl.SourceRow, chains: _Reference, districts: _Reference,
           errors: list[dict[str, Any]]) -> dict[str, Cell]:
    """The row's values, converted and validated (problems go to ``errors``)."""
    out: dict[str, Cell] = {}
    for key, raw in row.cells.items():
        convert = _CONVERT.get(key)
        if convert is None:
            continue
        column = parsed.column(row, key)
        try:
            value = convert(raw)
            if key in _VALIDATE and value is not None:
                value = _VALIDATE[key].validate_python(value)
        except ValueError as exc:  # ValidationError is a ValueError
            msg = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
            errors.append(xl.problem(row.row, column, f"{column}: {msg}.", "invalid_value", sheet=row.sheet))
            continue
        if value is None:
            continue
        if key in ("chain", "district"):
            ref = chains if key == "chain" else districts
            code = ref.find(value)
            if code is None:
                errors.append(xl.problem(row.row, column, f"Unknown {key} '{value}'.", f"unknown_{key}",
                                         sheet=row.sheet))
                continue
            value = code
        out[key] = Cell(value, row, column)
    return out


def _require(parsed: xl.ParsedFile, row: xl.SourceRow, cells: dict[str, Cell], keys: tuple[str, ...],
             raw_bad: set[str], errors: list[dict[str, Any]]) -> None:
    for key in keys:
        if key not in cells and key not in raw_bad:
            column = parsed.column(row, key)
            errors.append(xl.problem(row.row, column, f"{column} is required.", "missing_value", sheet=row.sheet))


def _records(parsed: xl.ParsedFile, chains: _Reference, districts: _Reference) -> list[Record]:
    records: list[Record] = []
    by_key: dict[str, Record] = {}
    ledger = parsed.layout == xl.LEDGER
    for row in parsed.rows:
        errors: list[dict[str, Any]] = []
        cells = _cells(parsed, row, chains, districts, errors)
        bad = {k for k in row.cells if k not in cells} | row.refused
        required = (*_REQUIRED_CELLS, "on") if ledger else (*_REQUIRED_CELLS, "signed_on")
        _require(parsed, row, cells, required, bad, errors)
        ref = cells["external_ref"].value if "external_ref" in cells else None
        ident = cells["id"].value if "id" in cells else None
        if ledger:
            if "list" not in cells and row.list_from_sheet is None and "list" not in bad:
                column = parsed.column(row, "list")
                errors.append(xl.problem(row.row, column, f"{column} is required.", "missing_value", sheet=row.sheet))
            if ref is None and ident is None and not ({"external_ref", "id"} & bad):
                errors.append(xl.problem(row.row, parsed.column(row, "external_ref"),
                                         "A ledger row needs its 外部编号 or 项目编号.", "missing_value",
                                         sheet=row.sheet))
        key = ref if ref is not None else (f"项目编号 {ident}" if ledger and ident is not None else None)
        record = by_key.get(key) if (ledger and key is not None) else None
        if record is None and ledger and ident is not None:
            record = by_key.get(f"项目编号 {ident}")
        if record is None:
            headers = parsed.headers.get(row.sheet, {})
            record = Record(key=key, rows=[], ledger=ledger,
                            dated=all(c in headers for c in xl.MILESTONE_COLUMNS.values()),
                            cancel_header=headers.get("cancelled_on"))
            records.append(record)
            if key is not None:
                if not ledger and key in by_key:
                    first = by_key[key].rows[0]
                    errors.append(xl.problem(row.row, cells["external_ref"].column, f"external_ref '{key}' is "
                                             f"already on row {first.row}: one row per project.",
                                             "duplicate_external_ref", sheet=row.sheet))
                else:
                    by_key[key] = record
            if ledger and ident is not None:
                by_key.setdefault(f"项目编号 {ident}", record)
        record.rows.append(row)
        record.errors.extend(errors)
        _merge(record, row, cells, ledger=ledger)
    return records


def _merge(r: Record, row: xl.SourceRow, cells: dict[str, Cell], *, ledger: bool) -> None:
    """Fold one row into its record: attributes, stage and dates must agree across the rows of one project; a
    ledger row's list and 日期 give a milestone, and so does every milestone date column."""
    for key in (*xl.ATTRIBUTES, "stage"):
        cell = cells.get(key)
        if cell is None:
            continue
        seen = r.stage if key == "stage" else r.attrs.get(key)
        if seen is None:
            if key == "stage":
                r.stage = cell
            else:
                r.attrs[key] = cell
        elif seen.value != cell.value:
            _differs(r, cell, seen)
    if "id" in cells and r.ident is None:
        r.ident = cells["id"]
    if ledger:
        lst = cells["list"].value if "list" in cells else row.list_from_sheet
        on = cells.get("on")
        if lst is not None and on is not None:
            if lst in r.lists:
                r.error(on, f"The project already has a {LABELS_ZH[lst]} row (row {r.lists[lst].src.row}).",
                        "duplicate_list_row")
                return
            r.lists[lst] = on
            _date(r, r.milestones, lst, on)
    for stage, column in xl.MILESTONE_COLUMNS.items():
        if column in cells:
            _date(r, r.milestones, stage, cells[column])
    if "cancelled_on" in cells:
        if r.cancelled_on is None:
            r.cancelled_on = cells["cancelled_on"]
        elif r.cancelled_on.value != cells["cancelled_on"].value:
            _differs(r, cells["cancelled_on"], r.cancelled_on)


def _date(r: Record, dates: dict[Stage, Cell], stage: Stage, cell: Cell) -> None:
    seen = dates.get(stage)
    if seen is None:
        dates[stage] = cell
    elif seen.value != cell.value:
        _differs(r, cell, seen)


def _differs(r: Record, cell: Cell, seen: Cell) -> None:
    where = f"row {seen.src.row}" + (f" ({seen.column})" if seen.column != cell.column else "")
    r.error(cell, f"{cell.column} '{_show(cell.value)}' differs from '{_show(seen.value)}' on {where} of the same "
            "project.", "inconsistent_rows")


def _show(value: Any) -> str:
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, Stage):
        return value.value
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _match(records: list[Record], lookups: ImportLookups) -> None:
    by_ref = lookups.projects_by_external_ref(r.value("external_ref") for r in records if r.value("external_ref"))
    by_id = lookups.projects_by_id(r.ident.value for r in records if r.ident and not r.value("external_ref"))
    for r in records:
        ref = r.value("external_ref")
        r.existing = by_ref.get(ref) if ref else (by_id.get(r.ident.value) if r.ident else None)


# ---------------------------------------------------------------- records → plans: the use cases' rules, no write


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
        r.create = ProjectCreate(
            external_ref=r.value("external_ref"), name=r.value("name"), chain=r.value("chain"),
            district=r.value("district"), investor=r.value("investor"),
            planned_investment=r.value("planned_investment"), is_key=bool(r.value("is_key")),
            stage=furthest, milestones={s.value: c.value for s, c in r.milestones.items()},
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


# ---------------------------------------------------------------- plans → writes


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


# ---------------------------------------------------------------- the report


def _report(records: list[Record], upload: Upload, errors: list[dict[str, Any]], *, import_id: str | None,
            dry_run: bool) -> ImportReport:
    parsed = upload.parsed
    bad_rows = {(e.get("sheet"), e["row"]) for e in parsed.errors if e["row"] is not None}
    rows: list[ImportRowRead] = []
    counts = dict.fromkeys(Outcome, 0)
    for r in records:
        failed = bool(r.errors) or any((src.sheet, src.row) in bad_rows for src in r.rows)
        outcome = Outcome.ERROR if failed or r.outcome is None else r.outcome
        counts[outcome] += 1
        key = r.value("external_ref") or (r.ident.value if r.ident else None)
        ok = outcome is not Outcome.ERROR
        for src in r.rows:
            rows.append(ImportRowRead(
                sheet=src.sheet, row=src.row, key=key, outcome=outcome,
                project_id=r.project_id if ok or r.existing else None,
                stage=r.final_stage if ok else (Stage(r.existing.stage) if r.existing else None),
                changes=list(r.changes) if ok else [],
                transitions=[step.to for step, _ in r.steps] if ok else [],
                warnings=r.warnings,
            ))
    order = {name: i for i, name in enumerate(parsed.sheets)}
    rows.sort(key=lambda x: (order.get(x.sheet, 0), x.row))
    summary = ImportSummary(rows=len(parsed.rows), projects=len(records), create=counts[Outcome.CREATE],
                            update=counts[Outcome.UPDATE], transition=counts[Outcome.TRANSITION],
                            unchanged=counts[Outcome.UNCHANGED], error=counts[Outcome.ERROR])
    return ImportReport(id=import_id, dry_run=dry_run, applied=import_id is not None, file=upload.file,
                        summary=summary, rows=rows, errors=errors, warnings=parsed.warnings)
