"""Project import from spreadsheets (SPEC §7): layouts, encodings, the dry run, all-or-nothing, rights, round trip."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import Workbook, load_workbook

from service.config import Settings
from tests.api.conftest import API, IS_POSTGRES, P, assert_problem, today_shanghai

IMPORT = f"{P}/import"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EN = ["external_ref", "name", "chain", "district", "investor", "planned_investment", "is_key", "signed_on",
      "started_on", "in_production_on", "at_capacity_on"]
ZH = ["外部编号", "项目名称", "产业链", "区", "投资方", "计划投资(万元)", "重点项目", "签约日期", "开工日期", "投产日期",
      "达产日期"]


def csv_bytes(rows: list[list[Any]], encoding: str = "utf-8-sig", delimiter: str = ",") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter).writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(sheets: dict[str, list[list[Any]]]) -> bytes:
    book = Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def upload(client, headers, content: bytes, filename: str = "projects.csv", *, dry_run: bool | None = None,
           content_type: str | None = None, extra_headers: dict[str, str] | None = None):
    params = {} if dry_run is None else {"dry_run": str(dry_run).lower()}
    ctype = content_type or (XLSX if filename.endswith(".xlsx") else "text/csv")
    return client.post(IMPORT, params=params, files={"file": (filename, content, ctype)},
                       headers={**headers, **(extra_headers or {})})


ROWS = [
    EN,
    ["R-1", "光谷芯片厂", "OPTICS", "JA", "某半导体公司", "12500.50", "是", "2026-01-10", "", "", ""],
    ["R-2", "车谷电池厂", "AUTO", "HS", "某汽车公司", "800", "否", "2026-02-01", "2026-03-15", "", ""],
    ["R-3", "面板模组厂", "OPTICS", "DHGX", "某显示公司", "20000", "", "2026-01-05", "2026-02-06", "2026-05-07",
     "2026-08-08"],
]


def projects_by_ref(client, headers) -> dict[str, dict]:
    items = client.get(P, params={"limit": 500, "include_voided": "true"}, headers=headers).json()["items"]
    return {p["external_ref"]: p for p in items}


# ---------------------------------------------------------------- the happy path


def test_dry_run_reports_every_row_and_writes_nothing(client, admin, reference, unchanged):
    content = csv_bytes(ROWS)
    with unchanged():
        r = upload(client, admin, content, dry_run=True)
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["dry_run"] is True and report["applied"] is False and report["id"] is None
    assert report["errors"] == []
    assert report["file"] == {"name": "projects.csv", "sha256": hashlib.sha256(content).hexdigest(),
                              "bytes": len(content), "media": "csv", "encoding": "utf-8", "layout": "project_sheet",
                              "sheets": []}
    assert report["summary"] == {"rows": 3, "projects": 3, "create": 3, "update": 0, "transition": 0,
                                 "unchanged": 0, "error": 0}
    assert [(x["row"], x["key"], x["outcome"], x["stage"], x["project_id"]) for x in report["rows"]] == [
        (2, "R-1", "create", "signed", None), (3, "R-2", "create", "started", None),
        (4, "R-3", "create", "at_capacity", None)]


def test_import_creates_projects_through_the_use_cases(client, admin, reference, audit_count, events):
    before = audit_count()
    content = csv_bytes(ROWS)
    r = upload(client, admin, content)
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["applied"] is True and report["dry_run"] is False and report["id"]
    projects = projects_by_ref(client, admin)
    assert {k: (p["stage"], p["milestones"], p["planned_investment"], p["is_key"]) for k, p in projects.items()} == {
        "R-1": ("signed", {"signed": "2026-01-10", "started": None, "in_production": None, "at_capacity": None},
                "12500.50", True),
        "R-2": ("started", {"signed": "2026-02-01", "started": "2026-03-15", "in_production": None,
                            "at_capacity": None}, "800.00", False),
        "R-3": ("at_capacity", {"signed": "2026-01-05", "started": "2026-02-06", "in_production": "2026-05-07",
                                "at_capacity": "2026-08-08"}, "20000.00", False),
    }
    assert [x["project_id"] for x in report["rows"]] == [projects[k]["id"] for k in ("R-1", "R-2", "R-3")]
    # One project.created per project (backfill at a later stage is one event), then import.applied.
    assert audit_count() == before + 4
    new = events()[-4:]
    assert [e["action"] for e in new] == ["project.created"] * 3 + ["import.applied"]
    assert len({e["request_id"] for e in new}) == 1
    applied = new[-1]
    assert applied["entity"] == "import" and applied["entity_id"] == report["id"]
    assert applied["data"]["after"]["sha256"] == hashlib.sha256(content).hexdigest()
    assert applied["data"]["after"]["rows"] == 3 and applied["data"]["after"]["created"] == 3
    # History (project_version) is kept as for any create.
    history = client.get(f"{P}/{projects['R-3']['id']}/history", headers=admin).json()["items"]
    assert [h["action"] for h in history] == ["project.created"]


def test_reimporting_the_same_file_changes_nothing(client, admin, reference, audit_count):
    assert upload(client, admin, csv_bytes(ROWS)).status_code == 200
    before = audit_count()
    r = upload(client, admin, csv_bytes(ROWS))
    assert r.status_code == 200, r.text
    assert {x["outcome"] for x in r.json()["rows"]} == {"unchanged"}
    assert audit_count() == before + 1  # import.applied only
    assert len(projects_by_ref(client, admin)) == 3


def test_matching_external_ref_updates_and_transitions(client, admin, reference, new_project, audit_count, events):
    existing = new_project(external_ref="R-2", chain="AUTO", district="HS", name="车谷电池厂", investor="旧投资方",
                           planned_investment="800", milestones={"signed": "2026-02-01"})
    before = audit_count()
    r = upload(client, admin, csv_bytes([EN, ROWS[2]]))
    assert r.status_code == 200, r.text
    row = r.json()["rows"][0]
    assert (row["outcome"], row["project_id"], row["changes"], row["transitions"], row["stage"]) == (
        "transition", existing["id"], ["investor"], ["started"], "started")
    p = client.get(f"{P}/{existing['id']}", headers=admin).json()
    assert (p["investor"], p["stage"], p["milestones"]["started"], p["version"]) == ("某汽车公司", "started",
                                                                                     "2026-03-15", 3)
    assert [e["action"] for e in events()[before:]] == ["project.updated", "project.transitioned", "import.applied"]
    assert len(projects_by_ref(client, admin)) == 1


def test_zh_headers_gb18030_and_a_title_row(client, admin, reference):
    rows = [["2026年重点项目台帐", "", ""], ZH,
            ["Z-1", "光谷芯片厂", "光芯屏端网", "江岸区", "某公司", "1,234.5", "是", "2026/1/10", "2026年2月3日", "", ""]]
    r = upload(client, admin, csv_bytes(rows, encoding="gb18030"), "台帐.csv")
    assert r.status_code == 200, r.text
    assert r.json()["file"]["encoding"] == "gb18030"
    p = projects_by_ref(client, admin)["Z-1"]
    assert (p["chain"], p["district"], p["planned_investment"], p["stage"], p["milestones"]["started"]) == (
        "OPTICS", "JA", "1234.50", "started", "2026-02-03")


@pytest.mark.parametrize(("encoding", "delimiter"), [("utf-8", ","), ("utf-8-sig", ";"), ("utf-16", "\t")])
def test_other_encodings_and_delimiters(client, admin, reference, encoding, delimiter):
    r = upload(client, admin, csv_bytes([EN, ROWS[1]], encoding=encoding, delimiter=delimiter))
    assert r.status_code == 200, r.text
    assert "R-1" in projects_by_ref(client, admin)


def test_xlsx_project_sheet_with_typed_cells(client, admin, reference):
    content = xlsx_bytes({"项目": [ZH, [2026001, "光谷芯片厂", "OPTICS", "JA", "某公司", 12500.5, True,
                                      datetime(2026, 1, 10), date(2026, 2, 1), None, None]],
                          "说明": [["这一页不导入"]]})
    r = upload(client, admin, content, "projects.xlsx")
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["file"]["media"] == "xlsx" and report["file"]["sheets"] == ["项目"]
    assert report["warnings"] == ["Sheet(s) not read: 说明."]
    p = projects_by_ref(client, admin)["2026001"]
    assert (p["planned_investment"], p["is_key"], p["stage"]) == ("12500.50", True, "started")


# ---------------------------------------------------------------- bad rows: 422 with the dry run's errors, nothing written


def _future() -> str:
    return (today_shanghai() + timedelta(days=3)).isoformat()


BAD_ROWS = [
    (["B-1", "芯片厂", "NOPE", "JA", "某公司", "1", "", "2026-01-10", "", "", ""], "chain", "unknown_chain"),
    (["B-1", "芯片厂", "OPTICS", "XX", "某公司", "1", "", "2026-01-10", "", "", ""], "district", "unknown_district"),
    (["B-1", "芯片厂", "OPTICS", "JA", "某公司", "1", "", "FUTURE", "", "", ""], "signed_on", "invalid_milestone"),
    (["B-1", "芯片厂", "OPTICS", "JA", "某公司", "1", "", "2026-03-01", "2026-02-01", "", ""], "started_on",
     "invalid_milestone"),
    (["B-1", "芯片厂", "OPTICS", "JA", "某公司", "1", "", "2026-03-01", "", "2026-04-01", ""], "in_production_on",
     "missing_milestone"),
    (["B-1", "芯片厂", "OPTICS", "JA", "某公司", "-5", "", "2026-01-10", "", "", ""], "planned_investment",
     "invalid_value"),
    (["B-1", "芯片厂", "OPTICS", "JA", "某公司", "1.234", "", "2026-01-10", "", "", ""], "planned_investment",
     "invalid_value"),
    (["B-1", "芯片厂", "OPTICS", "JA", "某公司", "abc", "", "2026-01-10", "", "", ""], "planned_investment",
     "invalid_value"),
    (["B-1", "", "OPTICS", "JA", "某公司", "1", "", "2026-01-10", "", "", ""], "name", "missing_value"),
    (["B-1", "芯片厂", "OPTICS", "JA", "某公司", "1", "也许", "2026-01-10", "", "", ""], "is_key", "invalid_value"),
    (["B-1", "芯片厂", "OPTICS", "JA", "某公司", "1", "", "2026-13-10", "", "", ""], "signed_on", "invalid_value"),
    (["B-1", "芯片厂", "OPTICS", "JA", "某公司", "1", "", "", "", "", ""], "signed_on", "missing_value"),
    (["B-1", "=1+1", "OPTICS", "JA", "某公司", "1", "", "2026-01-10", "", "", ""], "name", "formula"),
    (["B-1", "芯片厂", "OPTICS", "JA", "x" * 201, "1", "", "2026-01-10", "", "", ""], "investor", "invalid_value"),
]


@pytest.mark.parametrize(("row", "column", "type_"), BAD_ROWS, ids=[f"{c}-{t}" for _, c, t in BAD_ROWS])
def test_a_bad_row_refuses_the_whole_file(client, admin, reference, unchanged, row, column, type_):
    row = [_future() if v == "FUTURE" else v for v in row]
    content = csv_bytes([EN, ROWS[1], row, ROWS[3]])
    with unchanged():
        dry = upload(client, admin, content, dry_run=True)
        real = upload(client, admin, content)
    assert dry.status_code == 200, dry.text
    report = dry.json()
    assert [e["row"] for e in report["errors"]] == [3], report["errors"]
    error = report["errors"][0]
    assert (error["column"], error["type"]) == (column, type_), error
    assert error["problem"] and error["loc"] == ["file", 3, column] and error["msg"] == error["problem"]
    assert [x["outcome"] for x in report["rows"]] == ["create", "error", "create"]
    problem = assert_problem(real, 422, "/problems/validation-error")
    assert problem["errors"] == report["errors"]
    assert problem["sha256"] == report["file"]["sha256"]


def test_duplicate_external_refs_in_a_file(client, admin, reference, unchanged):
    content = csv_bytes([EN, ROWS[1], ROWS[2], ROWS[1]])
    with unchanged():
        body = assert_problem(upload(client, admin, content), 422)
    assert [(e["row"], e["column"], e["type"]) for e in body["errors"]] == [(4, "external_ref",
                                                                             "duplicate_external_ref")]


def test_a_milestone_the_ledger_has_with_another_date_is_an_error(client, admin, reference, new_project, unchanged):
    new_project(external_ref="R-2", chain="AUTO", district="HS", milestones={"signed": "2026-01-31"})
    with unchanged():
        body = assert_problem(upload(client, admin, csv_bytes([EN, ROWS[2]])), 422)
    assert [(e["row"], e["column"], e["type"]) for e in body["errors"]] == [(2, "signed_on", "milestone_conflict")]


def test_an_existing_project_cannot_change_chain(client, admin, reference, new_project, unchanged):
    new_project(external_ref="R-1", chain="AUTO", milestones={"signed": "2026-01-10"})
    with unchanged():
        body = assert_problem(upload(client, admin, csv_bytes([EN, ROWS[1]])), 422)
    assert [(e["row"], e["column"], e["type"]) for e in body["errors"]] == [(2, "chain", "chain_change")]


def test_formula_cells_in_xlsx_are_refused(client, admin, reference, unchanged):
    content = xlsx_bytes({"项目": [EN, ["F-1", "芯片厂", "OPTICS", "JA", "某公司", "=1+2", "", "2026-01-10"],
                                   ["F-2", "芯片厂2", "OPTICS", "JA", "=A2", 5, "", "2026-01-10"]]})
    with unchanged():
        dry = upload(client, admin, content, "f.xlsx", dry_run=True)
        real = upload(client, admin, content, "f.xlsx")
    errors = dry.json()["errors"]
    assert [(e["sheet"], e["row"], e["column"], e["type"]) for e in errors] == [
        ("项目", 2, "planned_investment", "formula"), ("项目", 3, "investor", "formula")]
    assert errors[0]["loc"] == ["file", "项目", 2, "planned_investment"]
    assert assert_problem(real, 422)["errors"] == errors


def test_text_the_export_neutralised_comes_back_as_it_was(client, admin, reference):
    row = ["'-R9", "'=HYPERLINK(1)", "OPTICS", "JA", "'@投资", "1", "", "2026-01-10", "", "", ""]
    assert upload(client, admin, csv_bytes([EN, row])).status_code == 200
    p = projects_by_ref(client, admin)["-R9"]
    assert (p["name"], p["investor"]) == ("=HYPERLINK(1)", "@投资")


# ---------------------------------------------------------------- bad files


@pytest.mark.parametrize(("content", "type_"), [
    (b"", "empty_file"),
    (b"\xef\xbb\xbf\r\n\r\n", "empty_file"),
    (csv_bytes([EN]), "empty_file"),
    (csv_bytes([["name", "chain", "district", "investor"], ["a", "OPTICS", "JA", "b"]]), "missing_column"),
    (csv_bytes([["foo", "bar"], ["1", "2"]]), "missing_header"),
    (b'{"name": "json is not a spreadsheet"}', "missing_header"),
])
def test_files_that_cannot_be_imported_are_422(client, admin, reference, unchanged, content, type_):
    with unchanged():
        body = assert_problem(upload(client, admin, content), 422, "/problems/validation-error")
        dry = upload(client, admin, content, dry_run=True)
    assert type_ in {e["type"] for e in body["errors"]}
    assert dry.status_code == 422  # a file-level problem refuses the dry run as well


def test_missing_columns_are_all_named(client, admin, reference):
    body = assert_problem(upload(client, admin, csv_bytes([["name", "chain", "district"], ["a", "OPTICS", "JA"]])),
                          422)
    assert {e["column"] for e in body["errors"]} == {"投资方", "计划投资(万元)", "签约日期"}


def _zip(name: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr(name, "<x/>")
    return out.getvalue()


@pytest.mark.parametrize(("content", "filename"), [
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "photo.csv"),
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "file.xlsx"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 500, "old.xls"),
    (_zip("content.xml"), "sheet.ods"),
    (b"PK\x03\x04 broken zip", "broken.xlsx"),
    (bytes(range(256)) * 4, "random.bin"),
    (b"\xff\xfe\x00\xd8", "bad-utf16.csv"),
    ("项目名称,产业链\n".encode() + b"\x81\x30\xff", "not-gb18030.csv"),
])
def test_not_a_spreadsheet_is_415(client, admin, reference, unchanged, content, filename):
    with unchanged():
        assert_problem(upload(client, admin, content, filename), 415, "/problems/unsupported-media-type")


def test_a_body_that_is_not_multipart_is_415(client, admin, reference, unchanged):
    with unchanged():
        r = client.post(IMPORT, content=csv_bytes(ROWS), headers={**admin, "Content-Type": "text/csv"})
        assert_problem(r, 415)


def test_a_multipart_body_without_the_file_field_is_422(client, admin, reference, unchanged):
    with unchanged():
        r = client.post(IMPORT, files={"other": ("x.csv", csv_bytes(ROWS), "text/csv")}, headers=admin)
        body = assert_problem(r, 422)
    assert body["errors"][0]["loc"] == ["body", "file"]


def test_twenty_mib_is_413_before_anything_runs(client, admin, reference, unchanged):
    big = b"a," * (10 * 1024 * 1024 + 1)
    with unchanged():
        assert_problem(upload(client, admin, big, "big.csv"), 413, "/problems/payload-too-large")


def test_an_almost_twenty_mib_file_is_read(client, admin, reference):
    """Imports have their own body limit (20 MiB, not the API's 1 MiB): 150 rows with a 120 KiB remark each."""
    remark = "备" * 40_000  # 120,000 bytes in UTF-8
    content = csv_bytes([EN + ["备注"]] + [[f"L-{i}", f"项目{i}", "OPTICS", "JA", "某公司", "1", "", "2026-01-10",
                                           "", "", "", remark] for i in range(150)])
    assert 17 * 1024 * 1024 < len(content) < 20 * 1024 * 1024 - 1024
    r = upload(client, admin, content, dry_run=True)
    assert r.status_code == 200, r.text[:300]
    assert r.json()["summary"]["create"] == 150
    assert r.json()["warnings"] == ["Column '备注' is not used."]


def test_too_many_rows_is_422(db_url, make_admin_token):
    from service.main import create_app

    app = create_app(Settings(database_url=db_url, import_max_rows=2))
    with TestClient(app) as c:
        admin = make_admin_token(app)
        _make_reference(c, admin)
        body = assert_problem(upload(c, admin, csv_bytes(ROWS)), 422)
    assert body["errors"][0]["type"] == "too_many_rows"


def test_the_import_route_is_not_a_project_id(client, admin, reference):
    assert client.post(f"{P}/import/transitions", json={"to": "started", "on": "2026-01-01"},
                       headers=admin).status_code == 404
    assert client.get(IMPORT, headers=admin).status_code == 404


# ---------------------------------------------------------------- rights


def test_department_imports_rows_of_its_own_chains_only(client, make_token, reference, unchanged):
    dept = make_token("department", chains=["OPTICS"])
    content = csv_bytes(ROWS)  # R-2 is on AUTO
    with unchanged():
        dry = upload(client, dept, content, dry_run=True)
        real = upload(client, dept, content)
    errors = dry.json()["errors"]
    assert [(e["row"], e["type"]) for e in errors] == [(3, "forbidden")]
    assert [x["outcome"] for x in dry.json()["rows"]] == ["create", "error", "create"]
    assert assert_problem(real, 422)["errors"] == errors
    assert upload(client, dept, csv_bytes([EN, ROWS[1], ROWS[3]])).status_code == 200


def test_integration_imports_rows_at_stage_signed_only(client, make_token, admin, reference, unchanged, audit_count):
    integration = make_token("integration")
    with unchanged():
        body = assert_problem(upload(client, integration, csv_bytes(ROWS)), 422)
    assert [(e["row"], e["type"]) for e in body["errors"]] == [(3, "forbidden"), (4, "forbidden")]
    before = audit_count()
    assert upload(client, integration, csv_bytes([EN, ROWS[1]])).status_code == 200
    assert audit_count() == before + 2
    # An integration token may not change an existing project either (SPEC §1): only unchanged rows pass.
    assert upload(client, integration, csv_bytes([EN, ROWS[1]])).status_code == 200
    changed = [*ROWS[1][:4], "新投资方", *ROWS[1][5:]]
    with unchanged():
        body = assert_problem(upload(client, integration, csv_bytes([EN, changed])), 422)
    assert body["errors"][0]["type"] == "forbidden"


def test_rows_of_a_foreign_chain_are_refused_even_when_nothing_changes(client, make_token, admin, reference,
                                                                      unchanged):
    assert upload(client, admin, csv_bytes([EN, ROWS[2]])).status_code == 200  # R-2 on AUTO
    with unchanged():
        body = assert_problem(upload(client, make_token("department", chains=["OPTICS"]), csv_bytes([EN, ROWS[2]])),
                              422)
    assert [(e["row"], e["column"], e["type"]) for e in body["errors"]] == [(2, "chain", "forbidden")]


def test_integration_may_repush_signed_rows_of_projects_that_moved_on(client, make_token, admin, reference, move):
    integration = make_token("integration")
    assert upload(client, integration, csv_bytes([EN, ROWS[1]])).status_code == 200
    project = projects_by_ref(client, admin)["R-1"]
    assert move(project["id"], "started", "2026-02-01").status_code == 200
    r = upload(client, integration, csv_bytes([EN, ROWS[1]]))
    assert r.status_code == 200, r.text
    assert (r.json()["rows"][0]["outcome"], r.json()["rows"][0]["stage"]) == ("unchanged", "started")


@pytest.mark.parametrize("role", ["auditor", "viewer"])
def test_readers_cannot_import(client, make_token, reference, unchanged, role):
    with unchanged():
        assert_problem(upload(client, make_token(role), csv_bytes(ROWS), dry_run=True), 403)


def test_an_idempotency_key_replays_an_import(client, admin, reference, audit_count):
    boundary = "----chainledgerboundary"
    content = csv_bytes(ROWS)
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"p.csv\"\r\n"
            f"Content-Type: text/csv\r\n\r\n").encode() + content + f"\r\n--{boundary}--\r\n".encode()
    headers = {**admin, "Content-Type": f"multipart/form-data; boundary={boundary}", "Idempotency-Key": "imp-1"}
    first = client.post(IMPORT, content=body, headers=headers)
    assert first.status_code == 200, first.text
    after_first = audit_count()
    again = client.post(IMPORT, content=body, headers=headers)
    assert again.status_code == 200 and again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert audit_count() == after_first


