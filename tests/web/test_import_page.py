"""The import page (/imports): the dry run's row report with its bad cells, the import of the same file through
the use cases of POST /projects/import (projects and audit events checked through the API), the template
workbook, the roles, and the import's body limit on the page's upload path."""

from __future__ import annotations

import hashlib
import io
import re
from datetime import datetime

import pytest
from openpyxl import load_workbook

from service import importing
from service.config import Settings
from service.domain import project_fields as pf
from service.web.pages.imports import POST_PATH, TEMPLATE_COLUMNS
from tests.web.conftest import csrf_of

IMPORT_LIMIT = 2 * 1024 * 1024  # small, so the over-limit tests stay fast; the rule is the same at 20 MiB
HEADER_ZH = "外部编号,项目名称,产业链,区,投资方,计划投资(万元),重点项目,签约日期,开工日期"
HEADER_EN = "External ref,Project name,Chain,District,Investor,Planned investment (万元),Key project,Signed on,Started on"


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(database_url=db_url, idempotency_lease_seconds=60, max_import_bytes=IMPORT_LIMIT)


def _csv(*rows: str, header: str = HEADER_ZH) -> bytes:
    return ("\n".join((header, *rows)) + "\n").encode("utf-8")


GOOD = _csv("WEB-IMP-001,光谷量子通信产业园,ICT,DHGX,某某量子科技有限公司,12000,是,2026-01-05,",
            "WEB-IMP-002,车联网测试场项目,AUTO,DHGX,某某汽车科技有限公司,800,否,2026-01-06,")


def _dry_run(c, data: bytes, name: str = "projects.csv", *, csrf: str | None = None):  # noqa: ANN001, ANN202
    csrf = csrf or csrf_of(c.get("/imports").text)
    return c.post(POST_PATH + "?dry_run=true", data={"csrf": csrf}, files={"file": (name, data, "text/csv")})


def _import(c, data: bytes, report_page: str, name: str = "projects.csv"):  # noqa: ANN001, ANN202
    sha = re.search(r'name="sha256" value="([0-9a-f]{64})"', report_page)
    assert sha, "no import form after the dry run"
    return c.post(POST_PATH, data={"csrf": csrf_of(report_page), "sha256": sha[1]},
                  files={"file": (name, data, "text/csv")})


def projects_by_ref(c) -> dict[str, dict]:  # noqa: ANN001
    """Every project, by external_ref, through the API (``c.api``: the signed-in token's bearer headers)."""
    out, cursor = {}, None
    while True:
        r = c.get("/api/v1/projects", params={"limit": 200, **({"cursor": cursor} if cursor else {})},
                  headers=c.api)
        assert r.status_code == 200, r.text
        out.update({p["external_ref"]: p for p in r.json()["items"] if p["external_ref"]})
        cursor = r.json()["next_cursor"]
        if not cursor:
            return out


def _project(c, ref: str) -> dict | None:  # noqa: ANN001
    return projects_by_ref(c).get(ref)


def _events(admin, **params) -> list[dict]:  # noqa: ANN001
    r = admin.get("/api/v1/audit/events", params={"limit": 500, **params}, headers=admin.api)
    assert r.status_code == 200, r.text
    return r.json()["items"]


