"""XLSX: the archive, and the workbook read from it.

An XLSX is read by a streaming reader of its own over ``zipfile`` and expat — not openpyxl, whose read-only
mode still loads every shared string of the workbook with no bound. The archive's declared sizes are checked
before anything is unpacked; then only the workbook's index, its relationships, its styles (to know date cells),
its shared strings and the sheets it imports are read (``parts``, ``worksheet``). A workbook with a sheet per
list (新签约/新开工/新投产/新达产) is read sheet by sheet; any other, its first sheet only.
"""

from __future__ import annotations

import io
import struct
import zipfile
from datetime import datetime
from typing import IO

from service.importing.limits import FileRejected, NotASpreadsheet, _Budget
from service.importing.parts import _RelsPart, _SharedStringsPart, _StylesPart, _WorkbookPart
from service.importing.tables import LIST_LABELS, TEMPLATE, ParsedFile, _finish, _Table
from service.importing.worksheet import _SheetPart

_EXCEL_EPOCH, _MAC_EPOCH = datetime(1899, 12, 30), datetime(1904, 1, 1)


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
