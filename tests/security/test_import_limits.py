"""Each limit of the import's reader (SPEC §7, service/importing/), one crafted file each: refused as soon as the
file passes the limit, with a problem naming it, in well under a second of CPU (the reader's own thread's time, so
that a busy machine does not make the test flaky). No database: the reader alone."""

from __future__ import annotations

import csv
import io
import time
import zipfile

import pytest

from service.importing import FileRejected, LimitExceeded, Limits, MiB, NotASpreadsheet, parse
from tests.security.bombs import (
    DATA_ROW,
    HEADER,
    MAIN,
    STYLES,
    blank_lines_csv,
    inline_row,
    shared_strings_bomb,
    sheet,
    workbook,
)

FAST = 1.0  # seconds of CPU: every refusal below takes far less


def cpu() -> float:
    return time.thread_time()


def csv_bytes(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode()


ROW = ["芯片厂", "OPTICS", "JA", "某公司", "1", "2026-01-10"]


def refused(content: bytes, limit: str, limits: Limits | None = None) -> LimitExceeded:
    started = cpu()
    with pytest.raises(LimitExceeded) as caught:
        parse(content, limits=limits or Limits())
    elapsed = cpu() - started
    exc = caught.value
    assert exc.limit == limit, exc.detail
    assert elapsed < FAST, f"refused in {elapsed:.2f} s"
    entry = exc.errors[0]
    assert entry["limit"] == limit and entry["max"] == getattr(limits or Limits(), limit)
    assert f"limit '{limit}'" in exc.detail and entry["problem"] == exc.detail
    return exc


def sheets_of(n: int) -> str:
    return "".join(inline_row(i, ROW) for i in range(2, n + 2))


# ---------------------------------------------------------------- rows, cells, blank rows, width: both formats


def test_data_rows():
    assert len(parse(csv_bytes([list(HEADER), *[ROW] * 3]), limits=Limits(data_rows=3)).rows) == 3
    exc = refused(csv_bytes([list(HEADER), *[ROW] * 4]), "data_rows", Limits(data_rows=3))
    assert exc.errors[0]["row"] == 5 and exc.errors[0]["type"] == "too_many_rows"
    refused(workbook({"xl/worksheets/sheet1.xml": sheet(sheets_of(4))}), "data_rows", Limits(data_rows=3))


def test_cells_count_every_non_empty_cell():
    content = csv_bytes([list(HEADER), *[ROW] * 3])  # 4 rows of 6 cells
    assert parse(content, limits=Limits(cells=24)).rows
    refused(content, "cells", Limits(cells=23))
    refused(workbook({"xl/worksheets/sheet1.xml": sheet(sheets_of(3))}), "cells", Limits(cells=23))


def test_blank_rows_count_wherever_they_are():
    rows = [list(HEADER), *[[""] * 6] * 5, ROW, *[[]] * 5]
    assert parse(csv_bytes(rows), limits=Limits(blank_rows=10)).rows
    exc = refused(csv_bytes(rows), "blank_rows", Limits(blank_rows=9))
    assert exc.errors[0]["type"] == "too_many_blank_rows"
    refused(csv_bytes([[]] * 3 + [list(HEADER), ROW]), "blank_rows", Limits(blank_rows=2))  # before the header too
    empty_rows = "".join(f'<row r="{i}"><c r="A{i}" s="0"/></row>' for i in range(3, 20))
    refused(workbook({"xl/worksheets/sheet1.xml": sheet(DATA_ROW + empty_rows)}), "blank_rows", Limits(blank_rows=10))


def test_the_pen_tests_csv_is_refused_at_once():
    """19 MB: one header, 19 million empty lines, one data row (45 s and 4.66 GB before)."""
    exc = refused(blank_lines_csv(19_000_000), "blank_rows")
    assert exc.errors[0]["row"] == 10_002


def test_row_width():
    refused(csv_bytes([list(HEADER), ROW + [""] * 300]), "columns")
    wide = '<row r="2"><c r="IW2" t="inlineStr"><is><t>x</t></is></c></row>'  # column 257
    refused(workbook({"xl/worksheets/sheet1.xml": sheet(wide)}), "columns")
    # Styled empty cells far right are no width: Excel writes them.
    styled = '<row r="2">' + "".join(f'<c r="{c}2" s="0"/>' for c in ("IW", "XFD")) + "</row>"
    assert parse(workbook({"xl/worksheets/sheet1.xml": sheet(DATA_ROW + styled.replace('r="2"', 'r="3"'))})).rows


def test_line_length():
    refused(csv_bytes([list(HEADER), ROW[:5] + ["x" * 2000]]), "line_chars", Limits(line_chars=1000))
    refused((",".join(HEADER) + "\n").encode() + b"x" * (MiB + 10), "line_chars")  # no newline at all


def test_time_budget():
    exc = refused(csv_bytes([list(HEADER), ROW]), "seconds", Limits(seconds=1e-9))
    assert exc.errors[0]["type"] == "too_slow" and "took more than" in exc.detail


# ---------------------------------------------------------------- the archive


def test_the_pen_tests_workbook_is_refused_from_its_directory():
    """475 KB whose sharedStrings.xml unpacks to 195 MB (84 s, 78 s of CPU and 1.85 GB before): refused from the
    sizes its directory declares, before anything is unpacked."""
    bomb = shared_strings_bomb(195 * 1000 * 1000)
    assert len(bomb) < 600 * 1024
    refused(bomb, "unpacked_bytes")


def test_a_part_over_its_own_limit():
    refused(workbook({"xl/sharedStrings.xml": "<sst/>" + " " * 5000}), "member_bytes", Limits(member_bytes=4096))


def test_the_unpacked_total_counts_every_part():
    """Each part under its own limit, all of them together over the total: refused from the directory too. (The
    bytes unpacked are counted again as the parts are read; zipfile never unpacks past a part's declared size.)"""
    limits = Limits(unpacked_bytes=3000)
    content = workbook({"xl/sharedStrings.xml": f'<sst xmlns="{MAIN}"><si><t>{"x" * 2000}</t></si></sst>'})
    with zipfile.ZipFile(io.BytesIO(content)) as z:
        assert sum(i.file_size for i in z.infolist()) > 3000
    refused(content, "unpacked_bytes", limits)


def test_parts_in_the_archive():
    refused(workbook({f"xl/media/image{i}.png": b"" for i in range(20)}), "members", Limits(members=20))


def test_compression_excel_never_writes_is_refused():
    content = workbook(compression=zipfile.ZIP_BZIP2)  # bzip2 inflates without bound per read
    with pytest.raises(NotASpreadsheet, match="compressed"):
        parse(content)


def test_an_archive_zipfile_cannot_open_is_not_a_spreadsheet():
    """A directory entry asking for a ZIP version zipfile does not implement (found by fuzzing): 415, never 500."""
    content = bytearray(workbook())
    entry = content.index(b"PK\x01\x02")
    content[entry + 6:entry + 8] = (200, 0)  # "version needed to extract": 20.0
    with pytest.raises(NotASpreadsheet, match="cannot be opened"):
        parse(bytes(content))


# ---------------------------------------------------------------- XML


def test_shared_strings_count():
    strings = "".join(f"<si><t>s{i}</t></si>" for i in range(101))
    refused(workbook({"xl/sharedStrings.xml": f'<sst xmlns="{MAIN}">{strings}</sst>'}), "shared_strings",
            Limits(shared_strings=100))


def test_many_tiny_shared_strings_under_the_size_limits():
    """60 MB of 10-character strings (under every size limit): refused when the count passes its limit."""
    refused(shared_strings_bomb(60 * 1000 * 1000), "shared_strings")


def test_one_cell_and_all_text():
    big = "长" * 40_000
    refused(workbook({"xl/sharedStrings.xml": f'<sst xmlns="{MAIN}"><si><t>{big}</t></si></sst>'}), "cell_chars")
    refused(workbook({"xl/sharedStrings.xml": f'<sst xmlns="{MAIN}"><si><r><t>{"x" * 20000}</t></r>'
                      f'<r><t>{"y" * 20000}</t></r></si></sst>'}), "cell_chars")  # runs add up
    strings = "".join(f"<si><t>{'x' * 100}</t></si>" for i in range(20))
    refused(workbook({"xl/sharedStrings.xml": f'<sst xmlns="{MAIN}">{strings}</sst>'}), "text_chars",
            Limits(text_chars=1000))
    inline = inline_row(2, ["x" * 600, *ROW[1:]]) + inline_row(3, ["y" * 600, *ROW[1:]])
    refused(workbook({"xl/worksheets/sheet1.xml": sheet(inline)}), "text_chars", Limits(text_chars=1000))


def test_styles():
    xfs = '<xf numFmtId="0"/>' * 11
    refused(workbook({"xl/styles.xml": f'<styleSheet xmlns="{MAIN}"><cellXfs>{xfs}</cellXfs></styleSheet>'}),
            "styles", Limits(styles=10))


def test_markup_nodes():
    junk = '<x a="1" b="2"/>' * 400  # 1,200 nodes where no reader looks
    refused(workbook({"xl/sharedStrings.xml": f'<sst xmlns="{MAIN}">{junk}</sst>'}), "xml_nodes",
            Limits(xml_nodes=1000))
    refused(workbook({"xl/worksheets/sheet1.xml": sheet(DATA_ROW + junk.replace("<x", "<row><x").replace(
        "/>", "/></row>"))}), "xml_nodes", Limits(xml_nodes=1000))


def test_one_token_that_never_ends():
    """A start tag of 2 MiB of attributes, or a 2 MiB comment: refused before expat buffers (and rescans) it."""
    tag = "<si " + " ".join(f'a{i}="{"v" * 20}"' for i in range(90_000)) + "/>"
    refused(workbook({"xl/sharedStrings.xml": f'<sst xmlns="{MAIN}">{tag}</sst>'}), "xml_token_bytes")
    comment = "<!--" + "c" * (2 * MiB) + "-->"
    refused(workbook({"xl/sharedStrings.xml": f'<sst xmlns="{MAIN}">{comment}</sst>'}), "xml_token_bytes")


def test_text_outside_cells():
    filler = ("\n" + " " * 200) * 100  # indentation nobody reads, 20 K characters
    refused(workbook({"xl/sharedStrings.xml": f'<sst xmlns="{MAIN}">{filler}<si><t>x</t></si></sst>'}),
            "markup_chars", Limits(markup_chars=10_000))


def test_the_rest_of_a_sheet_is_not_read():
    """After ``</sheetData>`` (merged cells, formatting, drawings) a sheet is not read at all."""
    junk = "<extLst>" + '<x a="1"/>' * 5000 + "</extLst>"
    parsed = parse(workbook({"xl/worksheets/sheet1.xml": sheet(DATA_ROW, after=junk)}), limits=Limits(xml_nodes=500))
    assert len(parsed.rows) == 1


# ---------------------------------------------------------------- XML entities: never read, never expanded


XXE = ('<?xml version="1.0"?><!DOCTYPE sst [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
       f'<sst xmlns="{MAIN}"><si><t>&xxe;</t></si></sst>')
LAUGHS = ('<?xml version="1.0"?><!DOCTYPE sst [<!ENTITY a "aaaaaaaaaa">'
          + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(9))
          + f']><sst xmlns="{MAIN}"><si><t>&j;</t></si></sst>')