# ---------------------------------------------------------------- the ledger export round-trips


def _make_reference(c, admin) -> None:
    for code, name in [("FGW", "市发改委"), ("JXJ", "市经信局")]:
        assert c.post(f"{API}/departments", json={"code": code, "name": name}, headers=admin).status_code == 201
    for code, name, kind in [("JA", "江岸区", "district"), ("HS", "洪山区", "district"),
                             ("DHGX", "东湖新技术开发区", "development_zone")]:
        assert c.post(f"{API}/districts", json={"code": code, "name": name, "kind": kind},
                      headers=admin).status_code == 201
    for code, name, dept in [("OPTICS", "光芯屏端网", "JXJ"), ("AUTO", "汽车制造", "FGW")]:
        assert c.post(f"{API}/chains", json={"code": code, "name": name, "leader": "链长", "lead_department": dept},
                      headers=admin).status_code == 201


@pytest.fixture
def ledger_projects(client, admin, reference, new_project, move) -> dict[str, dict]:
    """Every milestone in 2026: A went all the way, B only signed (no external_ref), C was cancelled after
    starting, V was voided; names and refs that the export neutralises."""
    a = new_project(external_ref="-A1", name="=A公司", investor="@投资方", is_key=True, planned_investment="12500.55",
                    stage="at_capacity", milestones={"signed": "2026-01-05", "started": "2026-02-10",
                                                     "in_production": "2026-06-01", "at_capacity": "2026-09-01"})
    b = new_project(name="普通项目", chain="AUTO", district="HS", planned_investment="800",
                    milestones={"signed": "2026-03-03"})
    c = new_project(external_ref="C-3", name="已终止项目", chain="AUTO", district="DHGX", planned_investment="20000",
                    milestones={"signed": "2026-04-04"})
    assert move(c["id"], "started", "2026-05-05").status_code == 200
    assert move(c["id"], "cancelled", "2026-07-07", reason="撤资").status_code == 200
    v = new_project(external_ref="V-1", name="作废项目", milestones={"signed": "2026-04-20"})
    assert client.post(f"{P}/{v['id']}/void", json={"reason": "录入错误"}, headers=admin).status_code == 200
    return {"A": a, "B": b, "C": c}


