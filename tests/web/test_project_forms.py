"""Registering and editing a project in the browser's forms (TestClient): through create_project and
update_project, with their roles, chain scope, field errors beside the fields, stale edits and audit events."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import text

from service.db.engine import transaction
from tests.web.conftest import csrf_of, project_id

SIGNED_ICT = "软件和信息服务外包中心项目"
SIGNED_AUTO = "车规级芯片模组项目"


def _events(sessions, entity_id: str) -> list[tuple[str, str]]:  # noqa: ANN001
    with transaction(sessions, write=False) as s:
        rows = s.execute(text("SELECT action, actor_name FROM audit_event WHERE entity_id = :e ORDER BY seq"),
                         {"e": entity_id}).all()
    return [tuple(r) for r in rows]


def _count(sessions) -> int:  # noqa: ANN001
    with transaction(sessions, write=False) as s:
        return s.execute(text("SELECT count(*) FROM audit_event")).scalar_one()


def _new(c, **fields) -> object:  # noqa: ANN001
    page = c.get("/projects/new")
    assert page.status_code == 200, page.text[:300]
    data = {"csrf": csrf_of(page.text), "name": "新能源电池回收项目", "chain": "ICT", "district": "", "investor": "某某科技",
            "planned_investment": "12,500.5", "external_ref": "", "milestones.signed": "2026-01-15", "stage": "signed"}
    district = re.search(r'<select id="f-district" name="district"[^>]*>\s*<option value="">[^<]*</option>'
                         r'\s*<option value="([^"]+)"', page.text)
    data["district"] = district[1]
    data.update(fields)
    return c.post("/projects/new", data=data)


def test_a_department_registers_a_project_of_its_chain(login, sessions) -> None:  # noqa: ANN001
    c = login("department", ["ICT"])
    page = c.get("/projects/new")
    assert '<html lang="zh-CN">' in page.text and "登记新项目" in page.text
    for label in ("项目名称", "外部编号", "产业链", "区", "投资方", "计划投资(万元)", "重点项目", "签约日期"):
        assert label in page.text, label
    chains = re.findall(r'<select id="f-chain" name="chain"[^>]*>(.*?)</select>', page.text, re.S)[0]
    assert re.findall(r'<option value="([A-Z]+)"', chains) == ["ICT"]  # only its own chains
    r = _new(c, is_key="true")
    assert r.status_code == 303, r.text[:2000]
    pid = r.headers["location"].removeprefix("/projects/")
    project = c.get(f"/api/v1/projects/{pid}", headers=c.api).json()
    assert (project["name"], project["chain"], project["planned_investment"], project["is_key"], project["stage"]) == (
        "新能源电池回收项目", "ICT", "12500.50", True, "signed")
    assert project["milestones"]["signed"] == "2026-01-15"
    assert _events(sessions, pid) == [("project.created", "department-web")]
    assert "已登记项目“新能源电池回收项目”" in c.get(r.headers["location"]).text


def test_register_errors_are_beside_their_fields_with_what_was_typed(login, sessions) -> None:  # noqa: ANN001
    c = login("department", ["ICT"])
    before = _count(sessions)
    r = _new(c, name="  ", planned_investment="12.345", investor="某\u202e方", **{"milestones.signed": "2099-01-01"})
    assert r.status_code == 422
    html = r.text
    assert re.search(r'id="f-name"[^>]*aria-invalid="true"', html)
    assert '<p class="field-error" id="f-name-error">必填。</p>' in html
    assert '<p class="field-error" id="f-planned_investment-error">最多两位小数。</p>' in html
    assert 'value="12.345"' in html and "f-investor-error" in html
    r = _new(c, **{"milestones.signed": "2099-01-01"})
    assert r.status_code == 422 and 'id="f-milestones-signed-error">2099-01-01 晚于今天' in r.text
    r = _new(c, stage="started")  # a backfill needs the started date
    assert r.status_code == 422 and "在新开工阶段登记项目须填写此日期" in r.text
    r = _new(c, chain="AUTO")  # not its chain: the use case refuses
    assert r.status_code == 403 and "本令牌仅可操作产业链 ICT，不能操作产业链 AUTO" in r.text
    assert 'value="新能源电池回收项目"' in r.text
    existing = c.get(f"/api/v1/projects/{project_id(c, SIGNED_ICT)}", headers=c.api).json()["external_ref"]
    if existing:
        r = _new(c, external_ref=existing)
        assert r.status_code == 409 and 'id="f-external_ref-error">外部编号' in r.text
    c.get("/projects/new?lang=en")
    r = _new(c, name="")
    assert r.status_code == 422 and '<p class="field-error" id="f-name-error">Required.</p>' in r.text
    assert _count(sessions) == before


def test_integration_registers_at_signed_only(login) -> None:  # noqa: ANN001
    c = login("integration")
    page = c.get("/projects/new")
    assert page.status_code == 200 and 'name="stage" value="signed"' in page.text and 'id="f-stage"' not in page.text
    r = _new(c, stage="started", **{"milestones.started": "2026-02-01"})
    assert r.status_code == 403 and "市招商办只能登记新签约阶段的项目" in r.text
    r = _new(c)
    assert r.status_code == 303
    # the promotion office does not edit projects
    pid = r.headers["location"].removeprefix("/projects/")
    assert c.get(f"/projects/{pid}/edit").status_code == 403


@pytest.mark.parametrize("role", ["viewer", "auditor"])
def test_read_only_roles_get_403_pages(login, sessions, role) -> None:  # noqa: ANN001
    c = login(role)
    pid = project_id(c, SIGNED_ICT)
    for path in ("/projects/new", f"/projects/{pid}/edit"):
        r = c.get(path)
        assert r.status_code == 403 and r.headers["content-type"].startswith("text/html"), path
        assert "角色无权执行此操作" in r.text
    before = _count(sessions)
    page = c.get("/")
    r = c.post(f"/projects/{pid}/edit", data={"csrf": csrf_of(page.text), "name": "x", "version": "1"})
    assert r.status_code == 403
    assert _count(sessions) == before
    assert "/edit" not in c.get(f"/projects/{pid}").text


def test_a_department_edits_only_its_own_chains(login) -> None:  # noqa: ANN001
    c = login("department", ["ICT"])
    assert c.get(f"/projects/{project_id(c, SIGNED_AUTO)}/edit").status_code == 403
    pid = project_id(c, SIGNED_ICT)
    assert f'href="/projects/{pid}/edit"' in c.get(f"/projects/{pid}").text
    assert 'href="/projects/new?chain=ICT"' in c.get("/chains/ICT").text
    assert "/projects/new" not in c.get("/chains/AUTO").text


def _edit_form(c, pid: str) -> dict:  # noqa: ANN001
    page = c.get(f"/projects/{pid}/edit")
    assert page.status_code == 200
    data = {"csrf": csrf_of(page.text)}
    for name, value in re.findall(r'<input type="(?:text|hidden)"[^>]* name="([a-z_]+)" value="([^"]*)"', page.text):
        data[name] = value
    for name, body in re.findall(r'<select id="f-[a-z_]+" name="([a-z_]+)"[^>]*>(.*?)</select>', page.text, re.S):
        data[name] = re.search(r'<option value="([^"]*)" selected', body)[1]
    if re.search(r'name="is_key" value="true" checked', page.text):
        data["is_key"] = "true"
    return data


def test_edit_a_project_and_see_what_changed(login, sessions) -> None:  # noqa: ANN001
    c = login("department", ["ICT"])
    pid = project_id(c, SIGNED_ICT)
    page = c.get(f"/projects/{pid}/edit")
    assert "修改“" in page.text and 'name="chain"' not in page.text  # the chain never changes
    data = _edit_form(c, pid)
    assert data["version"] == str(c.get(f"/api/v1/projects/{pid}", headers=c.api).json()["version"])
    r = c.post(f"/projects/{pid}/edit", data={**data, "investor": "新投资方有限公司", "planned_investment": "88,000"})
    assert r.status_code == 303 and r.headers["location"] == f"/projects/{pid}"
    assert "已保存“软件和信息服务外包中心项目”的修改：投资方、计划投资(万元)" in c.get(r.headers["location"]).text
    project = c.get(f"/api/v1/projects/{pid}", headers=c.api).json()
    assert project["investor"] == "新投资方有限公司" and project["planned_investment"] == "88000.00"
    assert _events(sessions, pid)[-1] == ("project.updated", "department-web")
    # errors beside the field, the typed value kept, the version unchanged
    data = _edit_form(c, pid)
    r = c.post(f"/projects/{pid}/edit", data={**data, "planned_investment": "abc", "name": ""})
    assert r.status_code == 422
    assert 'id="f-planned_investment-error">请输入数字' in r.text and 'value="abc"' in r.text
    assert 'id="f-name-error">必填。' in r.text and f'name="version" value="{data["version"]}"' in r.text


def test_a_stale_edit_says_who_saved_first_and_when(login, sessions) -> None:  # noqa: ANN001
    mine = login("department", ["ICT"])
    pid = project_id(mine, SIGNED_ICT)
    data = _edit_form(mine, pid)
    other = login("admin")
    r = other.patch(f"/api/v1/projects/{pid}", json={"investor": "抢先修改的投资方"},
                    headers={**other.api, "If-Match": f'"{data["version"]}"'})
    assert r.status_code == 200, r.text
    r = mine.post(f"/projects/{pid}/edit", data={**data, "investor": "我的投资方"})
    assert r.status_code == 412
    assert re.search(r"在您编辑期间，admin-web（管理员）已于 \d{4}-\d{2}-\d{2} \d{2}:\d{2} 保存了该项目", r.text)
    assert "抢先修改的投资方" in r.text and 'value="我的投资方"' in r.text  # theirs shown, mine kept
    new_version = str(int(data["version"]) + 1)
    assert f'name="version" value="{new_version}"' in r.text
    assert mine.get(f"/api/v1/projects/{pid}", headers=mine.api).json()["investor"] == "抢先修改的投资方"
    # saving again is made against their version
    r = mine.post(f"/projects/{pid}/edit", data={**data, "version": new_version, "investor": "我的投资方"})
    assert r.status_code == 303
    assert mine.get(f"/api/v1/projects/{pid}", headers=mine.api).json()["investor"] == "我的投资方"
    mine.get("/?lang=en")
    data = _edit_form(mine, pid)
    other.patch(f"/api/v1/projects/{pid}", json={"is_key": True}, headers={**other.api, "If-Match": f'"{data["version"]}"'})
    r = mine.post(f"/projects/{pid}/edit", data=data)
    assert r.status_code == 412 and "While you were editing, admin-web (administrator) saved this project" in r.text


def test_project_forms_refuse_posts_without_the_csrf_token(login, sessions) -> None:  # noqa: ANN001
    c = login("admin")
    pid = project_id(c, SIGNED_ICT)
    before = _count(sessions)
    data = _edit_form(c, pid)
    del data["csrf"]
    assert c.post(f"/projects/{pid}/edit", data={**data, "investor": "x"}).status_code == 403
    assert c.post("/projects/new", data={"name": "x", "chain": "ICT"}).status_code == 403
    assert _count(sessions) == before


def test_project_forms_in_english(login) -> None:  # noqa: ANN001
    c = login("admin", lang="en")
    page = c.get("/projects/new")
    assert '<html lang="en">' in page.text and "Register a project" in page.text and "Planned investment" in page.text
    pid = project_id(c, SIGNED_ICT)
    page = c.get(f"/projects/{pid}/edit")
    assert "Save the changes" in page.text and "Investor" in page.text
