"""Reading the spreadsheets of the project import (SPEC §7): ``.xlsx`` and ``.csv``, zh-CN or English headers,
as streams, within explicit limits.

What is read:
- The kind of file comes from its bytes, not its name: a ZIP holding ``xl/workbook.xml`` is an XLSX workbook;
  anything else must be text — UTF-8 (with or without a byte-order mark), UTF-16 with a byte-order mark, or
  GB18030 (what Chinese Excel writes by default) — read as CSV with the delimiter of the header line (comma, tab
  or semicolon). Legacy ``.xls``, ODS, PDF, images and other binary files are not spreadsheets:
  ``NotASpreadsheet`` (415).
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

How it is read (bounded work, SPEC §7): nothing is ever held whole but the upload itself and the rows it
describes. A CSV is decoded incrementally (a first pass checks the encoding, a second reads the records line by
line). An XLSX is read by a streaming reader of its own over ``zipfile`` and expat — not openpyxl, whose
read-only mode still loads every shared string of the workbook with no bound — that refuses any DTD (so no
external entity, no entity expansion), reads only the workbook's index, its styles (to know date cells), its
shared strings and the sheets it imports, and stops a sheet at the end of its ``sheetData``. Every count of
``Limits`` is checked as the file streams by: a file over a limit is refused as soon as it passes it, with a
problem naming the limit (422), and reading stops when its time budget (``Limits.seconds``) is spent.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import posixpath
import re
import struct
import time
import unicodedata
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import IO, Any
from xml.parsers import expat

from openpyxl.styles.numbers import is_date_format

from service.domain import project_fields as pf
from service.domain.stages import LABELS_ZH, LISTS, Stage
from service.exports import FORMULA_TRIGGERS
from service.schemas.ledger import ITEM_HEADERS, LIST_HEADER, STAGE_ZH

MiB = 1024 * 1024
HEADER_SEARCH_ROWS = 10

TEMPLATE, LEDGER = "project_sheet", "ledger_export"

#: Column → the headers that name it (compared after ``normalise_header``).
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
YES = frozenset({"是", "true", "yes", "y", "1", "√", "✓", "重点"})
NO = frozenset({"否", "false", "no", "n", "0", ""})


def normalise_header(text: Any) -> str:
    if text is None:
        return ""
    return re.sub(r"[\s*＊]", "", unicodedata.normalize("NFKC", str(text))).lower()


_HEADER_INDEX = {normalise_header(alias): col for col, aliases in COLUMNS.items() for alias in aliases}
assert all(normalise_header(h) in _HEADER_INDEX for h in (LIST_HEADER, *ITEM_HEADERS)), "export headers must import"


# ---------------------------------------------------------------- limits


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


# ---------------------------------------------------------------- reading bytes

Source = bytes | IO[bytes]


def file_digest(source: IO[bytes]) -> tuple[str, int]:
    """SHA-256 (hex) and size of a seekable binary file, read in chunks; the file is left at its start."""
    source.seek(0)
    sha, size = hashlib.sha256(), 0
    while chunk := source.read(MiB):
        sha.update(chunk)
        size += len(chunk)
    source.seek(0)
    return sha.hexdigest(), size


def parse(source: Source, *, limits: Limits | None = None) -> ParsedFile:
    """Read ``source`` (bytes, or a seekable binary file such as an upload's spooled file) within ``limits``."""
    f: IO[bytes] = io.BytesIO(source) if isinstance(source, bytes | bytearray) else source
    budget = _Budget(limits or Limits())
    f.seek(0)
    head = f.read(8)
    f.seek(0)
    if not head:
        raise FileRejected("The file is empty.", [problem(None, None, "The file is empty.", "empty_file")])
    if head[:4] == b"PK\x03\x04":
        return _parse_xlsx(f, budget)
    if head == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise NotASpreadsheet("This is a legacy Excel 97–2003 (.xls) file: save it as .xlsx or .csv.")
    for magic, kind in ((b"%PDF", "PDF"), (b"\x89PNG", "PNG image"), (b"\xff\xd8\xff", "JPEG image"),
                        (b"GIF8", "GIF image"), (b"\x1f\x8b", "gzip archive")):
        if head.startswith(magic):
            raise NotASpreadsheet(f"This is a {kind}, not a spreadsheet: send .xlsx or .csv.")
    return _parse_csv(f, budget)


# ---------------------------------------------------------------- CSV


def _sniff(f: IO[bytes], budget: _Budget) -> tuple[str, str]:
    """The file's encoding and its first line (at most 64 K characters), from a first pass that decodes the
    whole file incrementally, keeping nothing but that line: the encoding is known before any record is read."""
    f.seek(0)
    start = f.read(4)
    if start.startswith(b"\xef\xbb\xbf"):
        encodings = ("utf-8-sig",)
    elif start.startswith((b"\xff\xfe", b"\xfe\xff")):
        encodings = ("utf-16",)
    else:
        f.seek(0)
        if b"\x00" in f.read(8192):
            raise NotASpreadsheet("The file is binary, not CSV text or an XLSX workbook.")
        encodings = ("utf-8", "gb18030")
    for encoding in encodings:
        f.seek(0)
        decoder = codecs.getincrementaldecoder(encoding)()
        first: list[str] = []
        first_len, first_done, blank = 0, False, True
        try:
            while True:
                chunk = f.read(MiB)
                text = decoder.decode(chunk, final=not chunk)
                if "\x00" in text:
                    raise NotASpreadsheet("The text holds NUL characters: not a CSV file.")
                if blank and text.strip():
                    blank = False
                if not first_done and text:
                    line, newline, _ = text.partition("\n")
                    first.append(line[: 65536 - first_len])
                    first_len += len(first[-1])
                    first_done = bool(newline) or first_len >= 65536
                budget.check_time()
                if not chunk:
                    break
        except UnicodeDecodeError:
            continue
        if blank:
            raise FileRejected("The file is empty.", [problem(None, None, "The file is empty.", "empty_file")])
        return encoding.removesuffix("-sig"), "".join(first)
    raise NotASpreadsheet("The text is neither UTF-8 nor GB18030 (nor UTF-16 with a byte-order mark).")


def _lines(text: IO[str], budget: _Budget) -> Iterator[str]:
    """The physical lines of ``text``, each at most ``line_chars`` long (a longer one is refused unread)."""
    limit = budget.limits.line_chars
    n = 0
    while line := text.readline(limit + 1):
        n += 1
        if len(line) > limit and not line.endswith(("\n", "\r")):
            raise budget.over("line_chars", row=n)
        yield line


def _parse_csv(f: IO[bytes], budget: _Budget) -> ParsedFile:
    encoding, first_line = _sniff(f, budget)
    delimiter = max(",\t;", key=first_line.count) if any(d in first_line for d in ",\t;") else ","
    parsed = ParsedFile(media="csv", encoding=encoding, layout=TEMPLATE, headers={}, rows=[])
    table = _Table(parsed, None, None, budget)
    f.seek(0)
    text = io.TextIOWrapper(f, encoding="utf-8-sig" if encoding == "utf-8" else encoding, newline="")
    width = budget.limits.columns
    try:
        for n, record in enumerate(csv.reader(_lines(text, budget), delimiter=delimiter), 1):
            if len(record) > width:
                raise budget.over("columns", row=n)
            if not table.add(n, [(c, "s") for c in record]):
                break
            if n % 256 == 0:
                budget.check_time()
    except csv.Error as exc:
        raise FileRejected(f"The CSV cannot be read: {exc}.", [problem(None, None, f"Unreadable CSV: {exc}.",
                                                                       "csv_error")]) from exc
    finally:
        text.detach()  # the caller owns the file
    table.finish()
    return _finish(parsed)


# ---------------------------------------------------------------- XLSX: the archive

_CHUNK = 64 * 1024
_ZIP_METHODS = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED})  # what Excel, WPS and openpyxl write
_EXCEL_EPOCH, _MAC_EPOCH = datetime(1899, 12, 30), datetime(1904, 1, 1)
#: Built-in number formats that show a date: the international ones, and those of the zh-CN/ja/ko locales.
_DATE_FORMAT_IDS = frozenset({*range(14, 23), *range(27, 37), *range(45, 48), *range(50, 59)})


