"""From the file to records: the upload read with no database at all (``read_upload``, step 1), then its rows
converted and checked cell by cell, grouped into one ``Record`` per project and matched to the ledger.

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
- Chains and districts are given by code or by exact name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import IO, Any

from pydantic import TypeAdapter, ValidationError

from service import importing as xl
from service.config import Settings
from service.db.imports import ImportLookups
from service.db.tables import Project
from service.domain import errors as d
from service.domain import project_fields as pf
from service.domain.stages import LABELS_ZH, Stage
from service.schemas.common import Amount, Day, Name, ShortText
from service.schemas.imports import ImportFile, Outcome
from service.schemas.projects import ProjectCreate, ProjectUpdate, TransitionCreate

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



def limits_of(settings: Settings) -> xl.Limits:
    """What reading one file may cost, as the settings set it (the contract's defaults for the rest)."""
    return xl.Limits(data_rows=settings.import_max_rows, cells=settings.import_max_cells,
                     blank_rows=settings.import_max_blank_rows, unpacked_bytes=settings.import_max_unpacked_bytes,
                     seconds=settings.import_parse_seconds)


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
