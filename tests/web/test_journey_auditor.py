"""The auditor's journey in real Chromium (marker ``browser``): sign in, filter the audit events down to one
project's history, verify the chain, export it, and find that every write answers 403 and changes nothing —
each step checked against /api/v1 with the auditor's own token."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.web.conftest import screenshot
from tests.web.pages_list import sign_in

pytestmark = pytest.mark.browser

SIGNED_ICT = "软件和信息服务外包中心项目"  # ICT, signed 2026-11-03 in the demo


def _get(server, token: str, path: str, **params) -> httpx.Response:  # noqa: ANN001
    r = httpx.get(server.url + "/api/v1" + path, params=params, headers={"Authorization": f"Bearer {token}"},
                  timeout=10)
    assert r.status_code == 200, r.text
    return r


def test_the_auditor_filters_verifies_exports_and_cannot_write(live_server, browser_page, tmp_path) -> None:  # noqa: ANN001
    page, server = browser_page, live_server
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    department = server.token("department", ["ICT"], name="市经信局")
    auditor = server.token("auditor", name="市审计局")
    # something to audit: the department moves a project to 新开工 (through the API)
    (pid,) = [p["id"] for p in _get(server, department, "/projects", q=SIGNED_ICT, limit=5).json()["items"]
              if p["name"] == SIGNED_ICT]
    r = httpx.post(f"{server.url}/api/v1/projects/{pid}/transitions", json={"to": "started", "on": today.isoformat()},
                   headers={"Authorization": f"Bearer {department}"}, timeout=10)
    assert r.status_code == 200, r.text

    sign_in(page, server, auditor)
    assert page.locator(".who").inner_text() == "市审计局（审计）"
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="审计").click()
    page.wait_for_url(server.url + "/audit")
    assert page.get_by_role("heading", level=1).is_visible()
    assert page.get_by_role("link", name="令牌管理").count() == 0  # the admin's pages are not offered

    # filter: the project's history, then only its transitions
    page.get_by_label("对象类型").fill("project")
    page.get_by_label("对象编号").fill(str(pid))
    page.get_by_role("button", name="筛选").click()
    page.wait_for_url(f"**/audit?entity=project&entity_id={pid}*")
    api = _get(server, auditor, "/audit/events", entity="project", entity_id=pid).json()["items"]
    rows = page.locator("#events tbody tr")
    assert rows.count() == len(api) == 2  # created by the seed, then moved
    assert [int(rows.nth(i).locator("td").first.inner_text()) for i in range(rows.count())] == [e["seq"] for e in api]
    assert "市经信局" in rows.nth(1).inner_text() and "project.transitioned" in rows.nth(1).inner_text()
    page.get_by_label("操作").fill("project.transitioned")
    page.get_by_role("button", name="筛选").click()
    page.wait_for_url("**action=project.transitioned*")
    moved = _get(server, auditor, "/audit/events", entity="project", entity_id=pid,
                 action="project.transitioned").json()["items"]
    assert len(moved) == 1 and page.locator("#events tbody tr").count() == 1
    assert page.locator("#events tbody tr td").first.inner_text() == str(moved[0]["seq"])
    assert page.get_by_label("操作").input_value() == "project.transitioned"  # the filter keeps what was asked
    screenshot(page, "journey-auditor-filtered")

    # verify the chain: the page says what the API says
    page.get_by_role("link", name="立即校验").click()
    page.wait_for_url("**verify=1*")
    verified = _get(server, auditor, "/audit/verify").json()
    result = page.locator("#verify-result").inner_text()
    assert verified["ok"] is True
    assert result.startswith("校验通过") and verified["head"] in result and f"{verified['events']} 条" in result

    # export: the downloaded file is the API's export
    for link, fmt in (("CSV", "csv"), ("NDJSON", "ndjson")):
        with page.expect_download() as info:
            page.get_by_role("link", name=link, exact=True).click()
        saved = tmp_path / f"audit.{fmt}"
        info.value.save_as(saved)
        assert saved.read_bytes() == _get(server, auditor, "/audit/export", format=fmt).content
    assert str(moved[0]["seq"]) in (tmp_path / "audit.csv").read_text(encoding="utf-8-sig")

    # writing: the forms are refused (403 pages in the auditor's language), and nothing changes
    before = _get(server, auditor, "/audit/verify").json()["events"]
    response = page.goto(server.url + "/projects/new")
    assert response.status == 403
    assert "无权" in page.locator("main").inner_text()
    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    project = _get(server, auditor, f"/projects/{pid}").json()
    posts = {  # complete, valid forms: refused for the role, not for what they say
        "/projects/new": {"name": "审计员不能登记的项目", "chain": "ICT", "district": project["district"],
                          "investor": "某某科技", "planned_investment": "100", "external_ref": "",
                          "milestones.signed": today.isoformat(), "stage": "signed"},
        f"/projects/{pid}/edit": {"name": "审计员改的名字", "chain": "ICT", "district": project["district"],
                                  "investor": project["investor"], "planned_investment": project["planned_investment"],
                                  "external_ref": "", "version": str(project["version"])},
        f"/projects/{pid}/transition": {"to": "in_production", "on": today.isoformat()},
        "/problems/new": {"chain": "ICT", "title": "审计员不能提的问题", "detail": "说明", "owner_unit": "市经信局",
                          "due_on": today.isoformat()},
    }
    for path, data in posts.items():
        r = page.request.post(server.url + path, form={"csrf": csrf, **data}, max_redirects=0)
        assert r.status == 403, (path, r.status)
        assert r.headers["content-type"].startswith("text/html"), path
    after = _get(server, auditor, f"/projects/{pid}").json()
    assert (after["stage"], after["name"], after["version"]) == ("started", SIGNED_ICT, project["version"])
    assert not [p for p in _get(server, auditor, "/projects", q="审计员", limit=5).json()["items"]]
    assert _get(server, auditor, "/audit/verify").json()["events"] == before  # no audit event was written
    screenshot(page, "journey-auditor-403")
    assert [e for e in page.console_errors if "403" not in e] == []
