"""The columns a file may have, and the tables that find them: one sheet (or the CSV), fed row by row.

- The header row is the first of the first ten rows naming at least three known columns (a title row above
  it is fine). Headers match case-, width- and space-insensitively (``计划投资（万元）`` = ``计划投资(万元)``).
  Row numbers are the spreadsheet's own (the header row of a plain file is row 1, the first data row 2; for
  CSV, records count, so a quoted cell spanning lines still counts as one row). Blank rows are skipped (and
  counted: they have a limit of their own).
- Two layouts: a **ledger export** (``GET /ledger?format=csv|xlsx``: one row per list per project; a ``清单``
  column, or — XLSX — one sheet per list named 新签约/新开工/新投产/新达产, and ``日期``; and, where the export
  carries them, the four milestone dates and 终止日期) or a **project sheet** (one row per project with a date
  column per milestone).
- Formula cells: an XLSX cell holding a formula is refused, and so is a text cell (CSV or XLSX) starting with
  ``=`` — Excel and WPS would evaluate it on opening. A leading apostrophe that the export put before
  ``= + - @`` (formula-injection guard) is removed, so exported text round-trips.

What the tables produce is a ``ParsedFile``: its layout, the header text of each column, and a ``SourceRow``
per data row.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from service.domain import project_fields as pf
from service.domain.stages import LABELS_ZH, LISTS, Stage
from service.exports import needs_guard
from service.importing.limits import FileRejected, _Budget, problem
from service.schemas.ledger import ITEM_HEADERS, LIST_HEADER, STAGE_ZH

HEADER_SEARCH_ROWS = 10

TEMPLATE, LEDGER = "project_sheet", "ledger_export"

#: Column → the headers that name it (compared after ``normalise_header``): every field of a project that a file
#: may carry (service/domain/project_fields.py: its zh-CN and English labels, its name, its aliases), and the ledger
#: export's own 清单 (the list) and 日期 (the list's date).
COLUMNS: dict[str, tuple[str, ...]] = {
    "list": (LIST_HEADER, "list"),
    **{f.name: (f.zh, f.name, f.en, *f.aliases) for f in pf.FIELDS if f.settable or f.exported},
    "on": ("日期", "on", "date"),
}
MILESTONE_COLUMNS: dict[Stage, str] = {s: f"{s.value}_on" for s in LISTS}
#: What a row says of a project besides its dates and stage: the fields a ``POST /projects`` sets.
ATTRIBUTES = tuple(f.name for f in pf.SETTABLE)
_REQUIRED_ATTRIBUTES = tuple(f.name for f in pf.SETTABLE if f.required)
REQUIRED = {TEMPLATE: (*_REQUIRED_ATTRIBUTES, "signed_on"), LEDGER: (*_REQUIRED_ATTRIBUTES, "on")}
LIST_LABELS: dict[str, Stage] = {**{LABELS_ZH[s]: s for s in LISTS}, **{s.value: s for s in LISTS}}
STAGE_LABELS: dict[str, Stage] = {**{v: Stage(k) for k, v in STAGE_ZH.items()}, **{s.value: s for s in Stage}}


def normalise_header(text: Any) -> str:
    if text is None:
        return ""
    return re.sub(r"[\s*＊]", "", unicodedata.normalize("NFKC", str(text))).lower()


_HEADER_INDEX = {normalise_header(alias): col for col, aliases in COLUMNS.items() for alias in aliases}
assert all(normalise_header(h) in _HEADER_INDEX for h in (LIST_HEADER, *ITEM_HEADERS)), "export headers must import"


@dataclass(slots=True)
class SourceRow:
    sheet: str | None
    row: int
    cells: dict[str, Any]  # column key → raw value (text un-neutralised, None for empty)
    list_from_sheet: Stage | None = None
    refused: set[str] = field(default_factory=set)  # columns whose cell was refused (formula, Excel error)


@dataclass(slots=True)
class ParsedFile:
    media: str  # csv | xlsx
    encoding: str | None
    layout: str  # project_sheet | ledger_export
    headers: dict[str | None, dict[str, str]]  # sheet → column key → header text
    rows: list[SourceRow]
    errors: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    sheets: list[str] = field(default_factory=list)

    def column(self, row: SourceRow, key: str) -> str:
        """The header text of column ``key`` on ``row``'s sheet (the key itself when the file has none)."""
        return self.headers.get(row.sheet, {}).get(key, key)


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


