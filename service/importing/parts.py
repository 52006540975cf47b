"""XLSX: XML parts as streams — ``_Part``, the bounded expat reader every part is read with, and the parts of
the workbook's index: the sheet list, its relationships, the cell formats that show a date, the shared strings.

A part refuses any DTD (so no external entity, no entity expansion) and counts its elements, attributes, text
and markup against ``Limits`` as it streams by.
"""

from __future__ import annotations

import posixpath
import zipfile
import zlib
from typing import Any
from xml.parsers import expat

from openpyxl.styles.numbers import is_date_format

from service.importing.limits import NotASpreadsheet, _Budget

_CHUNK = 64 * 1024
_ZIP_METHODS = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED})  # what Excel, WPS and openpyxl write
#: Built-in number formats that show a date: the international ones, and those of the zh-CN/ja/ko locales.
_DATE_FORMAT_IDS = frozenset({*range(14, 23), *range(27, 37), *range(45, 48), *range(50, 59)})


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