@pytest.mark.parametrize("part", ["xl/sharedStrings.xml", "xl/workbook.xml"])
@pytest.mark.parametrize("xml", [XXE, LAUGHS], ids=["xxe", "billion-laughs"])
def test_a_dtd_is_refused(part, xml):
    started = cpu()
    with pytest.raises(NotASpreadsheet, match="DTD"):
        parse(workbook({part: xml}))
    assert cpu() - started < FAST


# ---------------------------------------------------------------- what stays readable


def test_an_ordinary_workbook_within_every_limit():
    parsed = parse(workbook({"xl/styles.xml": STYLES}))
    assert parsed.media == "xlsx" and [r.cells["name"] for r in parsed.rows] == ["芯片厂"]


def test_a_file_at_the_limits_is_read_quickly():
    """2,000 data rows of 25 columns (50,000 cells, distinct strings): read in well under the time budget."""
    from openpyxl import Workbook

    book = Workbook()
    sheet_ = book.active
    sheet_.append([*HEADER, *(f"备注{i}" for i in range(19))])
    for r in range(1, 2000):
        sheet_.append([f"项目{r}", "OPTICS", "JA", f"公司{r}", r, "2026-01-10", *(f"x{r}-{i}" for i in range(19))])
    out = io.BytesIO()
    book.save(out)
    started = cpu()
    parsed = parse(out.getvalue())
    assert len(parsed.rows) == 1999 and cpu() - started < FAST
    with pytest.raises(FileRejected):
        parse(out.getvalue(), limits=Limits(data_rows=1998))