def _comparable(ledger: dict) -> dict:
    out = {k: v for k, v in ledger.items() if k != "lists"}
    out["lists"] = {
        name: {**{k: v for k, v in lst.items() if k != "projects"},
               "projects": sorted(({k: v for k, v in p.items() if k != "id"} for p in lst["projects"]),
                                  key=lambda p: (p["on"], p["name"]))}
        for name, lst in ledger["lists"].items()
    }
    return out


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_ledger_export_imports_into_an_empty_database_as_the_same_ledger(
    client, admin, ledger_projects, databases, make_admin_token, fmt
):
    from service.main import create_app

    original = client.get(f"{API}/ledger", params={"period": "2026"}, headers=admin).json()
    export = client.get(f"{API}/ledger", params={"period": "2026", "format": fmt}, headers=admin).content
    url = databases.fresh_url()
    try:
        app = create_app(Settings(database_url=url))
        with TestClient(app, raise_server_exceptions=False) as other:
            other_admin = make_admin_token(app)
            _make_reference(other, other_admin)
            dry = upload(other, other_admin, export, f"ledger-2026.{fmt}", dry_run=True)
            assert dry.status_code == 200, dry.text
            report = dry.json()
            assert report["errors"] == [] and report["file"]["layout"] == "ledger_export"
            assert report["summary"] == {"rows": 7, "projects": 3, "create": 3, "update": 0, "transition": 0,
                                         "unchanged": 0, "error": 0}
            r = upload(other, other_admin, export, f"ledger-2026.{fmt}")
            assert r.status_code == 200, r.text
            imported = other.get(f"{API}/ledger", params={"period": "2026"}, headers=other_admin).json()
            cancelled = [p for p in other.get(P, headers=other_admin).json()["items"] if p["stage"] == "cancelled"]
        app.state.db.engine.dispose()
    finally:
        databases.drop(url)
    assert _comparable(imported) == _comparable(original)
    assert [(p["external_ref"], p["cancelled_on"]) for p in cancelled] == [("C-3", "2026-07-07")]  # its own date


