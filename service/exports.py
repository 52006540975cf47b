"""Spreadsheet exports (CSV and XLSX) of tables of cells, safe to open in Excel/WPS.

- CSV: UTF-8 with a byte-order mark (so Excel on a Chinese Windows reads it as UTF-8, not GBK), RFC 4180
  quoting, CRLF; produced in batches so a response can stream it. Amounts as plain decimals (``12500.50``),
  dates ``YYYY-MM-DD``, empty for null.
- XLSX: openpyxl write-only workbook (rows go straight to the sheet's XML), amounts as numbers with
  two decimals shown, dates as date cells.
- Formula injection: a text cell whose first visible character (after any whitespace, control, zero-width or
  direction-formatting characters, which a spreadsheet may drop) is ``=``, ``+``, ``-``, ``@``, or that begins
  with a tab or CR (or the full-width forms, which some IMEs turn into formulas) gets a leading apostrophe, in
  both formats. Numbers and dates are never text, so they are never altered.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BOM = "\ufeff"
FORMULA_TRIGGERS = frozenset("=+-@\t\r＝＋－＠")
#: What may hide in front of a formula: whitespace, controls, zero-width and direction-formatting characters.
_HIDING = re.compile(r"[\s\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff]+")
_MAY_HIDE = frozenset(c for c in map(chr, [*range(0x3001), 0xFEFF]) if _HIDING.fullmatch(c))  # none above U+3000
AMOUNT_FORMAT = "#,##0.00"

Sheet = tuple[str, Sequence[str], Iterable[Sequence[Any]]]


def needs_guard(text: str) -> bool:
    """Whether a spreadsheet could read ``text`` as a formula: it starts with a trigger, or one follows
    whatever invisible characters it starts with (``"\u200b=1+1"``)."""
    first = text[:1]
    if first in FORMULA_TRIGGERS:
        return True
    if first not in _MAY_HIDE:  # the common case: a visible first character that is no trigger
        return False
    hidden = _HIDING.match(text)
    return hidden is not None and text[hidden.end():hidden.end() + 1] in FORMULA_TRIGGERS


def neutralise(text: str) -> str:
    """``=HYPERLINK(…)`` → ``'=HYPERLINK(…)``: shown as text, never evaluated."""
    return "'" + text if needs_guard(text) else text


def _csv_cell(value: Any) -> Any:
    if type(value) is str:  # the common case first: this runs for every cell of an export
        return "'" + value if needs_guard(value) else value
    if value is None:
        return ""
    if isinstance(value, str):
        return neutralise(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date):
        return value.isoformat()
    return value


def csv_chunks(headers: Sequence[str], rows: Iterable[Sequence[Any]], *, batch: int = 1000) -> Iterator[bytes]:
    """The CSV as UTF-8 bytes (BOM first), one chunk per ``batch`` rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write(BOM)
    writer.writerow([_csv_cell(h) for h in headers])
    for n, row in enumerate(rows, 1):
        writer.writerow([_csv_cell(v) for v in row])
        if n % batch == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def _xlsx_cell(sheet: WriteOnlyWorksheet, value: Any) -> Any:
    if isinstance(value, str):
        # Control characters are not allowed in XLSX (openpyxl would refuse the whole file).
        return neutralise(ILLEGAL_CHARACTERS_RE.sub("", value))
    if isinstance(value, Decimal):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = AMOUNT_FORMAT
        return cell
    return value  # numbers, dates (date cells), None (empty)


def xlsx_bytes(sheets: Iterable[Sheet]) -> bytes:
    """A workbook with one sheet per ``(title, headers, rows)``; titles at most 31 characters."""
    book = Workbook(write_only=True)
    for title, headers, rows in sheets:
        sheet = book.create_sheet(title)
        sheet.append([_xlsx_cell(sheet, h) for h in headers])
        for row in rows:
            sheet.append([_xlsx_cell(sheet, v) for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def attachment(filename: str) -> dict[str, str]:
    """The Content-Disposition header of a download (RFC 6266, with a UTF-8 ``filename*``)."""
    ascii_name = filename.encode("ascii", "replace").decode().replace('"', "_").replace("?", "_")
    return {"Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"}