def test_dry_run_then_import_as_integration(login) -> None:  # noqa: ANN001
    c = login("integration")
    admin = login("admin")
    page = c.get("/imports")
    assert page.status_code == 200
    assert 'href="/imports" aria-current="page"' in page.text  # the navigation's link
    assert 'enctype="multipart/form-data"' in page.text and f'action="{POST_PATH}?dry_run=true"' in page.text
    assert '<label for="file">' in page.text

    r = _dry_run(c, GOOD)
    assert r.status_code == 200, r.text
    assert "试导入结果" in r.text and "新建 2" in r.text and 'id="row--2"' in r.text and 'id="row--3"' in r.text
    assert r.text.count(">新建</td>") == 2
    assert hashlib.sha256(GOOD).hexdigest() in r.text
    assert _project(c, "WEB-IMP-001") is None  # a dry run writes nothing
    assert not _events(admin, action="import.applied")

    r = _import(c, GOOD, r.text)
    assert r.status_code == 201, r.text
    assert "已导入：新建 2" in r.text
    first, second = _project(c, "WEB-IMP-001"), _project(c, "WEB-IMP-002")
    assert first["name"] == "光谷量子通信产业园" and first["stage"] == "signed" and first["is_key"] is True
    assert first["planned_investment"] == "12000.00" and first["milestones"]["signed"] == "2026-01-05"
    assert second["chain"] == "AUTO" and second["is_key"] is False
    assert f'href="/projects/{first["id"]}"' in r.text  # the report links the created projects

    applied = _events(admin, action="import.applied")
    assert len(applied) == 1
    assert applied[0]["data"]["after"]["sha256"] == hashlib.sha256(GOOD).hexdigest()
    assert applied[0]["data"]["after"]["created"] == 2 and applied[0]["actor"]["name"] == "integration-web"
    created = _events(admin, entity="project", entity_id=first["id"])
    assert [e["action"] for e in created] == ["project.created"]
    assert created[0]["request_id"] == applied[0]["request_id"]  # one request: the import's events share its id

    again = _dry_run(c, GOOD)  # the same file again changes nothing
    assert again.status_code == 200 and "无变化 2" in again.text


def test_dry_run_marks_bad_cells_in_english(login) -> None:  # noqa: ANN001
    c = login("admin", lang="en")
    bad = _csv("WEB-BAD-001,Good row,ICT,DHGX,Investor Co,100,no,2026-01-05,",
               "WEB-BAD-002,Unknown chain,NOPE,DHGX,Investor Co,100,no,2026-01-05,",
               "WEB-BAD-003,,ICT,DHGX,Investor Co,abc,no,2026-13-45,",
               header=HEADER_EN)
    r = _dry_run(c, bad)
    assert r.status_code == 422, r.text
    assert "Dry-run report" in r.text and "problem(s) in the file; nothing was imported" in r.text
    problems = r.text[r.text.index('id="problems"'):r.text.index('id="rows-title"')]
    assert re.search(r'href="#row--3">3</a></td>\s*<td>Chain</td><td class="field-error">There is no chain NOPE.',
                     problems), problems
    assert re.search(r'href="#row--4">4</a></td>\s*<td>Project name</td>', problems)
    assert re.search(r'href="#row--4">4</a></td>\s*<td>Planned investment \(万元\)</td>', problems)
    assert re.search(r'href="#row--4">4</a></td>\s*<td>Signed on</td>', problems)
    rows = r.text[r.text.index('id="rows"'):]
    assert re.search(r'id="row--2" class="outcome-create"', rows)
    assert re.search(r'id="row--3" class="outcome-error"', rows)
    assert 'name="sha256"' not in r.text  # no import offered for a file with problems
    assert _project(c, "WEB-BAD-001") is None


def test_dry_run_marks_bad_cells_in_chinese(login) -> None:  # noqa: ANN001
    c = login("admin")
    bad = _csv("WEB-BAD-001,某项目,不存在的链,DHGX,某公司,100,否,2026-01-05,",
               "WEB-BAD-002,某项目二,ICT,DHGX,某公司,100,否,,",
               "WEB-BAD-003,某项目三,ICT,DHGX,某公司,10a0,也许,2026-13-45,")
    r = _dry_run(c, bad)
    assert r.status_code == 422, r.text
    assert "文件中有 5 处问题，未导入任何数据" in r.text
    problems = r.text[r.text.index('id="problems"'):r.text.index('id="rows-title"')]
    assert re.search(r'href="#row--2">2</a></td>\s*<td>产业链</td><td class="field-error">产业链 不存在的链 不存在。', problems)
    assert re.search(r'href="#row--3">3</a></td>\s*<td>签约日期</td><td class="field-error">必填', problems), problems
    assert re.search(r'href="#row--4">4</a></td>\s*<td>计划投资\(万元\)</td><td class="field-error">“10a0”不是金额',
                     problems), problems
    assert re.search(r'<td>重点项目</td><td class="field-error">“也许”不是“是”或“否”。', problems), problems
    assert re.search(r'<td>签约日期</td><td class="field-error">“2026-13-45”不是有效日期', problems), problems
    assert "outcome-error" in r.text and "有问题 3" in r.text