def _zip_directory(f: IO[bytes]) -> tuple[int, int]:
    """Entries and size of the archive's central directory, read from its end record (ZIP64 included) before
    ``zipfile`` reads the directory itself: a directory of millions of entries is refused without being read."""
    f.seek(0, io.SEEK_END)
    size = f.tell()
    tail_len = min(size, 22 + 65535)
    f.seek(size - tail_len)
    tail = f.read(tail_len)
    pos = tail.rfind(b"PK\x05\x06")
    if pos < 0 or len(tail) - pos < 22:
        raise NotASpreadsheet("The file looks like a ZIP archive but cannot be opened as one.")
    entries, cd_size = struct.unpack("<HI", tail[pos + 10:pos + 16])
    if (entries == 0xFFFF or cd_size == 0xFFFFFFFF) and pos >= 20 and tail[pos - 20:pos - 16] == b"PK\x06\x07":
        (offset,) = struct.unpack("<Q", tail[pos - 12:pos - 4])
        if offset < size:
            f.seek(offset)
            record = f.read(56)
            if record[:4] == b"PK\x06\x06" and len(record) == 56:
                entries, cd_size = struct.unpack("<QQ", record[32:48])
    f.seek(0)
    return entries, cd_size


def _parse_xlsx(f: IO[bytes], budget: _Budget) -> ParsedFile:
    limits = budget.limits
    entries, cd_size = _zip_directory(f)
    if entries > limits.members or cd_size > limits.members * 1024:
        raise budget.over("members")
    try:
        z = zipfile.ZipFile(f)
    except Exception as exc:  # noqa: BLE001 - BadZipFile, NotImplementedError (version), OSError …: all damage
        raise NotASpreadsheet("The file looks like a ZIP archive but cannot be opened as one.") from exc
    with z:
        infos = z.infolist()
        if len(infos) > limits.members:
            raise budget.over("members")
        if sum(i.file_size for i in infos) > limits.unpacked_bytes:
            raise budget.over("unpacked_bytes")
        for info in infos:
            if info.file_size > limits.member_bytes:
                raise budget.over("member_bytes", part=info.filename[:100])
        parts = {i.filename: i for i in infos}
        if "xl/workbook.xml" not in parts:
            raise NotASpreadsheet("The ZIP archive is not an XLSX workbook (ODS, DOCX …): save it as .xlsx or .csv.")
        try:
            return _read_workbook(z, parts, budget)
        except (FileRejected, NotASpreadsheet):
            raise
        except Exception as exc:  # noqa: BLE001 - a damaged workbook is the client's problem (415), never a 500
            raise NotASpreadsheet(f"The XLSX workbook cannot be read ({type(exc).__name__}).") from exc