def test_a_ledger_export_reimported_into_its_own_database_changes_nothing(client, admin, ledger_projects,
                                                                          audit_count):
    export = client.get(f"{API}/ledger", params={"period": "2026", "format": "csv"}, headers=admin).content
    before = audit_count()
    r = upload(client, admin, export, "ledger-2026.csv")
    assert r.status_code == 200, r.text
    assert r.json()["summary"]["unchanged"] == 3
    assert {x["project_id"] for x in r.json()["rows"]} == {p["id"] for p in ledger_projects.values()}
    assert audit_count() == before + 1


def _old_layout(export: bytes, fmt: str) -> bytes:
    """``export`` as exports were written before they carried the milestone dates: without 签约日期 … 终止日期."""
    dates = 5
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(export.decode("utf-8-sig"), newline="")))
        return csv_bytes([row[:-dates] for row in rows])
    book = load_workbook(io.BytesIO(export))
    for sheet in book.worksheets:
        sheet.delete_cols(sheet.max_column - dates + 1, dates)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _import_elsewhere(databases, make_admin_token, content: bytes, filename: str, *, apply: bool = True):
    """Dry run, then (``apply``) import ``content`` into a fresh database with the same reference data; the
    dry run's report, the import's response and every project there."""
    from service.main import create_app

    url = databases.fresh_url()
    try:
        app = create_app(Settings(database_url=url))
        with TestClient(app, raise_server_exceptions=False) as other:
            other_admin = make_admin_token(app)
            _make_reference(other, other_admin)
            dry = upload(other, other_admin, content, filename, dry_run=True)
            assert dry.status_code == 200, dry.text
            real = upload(other, other_admin, content, filename) if apply else None
            projects = other.get(P, params={"limit": 500}, headers=other_admin).json()["items"]
        app.state.db.engine.dispose()
    finally:
        databases.drop(url)
    return dry.json(), real, projects


