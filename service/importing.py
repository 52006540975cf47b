"""Reading the spreadsheets of the project import (SPEC §7): ``.xlsx`` and ``.csv``, zh-CN or English headers.

What is read:
- The kind of file comes from its bytes, not its name: a ZIP holding ``xl/workbook.xml`` is an XLSX workbook
  (openpyxl, read-only, formulas kept as formulas); anything else must be text — UTF-8 (with or without a
  byte-order mark), UTF-16 with a byte-order mark, or GB18030 (what Chinese Excel writes by default) — read as
  CSV with the delimiter of the header line (comma, tab or semicolon). Legacy ``.xls``, ODS, PDF, images and
  other binary files are not spreadsheets: ``NotASpreadsheet`` (415). A ZIP that unpacks to more than
  ``MAX_UNPACKED_BYTES`` is refused (422).
- The header row is the first of the first ten rows naming at least three known columns (a title row above
  it is fine). Headers match case-, width- and space-insensitively (``计划投资（万元）`` = ``计划投资(万元)``).
  Row numbers are the spreadsheet's own (the header row of a plain file is row 1, the first data row 2; for
  CSV, records count, so a quoted cell spanning lines still counts as one row). Empty rows are skipped.
- Two layouts: a **ledger export** (``GET /ledger?format=csv|xlsx``: one row per list per project; a ``清单``
  column, or — XLSX — one sheet per list named 新签约/新开工/新投产/新达产, and ``日期``) or a **project sheet**
  (one row per project with a date column per milestone).
- Formula cells: an XLSX cell holding a formula is refused, and so is a text cell (CSV or XLSX) starting with
  ``=`` — Excel and WPS would evaluate it on opening. A leading apostrophe that the export put before
  ``= + - @`` (formula-injection guard) is removed, so exported text round-trips.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import warnings
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from service.domain.stages import LABELS_ZH, LISTS, Stage
from service.exports import FORMULA_TRIGGERS
from service.schemas.ledger import ITEM_HEADERS, LIST_HEADER, STAGE_ZH

MAX_UNPACKED_BYTES = 200 * 1024 * 1024
HEADER_SEARCH_ROWS = 10

TEMPLATE, LEDGER = "project_sheet", "ledger_export"

#: Column → the headers that name it (compared after ``normalise_header``).
COLUMNS: dict[str, tuple[str, ...]] = {
    "list": (LIST_HEADER, "list"),
    "id": ("项目编号", "id", "project_id"),
    "external_ref": ("外部编号", "external_ref", "外部项目编号"),
    "name": ("项目名称", "name"),
    "chain": ("产业链", "chain"),
    "district": ("区", "district", "所在区", "区县"),
    "investor": ("投资方", "investor"),
    "planned_investment": ("计划投资(万元)", "计划投资", "planned_investment"),
    "is_key": ("重点项目", "is_key"),
    "major": ("重大项目", "major"),
    "stage": ("阶段", "stage"),
    "on": ("日期", "on", "date"),
    "signed_on": ("签约日期", "signed_on"),
    "started_on": ("开工日期", "started_on"),
    "in_production_on": ("投产日期", "in_production_on"),
    "at_capacity_on": ("达产日期", "at_capacity_on"),
}
MILESTONE_COLUMNS: dict[Stage, str] = {s: f"{s.value}_on" for s in LISTS}
ATTRIBUTES = ("external_ref", "name", "chain", "district", "investor", "planned_investment", "is_key")
REQUIRED = {
    TEMPLATE: ("name", "chain", "district", "investor", "planned_investment", "signed_on"),
    LEDGER: ("name", "chain", "district", "investor", "planned_investment", "on"),
}
LIST_LABELS: dict[str, Stage] = {**{LABELS_ZH[s]: s for s in LISTS}, **{s.value: s for s in LISTS}}
STAGE_LABELS: dict[str, Stage] = {**{v: Stage(k) for k, v in STAGE_ZH.items()}, **{s.value: s for s in Stage}}
YES = frozenset({"是", "true", "yes", "y", "1", "√", "✓", "重点"})
NO = frozenset({"否", "false", "no", "n", "0", ""})


def normalise_header(text: Any) -> str:
    if text is None:
        return ""
    return re.sub(r"[\s*＊]", "", unicodedata.normalize("NFKC", str(text))).lower()


_HEADER_INDEX = {normalise_header(alias): col for col, aliases in COLUMNS.items() for alias in aliases}
assert all(normalise_header(h) in _HEADER_INDEX for h in (LIST_HEADER, *ITEM_HEADERS)), "export headers must import"


class NotASpreadsheet(Exception):
    """The bytes are neither an XLSX workbook nor CSV text (415)."""

    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail


class FileRejected(Exception):
    """A spreadsheet that cannot be imported as a whole (422): empty, too large, required columns missing."""

    def __init__(self, detail: str, errors: list[dict[str, Any]]):
        super().__init__(detail)
        self.detail = detail
        self.errors = errors


def problem(row: int | None, column: str | None, text: str, type_: str, *, sheet: str | None = None,
            field: str | None = None) -> dict[str, Any]:
    """One entry of a report's ``errors``: ``row``, ``column`` (as headed in the file) and ``problem``, plus
    ``loc``/``msg``/``type`` like every problem of this API (``loc``: ``["file", sheet?, row, column]``)."""
    loc: list[Any] = ["file"] + ([sheet] if sheet else []) + [row if row is not None else "header",
                                                             column or field or "row"]
    out: dict[str, Any] = {"loc": loc, "msg": text, "type": type_, "row": row, "column": column or field,
                           "problem": text}
    if sheet:
        out["sheet"] = sheet
    return out


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


# ---------------------------------------------------------------- reading bytes


def parse(content: bytes, *, max_rows: int) -> ParsedFile:
    if not content.strip():
        raise FileRejected("The file is empty.", [problem(None, None, "The file is empty.", "empty_file")])
    if content[:4] == b"PK\x03\x04":
        return _parse_xlsx(content, max_rows=max_rows)
    if content[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise NotASpreadsheet("This is a legacy Excel 97–2003 (.xls) file: save it as .xlsx or .csv.")
    for magic, kind in ((b"%PDF", "PDF"), (b"\x89PNG", "PNG image"), (b"\xff\xd8\xff", "JPEG image"),
                        (b"GIF8", "GIF image"), (b"\x1f\x8b", "gzip archive")):
        if content.startswith(magic):
            raise NotASpreadsheet(f"This is a {kind}, not a spreadsheet: send .xlsx or .csv.")
    return _parse_csv(content, max_rows=max_rows)


def _decode(content: bytes) -> tuple[str, str]:
    if content.startswith(b"\xef\xbb\xbf"):
        encodings = ("utf-8-sig",)
    elif content.startswith((b"\xff\xfe", b"\xfe\xff")):
        encodings = ("utf-16",)
    else:
        if b"\x00" in content[:8192]:
            raise NotASpreadsheet("The file is binary, not CSV text or an XLSX workbook.")
        encodings = ("utf-8", "gb18030")
    for encoding in encodings:
        try:
            return content.decode(encoding), encoding.removesuffix("-sig")
        except UnicodeDecodeError:
            continue
    raise NotASpreadsheet("The text is neither UTF-8 nor GB18030 (nor UTF-16 with a byte-order mark).")


def _parse_csv(content: bytes, *, max_rows: int) -> ParsedFile:
    text, encoding = _decode(content)
    if not text.strip():
        raise FileRejected("The file is empty.", [problem(None, None, "The file is empty.", "empty_file")])
    if "\x00" in text:
        raise NotASpreadsheet("The text holds NUL characters: not a CSV file.")
    first_line = text.split("\n", 1)[0]
    delimiter = max(",\t;", key=first_line.count) if any(d in first_line for d in ",\t;") else ","
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        raise FileRejected(f"The CSV cannot be read: {exc}.", [problem(None, None, f"Unreadable CSV: {exc}.",
                                                                       "csv_error")]) from exc
    rows = [(n, [(c, "s") for c in record]) for n, record in enumerate(records, 1)]
    parsed = ParsedFile(media="csv", encoding=encoding, layout=TEMPLATE, headers={}, rows=[])
    _read_table(parsed, None, rows, max_rows=max_rows, list_from_sheet=None)
    return _finish(parsed)


def _parse_xlsx(content: bytes, *, max_rows: int) -> ParsedFile:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as z:
            names = set(z.namelist())
            unpacked = sum(i.file_size for i in z.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise NotASpreadsheet("The file looks like a ZIP archive but cannot be opened as one.") from exc
    if "xl/workbook.xml" not in names:
        raise NotASpreadsheet("The ZIP archive is not an XLSX workbook (ODS, DOCX …): save it as .xlsx or .csv.")
    if unpacked > MAX_UNPACKED_BYTES:
        msg = f"The workbook unpacks to {unpacked} bytes, more than {MAX_UNPACKED_BYTES}: split it."
        raise FileRejected(msg, [problem(None, None, msg, "too_large")])
    from openpyxl import load_workbook

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            book = load_workbook(io.BytesIO(content), read_only=True, data_only=False)
    except Exception as exc:
        raise NotASpreadsheet(f"The XLSX workbook cannot be read ({type(exc).__name__}).") from exc
    parsed = ParsedFile(media="xlsx", encoding=None, layout=TEMPLATE, headers={}, rows=[])
    try:
        list_sheets = [n for n in book.sheetnames if n in LIST_LABELS]
        chosen = list_sheets or book.sheetnames[:1]
        parsed.sheets = list(chosen)
        ignored = [n for n in book.sheetnames if n not in chosen]
        if ignored:
            parsed.warnings.append(f"Sheet(s) not read: {', '.join(ignored)}.")
        for name in chosen:
            sheet = book[name]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                rows = ((n, [(c.value, getattr(c, "data_type", "n")) for c in cells])
                        for n, cells in enumerate(sheet.iter_rows(), 1))
                _read_table(parsed, name, rows, max_rows=max_rows, list_from_sheet=LIST_LABELS.get(name))
    except (FileRejected, NotASpreadsheet):
        raise
    except Exception as exc:
        raise NotASpreadsheet(f"The XLSX workbook cannot be read ({type(exc).__name__}).") from exc
    finally:
        book.close()
    return _finish(parsed)


# ---------------------------------------------------------------- tables


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _read_table(parsed: ParsedFile, sheet: str | None, rows, *, max_rows: int,
                list_from_sheet: Stage | None) -> None:
    """Find the header row, map columns, collect the data rows of one sheet (or the CSV)."""
    header: list[str | None] | None = None
    fallback: tuple[int, list[Any]] | None = None
    mapping: dict[int, str] = {}
    data_rows = sum(1 for r in parsed.rows)
    for n, cells in rows:
        if header is None:
            values = [v for v, _ in cells]
            if all(_is_empty(v) for v in values):
                continue
            known = [_HEADER_INDEX.get(normalise_header(v)) for v in values]
            if sum(1 for k in known if k) >= 3:
                header = known
                mapping = _map_header(parsed, sheet, n, values, known)
                continue
            fallback = fallback or (n, values)
            if n >= HEADER_SEARCH_ROWS:
                break
            continue
        if all(_is_empty(v) for v, _ in cells):
            continue
        data_rows += 1
        if data_rows > max_rows:
            msg = f"The file holds more than {max_rows} data rows: split it."
            raise FileRejected(msg, [problem(n, None, msg, "too_many_rows", sheet=sheet)])
        out: dict[str, Any] = {}
        refused: set[str] = set()
        for i, (value, data_type) in enumerate(cells):
            key = mapping.get(i)
            if key is None or _is_empty(value):
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
                if len(value) > 1 and value[0] == "'" and value[1] in FORMULA_TRIGGERS:
                    value = value[1:]  # the export's formula-injection guard
            out[key] = value
        parsed.rows.append(SourceRow(sheet=sheet, row=n, cells=out, list_from_sheet=list_from_sheet, refused=refused))
    if header is None:
        found = [str(v) for v in (fallback[1] if fallback else []) if not _is_empty(v)]
        msg = ("No header row found (the first ten rows name fewer than three known columns"
               + (f"; the first row holds {', '.join(found[:8])}" if found else "") + ").")
        parsed.headers.setdefault(sheet, {})
        parsed.errors.append(problem(fallback[0] if fallback else None, None, msg, "missing_header", sheet=sheet))


def _map_header(parsed: ParsedFile, sheet: str | None, n: int, values: list[Any],
                known: list[str | None]) -> dict[int, str]:
    mapping: dict[int, str] = {}
    headers: dict[str, str] = {}
    for i, (value, key) in enumerate(zip(values, known, strict=True)):
        if _is_empty(value):
            continue
        if key is None:
            parsed.warnings.append(f"Column '{value}'{f' of sheet {sheet}' if sheet else ''} is not used.")
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


# ---------------------------------------------------------------- cell values


def as_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    text = str(value).strip()
    return text or None


_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T]0{1,2}:0{2}(?::0{2})?)?$")
_COMPACT_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")


def as_date(value: Any) -> date:
    """A date cell, or text ``2026-01-10``, ``2026/1/10``, ``2026.1.10``, ``2026年1月10日``, ``20260110``."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError("is a number, not a date: format the column as a date or write YYYY-MM-DD")  # noqa: TRY004
    if isinstance(value, timedelta):
        raise ValueError("is a duration, not a date")  # noqa: TRY004
    text = unicodedata.normalize("NFKC", str(value)).strip()
    match = _DATE.match(text) or _COMPACT_DATE.match(text)
    if not match:
        raise ValueError(f"'{text}' is not a date (YYYY-MM-DD)")
    try:
        return date(*(int(g) for g in match.groups()))
    except ValueError as exc:
        raise ValueError(f"'{text}' is not a valid date") from exc


def as_amount(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise ValueError("is not an amount")  # noqa: TRY004
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    text = unicodedata.normalize("NFKC", str(value)).strip().replace(",", "").replace(" ", "")
    try:
        amount = Decimal(text)
    except InvalidOperation as exc:
        raise ValueError(f"'{value}' is not an amount in 万元") from exc
    if not amount.is_finite():
        raise ValueError(f"'{value}' is not an amount in 万元")
    return amount


def as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    text = normalise_header(value)
    if text in YES:
        return True
    if text in NO:
        return False
    raise ValueError(f"'{value}' is not 是/否 (yes/no)")


def as_list(value: Any) -> Stage:
    text = normalise_header(value)
    for label, stage in LIST_LABELS.items():
        if normalise_header(label) == text:
            return stage
    raise ValueError(f"'{value}' is not a list ({', '.join(LABELS_ZH[s] for s in LISTS)})")


def as_stage(value: Any) -> Stage:
    text = normalise_header(value)
    for label, stage in STAGE_LABELS.items():
        if normalise_header(label) == text:
            return stage
    raise ValueError(f"'{value}' is not a stage ({', '.join(STAGE_ZH.values())})")
