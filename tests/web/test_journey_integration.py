"""The investment promotion office's journey in real Chromium: sign in with the integration role, take the
template, upload a spreadsheet, read the dry run (a bad cell marked, then a clean report), import the same file,
and find the projects — and the import's audit events — through the API."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from openpyxl import Workbook, load_workbook

from tests.web.conftest import browser_sign_in, screenshot

pytestmark = pytest.mark.browser


def _api(server, token: str, path: str, **params) -> dict:  # noqa: ANN001
    r = httpx.get(server.url + "/api/v1" + path, params=params, headers={"Authorization": f"Bearer {token}"},
                  timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def _by_ref(server, token: str) -> dict[str, dict]:  # noqa: ANN001
    return {p["external_ref"]: p for p in _api(server, token, "/projects", limit=500)["items"] if p["external_ref"]}


def _workbook(path: Path, headers: list[str], rows: list[list]) -> Path:  # noqa: ANN001
    book = Workbook()
    sheet = book.active
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def test_the_promotion_office_imports_its_signed_projects(live_server, browser_page, tmp_path) -> None:  # noqa: ANN001
    page, server = browser_page, live_server
    token = server.token("integration", name="招商局对接")
    admin = server.token("admin")
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    browser_sign_in(page, server, token)

    page.get_by_role("link", name="项目导入").click()
    page.wait_for_url(server.url + "/imports")
    assert page.get_by_role("heading", name="导入项目", level=1).is_visible()

    # The template: the import's own headers, one example row.
    with page.expect_download() as info:
        page.get_by_role("link", name="下载模板（中文表头）").click()
    template = tmp_path / info.value.suggested_filename
    info.value.save_as(template)
    headers = [c.value for c in next(load_workbook(template).active.iter_rows(max_row=1))]
    assert headers[:4] == ["外部编号", "项目名称", "产业链", "区"] and "签约日期" in headers

    def row(ref: str, name: str, chain: str, amount, signed) -> list:  # noqa: ANN001
        values = {"外部编号": ref, "项目名称": name, "产业链": chain, "区": "DHGX", "投资方": "某某招商引资有限公司",
                  "计划投资(万元)": amount, "重点项目": "是", "签约日期": signed}
        return [values.get(h) for h in headers]

    rows = [row("ZSB-WEB-0001", "光谷新型显示模组项目", "ICT", 26000, today),
            row("ZSB-WEB-0002", "汽车轻量化部件项目", "AUTO", "八千", today)]
    bad = _workbook(tmp_path / "签约项目.xlsx", headers, rows)

    # First dry run: the bad cell is marked (row 3, 计划投资(万元)), nothing is offered for import.
    page.get_by_label("电子表格文件（.xlsx 或 .csv）").set_input_files(bad)
    page.get_by_role("button", name="试导入（检查）").click()
    page.wait_for_selector("#report")
    assert "文件中有 1 处问题，未导入任何数据" in page.locator("#errors-summary").inner_text()
    problem = page.locator("#problems tbody tr")
    assert problem.count() == 1
    assert problem.first.locator("td").all_inner_texts()[:2] == ["3", "计划投资(万元)"]
    assert "八千" in problem.first.inner_text()
    assert "有问题" in page.locator("#rows tbody tr").nth(1).inner_text()  # row 3 of the sheet
    assert page.locator("#confirm").count() == 0
    screenshot(page, "import-dry-run-problems")

    # Corrected file: a clean dry run, then the import of the same file.
    rows[1] = row("ZSB-WEB-0002", "汽车轻量化部件项目", "AUTO", 8000, today)
    good = _workbook(tmp_path / "签约项目-改.xlsx", headers, rows)
    page.get_by_label("电子表格文件（.xlsx 或 .csv）").set_input_files(good)
    page.get_by_role("button", name="试导入（检查）").click()
    page.wait_for_selector("#confirm")
    assert "新建 2" in page.locator("#summary").inner_text()
    assert page.locator("#rows tbody tr").count() == 2
    assert not _by_ref(server, token).keys() & {"ZSB-WEB-0001", "ZSB-WEB-0002"}  # the dry run wrote nothing
    page.get_by_label("再次选择同一文件").set_input_files(good)
    page.get_by_role("button", name="导入", exact=True).click()
    page.wait_for_selector("#imported")
    assert "已导入：新建 2" in page.locator("#imported").inner_text()
    screenshot(page, "import-done")
    page.set_viewport_size({"width": 390, "height": 844})  # the report fits a phone (its tables scroll inside)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    screenshot(page, "phone-import-done")

    # The projects exist through the API, at 新签约, with the import's audit events.
    found = _by_ref(server, token)
    first, second = found["ZSB-WEB-0001"], found["ZSB-WEB-0002"]
    assert (first["name"], first["chain"], first["stage"], first["planned_investment"]) == (
        "光谷新型显示模组项目", "ICT", "signed", "26000.00")
    assert first["milestones"]["signed"] == today.isoformat() and first["is_key"] is True
    assert (second["chain"], second["planned_investment"]) == ("AUTO", "8000.00")
    applied = _api(server, admin, "/audit/events", action="import.applied")["items"]
    assert len(applied) == 1 and applied[0]["actor"]["name"] == "招商局对接"
    assert applied[0]["data"]["after"]["created"] == 2
    created = _api(server, admin, "/audit/events", entity="project", entity_id=first["id"])["items"]
    assert [e["action"] for e in created] == ["project.created"]

    # The report links each project's page.
    page.get_by_role("link", name="ZSB-WEB-0001").click()
    page.wait_for_url(server.url + f"/projects/{first['id']}")
    assert "光谷新型显示模组项目" in page.content()

    # At phone width the empty import page does not scroll sideways either.
    page.goto(server.url + "/imports")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert [e for e in page.console_errors if "status of 422" not in e] == []  # (the refused dry run's status)