def _read_workbook(z: zipfile.ZipFile, parts: dict[str, zipfile.ZipInfo], budget: _Budget) -> ParsedFile:
    workbook = _WorkbookPart(budget, "xl/workbook.xml").read(z, parts["xl/workbook.xml"])
    rels: dict[str, tuple[str, str]] = {}
    if "xl/_rels/workbook.xml.rels" in parts:
        rels = _RelsPart(budget, "xl/_rels/workbook.xml.rels").read(z, parts["xl/_rels/workbook.xml.rels"]).rels

    def target(kind: str) -> str | None:
        for type_, path in rels.values():
            if type_.rsplit("/", 1)[-1] == kind and path in parts:
                return path
        return None

    sheet_paths: dict[str, str | None] = {}
    for name, rid in workbook.sheets:
        type_, path = rels.get(rid or "", ("", ""))
        sheet_paths[name] = path if path in parts else None
    styles_path, strings_path = target("styles"), target("sharedStrings")
    date_styles: frozenset[int] = frozenset()
    if styles_path:
        date_styles = _StylesPart(budget, styles_path).read(z, parts[styles_path]).date_styles()
    strings: list[str] = []
    if strings_path:
        strings = _SharedStringsPart(budget, strings_path).read(z, parts[strings_path]).strings

    parsed = ParsedFile(media="xlsx", encoding=None, layout=TEMPLATE, headers={}, rows=[])
    names = [name for name, _ in workbook.sheets]
    list_sheets = [n for n in names if n in LIST_LABELS]
    chosen = list_sheets or names[:1]
    if not chosen:
        raise NotASpreadsheet("The XLSX workbook has no sheet.")
    parsed.sheets = list(chosen)
    ignored = [n for n in names if n not in chosen]
    if ignored:
        parsed.warnings.append(f"Sheet(s) not read: {', '.join(ignored)}.")
    epoch = _MAC_EPOCH if workbook.date1904 else _EXCEL_EPOCH
    for name in chosen:
        path = sheet_paths.get(name)
        if path is None:
            raise NotASpreadsheet(f"The XLSX workbook is damaged: sheet '{name}' has no worksheet part.")
        table = _Table(parsed, name, LIST_LABELS.get(name), budget)
        _SheetPart(budget, path, table, strings, date_styles, epoch).read(z, parts[path])
        table.finish()
    return _finish(parsed)


