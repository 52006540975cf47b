"""Hostile spreadsheets, built in the test that sends them (small on disk, whatever they unpack or expand to).

``workbook(...)`` writes a minimal valid XLSX from its XML parts, so a test can put exactly the hostile part it
wants beside otherwise ordinary ones; the bombs stream their big part through the compressor, so building one
never holds its unpacked size in memory.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
HEADER = ("name", "chain", "district", "investor", "planned_investment", "signed_on")

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/></Types>'
)
ROOT_RELS = (f'<?xml version="1.0"?><Relationships xmlns="{PKG}"><Relationship Id="rId1" '
             f'Type="{REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>')
WORKBOOK = (f'<?xml version="1.0"?><workbook xmlns="{MAIN}" xmlns:r="{REL}"><sheets>'
            '<sheet name="项目" sheetId="1" r:id="rId1"/></sheets></workbook>')
WORKBOOK_RELS = (f'<?xml version="1.0"?><Relationships xmlns="{PKG}">'
                 f'<Relationship Id="rId1" Type="{REL}/worksheet" Target="worksheets/sheet1.xml"/>'
                 f'<Relationship Id="rId2" Type="{REL}/sharedStrings" Target="sharedStrings.xml"/>'
                 f'<Relationship Id="rId3" Type="{REL}/styles" Target="styles.xml"/></Relationships>')
STYLES = (f'<?xml version="1.0"?><styleSheet xmlns="{MAIN}"><cellXfs count="1"><xf numFmtId="0"/></cellXfs>'
          '</styleSheet>')


def inline_row(n: int, values: Iterable[str]) -> str:
    cells = "".join(f'<c r="{chr(65 + i)}{n}" t="inlineStr"><is><t>{v}</t></is></c>' for i, v in enumerate(values))
    return f'<row r="{n}">{cells}</row>'


def sheet(rows: str = "", *, before: str = "", after: str = "") -> str:
    """A worksheet whose first row is the header, then ``rows`` (XML of ``<row>`` elements)."""
    return (f'<?xml version="1.0"?>{before}<worksheet xmlns="{MAIN}"><sheetData>{inline_row(1, HEADER)}{rows}'
            f'</sheetData>{after}</worksheet>')


DATA_ROW = inline_row(2, ("芯片厂", "OPTICS", "JA", "某公司", "1", "2026-01-10"))
SHARED_STRINGS = f'<?xml version="1.0"?><sst xmlns="{MAIN}"><si><t>x</t></si></sst>'


def workbook(parts: dict[str, str | bytes] | None = None, *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A minimal XLSX: one sheet 项目 (header + one data row unless ``parts`` replaces it), shared strings, styles;
    ``parts`` replaces or adds members by name."""
    members: dict[str, str | bytes] = {
        "[Content_Types].xml": CONTENT_TYPES, "_rels/.rels": ROOT_RELS, "xl/workbook.xml": WORKBOOK,
        "xl/_rels/workbook.xml.rels": WORKBOOK_RELS, "xl/worksheets/sheet1.xml": sheet(DATA_ROW),
        "xl/sharedStrings.xml": SHARED_STRINGS, "xl/styles.xml": STYLES, **(parts or {}),
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return out.getvalue()


def shared_strings_bomb(unpacked: int, *, string: bytes = b"A" * 10) -> bytes:
    """The pen test's workbook: an ordinary sheet beside a ``sharedStrings.xml`` of ``unpacked`` bytes of small
    strings (195 MB of 10-character strings pack into about 475 KB), streamed through the compressor."""
    out = io.BytesIO()
    base = workbook()
    with zipfile.ZipFile(io.BytesIO(base)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED,
                                                                   compresslevel=9) as z:
        for info in src.infolist():
            if info.filename != "xl/sharedStrings.xml":
                z.writestr(info.filename, src.read(info))
        with z.open("xl/sharedStrings.xml", "w", force_zip64=True) as f:
            f.write(f'<?xml version="1.0"?><sst xmlns="{MAIN}">'.encode())
            block = (b"<si><t>" + string + b"</t></si>") * 4096
            written = 0
            while written < unpacked:
                f.write(block)
                written += len(block)
            f.write(b"</sst>")
    return out.getvalue()


def blank_lines_csv(lines: int) -> bytes:
    """The pen test's CSV: one header, ``lines`` empty lines, one data row."""
    return (",".join(HEADER) + "\n").encode() + b"\n" * lines + b"x,OPTICS,JA,y,1,2026-01-10\n"
