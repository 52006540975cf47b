"""The city office's (admin's) round in real Chromium (marker ``browser``): approve a chain's draft plan, record
an inspection, set the appraisal's weights, run and publish it, load next year's calendar, create a token and
revoke it — every effect asserted through the API, with its audit event."""

from __future__ import annotations

import httpx
import pytest

from tests.web.conftest import browser_sign_in, screenshot
from tests.web.test_journey_department import JOURNEY_SECONDS, _api, _audit, _today

pytestmark = [pytest.mark.browser, pytest.mark.time_limit(JOURNEY_SECONDS)]

ICT = "光芯屏端网（新一代信息技术）"


def _draft(server, year: int) -> None:  # noqa: ANN001
    """The lead department's draft of the year's plan, through the API."""
    body = {"goals": "打造具有全球影响力的光芯屏端网产业集群",
            "tasks": [{"key": "park", "title": "建成光电子信息产业园二期", "owner_unit": "市经信局",
                       "due_on": f"{year}-12-31"}],
            "indicators": [{"key": "patents", "name": "新增发明专利", "unit": "件", "target": "120",
                            "source": "manual"}]}
    r = httpx.put(f"{server.url}/api/v1/chains/ICT/plans/{year}", json=body, timeout=10,
                  headers={"Authorization": f"Bearer {server.token('department', ['ICT'])}"})
    assert r.status_code == 201, r.text


def test_the_city_offices_round(live_server, browser_page) -> None:  # noqa: ANN001
    page, server = browser_page, live_server
    who = "市工作专班办公室"
    token = server.token("admin", name=who)
    today = _today().date()
    year = today.year
    _draft(server, year)
    browser_sign_in(page, server, token)

    # approve the chain's draft plan
    page.goto(server.url + f"/chains/ICT/plans/{year}")
    assert "草稿" in page.locator(".badge").first.inner_text()
    page.get_by_role("button", name="批准计划").click()
    page.wait_for_url(server.url + f"/chains/ICT/plans/{year}")
    assert f"{year}年度计划已批准（第 1 版）" in page.locator("#flash").inner_text()
    assert page.locator("#plan-approve").count() == 0
    plan = _api(server, token, f"/chains/ICT/plans/{year}")
    assert plan["status"] == "approved" and plan["approved_at"]
    assert _audit(server, "plan", f"ICT/{year}")[-1] == ("plan.approved", who)

    # record this quarter's inspection
    quarter = f"{year}-Q{(today.month - 1) // 3 + 1}"
    page.goto(server.url + f"/chains/ICT/inspections/{quarter}")
    page.get_by_label("观摩日期").fill(today.isoformat())
    page.get_by_label("得分").fill("88.5")
    page.get_by_label("观摩意见").fill("项目推进有力，配套仍需加强。")
    page.get_by_role("button", name="保存").click()
    page.wait_for_url(server.url + f"/chains/ICT/inspections/{quarter}")
    inspection = _api(server, token, f"/chains/ICT/inspections/{quarter}")
    assert (inspection["held_on"], inspection["score"]) == (today.isoformat(), 88.5)
    assert _audit(server, "inspection", f"ICT/{quarter}") == [("inspection.created", who)]

    # the last year's appraisal: run it, set its weights, publish it
    last = year - 1
    page.goto(server.url + f"/appraisals/{last}")
    page.get_by_role("button", name="计算排名").click()
    page.wait_for_url(server.url + f"/appraisals/{last}")
    ran = _api(server, token, f"/appraisals/{last}")
    for label, weight in (("指标完成", "0.3"), ("任务完成", "0.2"), ("月调度", "0.2"), ("问题解决", "0.2"),
                          ("季观摩", "0.1")):
        page.get_by_label(label, exact=True).fill(weight)
    page.get_by_role("button", name="保存权重").click()
    page.wait_for_url(server.url + f"/appraisals/{last}")
    weighted = _api(server, token, f"/appraisals/{last}")
    assert weighted["weights"] == {"indicators": 0.3, "tasks": 0.2, "dispatch": 0.2, "problems": 0.2,
                                   "inspection": 0.1}
    assert weighted["version"] == ran["version"] + 1
    page.get_by_role("button", name="发布").click()
    page.wait_for_url(server.url + f"/appraisals/{last}")
    assert _api(server, token, f"/appraisals/{last}")["status"] == "published"
    assert page.locator("#run").count() == 0  # published: frozen
    assert _audit(server, "appraisal", str(last)) == [("appraisal.run", who), ("appraisal.weights_set", who),
                                                      ("appraisal.published", who)]
    screenshot(page, "journey-admin-appraisal")

    # next year's official calendar
    following = year + 1
    page.goto(server.url + f"/calendar/{following}")
    page.get_by_label("放假日期").fill(f"{following}-01-01\n{following}-05-01")
    page.get_by_label("调休上班日期").fill(f"{following}-04-25")
    page.get_by_role("button", name="保存").click()
    page.wait_for_url(server.url + f"/calendar/{following}")
    calendar = _api(server, token, f"/calendar/{following}")
    assert calendar["source"] == "override"
    assert calendar["holidays"] == [f"{following}-01-01", f"{following}-05-01"]
    assert calendar["workdays"] == [f"{following}-04-25"]
    assert _audit(server, "calendar", str(following)) == [("calendar.created", who)]

    # a token for a new colleague, then revoked
    page.goto(server.url + "/tokens")
    page.get_by_label("持有人").fill("光电处张三")
    page.get_by_label("角色").select_option(label="牵头部门")
    page.get_by_label(ICT).check()
    page.get_by_role("button", name="创建").click()
    secret = page.locator("#secret").inner_text()
    me = httpx.get(server.url + "/api/v1/me", headers={"Authorization": f"Bearer {secret}"}, timeout=10)
    assert me.status_code == 200 and (me.json()["role"], me.json()["chains"]) == ("department", ["ICT"])
    page.goto(server.url + "/tokens")
    page.get_by_role("button", name="吊销 光电处张三").click()
    page.wait_for_url(server.url + "/tokens")
    me = httpx.get(server.url + "/api/v1/me", headers={"Authorization": f"Bearer {secret}"}, timeout=10)
    assert me.status_code == 401
    [made] = [k for k in _api(server, token, "/tokens", limit=500)["items"] if k["name"] == "光电处张三"]
    assert _audit(server, "token", str(made["id"])) == [("token.created", who), ("token.revoked", who)]
    assert page.console_errors == []