def test_a_ledger_export_of_a_part_of_the_year(client, admin, ledger_projects, databases, make_admin_token):
    """Q2 holds A's in-production date but not its signing or start, yet A's row carries all its dates: A and C
    (signed and started in Q2, cancelled in Q3) come back whole; B, signed in Q1, is not in the file."""
    export = client.get(f"{API}/ledger", params={"period": "2026-Q2", "format": "xlsx"}, headers=admin).content
    report, r, projects = _import_elsewhere(databases, make_admin_token, export, "q2.xlsx")
    assert report["errors"] == [] and report["summary"]["create"] == 2
    assert {(x["sheet"], x["outcome"]) for x in report["rows"]} == {("新签约", "create"), ("新开工", "create"),
                                                                    ("新投产", "create")}
    assert r.status_code == 200, r.text
    by_ref = {p["external_ref"]: p for p in projects}
    for key in ("A", "C"):
        original = client.get(f"{P}/{ledger_projects[key]['id']}", headers=admin).json()
        assert _same_project(by_ref[original["external_ref"]]) == _same_project(original)
    assert len(projects) == 2


def test_an_export_written_before_the_date_columns_imports_as_before(client, admin, ledger_projects, databases,
                                                                     make_admin_token):
    """Without 签约日期 … 终止日期 (an export of before), Q2 dates A only up to 投产: A cannot be created (its earlier
    milestones are outside the file), C can; the dry run says so, on A's row."""
    export = client.get(f"{API}/ledger", params={"period": "2026-Q2", "format": "xlsx"}, headers=admin).content
    report, _, _ = _import_elsewhere(databases, make_admin_token, _old_layout(export, "xlsx"), "q2.xlsx", apply=False)
    assert {(e["sheet"], e["row"], e["type"]) for e in report["errors"]} == {("新投产", 2, "missing_milestone")}
    assert {(x["sheet"], x["outcome"]) for x in report["rows"]} == {("新签约", "create"), ("新开工", "create"),
                                                                    ("新投产", "error")}


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_an_old_yearly_export_still_imports(client, admin, ledger_projects, databases, make_admin_token, fmt):
    """Every milestone of 2026 in a 2026 export of before: the same ledger, C cancelled on its last milestone."""
    export = client.get(f"{API}/ledger", params={"period": "2026", "format": fmt}, headers=admin).content
    report, r, projects = _import_elsewhere(databases, make_admin_token, _old_layout(export, fmt), f"old.{fmt}")
    assert report["errors"] == [] and report["summary"]["create"] == 3
    assert r.status_code == 200, r.text
    cancelled = [(p["external_ref"], p["cancelled_on"]) for p in projects if p["stage"] == "cancelled"]
    assert cancelled == [("C-3", "2026-05-05")]