class _Table:
    """One sheet (or the CSV), fed row by row: finds the header row, maps columns, keeps the data rows, and counts
    every row and cell against the budget as it comes."""

    def __init__(self, parsed: ParsedFile, sheet: str | None, list_from_sheet: Stage | None, budget: _Budget):
        self.parsed, self.sheet, self.list_from_sheet, self.budget = parsed, sheet, list_from_sheet, budget
        self.header = False
        self.fallback: tuple[int, list[Any]] | None = None
        self.mapping: dict[int, str] = {}

    def add(self, n: int, cells: list[tuple[Any, str]]) -> bool:
        """Take row ``n``; False when the rest of the sheet need not be read (no header in its first rows)."""
        budget, limits = self.budget, self.budget.limits
        filled = sum(1 for v, _ in cells if not _is_empty(v))
        if not filled:
            budget.blank_rows += 1
            if budget.blank_rows > limits.blank_rows:
                raise budget.over("blank_rows", row=n, sheet=self.sheet)
            return True
        budget.cells += filled
        if budget.cells > limits.cells:
            raise budget.over("cells", row=n, sheet=self.sheet)
        parsed, sheet = self.parsed, self.sheet
        if not self.header:
            values = [v for v, _ in cells]
            known = [_HEADER_INDEX.get(normalise_header(v)) if isinstance(v, str) else None for v in values]
            if sum(1 for k in known if k) >= 3:
                self.header = True
                self.mapping = _map_header(parsed, sheet, n, values, known)
                return True
            self.fallback = self.fallback or (n, values[:64])
            return n < HEADER_SEARCH_ROWS
        budget.data_rows += 1
        if budget.data_rows > limits.data_rows:
            raise budget.over("data_rows", row=n, sheet=sheet)
        out: dict[str, Any] = {}
        refused: set[str] = set()
        for i, key in self.mapping.items():
            if i >= len(cells):
                continue
            value, data_type = cells[i]
            if _is_empty(value):
                continue
            column = parsed.headers[sheet][key]
            if data_type == "f":
                parsed.errors.append(problem(n, column, "A formula cell is not accepted: paste the values "
                                             "(选择性粘贴 → 数值).", "formula", sheet=sheet))
                refused.add(key)
                continue
            if data_type == "e":
                parsed.errors.append(problem(n, column, f"The cell holds the Excel error {value}.", "cell_error",
                                             sheet=sheet))
                refused.add(key)
                continue
            if isinstance(value, str):
                value = value.strip()
                if value.startswith(("=", "＝")):
                    parsed.errors.append(problem(n, column, "Text starting with '=' is refused as a formula "
                                                 "(Excel would evaluate it).", "formula", sheet=sheet))
                    refused.add(key)
                    continue
                if value[:1] == "'" and needs_guard(value[1:]):
                    value = value[1:]  # the export's formula-injection guard
            out[key] = value
        parsed.rows.append(SourceRow(sheet=sheet, row=n, cells=out, list_from_sheet=self.list_from_sheet,
                                     refused=refused))
        return True

    def finish(self) -> None:
        if self.header:
            return
        fallback = self.fallback
        found = [str(v)[:40] for v in (fallback[1] if fallback else []) if not _is_empty(v)][:8]
        msg = ("No header row found (the first ten rows name fewer than three known columns"
               + (f"; the first row holds {', '.join(found)}" if found else "") + ").")
        self.parsed.headers.setdefault(self.sheet, {})
        self.parsed.errors.append(problem(fallback[0] if fallback else None, None, msg, "missing_header",
                                          sheet=self.sheet))


def _map_header(parsed: ParsedFile, sheet: str | None, n: int, values: list[Any],
                known: list[str | None]) -> dict[int, str]:
    mapping: dict[int, str] = {}
    headers: dict[str, str] = {}
    for i, (value, key) in enumerate(zip(values, known, strict=True)):
        if _is_empty(value):
            continue
        if key is None:
            shown = str(value)[:40]
            parsed.warnings.append(f"Column '{shown}'{f' of sheet {sheet}' if sheet else ''} is not used.")
            continue
        if key in headers:
            parsed.errors.append(problem(n, str(value), f"Column '{value}' repeats '{headers[key]}'.",
                                         "duplicate_column", sheet=sheet))
            continue
        headers[key] = str(value).strip()
        mapping[i] = key
    parsed.headers[sheet] = headers
    return mapping


def _finish(parsed: ParsedFile) -> ParsedFile:
    """Decide the layout and check the required columns of every sheet read."""
    sheet_headers = parsed.headers or {None: {}}
    is_ledger = any("on" in h and ("list" in h or sheet in LIST_LABELS) for sheet, h in sheet_headers.items())
    parsed.layout = LEDGER if is_ledger else TEMPLATE
    missing_errors = []
    for sheet, headers in sheet_headers.items():
        if not headers:
            continue  # no header row: reported already
        required = list(REQUIRED[parsed.layout])
        if parsed.layout == LEDGER:
            if sheet not in LIST_LABELS:
                required.append("list")
            if "id" not in headers and "external_ref" not in headers:
                required.append("external_ref")
        for key in required:
            if key not in headers:
                missing_errors.append(problem(None, COLUMNS[key][0], f"Required column '{COLUMNS[key][0]}' "
                                              f"({key}) is missing.", "missing_column", sheet=sheet, field=key))
    if missing_errors or any(e["type"] == "missing_header" for e in parsed.errors):
        errors = [e for e in parsed.errors if e["type"] in ("missing_header", "duplicate_column")] + missing_errors
        raise FileRejected("The file cannot be imported: " + "; ".join(e["problem"] for e in errors[:5]), errors)
    if not parsed.rows:
        msg = "The file has a header row but no data rows."
        raise FileRejected(msg, [problem(None, None, msg, "empty_file")])
    return parsed
