"""CSV text: UTF-8 (with or without a byte-order mark), UTF-16 with a byte-order mark, or GB18030 (what Chinese
Excel writes by default), with the delimiter of the header line (comma, tab or semicolon).

A CSV is decoded incrementally: a first pass checks the encoding, a second reads the records line by line, each
line within ``Limits.line_chars``.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from typing import IO

from service.importing.limits import FileRejected, MiB, NotASpreadsheet, _Budget, problem
from service.importing.tables import TEMPLATE, ParsedFile, _finish, _Table


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