def _same_project(p: dict) -> dict:
    """What must come back from an export: attributes, stage, every milestone, the cancellation date."""
    keys = ("external_ref", "name", "chain", "district", "investor", "planned_investment", "is_key", "major", "stage",
            "milestones", "cancelled_on", "voided")
    return {k: p[k] for k in keys}


@pytest.fixture
def multi_year_projects(client, admin, reference, new_project, move) -> dict[str, dict]:
    """Projects of several years: on 2026's lists only by their 2026 milestones. A signed 2024, started 2025, in
    production 2026; B (no external_ref, text the export neutralises) signed 2024, started 2025, in production and
    at capacity 2026; C
    signed 2025, started and cancelled 2026; D signed in 2025 only (not in a 2026 export); V voided."""
    a = new_project(external_ref="Y-A", name="多年项目", investor="甲公司", is_key=True, planned_investment="15000.25",
                    stage="in_production", milestones={"signed": "2024-03-01", "started": "2025-05-10",
                                                       "in_production": "2026-02-20"})
    b = new_project(name="=B项目", chain="AUTO", district="HS", investor="@乙公司", planned_investment="800",
                    stage="at_capacity", milestones={"signed": "2024-11-11", "started": "2025-01-02",
                                                     "in_production": "2026-01-10", "at_capacity": "2026-06-30"})
    c = new_project(external_ref="Y-C", name="终止项目", chain="AUTO", district="DHGX", planned_investment="20000",
                    stage="started", milestones={"signed": "2025-04-04", "started": "2026-01-15"})
    assert move(c["id"], "cancelled", "2026-03-03", reason="撤资").status_code == 200
    d = new_project(external_ref="Y-D", name="2025年项目", milestones={"signed": "2025-02-02"})
    v = new_project(external_ref="Y-V", name="作废项目", milestones={"signed": "2026-04-20"})
    assert client.post(f"{P}/{v['id']}/void", json={"reason": "录入错误"}, headers=admin).status_code == 200
    return {"A": a, "B": b, "C": c, "D": d}


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_yearly_export_imports_back_as_the_same_projects(client, admin, multi_year_projects, databases,
                                                          make_admin_token, fmt):
    """SPEC §3/§7: a 2026 export — whose projects reached their earlier milestones in 2024 and 2025 — imported into
    an empty database with the same reference data gives the same projects: attributes, stage, every milestone and
    the cancellation date."""
    export = client.get(f"{API}/ledger", params={"period": "2026", "format": fmt}, headers=admin).content
    report, r, projects = _import_elsewhere(databases, make_admin_token, export, f"ledger-2026.{fmt}")
    assert report["errors"] == [] and report["file"]["layout"] == "ledger_export", report["errors"]
    assert report["summary"] == {"rows": 4, "projects": 3, "create": 3, "update": 0, "transition": 0,
                                 "unchanged": 0, "error": 0}  # A on 新投产; B on 新投产 and 新达产; C on 新开工
    assert r.status_code == 200, r.text
    originals = [client.get(f"{P}/{multi_year_projects[k]['id']}", headers=admin).json() for k in ("A", "B", "C")]
    assert sorted((_same_project(p) for p in projects), key=lambda p: p["name"]) == sorted(
        (_same_project(p) for p in originals), key=lambda p: p["name"])
    assert [(p["external_ref"], p["stage"], p["cancelled_on"]) for p in projects if p["cancelled_on"]] == [
        ("Y-C", "cancelled", "2026-03-03")]


