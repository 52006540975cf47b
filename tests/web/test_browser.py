"""The web frontend in real headless Chromium against the real app under uvicorn (marker ``browser``).

Each test signs in through the form and does what a lead department does in a week; screenshots of every
page go to test-artifacts/screenshots/ (LEDGER_DOCS_SCREENSHOTS=1 also refreshes docs/screenshots/).
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pytest
from openpyxl import load_workbook

from tests.web.conftest import BROWSER_ACTION_MS, add_plan_and_problems, browser_sign_in, screenshot

pytestmark = pytest.mark.browser

SIGNED_ICT = "软件和信息服务外包中心项目"  # ICT, signed 2026-11-03 in the demo


def _today() -> datetime:
    return datetime.now(ZoneInfo("Asia/Shanghai"))


def _api(server, token: str, path: str) -> dict:  # noqa: ANN001
    r = httpx.get(server.url + "/api/v1" + path, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def test_sign_in_overview_and_language_switch(live_server, browser_page) -> None:  # noqa: ANN001
    page, server = browser_page, live_server
    token = server.token("department", ["ICT"], name="市经信局")
    page.goto(server.url + "/")
    screenshot(page, "signin")
    page.get_by_label("访问令牌").fill("wrong-token")
    page.get_by_role("button", name="登录").click()
    assert page.get_by_role("alert").inner_text().strip() == "令牌无效或已被吊销。"
    page.get_by_label("访问令牌").fill(token)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(server.url + "/")
    year = _today().year
    assert page.get_by_role("heading", level=1).inner_text() == f"{year}年度总览"
    assert page.locator("svg.chart rect").count() > 4
    assert page.get_by_role("link", name="光芯屏端网（新一代信息技术）").is_visible()
    screenshot(page, "overview", docs=True)

    page.get_by_role("link", name="English").click()
    assert page.get_by_role("heading", level=1).inner_text() == f"Overview {year}"
    assert page.locator("html").get_attribute("lang") == "en"
    page.get_by_role("link", name="Four-lists ledger").click()  # the choice is remembered
    assert page.get_by_role("heading", level=1).inner_text() == "Four-lists ledger"
    screenshot(page, "ledger-en")
    page.get_by_role("link", name="中文").click()
    assert page.get_by_role("heading", level=1).inner_text() == "四张清单台帐"
    page.get_by_role("button", name="退出登录").click()
    page.wait_for_url(server.url + "/signin")
    assert "您已退出登录" in page.locator("#flash").inner_text()


def test_move_a_project_one_stage_from_the_board(live_server, browser_page) -> None:  # noqa: ANN001
    page, server = browser_page, live_server
    token = server.token("department", ["ICT"], name="市经信局")
    with httpx.Client(base_url=server.url, timeout=10) as api:
        add_plan_and_problems(api, {"Authorization": f"Bearer {server.token('admin')}"}, year=_today().year,
                              today=_today().date())
    browser_sign_in(page, server, token)
    page.goto(server.url + "/chains/ICT")
    assert page.locator("svg.bar").count() == 4
    screenshot(page, "chain", docs=True)
    card = page.locator(".column.signed .card", has_text=SIGNED_ICT)
    pid = card.get_attribute("id").removeprefix("p-")
    page.evaluate("window.__sameDocument = true")  # htmx swaps the board in place: no page load
    # keyboard only: the date field, then Tab (past the field's day/month/year parts) to its button, Enter
    card.get_by_label("日期").fill(_today().date().isoformat())
    for _ in range(6):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == f"move-{pid}":
            break
    assert page.evaluate("document.activeElement.id") == f"move-{pid}"
    page.keyboard.press("Enter")
    moved = page.locator(".column.started .card", has_text=SIGNED_ICT)
    moved.wait_for()
    assert page.evaluate("window.__sameDocument") is True
    assert f"“{SIGNED_ICT}”已转入新开工" in page.locator("#flash").inner_text()
    assert page.locator(".column.signed .card", has_text=SIGNED_ICT).count() == 0
    assert _api(server, token, f"/projects/{pid}")["stage"] == "started"
    history = _api(server, token, f"/projects/{pid}/history")["items"]
    assert history[-1]["action"] == "project.transitioned" and history[-1]["actor"]["name"] == "市经信局"

    moved.get_by_role("link", name=SIGNED_ICT).click()
    page.wait_for_url(server.url + f"/projects/{pid}")
    timeline = page.locator("ol.timeline > li")
    assert timeline.count() == 2
    assert "阶段变更" in timeline.nth(1).inner_text() and "市经信局" in timeline.nth(1).inner_text()
    screenshot(page, "project", docs=True)
    assert page.console_errors == []


def test_a_failed_move_shows_its_reason_on_the_card(live_server, browser_page) -> None:  # noqa: ANN001
    page, server = browser_page, live_server
    browser_sign_in(page, server, server.token("admin"))
    page.goto(server.url + "/chains/ICT")
    card = page.locator(".column.signed .card", has_text=SIGNED_ICT)
    # a date before the signing date: the browser's own min= check is bypassed to reach the server's rule
    card.locator("input[type=date]").evaluate("e => { e.removeAttribute('min'); e.value = '2026-10-01'; }")
    card.get_by_role("button").click()
    page.locator("#board .errors").wait_for()
    assert "早于上一节点日期 2026-11-03" in page.locator("#board .errors").inner_text()
    # htmx swaps the board in with the old class attributes and applies the new ones when it settles (20 ms
    # later): wait for the marked card rather than count at once.
    failed = page.locator(".column.signed .card.has-error", has_text=SIGNED_ICT)
    failed.wait_for()
    assert failed.count() == 1
    screenshot(page, "chain-move-error")


def test_submit_the_monthly_dispatch(live_server, browser_page) -> None:  # noqa: ANN001
    page, server = browser_page, live_server
    token = server.token("department", ["ICT"], name="市经信局")
    browser_sign_in(page, server, token)
    month = _today().strftime("%Y-%m")
    page.goto(server.url + f"/chains/ICT/dispatches/{month}")
    assert page.locator("#dispatch-state").inner_text() == "未填报"
    page.get_by_label("本月工作综述").fill("本月光芯屏端网产业链项目推进总体顺利。")
    page.get_by_label(f"本月完成投资（万元） · {SIGNED_ICT}").fill("350")
    page.get_by_label(f"进展情况 · {SIGNED_ICT}").fill("完成土地摘牌，启动厂房设计。")
    page.get_by_label(f"存在问题（每行一条） · {SIGNED_ICT}").fill("用电报装进度偏慢")
    page.get_by_role("button", name="保存草稿").click()
    page.wait_for_url(server.url + f"/chains/ICT/dispatches/{month}")
    assert page.locator("#dispatch-state").inner_text() == "草稿"
    assert "草稿已保存" in page.locator("#flash").inner_text()
    screenshot(page, "dispatch-draft")
    page.get_by_role("button", name="保存并提交").click()
    page.wait_for_url(server.url + f"/chains/ICT/dispatches/{month}")
    assert page.locator("#dispatch-state").inner_text() == "已提交"
    assert page.get_by_label("更正原因").is_visible()  # a later change is an amendment
    screenshot(page, "dispatch")
    dispatch = _api(server, token, f"/chains/ICT/dispatches/{month}")
    assert dispatch["status"] == "submitted" and dispatch["summary"] == "本月光芯屏端网产业链项目推进总体顺利。"
    assert [(e["invested"], e["problems"]) for e in dispatch["entries"]] == [("350.00", ["用电报装进度偏慢"])]
    assert page.console_errors == []


def test_export_the_ledger(live_server, browser_page, tmp_path) -> None:  # noqa: ANN001
    page, server = browser_page, live_server
    token = server.token("viewer")
    browser_sign_in(page, server, token)
    page.goto(server.url + "/ledger?period=2026")
    screenshot(page, "ledger")
    expected = _api(server, token, "/ledger?period=2026&limit=1")["lists"]
    with page.expect_download() as info:
        page.get_by_role("link", name="导出 CSV").click()
    download = info.value
    assert download.suggested_filename == "ledger-2026.csv"
    raw = (tmp_path / "ledger.csv")
    download.save_as(raw)
    data = raw.read_bytes()
    assert data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0][:3] == ["清单", "项目编号", "外部编号"]
    counts = {label: sum(1 for r in rows[1:] if r[0] == label) for label in ("新签约", "新开工", "新投产", "新达产")}
    assert counts == {"新签约": expected["signed"]["count"], "新开工": expected["started"]["count"],
                      "新投产": expected["in_production"]["count"], "新达产": expected["at_capacity"]["count"]}
    with page.expect_download() as info:
        page.get_by_role("link", name="导出 Excel").click()
    book_path = tmp_path / "ledger.xlsx"
    info.value.save_as(book_path)
    book = load_workbook(book_path, read_only=True)
    assert book.sheetnames == ["新签约", "新开工", "新投产", "新达产"]
    assert sum(1 for _ in book["新签约"].iter_rows()) == expected["signed"]["count"] + 1
    # a viewer sees no write buttons anywhere
    page.goto(server.url + "/chains/ICT")
    assert page.locator("form[action$='/transition']").count() == 0
    assert page.console_errors == []


@pytest.mark.parametrize("path", ["/", "/chains/ICT", "/ledger", "/chains/ICT/dispatches/2026-10", "/schedule",
                                  "/appraisals/2025", "/projects", "/projects/new", "/problems", "/problems/new"])
def test_phone_width_has_no_sideways_scrolling(live_server, chromium, time_limit, path) -> None:  # noqa: ANN001
    context = chromium.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", is_mobile=True)
    page = context.new_page()
    page.set_default_timeout(BROWSER_ACTION_MS)
    try:
        browser_sign_in(page, live_server, live_server.token("department", ["ICT"]))
        page.goto(live_server.url + path)
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), path
        name = "phone-" + (path.strip("/").replace("/", "-") or "overview")
        screenshot(page, name)
    finally:
        context.close()


def test_keyboard_users_can_skip_to_the_content(live_server, browser_page) -> None:  # noqa: ANN001
    page = browser_page
    browser_sign_in(page, live_server, live_server.token("viewer"))
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "跳到主要内容"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


def test_a_department_registers_edits_and_follows_a_problem(live_server, browser_page) -> None:  # noqa: ANN001
    """A lead department's month from sign-in: register a project, correct it, raise a problem about it and
    see it through to resolved, record the month's actual of the plan and mark a task done — every effect checked
    through the API (and the audit trail)."""
    page, server = browser_page, live_server
    token = server.token("department", ["ICT"], name="市经信局")
    today = _today().date().isoformat()
    page.goto(server.url + "/projects/new?lang=en")  # an English link through sign-in stays English
    assert page.url.startswith(server.url + "/signin")
    assert page.locator("html").get_attribute("lang") == "en"
    page.get_by_label("Access token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(server.url + "/projects/new?lang=en")
    assert page.get_by_role("heading", level=1).inner_text() == "Register a project"
    page.get_by_role("link", name="中文").click()
    page.wait_for_url("**/projects/new?lang=zh")

    # register: a field error comes back beside the field, with what was typed kept
    page.get_by_label("项目名称").fill("光模块封装测试基地项目")
    page.get_by_role("combobox", name="区", exact=True).select_option(label="洪山区")
    page.get_by_label("投资方").fill("某光电科技有限公司")
    page.get_by_label("计划投资(万元)").fill("12.345")
    page.get_by_label("签约日期").fill(today)
    page.get_by_role("button", name="登记").click()
    assert page.locator("#f-planned_investment-error").inner_text() == "最多两位小数。"
    assert page.get_by_label("项目名称").input_value() == "光模块封装测试基地项目"
    page.get_by_label("计划投资(万元)").fill("25,000")
    page.get_by_label("重点项目").check()
    page.get_by_role("button", name="登记").click()
    page.wait_for_url(server.url + "/projects/*")
    pid = page.url.rsplit("/", 1)[1]
    assert "已登记项目“光模块封装测试基地项目”" in page.locator("#flash").inner_text()
    project = _api(server, token, f"/projects/{pid}")
    assert (project["chain"], project["district"], project["planned_investment"], project["is_key"]) == (
        "ICT", "HONGSHAN", "25000.00", True)
    screenshot(page, "project-registered")

    # edit it
    page.get_by_role("link", name="修改项目信息").click()
    page.wait_for_url(server.url + f"/projects/{pid}/edit")
    page.get_by_label("投资方").fill("某光电科技股份有限公司")
    page.get_by_role("button", name="保存修改").click()
    page.wait_for_url(server.url + f"/projects/{pid}")
    assert "投资方" in page.locator("#flash").inner_text()
    assert _api(server, token, f"/projects/{pid}")["investor"] == "某光电科技股份有限公司"
    history = _api(server, token, f"/projects/{pid}/history")["items"]
    assert [(h["action"], h["actor"]["name"]) for h in history] == [("project.created", "市经信局"),
                                                                    ("project.updated", "市经信局")]

    # raise a problem about it and move it to resolved
    page.get_by_role("link", name="就此项目提出问题").click()
    page.wait_for_url(server.url + f"/problems/new?chain=ICT&project_id={pid}")
    page.get_by_role("textbox", name="问题", exact=True).fill("用电增容审批慢")
    page.get_by_label("具体情况").fill("需新增一路10千伏供电。")
    page.get_by_label("责任单位").fill("国网武汉供电公司")
    page.get_by_label("办结时限").fill(today)
    page.get_by_role("button", name="提出", exact=True).click()
    page.wait_for_url(server.url + "/problems/*")
    problem = page.url.rsplit("/", 1)[1]
    assert page.locator("#problem-status").inner_text() == "待处理"
    for target, note in (("处理中", "已召开协调会"), ("已解决", "增容方案已批复")):
        page.get_by_label("转为").select_option(label=target)
        page.get_by_label("办理情况说明").fill(note)
        page.get_by_role("button", name="保存办理进度").click()
        page.wait_for_url(server.url + f"/problems/{problem}")
        assert page.locator("#problem-status").inner_text() == target
    screenshot(page, "problem")
    found = _api(server, token, f"/problems/{problem}")
    assert (found["status"], found["project_id"], found["resolved_on"]) == ("resolved", pid, today)
    page.goto(server.url + "/problems?show=all")
    assert page.get_by_role("link", name="用电增容审批慢").is_visible()

    # the annual plan: record this month's actual of a manual indicator, mark a task done
    year = _today().year
    with httpx.Client(base_url=server.url, timeout=10) as api:
        add_plan_and_problems(api, {"Authorization": f"Bearer {server.token('admin')}"}, year=year,
                              today=_today().date())
    page.goto(server.url + "/chains/ICT")
    page.get_by_role("link", name="打开计划页面").click()
    page.wait_for_url(server.url + f"/chains/ICT/plans/{year}")
    month = _today().strftime("%Y-%m")
    page.get_by_label("月份 · 新增发明专利").select_option(month)
    page.get_by_label("完成量（件） · 新增发明专利").fill("12")
    page.locator("#i-patents").get_by_role("button", name="记录").click()
    page.wait_for_url(f"**/chains/ICT/plans/{year}#i-patents")
    assert "已记录" in page.locator("#flash").inner_text()
    page.get_by_role("button", name="标记为已完成 · 建成光电子信息产业园二期").click()
    page.wait_for_url(f"**/chains/ICT/plans/{year}#t-park")
    assert page.locator("#task-status-park").inner_text().startswith("已完成")
    screenshot(page, "plan")
    actuals = _api(server, token, f"/chains/ICT/plans/{year}/indicators/patents/actuals")["items"]
    assert (month, "12.00") in [(a["period"], a["value"]) for a in actuals]
    plan = _api(server, token, f"/chains/ICT/plans/{year}")
    assert next(t for t in plan["tasks"] if t["key"] == "park")["status"] == "done"
    # the refused registration answered 422 (the browser logs that status); nothing else went wrong
    assert [e for e in page.console_errors if "status of 422" not in e] == []


def test_an_auditor_verifies_the_chain_and_follows_an_entity(live_server, browser_page) -> None:  # noqa: ANN001
    page = browser_page
    token = live_server.token("auditor")
    browser_sign_in(page, live_server, token)
    page.get_by_role("link", name="审计记录").click()
    page.get_by_role("link", name="立即校验").click()
    verified = _api(live_server, token, "/audit/verify")
    assert page.locator("#verify-result").inner_text().startswith("校验通过")
    assert verified["head"] in page.locator("#verify-result").inner_text()
    first = page.locator("#events tbody tr").first
    entity_id = first.locator("td").nth(4).locator("a").first.inner_text()
    first.locator("td").nth(4).locator("a").first.click()
    assert page.locator("#entity_id").input_value() == entity_id
    assert page.locator("#events tbody tr").count() >= 1
    screenshot(page, "audit")
    # at phone width the events table scrolls inside its panel, not the page
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert page.console_errors == []
