"""A lead department's whole month in real Chromium (marker ``browser``): sign in, register a project, edit it,
move it a stage, fill and submit the month's dispatch, raise a problem and see it resolved, draft and edit the
year's plan, record an actual and mark a task done — every effect asserted through the API, with its audit event.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.web.conftest import browser_sign_in, screenshot

SIGNED_ICT = "软件和信息服务外包中心项目"  # ICT, signed 2026-11-03 in the demo
JOURNEY_SECONDS = 150  # a whole month's journey is longer than one page's test (conftest: BROWSER_TEST_SECONDS)

pytestmark = [pytest.mark.browser, pytest.mark.time_limit(JOURNEY_SECONDS)]


def _today() -> datetime:
    return datetime.now(ZoneInfo("Asia/Shanghai"))


def _api(server, token: str, path: str, **params) -> dict:  # noqa: ANN001, ANN003
    r = httpx.get(server.url + "/api/v1" + path, params=params, headers={"Authorization": f"Bearer {token}"},
                  timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def _audit(server, entity: str, entity_id: str) -> list[tuple[str, str]]:  # noqa: ANN001
    events = _api(server, server.token("auditor"), "/audit/events", entity=entity, entity_id=entity_id)["items"]
    return [(e["action"], e["actor"]["name"]) for e in events]


def test_a_lead_departments_month(live_server, browser_page) -> None:  # noqa: ANN001
    page, server = browser_page, live_server
    who = "市经信局光电处"
    token = server.token("department", ["ICT"], name=who)
    today = _today().date()
    year, month = today.year, today.strftime("%Y-%m")
    browser_sign_in(page, server, token)

    # register a project
    page.goto(server.url + "/projects/new")
    page.get_by_label("项目名称").fill("光模块封装测试基地项目")
    page.get_by_role("combobox", name="区", exact=True).select_option(label="洪山区")
    page.get_by_label("投资方").fill("某光电科技有限公司")
    page.get_by_label("计划投资(万元)").fill("25,000")
    page.get_by_label("签约日期").fill(today.isoformat())
    page.get_by_role("button", name="登记").click()
    page.wait_for_url(server.url + "/projects/*")
    pid = page.url.rsplit("/", 1)[1]
    project = _api(server, token, f"/projects/{pid}")
    assert (project["chain"], project["stage"], project["planned_investment"]) == ("ICT", "signed", "25000.00")

    # edit it
    page.get_by_role("link", name="修改项目信息").click()
    page.wait_for_url(server.url + f"/projects/{pid}/edit")
    page.get_by_label("投资方").fill("某光电科技股份有限公司")
    page.get_by_role("button", name="保存修改").click()
    page.wait_for_url(server.url + f"/projects/{pid}")
    assert _api(server, token, f"/projects/{pid}")["investor"] == "某光电科技股份有限公司"

    # move it a stage on the chain's board
    page.goto(server.url + "/chains/ICT")
    card = page.locator(f"#p-{pid}")
    card.get_by_label("日期").fill(today.isoformat())
    card.get_by_role("button").click()
    page.locator(".column.started .card", has_text="光模块封装测试基地项目").wait_for()
    assert _api(server, token, f"/projects/{pid}")["stage"] == "started"
    assert _audit(server, "project", pid) == [("project.created", who), ("project.updated", who),
                                              ("project.transitioned", who)]

    # fill and submit the month's dispatch
    page.goto(server.url + f"/chains/ICT/dispatches/{month}")
    page.get_by_label("本月工作综述").fill("本月光芯屏端网产业链项目推进总体顺利。")
    page.get_by_label(f"本月完成投资（万元） · {SIGNED_ICT}").fill("350")
    page.get_by_label(f"进展情况 · {SIGNED_ICT}").fill("完成土地摘牌，启动厂房设计。")
    page.get_by_role("button", name="保存并提交").click()
    page.wait_for_url(server.url + f"/chains/ICT/dispatches/{month}")
    assert page.locator("#dispatch-state").inner_text() == "已提交"
    dispatch = _api(server, token, f"/chains/ICT/dispatches/{month}")
    assert dispatch["status"] == "submitted"
    assert [e["invested"] for e in dispatch["entries"] if e["invested"] == "350.00"] == ["350.00"]

    # raise a problem about the project and see it through to resolved
    page.goto(server.url + f"/projects/{pid}")
    page.get_by_role("link", name="就此项目提出问题").click()
    page.wait_for_url(server.url + f"/problems/new?chain=ICT&project_id={pid}")
    page.get_by_role("textbox", name="问题", exact=True).fill("用电增容审批慢")
    page.get_by_label("具体情况").fill("需新增一路10千伏供电。")
    page.get_by_label("责任单位").fill("国网武汉供电公司")
    page.get_by_label("办结时限").fill(today.isoformat())
    page.get_by_role("button", name="提出", exact=True).click()
    page.wait_for_url(server.url + "/problems/*")
    problem = page.url.rsplit("/", 1)[1]
    for target, note in (("处理中", "已召开协调会"), ("已解决", "增容方案已批复")):
        page.get_by_label("转为").select_option(label=target)
        page.get_by_label("办理情况说明").fill(note)
        page.get_by_role("button", name="保存办理进度").click()
        page.wait_for_url(server.url + f"/problems/{problem}")
        assert page.locator("#problem-status").inner_text() == target
    found = _api(server, token, f"/problems/{problem}")
    assert (found["status"], found["project_id"]) == ("resolved", pid)

    # the year's plan: no plan yet, so draft one, then edit the draft (a task row more)
    page.goto(server.url + f"/chains/ICT/plans/{year}")
    page.get_by_role("link", name=f"制订{year}年度计划草稿").click()
    page.wait_for_url(server.url + f"/chains/ICT/plans/{year}/edit")
    page.get_by_role("textbox", name="年度目标", exact=True).fill("打造具有全球影响力的光芯屏端网产业集群")
    task = page.locator("#task-row-0")
    task.get_by_label("编号").fill("park")
    task.get_by_role("textbox", name="任务", exact=True).fill("建成光电子信息产业园二期")
    task.get_by_label("责任单位").fill("市经信局")
    task.get_by_label("完成时限").fill(f"{year}-12-31")
    indicator = page.locator("#indicator-row-0")
    indicator.get_by_label("编号").fill("patents")
    indicator.get_by_label("指标名称").fill("新增发明专利")
    indicator.get_by_role("textbox", name="单位", exact=True).fill("件")
    indicator.get_by_label("年度目标值").fill("120")
    indicator.get_by_label("数据来源").select_option("manual")
    page.get_by_role("button", name="保存草稿").click()
    page.wait_for_url(server.url + f"/chains/ICT/plans/{year}")
    assert f"{year}年度计划草稿已创建" in page.locator("#flash").inner_text()
    page.get_by_role("link", name="编辑草稿").click()
    page.get_by_role("button", name="增加一行任务").click()
    page.locator("#task-row-2").wait_for()
    task = page.locator("#task-row-1")  # the blank row the editor offers
    task.get_by_label("编号").fill("fab")
    task.get_by_role("textbox", name="任务", exact=True).fill("推动12英寸晶圆项目满产")
    task.get_by_label("责任单位").fill("东湖新技术开发区")
    task.get_by_label("完成时限").fill(f"{year}-12-30")
    page.get_by_role("button", name="保存草稿").click()
    page.wait_for_url(server.url + f"/chains/ICT/plans/{year}")
    assert f"{year}年度计划草稿已保存" in page.locator("#flash").inner_text()
    plan = _api(server, token, f"/chains/ICT/plans/{year}")
    assert plan["status"] == "draft" and [t["key"] for t in plan["tasks"]] == ["park", "fab"]
    assert [(i["key"], i["target"], i["source"]) for i in plan["indicators"]] == [("patents", "120.00", "manual")]
    assert page.locator("#plan-approve").count() == 0  # approval is the city office's
    assert _audit(server, "plan", f"ICT/{year}") == [("plan.created", who), ("plan.updated", who)]

    # record this month's actual and mark a task done
    page.get_by_label("月份 · 新增发明专利").select_option(month)
    page.get_by_label("完成量（件） · 新增发明专利").fill("12")
    page.locator("#i-patents").get_by_role("button", name="记录").click()
    page.wait_for_url(f"**/chains/ICT/plans/{year}#i-patents")
    page.get_by_role("button", name="标记为已完成 · 建成光电子信息产业园二期").click()
    page.wait_for_url(f"**/chains/ICT/plans/{year}#t-park")
    assert page.locator("#task-status-park").inner_text().startswith("已完成")
    screenshot(page, "journey-department-plan")
    actuals = _api(server, token, f"/chains/ICT/plans/{year}/indicators/patents/actuals")["items"]
    assert [(a["period"], a["value"]) for a in actuals] == [(month, "12.00")]
    plan = _api(server, token, f"/chains/ICT/plans/{year}")
    assert next(t for t in plan["tasks"] if t["key"] == "park")["status"] == "done"
    assert _audit(server, "plan", f"ICT/{year}")[-1] == ("plan.task_updated", who)
    assert _audit(server, "plan_actual", f"ICT/{year}/patents/{month}") == [("plan_actual.created", who)]
    # the plan page of a year without a plan answers 404 (with the link to draft one): the browser logs that status
    assert [e for e in page.console_errors if "status of 404" not in e] == []
