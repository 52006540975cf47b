"""Reading bytes: a file's digest, and ``parse``, which tells the kind of file from its bytes, not its name.

A ZIP holding ``xl/workbook.xml`` is an XLSX workbook (``xlsx``); anything else must be text, read as CSV
(``csvfile``). Legacy ``.xls``, ODS, PDF, images and other binary files are not spreadsheets:
``NotASpreadsheet`` (415).
"""

from __future__ import annotations

import hashlib
import io
from typing import IO

from service.importing.csvfile import _parse_csv
from service.importing.limits import FileRejected, Limits, MiB, NotASpreadsheet, _Budget, problem
from service.importing.tables import ParsedFile
from service.importing.xlsx import _parse_xlsx

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