def test_a_yearly_export_reimported_into_its_own_database_changes_nothing(client, admin, multi_year_projects,
                                                                         audit_count):
    export = client.get(f"{API}/ledger", params={"period": "2026", "format": "xlsx"}, headers=admin).content
    before = audit_count()
    r = upload(client, admin, export, "ledger-2026.xlsx")
    assert r.status_code == 200, r.text
    assert r.json()["summary"]["unchanged"] == 3 and r.json()["errors"] == []
    assert audit_count() == before + 1


DATED = ["清单", "项目编号", "外部编号", "项目名称", "产业链", "区", "投资方", "计划投资(万元)", "重点项目", "重大项目", "阶段",
         "日期", "签约日期", "开工日期", "投产日期", "达产日期", "终止日期"]


def _dated_row(lst: str, on: str, *, stage: str = "已开工", signed: str = "2025-03-01", started: str = "2026-01-05",
               cancelled: str = "", ref: str = "Q-9") -> list[str]:
    return [lst, "01X", ref, "项目", "OPTICS", "JA", "公司", "10", "否", "否", stage, on, signed, started, "", "",
            cancelled]


@pytest.mark.parametrize(("rows", "expected"), [
    ([_dated_row("新开工", "2026-01-06")], [(2, "开工日期", "inconsistent_rows")]),
    ([_dated_row("新签约", "2025-03-01"), _dated_row("新开工", "2026-01-05", started="2026-01-07")],
     [(3, "开工日期", "inconsistent_rows")]),
    ([_dated_row("新开工", "2026-01-05", stage="已投产")], [(2, "阶段", "inconsistent_stage")]),
    ([_dated_row("新开工", "2026-01-05", stage="终止")], [(2, "终止日期", "missing_value")]),
    ([_dated_row("新开工", "2026-01-05", cancelled="2026-02-01")], [(2, "终止日期", "inconsistent_stage")]),
    ([_dated_row("新开工", "2026-01-05", stage="终止", cancelled="2025-12-31")], [(2, "终止日期", "invalid_milestone")]),
], ids=["list-date", "rows-disagree", "stage-ahead", "cancelled-undated", "date-not-cancelled", "cancel-early"])
def test_dated_ledger_rows_must_hold_together(client, admin, reference, unchanged, rows, expected):
    with unchanged():
        dry = upload(client, admin, csv_bytes([DATED, *rows]), "ledger.csv", dry_run=True)
        body = assert_problem(upload(client, admin, csv_bytes([DATED, *rows]), "ledger.csv"), 422)
    assert [(e["row"], e["column"], e["type"]) for e in body["errors"]] == expected
    assert dry.json()["errors"] == body["errors"]