# ---------------------------------------------------------------- XLSX: XML parts as streams


class _Stop(Exception):
    """Raised by a handler when the rest of a part is not needed."""


#: The namespaces a part's elements may be in: transitional and strict SpreadsheetML, the package's
#: relationships, or none (names are ``namespace}local``).
_NAMESPACES = ("http://schemas.openxmlformats.org/spreadsheetml/2006/main}",
               "http://purl.oclc.org/ooxml/spreadsheetml/main}",
               "http://schemas.openxmlformats.org/package/2006/relationships}", "")
_R_ID = ("http://schemas.openxmlformats.org/officeDocument/2006/relationships}id",
         "http://purl.oclc.org/ooxml/officeDocument/relationships}id")


def _names(**handlers: str) -> dict[str, str]:
    """``local name → method`` as ``qualified name → method`` for every namespace a part may use."""
    return {ns + local: method for local, method in handlers.items() for ns in _NAMESPACES}


class _Part:
    """One XML part of the workbook, parsed as a stream by expat with explicit bounds.

    A DTD is refused outright (the parts of an XLSX never have one), so there is no external entity to fetch
    (XXE) and no entity to expand (billion laughs). Names are namespace-qualified (transitional and strict OOXML
    read alike) and dispatched through a table of the few elements a part needs (``STARTS``, ``ENDS``). Every
    element and attribute counts towards ``xml_nodes``; text outside the elements a part collects counts towards
    ``markup_chars``; a token (a tag, a comment, a run of text nobody collects) that goes on for more than
    ``xml_token_bytes`` without an event is refused before expat buffers more of it."""

    STARTS: dict[str, str] = {}
    ENDS: dict[str, str] = {}

    def __init__(self, budget: _Budget, name: str):
        self.budget, self.name = budget, name
        self.events = 0
        self.buffer: list[str] | None = None  # where text goes while an element of interest is open
        self.buffered = 0
        self.starts = {k: getattr(self, v) for k, v in self.STARTS.items()}
        self.ends = {k: getattr(self, v) for k, v in self.ENDS.items()}
        p = self.parser = expat.ParserCreate(namespace_separator="}")
        p.buffer_text = True
        p.buffer_size = _CHUNK
        p.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        p.StartDoctypeDeclHandler = self._dtd
        p.EntityDeclHandler = self._dtd
        p.ExternalEntityRefHandler = self._dtd
        p.StartElementHandler = self._start
        p.EndElementHandler = self._end
        p.CharacterDataHandler = self._text
        p.CommentHandler = self._markup
        p.ProcessingInstructionHandler = self._pi

    def read(self, z: zipfile.ZipFile, info: zipfile.ZipInfo):  # noqa: ANN201 - returns self, typed by subclass
        budget, limits = self.budget, self.budget.limits
        if info.compress_type not in _ZIP_METHODS:
            raise NotASpreadsheet(f"The XLSX workbook is refused: {self.name} is compressed in a way Excel does "
                                  "not write.")
        read = stalled = 0
        try:
            with z.open(info) as stream:
                while chunk := stream.read(_CHUNK):
                    read += len(chunk)
                    budget.unpacked += len(chunk)
                    if read > limits.member_bytes:
                        raise budget.over("member_bytes", part=self.name)
                    if budget.unpacked > limits.unpacked_bytes:
                        raise budget.over("unpacked_bytes")
                    events = self.events
                    self.parser.Parse(chunk, False)
                    stalled = stalled + len(chunk) if self.events == events else 0
                    if stalled > limits.xml_token_bytes:
                        raise budget.over("xml_token_bytes", part=self.name)
                    if budget.nodes > limits.xml_nodes:
                        raise budget.over("xml_nodes")
                    budget.check_time()
                self.parser.Parse(b"", True)
        except _Stop:
            pass
        except expat.ExpatError as exc:
            raise NotASpreadsheet(f"The XLSX workbook is damaged: {self.name} is not well-formed XML "
                                  f"({expat.ErrorString(exc.code)}, line {exc.lineno}).") from exc
        except (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError, ValueError) as exc:
            raise NotASpreadsheet(f"The XLSX workbook is damaged: {self.name} cannot be unpacked "
                                  f"({type(exc).__name__}).") from exc
        return self

    # expat's handlers: as little as possible per event, since a part may have hundreds of thousands

    def _dtd(self, *_: Any) -> int:
        raise NotASpreadsheet(f"The XLSX workbook is refused: {self.name} declares a DTD or entities, which no "
                              "spreadsheet part has (XML external entities are never read).")

    def _start(self, name: str, attrs: dict[str, str]) -> None:
        budget = self.budget
        budget.nodes += 1 + len(attrs)
        if budget.nodes > budget.limits.xml_nodes:
            raise budget.over("xml_nodes")
        handler = self.starts.get(name)
        if handler is not None:
            handler(attrs)

    def _end(self, name: str) -> None:
        self.events += 1
        handler = self.ends.get(name)
        if handler is not None:
            handler()

    def _text(self, data: str) -> None:
        self.events += 1
        if self.buffer is not None:
            self.buffer.append(data)
            self.buffered += len(data)
            budget = self.budget
            budget.text_chars += len(data)
            if self.buffered > budget.limits.cell_chars:
                raise budget.over("cell_chars", part=self.name)
            if budget.text_chars > budget.limits.text_chars:
                raise budget.over("text_chars")
        else:
            self._markup(data)

    def _markup(self, data: str) -> None:
        self.events += 1
        budget = self.budget
        budget.markup += len(data)
        if budget.markup > budget.limits.markup_chars:
            raise budget.over("markup_chars", part=self.name)

    def _pi(self, target: str, data: str) -> None:
        self._markup(data)

    def take(self) -> str:
        """The text collected since ``buffer`` was set, and stop collecting."""
        text = "".join(self.buffer) if self.buffer else ""
        self.buffer = None
        return text


