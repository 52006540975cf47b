"""The annual plan's draft editor, its approval and the revisions' difference (/chains/{code}/plans/{year}/edit,
…/approve, …/revisions): written through put_plan and approve_plan as the API's PUT and POST …/approve are,
effects (and audit events) asserted through the API."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from service.db.engine import transaction
from tests.web.conftest import BROWSER_ACTION_MS, add_plan_and_problems, csrf_of


def _year() -> int:
    return datetime.now(ZoneInfo("Asia/Shanghai")).year


def _events(sessions, entity_id: str) -> list[tuple[str, str]]:  # noqa: ANN001
    with transaction(sessions, write=False) as s:
        return [tuple(r) for r in s.execute(
            text("SELECT action, actor_name FROM audit_event WHERE entity = 'plan' AND entity_id = :e ORDER BY seq"),
            {"e": entity_id}).all()]


def _count(sessions) -> int:  # noqa: ANN001
    with transaction(sessions, write=False) as s:
        return s.execute(text("SELECT count(*) FROM audit_event")).scalar_one()


def _form(html: str) -> dict[str, str]:
    """The editor's form as the browser would post it (inputs, textareas, selected options; no buttons)."""
    form = html[html.index('id="plan-form"'):]
    form = form[: form.index("</form>")]
    data = {"csrf": csrf_of(form)}
    for attrs in re.findall(r"<input\b([^>]*)>", form):
        name = re.search(r'name="([^"]+)"', attrs)
        value = re.search(r'value="([^"]*)"', attrs)
        if not name or ('type="checkbox"' in attrs and "checked" not in attrs):
            continue
        data[name[1]] = value[1] if value else ""
    for name, body in re.findall(r'<textarea[^>]* name="([^"]+)"[^>]*>(.*?)</textarea>', form, re.S):
        data[name] = body
    for name, options in re.findall(r'<select[^>]* name="([^"]+)"[^>]*>(.*?)</select>', form, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected>', options)
        data[name] = chosen[1] if chosen else ""
    return {k: v.replace("&amp;", "&").replace("&#34;", '"').replace("&#39;", "'") for k, v in data.items()}


def _field_error(html: str, name: str) -> str:
    fid = "f-" + name.replace(".", "-")
    match = re.search(rf'<p class="field-error" id="{re.escape(fid)}-error">([^<]*)</p>', html)
    return match[1] if match else ""


def _draft(year: int) -> dict[str, str]:
    return {
        "goals": "建设国家存储器基地", "benchmark_city": "",
        "tasks.count": "2",
        "tasks.0.key": "fab", "tasks.0.title": "晶圆二期开工", "tasks.0.owner_unit": "东湖高新区",
        "tasks.0.due_on": f"{year}-06-30",
        "tasks.1.key": "", "tasks.1.title": "", "tasks.1.owner_unit": "", "tasks.1.due_on": "",
        "indicators.count": "2",
        "indicators.0.key": "patents", "indicators.0.name": "发明专利", "indicators.0.unit": "件",
        "indicators.0.target": "1,200", "indicators.0.source": "manual",
        "indicators.0.benchmark.city": "深圳", "indicators.0.benchmark.value": "1500",
        "indicators.1.key": "signed", "indicators.1.name": "新签约项目", "indicators.1.unit": "个",
        "indicators.1.target": "8", "indicators.1.source": "ledger.signed.count",
        "indicators.1.benchmark.city": "", "indicators.1.benchmark.value": "",
    }


def test_a_department_drafts_the_plan_of_a_year_that_has_none(login, sessions) -> None:  # noqa: ANN001
    year = _year() + 1
    c = login("department", ["ICT"])
    page = c.get(f"/chains/ICT/plans/{year}")
    assert page.status_code == 404 and f'href="/chains/ICT/plans/{year}/edit"' in page.text
    assert f'/plans/{year}/edit"' not in login("viewer").get(f"/chains/ICT/plans/{year}").text
    editor = c.get(f"/chains/ICT/plans/{year}/edit")
    assert editor.status_code == 200 and f"制订{year}年度计划草稿" in editor.text
    r = c.post(f"/chains/ICT/plans/{year}/edit", data={"csrf": csrf_of(editor.text), "version": "", **_draft(year)})
    assert r.status_code == 303, r.text[:3000]
    assert f"{year}年度计划草稿已创建" in c.get(r.headers["location"]).text
    plan = c.get(f"/api/v1/chains/ICT/plans/{year}", headers=c.api).json()
    assert plan["status"] == "draft" and plan["revision"] == 1 and plan["goals"] == "建设国家存储器基地"
    assert [(t["key"], t["due_on"], t["status"]) for t in plan["tasks"]] == [("fab", f"{year}-06-30", "open")]
    assert [(i["key"], i["target"], i["source"], i["benchmark"]) for i in plan["indicators"]] == [
        ("patents", "1200.00", "manual", {"city": "深圳", "value": "1500.00"}),
        ("signed", "8.00", "ledger.signed.count", None)]
    assert _events(sessions, f"ICT/{year}") == [("plan.created", "department-web")]


def test_field_errors_beside_the_field_in_the_users_language_with_what_was_typed(login, sessions) -> None:  # noqa
    year = _year() + 1
    c = login("department", ["ICT"])
    editor = c.get(f"/chains/ICT/plans/{year}/edit")
    before = _count(sessions)
    bad = {**_draft(year), "goals": "", "tasks.0.due_on": f"{year + 1}-01-15", "tasks.1.key": "fab",
           "tasks.1.title": "重复编号", "indicators.0.target": "1.234", "indicators.1.key": "bad key",
           "indicators.1.benchmark.city": "苏州"}
    r = c.post(f"/chains/ICT/plans/{year}/edit", data={"csrf": csrf_of(editor.text), "version": "", **bad})
    assert r.status_code == 422
    assert _field_error(r.text, "goals") == "必填。"
    assert _field_error(r.text, "tasks.1.owner_unit") == "必填。"
    assert _field_error(r.text, "indicators.0.target") == "最多两位小数。"
    assert _field_error(r.text, "indicators.1.key")
    assert _field_error(r.text, "indicators.1.benchmark.value") == "填写了对标城市，请同时填写对标值。"
    assert 'value="1.234"' in r.text and 'value="bad key"' in r.text and "重复编号" in r.text
    # the domain's rules (duplicate keys, due within the year) once the schema is satisfied, in English
    fixed = {**bad, "goals": "G", "tasks.1.owner_unit": "市经信局", "tasks.1.due_on": f"{year}-03-01",
             "indicators.0.target": "1", "indicators.1.key": "k", "indicators.1.benchmark.city": ""}
    r = c.post(f"/chains/ICT/plans/{year}/edit?lang=en", data={"csrf": csrf_of(editor.text), "version": "", **fixed})
    assert r.status_code == 422, r.text[:2000]
    assert _field_error(r.text, "tasks.1.key") == "The key “fab” is used twice."
    assert _field_error(r.text, "tasks.0.due_on") == f"A task of the {year} plan is due within {year}."
    assert f'value="{year + 1}-01-15"' in r.text
    assert _count(sessions) == before
    assert c.get(f"/api/v1/chains/ICT/plans/{year}", headers=c.api).status_code == 404


def test_rows_are_added_without_javascript_and_nothing_is_saved(login, sessions) -> None:  # noqa: ANN001
    year = _year() + 1
    c = login("department", ["ICT"])
    editor = c.get(f"/chains/ICT/plans/{year}/edit")
    form = _form(editor.text)
    assert form["tasks.count"] == "1" and form["indicators.count"] == "1"
    r = c.post(f"/chains/ICT/plans/{year}/edit", data={**form, "goals": "typed", "action": "add_task"})
    assert r.status_code == 200
    again = _form(r.text)
    assert again["tasks.count"] == "2" and again["goals"] == "typed" and 'id="task-row-1"' in r.text
    assert c.get(f"/api/v1/chains/ICT/plans/{year}", headers=c.api).status_code == 404


@pytest.fixture
def planned(login):  # noqa: ANN001, ANN201
    admin = login("admin")
    add_plan_and_problems(admin, admin.api, year=_year(), today=datetime.now(ZoneInfo("Asia/Shanghai")).date())
    return _year()


def test_edit_a_draft_and_a_stale_edit_says_who_saved_and_shows_their_version(login, sessions) -> None:  # noqa: ANN001
    year = _year() + 1
    c = login("department", ["ICT"])
    editor = c.get(f"/chains/ICT/plans/{year}/edit")
    assert c.post(f"/chains/ICT/plans/{year}/edit",
                  data={"csrf": csrf_of(editor.text), "version": "", **_draft(year)}).status_code == 303
    mine = _form(c.get(f"/chains/ICT/plans/{year}/edit").text)
    assert mine["tasks.0.key"] == "fab" and mine["indicators.0.target"] == "1200.00" and mine["version"] == "1"
    # someone else saves first, through the API
    other = login("admin")
    plan = other.get(f"/api/v1/chains/ICT/plans/{year}", headers=other.api).json()
    body = {"goals": "对方的目标", "tasks": [{k: t[k] for k in ("key", "title", "owner_unit", "due_on")}
                                           for t in plan["tasks"]],
            "indicators": [{"key": "signed", "name": "新签约项目", "unit": "个", "target": "9",
                            "source": "ledger.signed.count"}]}
    assert other.put(f"/api/v1/chains/ICT/plans/{year}", json=body,
                     headers={**other.api, "If-Match": '"1"'}).status_code == 200
    before = _count(sessions)
    r = c.post(f"/chains/ICT/plans/{year}/edit", data={**mine, "goals": "我的目标", "tasks.0.remove": "true"})
    assert r.status_code == 412
    stale = r.text[r.text.index('id="stale"'):]
    assert "admin-web" in stale and "已于" in stale and "对方的目标" in stale and "我的目标" in stale
    again = _form(r.text)
    assert again["goals"] == "我的目标" and again["tasks.0.remove"] == "true" and again["version"] == "2"
    assert _count(sessions) == before
    r = c.post(f"/chains/ICT/plans/{year}/edit", data=again)
    assert r.status_code == 303, r.text[:2000]
    plan = c.get(f"/api/v1/chains/ICT/plans/{year}", headers=c.api).json()
    assert plan["goals"] == "我的目标" and plan["tasks"] == [] and plan["version"] == 3
    assert [a for a, _ in _events(sessions, f"ICT/{year}")] == ["plan.created", "plan.updated", "plan.updated"]


def test_approval_is_the_admins_and_a_revision_needs_its_reason(login, sessions) -> None:  # noqa: ANN001
    year = _year() + 1
    dep = login("department", ["ICT"])
    editor = dep.get(f"/chains/ICT/plans/{year}/edit")
    dep.post(f"/chains/ICT/plans/{year}/edit", data={"csrf": csrf_of(editor.text), "version": "", **_draft(year)})
    page = dep.get(f"/chains/ICT/plans/{year}")
    assert "草稿待市工作专班办公室批准" in page.text and "/approve" not in page.text
    before = _count(sessions)
    r = dep.post(f"/chains/ICT/plans/{year}/approve", data={"csrf": csrf_of(page.text), "version": "1"})
    assert r.status_code == 403
    assert login("viewer").get(f"/chains/ICT/plans/{year}/edit").status_code == 403
    assert login("department", ["AUTO"]).get(f"/chains/ICT/plans/{year}/edit").status_code == 403
    assert _count(sessions) == before
    admin = login("admin")
    page = admin.get(f"/chains/ICT/plans/{year}")
    assert 'id="plan-approve"' in page.text
    r = admin.post(f"/chains/ICT/plans/{year}/approve", data={"csrf": csrf_of(page.text), "version": "1"})
    assert r.status_code == 303
    assert f"{year}年度计划已批准（第 1 版）" in admin.get(r.headers["location"]).text
    plan = dep.get(f"/api/v1/chains/ICT/plans/{year}", headers=dep.api).json()
    assert plan["status"] == "approved" and plan["approved_at"]
    assert _events(sessions, f"ICT/{year}")[-1] == ("plan.approved", "admin-web")
    # a change now makes revision 2 and needs a reason
    form = _form(dep.get(f"/chains/ICT/plans/{year}/edit").text)
    assert "revision_reason" in form
    changed = {**form, "indicators.0.target": "1300", "tasks.1.key": "park", "tasks.1.title": "产业园二期",
               "tasks.1.owner_unit": "市经信局", "tasks.1.due_on": f"{year}-12-31"}
    r = dep.post(f"/chains/ICT/plans/{year}/edit", data=changed)
    assert r.status_code == 422
    assert _field_error(r.text, "revision_reason") == "计划已批准：修改将生成新版本，须填写修订原因。"
    assert 'value="1300"' in r.text
    r = dep.post(f"/chains/ICT/plans/{year}/edit", data={**changed, "revision_reason": "市政府调高专利目标"})
    assert r.status_code == 303, r.text[:2000]
    plan = dep.get(f"/api/v1/chains/ICT/plans/{year}", headers=dep.api).json()
    assert plan["revision"] == 2 and plan["revision_reason"] == "市政府调高专利目标"
    assert [t["key"] for t in plan["tasks"]] == ["fab", "park"]
    assert _events(sessions, f"ICT/{year}")[-1] == ("plan.revised", "department-web")
    # the difference between revisions 1 and 2, with the reason
    diff = dep.get(f"/chains/ICT/plans/{year}/revisions?a=1&b=2")
    assert diff.status_code == 200 and "市政府调高专利目标" in diff.text
    body = diff.text[diff.text.index('id="diff"'):]
    assert "新增：产业园二期" in body and "修改：发明专利" in body and "1,200.00" in body and "1,300.00" in body
    en = dep.get(f"/chains/ICT/plans/{year}/revisions?a=2&b=1&lang=en").text
    assert "Removed: 产业园二期" in en and "Changes from revision 2 to 1" in en
    assert "same content" in dep.get(f"/chains/ICT/plans/{year}/revisions?a=2&b=2&lang=en").text


def test_the_plan_page_links_the_editor_for_its_writers_only(login, planned) -> None:  # noqa: ANN001
    assert f'/plans/{planned}/edit"' in login("department", ["ICT"]).get(f"/chains/ICT/plans/{planned}").text
    assert f'/plans/{planned}/edit"' not in login("viewer").get(f"/chains/ICT/plans/{planned}").text
    assert "/approve" not in login("admin").get(f"/chains/ICT/plans/{planned}").text  # already approved
    one = login("viewer").get(f"/chains/ICT/plans/{planned}/revisions")
    assert one.status_code == 200 and "计划只有一个版本" in one.text


def test_every_control_of_the_editor_has_a_label(login, planned) -> None:  # noqa: ANN001
    html = login("department", ["ICT"]).get(f"/chains/ICT/plans/{planned}/edit").text
    labels = set(re.findall(r'<label[^>]* for="([^"]+)"', html))
    controls = [a for _, a in re.findall(r"<(input|select|textarea)\b([^>]*)>", html) if 'type="hidden"' not in a]
    assert len(controls) > 20
    for attrs in controls:
        ident = re.search(r'id="([^"]+)"', attrs)
        assert ident and ident[1] in labels, attrs


@pytest.mark.browser
def test_the_editor_in_chromium_at_phone_width_saves_on_enter(live_server, chromium, time_limit) -> None:  # noqa: ANN001
    """At 390 px nothing scrolls sideways; Enter in a field saves (the form's default button), not "add a row"."""
    import httpx

    from tests.web.conftest import browser_sign_in, screenshot

    year = _year()
    admin = {"Authorization": f"Bearer {live_server.token('admin')}"}
    with httpx.Client(base_url=live_server.url, timeout=10) as api:
        add_plan_and_problems(api, admin, year=year, today=datetime.now(ZoneInfo("Asia/Shanghai")).date())
    context = chromium.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", is_mobile=True)
    page = context.new_page()
    page.set_default_timeout(BROWSER_ACTION_MS)
    try:
        browser_sign_in(page, live_server, live_server.token("department", ["ICT"]))
        for path in (f"/chains/ICT/plans/{year}/edit", f"/chains/ICT/plans/{year}/revisions",
                     f"/chains/ICT/plans/{year}"):
            page.goto(live_server.url + path)
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), path
        page.goto(live_server.url + f"/chains/ICT/plans/{year}/edit")
        screenshot(page, "phone-plan-edit")
        page.get_by_role("textbox", name="修订原因").fill("市政府调整对标城市")
        page.get_by_role("textbox", name="对标城市").first.fill("苏州")
        page.get_by_role("textbox", name="对标城市").first.press("Enter")
        page.wait_for_url(live_server.url + f"/chains/ICT/plans/{year}")
        assert f"{year}年度计划已修订为第 2 版" in page.locator("#flash").inner_text()
        with httpx.Client(base_url=live_server.url, timeout=10) as api:
            plan = api.get(f"/api/v1/chains/ICT/plans/{year}", headers=admin).json()
        assert (plan["revision"], plan["benchmark_city"], plan["revision_reason"]) == (2, "苏州", "市政府调整对标城市")
    finally:
        context.close()