def test_a_row_the_role_may_not_import_is_refused_with_its_message(login) -> None:  # noqa: ANN001
    c = login("integration", lang="en")
    data = _csv("WEB-STARTED-1,Started already,ICT,DHGX,Investor Co,100,no,2026-01-05,2026-02-01", header=HEADER_EN)
    r = _dry_run(c, data)
    assert r.status_code == 422 and "The integration role imports rows at stage &#39;signed&#39; only" in r.text
    dept = login("department", ["ICT"])
    r = _dry_run(dept, _csv("WEB-AUTO-1,别的链,AUTO,DHGX,某公司,100,否,2026-01-05,"))
    assert r.status_code == 422 and "无权导入此行" in r.text and "AUTO" in r.text
    assert _project(dept, "WEB-AUTO-1") is None


def test_roles_that_may_not_import(login) -> None:  # noqa: ANN001
    for role in ("viewer", "auditor"):
        c = login(role)
        home = c.get("/")
        assert 'href="/imports"' not in home.text
        assert c.get("/imports").status_code == 403
        assert c.get("/imports/template.xlsx").status_code == 403
        r = c.post(POST_PATH + "?dry_run=true", data={"csrf": csrf_of(home.text)},
                   files={"file": ("p.csv", GOOD, "text/csv")})
        assert r.status_code == 403 and "<html" in r.text


def test_the_upload_needs_the_csrf_token(login) -> None:  # noqa: ANN001
    c = login("admin")
    r = c.post(POST_PATH + "?dry_run=true", data={"csrf": "forged"}, files={"file": ("p.csv", GOOD, "text/csv")})
    assert r.status_code == 403
    r = c.post(POST_PATH, data={"sha256": hashlib.sha256(GOOD).hexdigest()}, files={"file": ("p.csv", GOOD)})
    assert r.status_code == 403
    assert _project(c, "WEB-IMP-001") is None
    csrf = csrf_of(c.get("/imports").text)
    r = c.post(POST_PATH, data={"csrf": csrf, "sha256": hashlib.sha256(GOOD).hexdigest()},
               files={"file": ("p.csv", GOOD)})
    assert r.status_code == 201 and _project(c, "WEB-IMP-001") is not None  # with the token it imports


def test_the_import_runs_only_on_the_file_of_the_dry_run(login) -> None:  # noqa: ANN001
    c = login("admin")
    report = _dry_run(c, GOOD)
    other = _csv("WEB-OTHER-1,另一个项目,ICT,DHGX,某公司,100,否,2026-01-05,")
    r = _import(c, other, report.text, name="other.csv")
    assert r.status_code == 200 and "所选文件与试导入的文件不同" in r.text and "试导入结果" in r.text
    assert hashlib.sha256(other).hexdigest() in r.text  # the new file's own dry run, ready to import
    assert _project(c, "WEB-OTHER-1") is None and _project(c, "WEB-IMP-001") is None
    for forged in ("", "é" * 64, "0" * 64):  # no hash, a hostile one, another file's: a dry run, never an import
        r = c.post(POST_PATH, data={"csrf": csrf_of(report.text), "sha256": forged},
                   files={"file": ("p.csv", GOOD, "text/csv")})
        assert r.status_code == 200 and "所选文件与试导入的文件不同" in r.text
    assert _project(c, "WEB-IMP-001") is None


def test_no_file_and_not_a_spreadsheet(login) -> None:  # noqa: ANN001
    c = login("admin", lang="en")
    csrf = csrf_of(c.get("/imports").text)
    r = c.post(POST_PATH + "?dry_run=true", data={"csrf": csrf}, files={"file": ("", b"", "text/csv")})
    assert r.status_code == 422 and "Choose the file to import." in r.text and 'aria-invalid="true"' in r.text
    r = _dry_run(c, b"%PDF-1.7\x00\x01\x02binary", name="scan.pdf", csrf=csrf)
    assert r.status_code == 415 and "Not an .xlsx or .csv spreadsheet" in r.text
    r = _dry_run(c, b"a,b\n1,2\n", csrf=csrf)  # no header the import knows: the file as a whole
    assert r.status_code == 422 and "The file cannot be imported" in r.text