class _WorkbookPart(_Part):
    STARTS = _names(sheet="sheet", workbookPr="workbook_pr")
    ENDS = _names(sheets="stop")

    def __init__(self, budget: _Budget, name: str):
        super().__init__(budget, name)
        self.sheets: list[tuple[str, str | None]] = []
        self.date1904 = False

    def sheet(self, attrs: dict[str, str]) -> None:
        name = attrs.get("name")
        if name is not None and len(self.sheets) < self.budget.limits.members:
            self.sheets.append((name, attrs.get(_R_ID[0]) or attrs.get(_R_ID[1])))

    def workbook_pr(self, attrs: dict[str, str]) -> None:
        self.date1904 = attrs.get("date1904", "").lower() in ("1", "true")

    def stop(self) -> None:
        raise _Stop  # nothing after the sheet list is needed


class _RelsPart(_Part):
    STARTS = _names(Relationship="relationship")

    def __init__(self, budget: _Budget, name: str):
        super().__init__(budget, name)
        self.rels: dict[str, tuple[str, str]] = {}

    def relationship(self, attrs: dict[str, str]) -> None:
        rid, type_, target = attrs.get("Id"), attrs.get("Type"), attrs.get("Target")
        if rid and type_ and target and attrs.get("TargetMode", "").lower() != "external":
            path = target.lstrip("/") if target.startswith("/") else posixpath.join("xl", target)
            self.rels[rid] = (type_, posixpath.normpath(path))


class _StylesPart(_Part):
    """Which cell formats (``s`` of a cell) show a date: the built-in date formats and the custom ones whose
    code is a date pattern."""

    STARTS = _names(numFmt="num_fmt", cellXfs="cell_xfs", xf="xf")
    ENDS = _names(cellXfs="cell_xfs_end")

    def __init__(self, budget: _Budget, name: str):
        super().__init__(budget, name)
        self.formats: dict[int, str] = {}
        self.xfs: list[int] = []
        self.in_cell_xfs = False

    def num_fmt(self, attrs: dict[str, str]) -> None:
        try:
            self.formats[int(attrs.get("numFmtId", ""))] = attrs.get("formatCode", "")
        except ValueError:
            pass

    def cell_xfs(self, attrs: dict[str, str]) -> None:
        self.in_cell_xfs = True

    def cell_xfs_end(self) -> None:
        self.in_cell_xfs = False

    def xf(self, attrs: dict[str, str]) -> None:
        if not self.in_cell_xfs:
            return
        if len(self.xfs) >= self.budget.limits.styles:
            raise self.budget.over("styles")
        try:
            self.xfs.append(int(attrs.get("numFmtId", "0")))
        except ValueError:
            self.xfs.append(0)

    def date_styles(self) -> frozenset[int]:
        dates = {i for i, code in self.formats.items() if is_date_format(code)}
        return frozenset(n for n, fmt in enumerate(self.xfs)
                         if fmt in dates or (fmt not in self.formats and fmt in _DATE_FORMAT_IDS))


