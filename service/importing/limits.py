"""What reading one file may cost (SPEC §7), and how a file is refused.

Every count of ``Limits`` is checked as the file streams by: a file over a limit is refused as soon as it passes
it, with a problem naming the limit (422), and reading stops when its time budget (``Limits.seconds``) is spent.
``_Budget`` holds the counts of one file; ``NotASpreadsheet`` (415), ``FileRejected`` and ``LimitExceeded`` (422)
are the refusals, and ``problem`` is the one shape of an entry of a report's ``errors``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

MiB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Limits:
    """What reading one file may cost (SPEC §7). The defaults are the contract's; ``Settings`` sets the first ones.

    Each is checked while the file streams by. Sizes of an XLSX are those of its unpacked parts; the archive's
    declared sizes are checked before anything is unpacked."""

    data_rows: int = 2_000  #: rows under the header holding a value
    cells: int = 50_000  #: non-empty cells of every row read (header and title rows included)
    blank_rows: int = 10_000  #: rows without a value, wherever they are
    columns: int = 256  #: row width: fields of a CSV record; column of an XLSX cell holding a value
    line_chars: int = MiB  #: characters of one CSV line
    unpacked_bytes: int = 100 * MiB  #: XLSX: all parts of the archive together (declared, and as read)
    member_bytes: int = 64 * MiB  #: XLSX: one part of the archive
    members: int = 2_000  #: XLSX: parts in the archive
    shared_strings: int = 100_000  #: XLSX: strings of the shared-string table
    text_chars: int = 10_000_000  #: XLSX: characters of cell text (shared and inline strings, values) together
    cell_chars: int = 32_767  #: XLSX: characters of one cell or shared string (Excel's own limit)
    styles: int = 65_000  #: XLSX: cell formats (Excel allows 64,000)
    xml_nodes: int = 1_000_000  #: XLSX: XML elements and attributes of the parts read, together
    xml_token_bytes: int = MiB  #: XLSX: one XML tag, comment or other token
    markup_chars: int = 8 * MiB  #: XLSX: text outside cells (indentation, comments)
    seconds: float = 5.0  #: the time reading one file may take


#: limit → (the ``type`` of its problem, what it counts, what to do about it)
_LIMIT_TEXT: dict[str, tuple[str, str, str]] = {
    "data_rows": ("too_many_rows", "data rows", "split it"),
    "cells": ("too_many_cells", "non-empty cells", "split it or remove the columns that are not imported"),
    "blank_rows": ("too_many_blank_rows", "blank rows", "delete the empty rows"),
    "columns": ("row_too_wide", "columns in a row", "remove the columns that are not imported"),
    "line_chars": ("line_too_long", "characters in one line", "shorten the texts"),
    "unpacked_bytes": ("too_large", "bytes once unpacked", "split it"),
    "member_bytes": ("too_large", "bytes in one part once unpacked", "split it"),
    "members": ("too_many_parts", "parts in the archive", "save the sheet alone as a new workbook"),
    "shared_strings": ("too_many_strings", "shared strings", "save the sheet alone as a new workbook"),
    "text_chars": ("too_much_text", "characters of cell text", "split it or shorten the texts"),
    "cell_chars": ("cell_too_long", "characters in one cell", "shorten the text"),
    "styles": ("too_many_styles", "cell formats", "save the sheet alone as a new workbook"),
    "xml_nodes": ("too_much_markup", "XML elements and attributes", "save the sheet alone as a new workbook"),
    "xml_token_bytes": ("too_much_markup", "bytes in one XML tag or comment", "save it again from Excel or WPS"),
    "markup_chars": ("too_much_markup", "characters of text outside cells", "save it again from Excel or WPS"),
}


class NotASpreadsheet(Exception):
    """The bytes are neither an XLSX workbook nor CSV text (415)."""

    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail


class FileRejected(Exception):
    """A spreadsheet that cannot be imported as a whole (422): empty, over a limit, required columns missing."""

    def __init__(self, detail: str, errors: list[dict[str, Any]], **extra: Any):
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.extra = extra


class LimitExceeded(FileRejected):
    """A file over one of ``Limits`` (422), refused as soon as it passed it; ``limit`` names it."""

    def __init__(self, limit: str, maximum: float, *, row: int | None = None, sheet: str | None = None,
                 part: str | None = None):
        if limit == "seconds":
            type_, detail = "too_slow", (f"Reading the file took more than {maximum:g} s (limit 'seconds'): "
                                         "simplify or split it.")
        else:
            type_, what, hint = _LIMIT_TEXT[limit]
            where = f" ({part})" if part else ""
            detail = f"The file holds more than {maximum:,} {what}{where} (limit '{limit}'): {hint}."
        entry = problem(row, None, detail, type_, sheet=sheet)
        entry.update(limit=limit, max=maximum)
        super().__init__(detail, [entry], limit=limit)
        self.limit = limit


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


class _Budget:
    """The counts of one file against its ``Limits`` (and the clock against its time budget)."""

    def __init__(self, limits: Limits):
        self.limits = limits
        self.deadline = time.monotonic() + limits.seconds
        self.data_rows = self.cells = self.blank_rows = 0
        self.unpacked = self.text_chars = self.nodes = self.markup = 0

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise LimitExceeded("seconds", self.limits.seconds)

    def over(self, limit: str, **where: Any) -> LimitExceeded:
        return LimitExceeded(limit, getattr(self.limits, limit), **where)