def test_an_upload_over_the_import_limit(app, login) -> None:  # noqa: ANN001
    # The rows limit is what this test is about: on a busy CI host, reading 1.2 MB could pass the 5 s the
    # import's reading may take first (limit 'seconds', tested on its own in tests/security/test_import_limits.py).
    app.state.settings.import_parse_seconds = 120
    c = login("admin", lang="en")
    csrf = csrf_of(c.get("/imports").text)
    # Over the 1 MiB of other bodies but under the import's: the page's path has the import's limit.
    big = _csv(*[f"WEB-BIG-{i:05d},项目{i},ICT,DHGX,某公司,100,否,2026-01-05," for i in range(25_000)])
    assert 1024 * 1024 < len(big) < IMPORT_LIMIT
    r = _dry_run(c, big, csrf=csrf)
    assert r.status_code == 422 and "Dry-run report" not in r.text  # read, then refused for its rows (a limit)
    assert "The file cannot be imported" in r.text
    assert "The file holds more than 2,000 data rows (limit &#39;data_rows&#39;)" in r.text
    # Declared too large: this page with its message, in the user's language (the route reads none of it).
    huge = b"x" * (IMPORT_LIMIT + 1)
    r = c.post(POST_PATH + "?dry_run=true", data={"csrf": csrf}, files={"file": ("huge.csv", huge, "text/csv")})
    assert r.status_code == 413 and "<html" in r.text
    assert "The file is too large: an upload may be at most 2 MiB." in r.text
    # Sent without a length (chunked), found too large while it streams: this page, with its message.
    boundary = "web-import-boundary"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n--{boundary}\r\n"
            f"Content-Disposition: form-data; name=\"file\"; filename=\"huge.csv\"\r\n"
            f"Content-Type: text/csv\r\n\r\n").encode()

    def chunks():  # noqa: ANN202
        yield head
        for _ in range(IMPORT_LIMIT // 65536 + 2):
            yield b"y" * 65536
        yield f"\r\n--{boundary}--\r\n".encode()

    r = c.post(POST_PATH + "?dry_run=true", content=chunks(),
               headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert r.status_code == 413 and "<html" in r.text
    assert "The file is too large: an upload may be at most 2 MiB." in r.text


@pytest.mark.parametrize("lang,path", [("zh", "/imports/template.xlsx"), ("en", "/imports/template-en.xlsx")])
def test_the_template_has_the_import_headers_and_imports_back(login, lang: str, path: str) -> None:  # noqa: ANN001
    c = login("department", ["AUTO"])
    r = c.get(path)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    assert "attachment" in r.headers["content-disposition"]
    book = load_workbook(io.BytesIO(r.content), read_only=True)
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    headers = [pf.BY_NAME[k].zh if lang == "zh" else pf.BY_NAME[k].en for k in TEMPLATE_COLUMNS]
    assert list(rows[0]) == headers and len(rows) == 2
    if lang == "zh":
        assert rows[0][:3] == ("外部编号", "项目名称", "产业链") and "签约日期" in rows[0]
    known = {importing.normalise_header(a): k for k, aliases in importing.COLUMNS.items() for a in aliases}
    assert [known[importing.normalise_header(h)] for h in rows[0]] == list(TEMPLATE_COLUMNS)
    example = dict(zip(TEMPLATE_COLUMNS, [*rows[1], *[None] * len(TEMPLATE_COLUMNS)], strict=False))
    assert example["chain"] == "AUTO"  # a department's example is on its own chain
    assert isinstance(example["signed_on"], datetime)  # a date cell

    csrf = csrf_of(c.get("/imports").text)
    back = c.post(POST_PATH + "?dry_run=true", data={"csrf": csrf},
                  files={"file": ("template.xlsx", r.content, "application/octet-stream")})
    assert back.status_code == 200, back.text
    assert "新建 1" in back.text and ">新建</td>" in back.text
    assert "field-error" not in back.text
