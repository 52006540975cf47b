"""The web frontend through TestClient (no browser): sign-in, sessions, CSRF, role-shaped pages, language,
every page for every role, and actions through the same use cases as the API (same rules, errors, audit)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from xml.etree import ElementTree
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from service.db.engine import transaction
from service.web import charts, i18n
from tests.web.conftest import add_plan_and_problems, csrf_of, project_id

ROLES = [("admin", None), ("department", ["ICT"]), ("integration", None), ("auditor", None), ("viewer", None)]
SIGNED_ICT = "软件和信息服务外包中心项目"  # ICT, signed 2026-11-03 in the demo
SIGNED_AUTO = "车规级芯片模组项目"  # AUTO, signed 2026-06-22
MOVE_FORM = re.compile(r'<form method="post" action="/projects/[0-9A-Z]+/transition"')
DISPATCH_FORM = re.compile(r'<form method="post" action="/chains/[A-Z]+/dispatches/')


def today() -> datetime:
    return datetime.now(ZoneInfo("Asia/Shanghai"))


def this_month() -> str:
    return today().strftime("%Y-%m")


def audit_events(sessions, entity_id: str) -> list[tuple[str, str, str | None]]:  # noqa: ANN001
    with transaction(sessions, write=False) as s:
        rows = s.execute(text("SELECT action, actor_name, request_id FROM audit_event WHERE entity_id = :e "
                              "ORDER BY seq"), {"e": entity_id}).all()
    return [tuple(r) for r in rows]


def event_count(sessions) -> int:  # noqa: ANN001
    with transaction(sessions, write=False) as s:
        return s.execute(text("SELECT count(*) FROM audit_event")).scalar_one()


def move(client, pid: str, to: str = "started", on: str | None = None, **extra) -> object:  # noqa: ANN001
    page = client.get(f"/projects/{pid}")
    data = {"csrf": csrf_of(page.text), "to": to, "on": on or today().date().isoformat(), "from": "board", **extra}
    return client.post(f"/projects/{pid}/transition", data=data)


# ---------------------------------------------------------------- sign-in and sessions


def test_pages_need_a_signed_in_session(client) -> None:  # noqa: ANN001
    for path in ("/", "/chains/ICT", "/ledger", "/ledger/export.csv", "/chains/ICT/dispatches/2026-01"):
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303, path
        assert r.headers["location"].startswith("/signin"), r.headers["location"]
    r = client.get("/ledger?period=2026", follow_redirects=False)
    assert r.headers["location"] == "/signin?next=%2Fledger%3Fperiod%3D2026"


def test_sign_in_failure_shows_the_error_and_starts_no_session(client, make_token) -> None:  # noqa: ANN001
    page = client.get("/signin")
    assert page.status_code == 200 and 'lang="zh-CN"' in page.text
    r = client.post("/signin", data={"csrf": csrf_of(page.text), "token": "not-a-token", "next": "/"},
                    follow_redirects=False)
    assert r.status_code == 401
    assert "令牌无效或已被吊销" in r.text and 'aria-invalid="true"' in r.text
    assert client.get("/", follow_redirects=False).status_code == 303
    # an empty token is refused the same way (the form requires it; the server checks anyway)
    r = client.post("/signin", data={"csrf": csrf_of(r.text), "token": "  "}, follow_redirects=False)
    assert r.status_code == 401


def test_sign_in_checks_the_token_as_the_api_does_and_revocation_ends_the_session(login, sessions) -> None:  # noqa: ANN001
    c = login("viewer")
    assert c.get("/").status_code == 200
    assert c.get("/api/v1/me", headers=c.api).json()["role"] == "viewer"
    with transaction(sessions, write=True) as s:
        s.execute(text("UPDATE api_token SET revoked_at = CURRENT_TIMESTAMP WHERE name = 'viewer-web'"))
    r = c.get("/")
    assert r.status_code == 303 and r.headers["location"].startswith("/signin")
    assert c.get("/api/v1/me", headers=c.api).status_code == 401


def test_next_after_sign_in_stays_on_this_site(app, client) -> None:  # noqa: ANN001
    from tests.web.conftest import create_token

    token = create_token(app, "viewer")
    for target, expected in (("/ledger?period=2026", "/ledger?period=2026"), ("//evil.example/x", "/"),
                             ("https://evil.example/", "/"), ("/\\evil.example", "/")):
        client.cookies.clear()
        page = client.get("/signin")
        r = client.post("/signin", data={"csrf": csrf_of(page.text), "token": token, "next": target},
                        follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == expected, target


def test_session_cookie_flags(login) -> None:  # noqa: ANN001
    from tests.web.conftest import create_token

    c = login("viewer")
    page = c.get("/?lang=en")  # any page that changes the session re-sets the cookie
    cookie = page.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "secure" not in cookie
    assert "test_" not in page.headers["set-cookie"]  # the token itself is never in the cookie
    https = login("viewer", base_url="https://testserver")
    r = https.get("/?lang=zh")
    assert r.status_code == 200
    assert "secure" in r.headers["set-cookie"].lower()
    assert create_token  # imported for symmetry with the other tests


def test_sign_out(login) -> None:  # noqa: ANN001
    c = login("viewer")
    page = c.get("/")
    r = c.post("/signout", data={"csrf": csrf_of(page.text)})
    assert r.status_code == 303 and r.headers["location"] == "/signin"
    assert "您已退出登录" in c.get("/signin").text
    assert c.get("/", follow_redirects=False).status_code == 303


def test_api_requests_never_touch_the_session(client, admin) -> None:  # noqa: ANN001
    r = client.get("/api/v1/me", headers=admin)
    assert "set-cookie" not in r.headers
    assert client.get("/healthz").headers.get("set-cookie") is None


# ---------------------------------------------------------------- CSRF


def test_posts_without_the_sessions_csrf_token_are_refused(login, sessions) -> None:  # noqa: ANN001
    c = login("admin")
    pid = project_id(c, SIGNED_ICT)
    before = event_count(sessions)
    form = {"to": "started", "on": today().date().isoformat(), "from": "board"}
    for data in (form, {**form, "csrf": ""}, {**form, "csrf": "forged"}):
        r = c.post(f"/projects/{pid}/transition", data=data)
        assert r.status_code == 403, r.text
        assert "表单已过期" in r.text
    r = c.post(f"/chains/ICT/dispatches/{this_month()}", data={"summary": "x", "action": "submit"})
    assert r.status_code == 403
    assert c.post("/signout", data={}).status_code == 403
    assert c.get("/").status_code == 200  # still signed in
    # htmx requests are told to reload the page instead
    r = c.post(f"/projects/{pid}/transition", data=form, headers={"HX-Request": "true"})
    assert r.status_code == 403 and r.headers["hx-refresh"] == "true"
    assert event_count(sessions) == before
    assert c.get(f"/api/v1/projects/{pid}", headers=c.api).json()["stage"] == "signed"


def test_sign_in_itself_needs_the_csrf_token(app, client) -> None:  # noqa: ANN001
    from tests.web.conftest import create_token

    token = create_token(app, "admin")
    client.get("/signin")
    r = client.post("/signin", data={"token": token}, follow_redirects=False)
    assert r.status_code == 403
    assert client.get("/", follow_redirects=False).status_code == 303


# ---------------------------------------------------------------- every page, every role


@pytest.mark.parametrize(("role", "chains"), ROLES, ids=[r for r, _ in ROLES])
def test_every_page_answers_200_for_each_role(login, role, chains) -> None:  # noqa: ANN001
    c = login(role, chains)
    pid = project_id(c, SIGNED_ICT)
    pages = ["/", "/?year=2025", "/chains/ICT", "/chains/AUTO?year=2025", "/ledger", "/ledger?period=2026-Q2&chain=ICT",
             "/ledger?period=2025-03&key=true&major=false", f"/projects/{pid}", f"/chains/ICT/dispatches/{this_month()}",
             "/chains/HEALTH/dispatches/2026-01", "/projects", "/projects?chain=ICT&stage=signed&q=%E9%A1%B9%E7%9B%AE",
             "/projects?key=true&major=true&district=DHGX&lang=en", "/problems", "/problems?show=overdue&chain=ICT",
             "/problems?show=all&status=closed&lang=en", "/signin?lang=en", "/?lang=zh"]
    for path in pages:
        r = c.get(path, follow_redirects=True)
        assert r.status_code == 200, (path, r.text[:500])
        assert r.headers["content-type"].startswith("text/html")
        assert "Traceback" not in r.text
    for path in ("/ledger/export.csv?period=2026", "/ledger/export.xlsx?period=2026-Q1&chain=AUTO"):
        assert c.get(path).status_code == 200, path


def test_unknown_things_are_html_errors_not_problem_json(login) -> None:  # noqa: ANN001
    c = login("viewer")
    r = c.get("/projects/01NOSUCHPROJECT0000000000")
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    assert "未找到项目" in r.text
    r = c.get("/chains/NOPE")
    assert r.status_code == 404 and "未找到产业链 NOPE" in r.text
    r = c.get("/chains/ICT/dispatches/2026-13")
    assert r.status_code == 422 and "没有 13 月，请使用 01–12。" in r.text
    r = c.get("/?year=abc")
    assert r.status_code == 422 and "text/html" in r.headers["content-type"]
    r = c.get("/ledger?period=2026-Q7")
    assert r.status_code == 422 and "没有第 7 季度，请使用 Q1–Q4。" in r.text
    r = c.get("/ledger?period=2026-x")
    assert r.status_code == 422 and "“2026-x”不是有效期间" in r.text


# ---------------------------------------------------------------- role-shaped pages


@pytest.mark.parametrize("role", ["viewer", "auditor", "integration"])
def test_read_only_roles_see_no_write_buttons(login, role) -> None:  # noqa: ANN001
    c = login(role)
    pid = project_id(c, SIGNED_ICT)
    for path in ("/chains/ICT", "/chains/AUTO"):
        page = c.get(path).text
        assert not MOVE_FORM.search(page), path
        assert "当前角色只能查看" in page
    assert not DISPATCH_FORM.search(c.get(f"/chains/ICT/dispatches/{this_month()}").text)
    project = c.get(f"/projects/{pid}").text
    assert "/transition" not in project and "/revert" not in project


def test_a_department_writes_only_on_its_own_chains(login) -> None:  # noqa: ANN001
    c = login("department", ["ICT"])
    assert MOVE_FORM.search(c.get("/chains/ICT").text)
    assert not MOVE_FORM.search(c.get("/chains/AUTO").text)
    assert DISPATCH_FORM.search(c.get(f"/chains/ICT/dispatches/{this_month()}").text)
    assert not DISPATCH_FORM.search(c.get(f"/chains/AUTO/dispatches/{this_month()}").text)
    assert "/transition" in c.get(f"/projects/{project_id(c, SIGNED_ICT)}").text
    assert "/transition" not in c.get(f"/projects/{project_id(c, SIGNED_AUTO)}").text
    overview = c.get("/").text
    assert overview.count('class="badge own"') == 1


def test_an_admin_writes_everywhere(login) -> None:  # noqa: ANN001
    c = login("admin")
    for code in ("ICT", "AUTO", "EQUIP", "MATERIAL", "HEALTH"):
        assert MOVE_FORM.search(c.get(f"/chains/{code}").text), code


# ---------------------------------------------------------------- language


def test_language_switch_is_remembered_in_the_session(login) -> None:  # noqa: ANN001
    c = login("viewer")
    zh = c.get("/")
    assert '<html lang="zh-CN">' in zh.text and "年度总览" in zh.text and 'href="/?lang=en"' in zh.text
    en = c.get("/?lang=en")
    assert '<html lang="en">' in en.text and "Overview" in en.text and "年度总览" not in en.text
    later = c.get("/ledger")
    assert "Four-lists ledger" in later.text and 'href="/ledger?lang=zh"' in later.text
    assert "Signed" in later.text and "新签约" not in later.text
    back = c.get("/chains/ICT?year=2026&lang=zh")
    assert '<html lang="zh-CN">' in back.text and "项目看板" in back.text
    assert "项目看板" in c.get("/chains/ICT").text


def test_the_catalogue_has_both_languages_and_every_key_the_templates_use() -> None:
    from service.web.frame import TEMPLATES

    for key, entry in i18n.MESSAGES.items():
        assert set(entry) == {"zh", "en"} and all(entry.values()), key
    used = set()
    for path in TEMPLATES.glob("*.html"):
        used |= set(re.findall(r"\bt\('([a-z_.]+)'\s*[,)]", path.read_text()))
    assert used, "templates use t('…')"
    assert sorted(used - set(i18n.MESSAGES)) == []
    # templates carry no Chinese text of their own: it all comes from the catalogue
    for path in TEMPLATES.glob("*.html"):
        for line in path.read_text().splitlines():
            assert not re.search(r"[\u4e00-\u9fff]", line.replace("万元", "")), (path.name, line)


# ---------------------------------------------------------------- actions through the use cases


def test_moving_a_project_goes_through_the_use_case_with_its_audit_event(login, sessions) -> None:  # noqa: ANN001
    c = login("department", ["ICT"])
    pid = project_id(c, SIGNED_ICT)
    version = c.get(f"/api/v1/projects/{pid}", headers=c.api).json()["version"]
    r = move(c, pid, version=str(version), year="2026")
    assert r.status_code == 303, r.text
    assert r.headers["location"] == f"/chains/ICT?year=2026#p-{pid}"
    project = c.get(f"/api/v1/projects/{pid}", headers=c.api).json()
    assert project["stage"] == "started" and project["milestones"]["started"] == today().date().isoformat()
    action, actor, request_id = audit_events(sessions, pid)[-1]
    assert (action, actor) == ("project.transitioned", "department-web")
    assert request_id and request_id == r.headers["x-request-id"]
    page = c.get(r.headers["location"])
    assert f"“{SIGNED_ICT}”已转入新开工" in page.text  # the flash, once
    assert "已转入新开工" not in c.get("/chains/ICT").text
    history = c.get(f"/projects/{pid}").text
    assert "阶段变更" in history and "department-web" in history


def test_move_errors_are_shown_inline_in_the_users_language(login, sessions) -> None:  # noqa: ANN001
    c = login("department", ["ICT"])
    pid = project_id(c, SIGNED_ICT)
    before = event_count(sessions)
    future = (today().date() + timedelta(days=3)).isoformat()
    r = move(c, pid, on=future)
    assert r.status_code == 422
    assert f"{future} 晚于今天" in r.text and 'aria-invalid="true"' in r.text and "项目看板" in r.text
    r = move(c, pid, on="2026-10-01")
    assert r.status_code == 422 and "早于上一节点日期 2026-11-03" in r.text
    r = move(c, pid, on="not-a-date")
    assert r.status_code == 422 and "请输入有效日期" in r.text
    r = move(c, pid, to="in_production")
    assert r.status_code == 409 and "当前阶段为新签约，不能转入新投产；可转入：新开工、终止" in r.text
    r = move(c, pid, version="999")
    assert r.status_code == 412 and "已被他人修改" in r.text
    r = move(c, pid, to="cancelled", **{"from": "project"})
    assert r.status_code == 422 and "终止项目须填写原因" in r.text and "变更记录" in r.text
    other = project_id(c, SIGNED_AUTO)
    r = move(c, other)
    assert r.status_code == 403 and "本令牌仅可操作产业链 ICT，不能操作产业链 AUTO" in r.text
    c.get("/?lang=en")
    r = move(c, pid, on=future)
    assert r.status_code == 422 and f"{future} is in the future" in r.text
    assert event_count(sessions) == before


def test_a_viewer_who_posts_anyway_is_refused_by_the_use_case(login, sessions) -> None:  # noqa: ANN001
    c = login("viewer")
    pid = project_id(c, SIGNED_ICT)
    before = event_count(sessions)
    r = move(c, pid)
    assert r.status_code == 403 and "只读角色无权执行此操作" in r.text
    assert event_count(sessions) == before


def test_cancel_and_revert_from_the_project_page(login, sessions) -> None:  # noqa: ANN001
    c = login("admin")
    pid = project_id(c, SIGNED_ICT)
    r = move(c, pid, to="cancelled", reason="投资方撤回", **{"from": "project"})
    assert r.status_code == 303 and r.headers["location"] == f"/projects/{pid}"
    assert "已终止" in c.get(f"/projects/{pid}").text
    page = c.get(f"/projects/{pid}")
    r = c.post(f"/projects/{pid}/revert", data={"csrf": csrf_of(page.text), "reason": ""})
    assert r.status_code == 422 and "必填" in r.text
    r = c.post(f"/projects/{pid}/revert", data={"csrf": csrf_of(page.text), "reason": "录入错误"})
    assert r.status_code == 303
    assert c.get(f"/api/v1/projects/{pid}", headers=c.api).json()["stage"] == "signed"
    assert [a for a, *_ in audit_events(sessions, pid)][-2:] == ["project.transitioned", "project.reverted"]


def test_the_chain_page_shows_plan_progress_schedule_and_open_problems(login) -> None:  # noqa: ANN001
    c = login("admin")
    year = today().year
    add_plan_and_problems(c, c.api, year=year, today=today().date())
    page = c.get(f"/chains/ICT?year={year}").text
    assert "已批准" in page and "第 1 版" in page
    assert page.count('<svg class="bar"') == 4
    assert "新增发明专利" in page and "86.00 / 120.00 件" in page and "与深圳相比" in page
    assert "项目用电报装审批周期长" in page and "高端人才公寓配套不足" in page
    assert page.count('<span class="badge overdue">已逾期</span>') == 1
    assert 'class="status-overdue">已逾期</td>' in page  # past months without a dispatch
    en = c.get(f"/chains/ICT?year={year}&lang=en").text
    assert "Approved" in en and "Open problems" in en and "Overdue" in en


def _dispatch_form(c, month: str, **fields) -> dict:  # noqa: ANN001
    page = c.get(f"/chains/ICT/dispatches/{month}")
    assert page.status_code == 200
    pids = re.findall(r'name="pid" value="([0-9A-Z]+)"', page.text)
    version = re.search(r'name="version" value="(\d*)"', page.text)[1]
    data = {"csrf": csrf_of(page.text), "pid": pids, "version": version}
    data.update(fields)
    return data


def test_dispatch_draft_submit_and_amend(login, sessions) -> None:  # noqa: ANN001
    c = login("department", ["ICT"])
    month = this_month()
    pid = project_id(c, SIGNED_ICT)
    r = c.post(f"/chains/ICT/dispatches/{month}", data=_dispatch_form(
        c, month, summary="本月推进顺利", action="save", **{f"invested-{pid}": "120.5", f"progress-{pid}": "完成土地摘牌",
                                                       f"problems-{pid}": "用电报装\n\n道路配套"}))
    assert r.status_code == 303, r.text
    page = c.get(r.headers["location"])
    assert "草稿已保存" in page.text and 'value="120.50"' in page.text and "用电报装\n道路配套" in page.text
    api = c.get(f"/api/v1/chains/ICT/dispatches/{month}", headers=c.api).json()
    assert api["status"] == "draft" and api["entries"][0]["problems"] == ["用电报装", "道路配套"]
    r = c.post(f"/chains/ICT/dispatches/{month}", data=_dispatch_form(
        c, month, summary="本月推进顺利", action="submit", **{f"invested-{pid}": "120.5", f"progress-{pid}": "完成土地摘牌"}))
    assert r.status_code == 303
    assert "已提交" in c.get(r.headers["location"]).text
    api = c.get(f"/api/v1/chains/ICT/dispatches/{month}", headers=c.api).json()
    assert api["status"] == "submitted" and api["entries"][0]["problems"] == []
    assert c.get(f"/api/v1/projects/{pid}", headers=c.api).json()["cumulative_investment"] == "120.50"
    # a change now is an amendment: its reason is required
    r = c.post(f"/chains/ICT/dispatches/{month}", data=_dispatch_form(
        c, month, summary="本月推进顺利", action="amend", **{f"invested-{pid}": "100", f"progress-{pid}": "完成土地摘牌"}))
    assert r.status_code == 422 and "修改须填写更正原因" in r.text and 'value="100"' in r.text
    r = c.post(f"/chains/ICT/dispatches/{month}", data=_dispatch_form(
        c, month, summary="本月推进顺利", action="amend", amend_reason="数据核减",
        **{f"invested-{pid}": "100", f"progress-{pid}": "完成土地摘牌"}))
    assert r.status_code == 303
    assert "更正已保存" in c.get(r.headers["location"]).text
    assert c.get(f"/api/v1/projects/{pid}", headers=c.api).json()["cumulative_investment"] == "100.00"
    actions = [a for a, *_ in audit_events(sessions, f"ICT/{month}")]
    assert actions == ["dispatch.created", "dispatch.updated", "dispatch.submitted", "dispatch.amended"]


def test_dispatch_errors_are_shown_on_their_rows(login, sessions) -> None:  # noqa: ANN001
    c = login("department", ["ICT"])
    month = this_month()
    pid = project_id(c, SIGNED_ICT)
    before = event_count(sessions)
    r = c.post(f"/chains/ICT/dispatches/{month}", data=_dispatch_form(
        c, month, summary="", action="save", **{f"invested-{pid}": "abc", f"progress-{pid}": "x"}))
    assert r.status_code == 422
    assert "本月工作综述：必填。" in r.text
    row = r.text[r.text.index(f'id="row-{pid}"'):]
    row = row[: row.index("</tr>")]
    assert "本月完成投资：请输入数字" in row and 'value="abc"' in row
    r = c.post(f"/chains/ICT/dispatches/{month}", data=_dispatch_form(
        c, month, summary="s", action="save", **{f"invested-{pid}": "1.234", f"progress-{pid}": ""}))
    assert r.status_code == 422 and "进展情况：必填。" in r.text and "最多两位小数" in r.text
    forged = _dispatch_form(c, month, summary="s", action="save", **{"invested-01NOSUCHPROJECT00000000000": "1",
                                                                      "progress-01NOSUCHPROJECT00000000000": "x"})
    forged["pid"] = [*forged["pid"], "01NOSUCHPROJECT00000000000"]
    r = c.post(f"/chains/ICT/dispatches/{month}", data=forged)
    assert r.status_code == 422 and "项目：项目 01NOSUCHPROJECT00000000000 不存在。" in r.text
    future = (today().replace(day=1) + timedelta(days=40)).strftime("%Y-%m")
    r = c.get(f"/chains/ICT/dispatches/{future}")
    assert r.status_code == 200 and DISPATCH_FORM.search(r.text) is None  # a month not begun: no form
    assert event_count(sessions) == before


# ---------------------------------------------------------------- ledger exports


def test_web_exports_are_the_api_exports(login) -> None:  # noqa: ANN001
    c = login("viewer")
    for fmt in ("csv", "xlsx"):
        web = c.get(f"/ledger/export.{fmt}?period=2026&chain=ICT")
        api = c.get(f"/api/v1/ledger?period=2026&chain=ICT&format={fmt}", headers=c.api)
        assert web.status_code == api.status_code == 200
        assert web.headers["content-type"] == api.headers["content-type"]
        assert web.headers["content-disposition"] == api.headers["content-disposition"]
        if fmt == "csv":
            assert web.content == api.content and web.content.startswith("\ufeff清单".encode())
        else:
            assert web.content[:2] == b"PK"
    page = c.get("/ledger?period=2026-Q2&chain=ICT&key=true")
    assert 'href="/ledger/export.csv?period=2026-Q2&amp;chain=ICT&amp;key=true"' in page.text


# ---------------------------------------------------------------- page furniture


def test_pages_carry_security_headers_and_no_cdn(login) -> None:  # noqa: ANN001
    c = login("viewer")
    r = c.get("/")
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["cache-control"] == "no-store" and r.headers["x-frame-options"] == "DENY"
    scripts = re.findall(r'<script src="([^"]+)"', r.text)
    assert scripts == [s for s in scripts if s.startswith("/static/htmx-2.0.11.min.js?v=")] and scripts
    assert "http://" not in r.text.replace("http://www.w3.org/2000/svg", "") and "https://" not in r.text
    assert c.get(scripts[0]).status_code == 200
    assert c.get("/static/app.css").headers["content-type"].startswith("text/css")


def test_web_routes_stay_out_of_the_openapi_schema(app) -> None:  # noqa: ANN001
    paths = app.openapi()["paths"]
    assert not [p for p in paths if not p.startswith("/api/") and p not in
                ("/healthz", "/readyz", "/metrics")]


def test_every_input_has_a_label(login) -> None:  # noqa: ANN001
    c = login("admin")
    pid = project_id(c, SIGNED_ICT)
    for path in ("/", "/chains/ICT", "/ledger", f"/projects/{pid}", f"/chains/ICT/dispatches/{this_month()}",
                 "/projects/new", f"/projects/{pid}/edit", "/projects", "/problems", "/problems/new"):
        html = c.get(path).text
        labels = set(re.findall(r'<label[^>]* for="([^"]+)"', html))
        for tag, attrs in re.findall(r"<(input|select|textarea)\b([^>]*)>", html):
            if 'type="hidden"' in attrs:
                continue
            ident = re.search(r'id="([^"]+)"', attrs)
            assert ident and ident[1] in labels, (path, tag, attrs)


def test_the_chart_is_well_formed_svg() -> None:
    svg = charts.grouped_bars(["1月", "2月"], [charts.Series("signed", "新签约", [3, 0]),
                                               charts.Series("started", "新开工", [1, 12])],
                              title="t <&>", desc="d")
    root = ElementTree.fromstring(str(svg))
    assert root.get("role") == "img"
    rects = [e for e in root.iter("{http://www.w3.org/2000/svg}rect")]
    assert len(rects) == 2 + 4  # legend + bars
    assert "style=" not in str(svg)  # CSP: no inline styles
    bar = ElementTree.fromstring(str(charts.progress_bar(1.4, 0.9, status="ahead", label="完成 140%")))
    assert bar.get("aria-label") == "完成 140%"


def test_an_english_link_through_sign_in_stays_english_and_is_remembered(app, client) -> None:  # noqa: ANN001
    from tests.web.conftest import create_token

    token = create_token(app, "department", ["ICT"])
    r = client.get("/chains/ICT?lang=en", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/signin?next=%2Fchains%2FICT%3Flang%3Den"
    page = client.get(r.headers["location"])
    assert '<html lang="en">' in page.text and "Access token" in page.text and "访问令牌" not in page.text
    r = client.post("/signin", data={"csrf": csrf_of(page.text), "token": token, "next": "/chains/ICT?lang=en"},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/chains/ICT?lang=en"
    assert '<html lang="en">' in client.get(r.headers["location"]).text
    for path in ("/", "/ledger", "/chains/AUTO"):  # remembered without ?lang=
        assert '<html lang="en">' in client.get(path).text, path
    # also when the page it came from was not a GET (the sign-in then goes back to /)
    client.cookies.clear()
    r = client.get("/ledger?lang=en", follow_redirects=False)
    page = client.get("/signin")
    assert '<html lang="en">' in page.text
    r = client.post("/signin", data={"csrf": csrf_of(page.text), "token": token}, follow_redirects=False)
    assert '<html lang="en">' in client.get(r.headers["location"]).text