class _SharedStringsPart(_Part):
    """The shared-string table: the text of each ``si`` (its runs, not its phonetic hints)."""

    STARTS = _names(si="si", t="t", rPh="phonetic")
    ENDS = _names(si="si_end", t="t_end", rPh="phonetic_end")

    def __init__(self, budget: _Budget, name: str):
        super().__init__(budget, name)
        self.strings: list[str] = []
        self.parts: list[str] | None = None
        self.in_phonetic = 0
        self.most = budget.limits.shared_strings

    def si(self, attrs: dict[str, str]) -> None:
        self.parts = []
        self.buffered = 0

    def t(self, attrs: dict[str, str]) -> None:
        if self.parts is not None and not self.in_phonetic:
            self.buffer = self.parts  # the runs of one string add up towards cell_chars

    def t_end(self) -> None:
        self.buffer = None

    def phonetic(self, attrs: dict[str, str]) -> None:
        self.in_phonetic += 1

    def phonetic_end(self) -> None:
        self.in_phonetic -= 1

    def si_end(self) -> None:
        parts = self.parts
        if parts is None:
            return
        if len(self.strings) >= self.most:
            raise self.budget.over("shared_strings")
        self.strings.append(parts[0] if len(parts) == 1 else "".join(parts))
        self.parts = None


def _column_letters(letters: str) -> int:
    index = 0
    for ch in letters.upper():
        if not "A" <= ch <= "Z":
            return -1
        index = index * 26 + ord(ch) - 64
    return index - 1


#: Column letters → index for the columns a row may use (others are computed).
_COLUMN_INDEX = {}
for _i in range(1, 26 ** 2 + 27):
    _letters, _n = "", _i
    while _n:
        _n, _r = divmod(_n - 1, 26)
        _letters = chr(65 + _r) + _letters
    _COLUMN_INDEX[_letters] = _i - 1