def test_a_dated_ledger_row_cancels_on_its_own_date(client, admin, reference):
    r = upload(client, admin, csv_bytes([DATED, _dated_row("新开工", "2026-01-05", stage="终止",
                                                           cancelled="2026-02-01")]), "ledger.csv")
    assert r.status_code == 200, r.text
    assert r.json()["rows"][0]["transitions"] == ["cancelled"]
    p = projects_by_ref(client, admin)["Q-9"]
    assert (p["stage"], p["milestones"]["started"], p["cancelled_on"]) == ("cancelled", "2026-01-05", "2026-02-01")


def test_a_ledger_export_stage_ahead_of_its_dates_is_a_warning(client, admin, reference, audit_count):
    """A ledger export of 2026-Q1 for a project that started in Q2: created at signed, with a warning; the Q2
    export then moves it on (matched by external_ref)."""
    header = ["清单", "项目编号", "外部编号", "项目名称", "产业链", "区", "投资方", "计划投资(万元)", "重点项目", "重大项目",
              "阶段", "日期"]
    q1 = csv_bytes([header, ["新签约", "01X", "Q-1", "项目", "OPTICS", "JA", "公司", "10", "否", "否", "已开工",
                             "2026-03-01"]])
    r = upload(client, admin, q1, "q1.csv")
    assert r.status_code == 200, r.text
    row = r.json()["rows"][0]
    assert row["outcome"] == "create" and row["stage"] == "signed" and row["warnings"]
    q2 = csv_bytes([header, ["新开工", "01X", "Q-1", "项目", "OPTICS", "JA", "公司", "10", "否", "否", "已开工",
                             "2026-04-01"]])
    r = upload(client, admin, q2, "q2.csv")
    assert r.status_code == 200, r.text
    assert (r.json()["rows"][0]["outcome"], r.json()["rows"][0]["stage"]) == ("transition", "started")


def test_ledger_rows_of_one_project_must_agree(client, admin, reference, unchanged):
    header = ["清单", "项目编号", "外部编号", "项目名称", "产业链", "区", "投资方", "计划投资(万元)", "重点项目", "阶段", "日期"]
    content = csv_bytes([header,
                         ["新签约", "01X", "Q-1", "项目", "OPTICS", "JA", "公司", "10", "否", "已开工", "2026-03-01"],
                         ["新开工", "01X", "Q-1", "项目", "OPTICS", "JA", "公司", "99", "否", "已开工", "2026-04-01"],
                         ["新开工", "01X", "Q-1", "项目", "OPTICS", "JA", "公司", "10", "否", "已开工", "2026-04-02"]])
    with unchanged():
        body = assert_problem(upload(client, admin, content), 422)
    assert [(e["row"], e["column"], e["type"]) for e in body["errors"]] == [
        (3, "计划投资(万元)", "inconsistent_rows"), (4, "日期", "duplicate_list_row")]


def test_the_report_schema_is_documented(client):
    spec = client.get("/openapi.json").json()
    op = spec["paths"][IMPORT]["post"]
    assert op["operationId"] == "import_projects"
    assert "multipart/form-data" in op["requestBody"]["content"]
    assert {"400", "401", "403", "413", "415", "422"} <= set(op["responses"])
    assert "dry_run" in json.dumps(op["parameters"])


@pytest.mark.skipif(not IS_POSTGRES, reason="PostgreSQL refuses NUL characters; the parser must never pass one")
def test_nul_characters_never_reach_postgres(client, admin, reference, unchanged):
    with unchanged():
        r = upload(client, admin, b"name,chain\n\x00,x\n")
    assert r.status_code in (415, 422)


# ---------------------------------------------------------------- cell values (no database)


@pytest.mark.parametrize(("value", "expected"), [
    ("2026-01-10", date(2026, 1, 10)), ("2026/1/9", date(2026, 1, 9)), ("2026.01.09", date(2026, 1, 9)),
    ("2026年1月9日", date(2026, 1, 9)), ("20260109", date(2026, 1, 9)), ("２０２６-01-09", date(2026, 1, 9)),
    ("2026-01-09 00:00:00", date(2026, 1, 9)), (datetime(2026, 1, 9, 0, 0), date(2026, 1, 9)),
])
def test_dates(value, expected):
    from service.importing import as_date

    assert as_date(value) == expected


@pytest.mark.parametrize("value", ["2026-02-30", "10/01/2026", "yesterday", 46031, "2026-01-09 13:00"])
def test_not_dates(value):
    from service.importing import as_date

    with pytest.raises(ValueError):
        as_date(value)


def test_every_export_header_is_understood():
    from service.importing import COLUMNS, normalise_header
    from service.schemas.ledger import ITEM_HEADERS, LIST_HEADER

    known = {normalise_header(a) for aliases in COLUMNS.values() for a in aliases}
    assert {normalise_header(h) for h in (LIST_HEADER, *ITEM_HEADERS)} <= known
    assert normalise_header(" 计划投资（万元） ") == normalise_header("计划投资(万元)")