class _SheetPart(_Part):
    """A worksheet's rows, each handed to its ``_Table`` as soon as it ends; the part stops at ``</sheetData>``
    (or when the table needs no more rows)."""

    STARTS = _names(row="row", c="c", v="v", f="f", t="t", rPh="phonetic")
    STARTS.update(_names(**{"is": "inline_start"}))
    ENDS = _names(row="row_end", c="c_end", v="v_end", t="t_end", rPh="phonetic_end", sheetData="stop")
    ENDS.update(_names(**{"is": "inline_end"}))

    def __init__(self, budget: _Budget, name: str, table: _Table, strings: list[str], date_styles: frozenset[int],
                 epoch: datetime):
        super().__init__(budget, name)
        self.table, self.strings, self.date_styles, self.epoch = table, strings, date_styles, epoch
        self.width = budget.limits.columns
        self.row_number = 0
        self.cells: dict[int, tuple[Any, str]] = {}
        self.col = -1
        self.in_cell = False
        self.kind: str | None = None
        self.style: str | None = None
        self.raw: str | None = None
        self.formula = False
        self.runs: list[str] | None = None  # the text runs of an inline string
        self.in_phonetic = 0

    def row(self, attrs: dict[str, str]) -> None:
        r = attrs.get("r")
        try:
            self.row_number = int(r) if r else self.row_number + 1
        except ValueError as exc:
            raise NotASpreadsheet(f"The XLSX workbook is damaged: {self.name} has a row numbered {r[:20]!r}.") \
                from exc
        self.cells, self.col = {}, -1

    def c(self, attrs: dict[str, str]) -> None:
        ref = attrs.get("r")
        if ref:
            letters = ref.rstrip("0123456789")
            col = _COLUMN_INDEX.get(letters)
            self.col = col if col is not None else _column_letters(letters)
        else:
            self.col += 1
        self.in_cell = True
        self.kind, self.style = attrs.get("t"), attrs.get("s")
        self.raw, self.formula, self.runs = None, False, None

    def v(self, attrs: dict[str, str]) -> None:
        if self.in_cell:
            self.buffer, self.buffered = [], 0

    def v_end(self) -> None:
        if self.in_cell and self.buffer is not None:
            self.raw = self.take()

    def f(self, attrs: dict[str, str]) -> None:
        if self.in_cell:
            self.formula = True

    def inline_start(self, attrs: dict[str, str]) -> None:
        if self.in_cell:
            self.runs, self.buffered = [], 0

    def inline_end(self) -> None:
        self.buffer = None

    def t(self, attrs: dict[str, str]) -> None:
        if self.runs is not None and not self.in_phonetic:
            self.buffer = self.runs

    def t_end(self) -> None:
        if self.runs is not None:
            self.buffer = None

    def phonetic(self, attrs: dict[str, str]) -> None:
        self.in_phonetic += 1

    def phonetic_end(self) -> None:
        self.in_phonetic -= 1

    def c_end(self) -> None:
        if not self.in_cell:
            return
        self.in_cell = False
        self.buffer = None
        if self.raw is None and self.runs is None and not self.formula:
            return  # an empty (styled) cell
        value, data_type = self._value()
        if value is None or (data_type == "s" and not value.strip()):
            return
        if not 0 <= self.col < self.width:
            raise self.budget.over("columns", row=self.row_number, sheet=self.table.sheet)
        self.cells[self.col] = (value, data_type)

    def row_end(self) -> None:
        cells = self.cells
        row = [cells.get(i, (None, "n")) for i in range(max(cells) + 1)] if cells else []
        self.cells = {}
        if not self.table.add(self.row_number, row):
            raise _Stop

    def stop(self) -> None:
        raise _Stop  # merged cells, formatting, drawings …: nothing after the data is needed

    def _value(self) -> tuple[Any, str]:
        """The cell's value and its kind: ``f`` formula, ``e`` Excel error, ``s`` text, ``n`` number, ``d`` date,
        ``b`` boolean."""
        kind, raw = self.kind, self.raw
        if self.formula:
            return "=" + (raw or ""), "f"
        if kind == "inlineStr":
            return "".join(self.runs or ()), "s"
        if raw is None or raw == "":
            return None, "n"
        if kind == "s":
            try:
                return self.strings[int(raw)], "s"
            except (ValueError, IndexError) as exc:
                raise NotASpreadsheet(f"The XLSX workbook is damaged: a cell of {self.name} refers to shared "
                                      f"string {raw[:20]!r}, which does not exist.") from exc
        if kind == "str":
            return raw, "s"
        if kind == "b":
            return raw.strip() in ("1", "true"), "b"
        if kind == "e":
            return raw, "e"
        if kind == "d":
            try:
                return datetime.fromisoformat(raw.strip().removesuffix("Z")), "d"
            except ValueError:
                return raw, "s"
        try:
            number: int | float = float(raw) if any(c in raw for c in ".eE") else int(raw)
        except ValueError:
            return raw, "s"
        style = self.style
        if style is not None and style.isdigit() and int(style) in self.date_styles:
            try:
                return self.epoch + timedelta(milliseconds=round(float(number) * 86_400_000)), "d"
            except (OverflowError, ValueError):
                return number, "n"
        return number, "n"


# ---------------------------------------------------------------- tables


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
                if len(value) > 1 and value[0] == "'" and value[1] in FORMULA_TRIGGERS:
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
        raise ValueError(f"'{text[:40]}' is not a date (YYYY-MM-DD)")
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
    if len(text) > 40:
        raise ValueError(f"'{text[:40]}…' is not an amount in 万元")
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
    raise ValueError(f"'{str(value)[:40]}' is not 是/否 (yes/no)")


def as_list(value: Any) -> Stage:
    text = normalise_header(value)
    for label, stage in LIST_LABELS.items():
        if normalise_header(label) == text:
            return stage
    raise ValueError(f"'{str(value)[:40]}' is not a list ({', '.join(LABELS_ZH[s] for s in LISTS)})")


def as_stage(value: Any) -> Stage:
    text = normalise_header(value)
    for label, stage in STAGE_LABELS.items():
        if normalise_header(label) == text:
            return stage
    raise ValueError(f"'{str(value)[:40]}' is not a stage ({', '.join(STAGE_ZH.values())})")
