"""Prominent problems in the browser's pages (TestClient): the list, raising one and moving it through its
lifecycle — through create_problem and transition_problem, effects asserted through the API and the audit log."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from service.db.engine import transaction
from tests.web.conftest import add_plan_and_problems, csrf_of, project_id

SIGNED_ICT = "软件和信息服务外包中心项目"


def _today():  # noqa: ANN202
    return datetime.now(ZoneInfo("Asia/Shanghai")).date()


def _events(sessions, entity_id: str) -> list[tuple[str, str]]:  # noqa: ANN001
    with transaction(sessions, write=False) as s:
        rows = s.execute(text("SELECT action, actor_name FROM audit_event WHERE entity_id = :e ORDER BY seq"),
                         {"e": entity_id}).all()
    return [tuple(r) for r in rows]


def _count(sessions) -> int:  # noqa: ANN001
    with transaction(sessions, write=False) as s:
        return s.execute(text("SELECT count(*) FROM audit_event")).scalar_one()


def _raise(c, **fields) -> object:  # noqa: ANN001
    page = c.get("/problems/new?chain=ICT")
    assert page.status_code == 200, page.text[:300]
    data = {"csrf": csrf_of(page.text), "chain": "ICT", "project_id": "", "title": "项目用地指标不足",
            "detail": "二期用地指标尚未落实。\n需市自然资源局协调。", "owner_unit": "市自然资源和规划局",
            "due_on": (_today() + timedelta(days=30)).isoformat()}
    data.update(fields)
    return c.post("/problems/new", data=data)


def _move(c, problem: str, to: str, note: str = "已协调", **extra) -> object:  # noqa: ANN001
    page = c.get(f"/problems/{problem}")
    version = re.search(r'name="version" value="(\d+)"', page.text)
    data = {"csrf": csrf_of(page.text), "to": to, "note": note, "version": version[1] if version else ""}
    data.update(extra)
    return c.post(f"/problems/{problem}/transition", data=data)


def test_raise_a_problem_and_move_it_to_resolved(login, sessions) -> None:  # noqa: ANN001
    c = login("department", ["ICT"])
    pid = project_id(c, SIGNED_ICT)
    page = c.get(f"/problems/new?chain=ICT&project_id={pid}")
    assert f'<option value="{pid}" selected>' in page.text
    r = _raise(c, project_id=pid)
    assert r.status_code == 303, r.text[:2000]
    problem = r.headers["location"].removeprefix("/problems/")
    api = c.get(f"/api/v1/problems/{problem}", headers=c.api).json()
    assert (api["chain"], api["project_id"], api["status"], api["owner_unit"]) == ("ICT", pid, "open", "市自然资源和规划局")
    page = c.get(r.headers["location"])
    assert "已提出问题“项目用地指标不足”" in page.text and "待处理" in page.text
    assert re.findall(r'<option value="([a-z_]+)"', page.text) == ["in_progress", "resolved"]  # the lifecycle's moves
    r = _move(c, problem, "in_progress", "已召开协调会")
    assert r.status_code == 303
    assert "问题“项目用地指标不足”已转为处理中" in c.get(r.headers["location"]).text
    r = _move(c, problem, "resolved", "用地指标已落实")
    assert r.status_code == 303
    api = c.get(f"/api/v1/problems/{problem}", headers=c.api).json()
    assert api["status"] == "resolved" and api["resolved_on"] == _today().isoformat()
    assert _events(sessions, problem) == [("problem.created", "department-web"),
                                          ("problem.transitioned", "department-web"),
                                          ("problem.transitioned", "department-web")]
    page = c.get(f"/problems/{problem}").text
    assert "用地指标已落实" in page and "处理中 → 已解决" in page


def test_problem_errors_are_beside_their_fields(login, sessions) -> None:  # noqa: ANN001
    c = login("department", ["ICT"])
    before = _count(sessions)
    r = _raise(c, title="", due_on="2026-02-30")
    assert r.status_code == 422
    assert 'id="f-title-error">必填。' in r.text and 'id="f-due_on-error">请输入有效日期' in r.text
    assert 'value="市自然资源和规划局"' in r.text  # what was typed is kept
    other = project_id(c, "车规级芯片模组项目")  # an AUTO project
    r = _raise(c, project_id=other)
    assert r.status_code == 422 and f"项目 {other} 属于产业链 AUTO，不属于 ICT" in r.text
    r = _raise(c, chain="AUTO")
    assert r.status_code == 403 and "本令牌仅可操作产业链 ICT" in r.text
    assert _count(sessions) == before
    r = _raise(c)
    problem = r.headers["location"].removeprefix("/problems/")
    before = _count(sessions)
    r = _move(c, problem, "closed")
    assert r.status_code == 409 and "问题当前为待处理，不能转为已销号；可转为：处理中、已解决" in r.text
    r = _move(c, problem, "resolved", note="")
    assert r.status_code == 422 and 'id="f-note-error">必填。' in r.text
    r = _move(c, problem, "resolved", version="99")
    assert r.status_code == 412 and "已被他人修改" in r.text
    assert _count(sessions) == before
    c.get("/?lang=en")
    r = _move(c, problem, "closed")
    assert r.status_code == 409 and "The problem is Open: it cannot move to Closed" in r.text


def test_the_list_shows_open_overdue_and_by_chain(login) -> None:  # noqa: ANN001
    c = login("admin")
    ids = add_plan_and_problems(c, c.api, year=_today().year, today=_today())
    page = c.get("/problems").text
    assert "项目用电报装审批周期长" in page and "高端人才公寓配套不足" in page
    assert page.count('<span class="badge overdue">') == 1
    overdue = c.get("/problems?show=overdue").text
    assert f'href="/problems/{ids["late"]}"' in overdue and f'href="/problems/{ids["open"]}"' not in overdue
    assert "项目用电报装审批周期长" not in c.get("/problems?chain=AUTO&show=all").text
    r = _move(c, ids["open"], "resolved")
    assert r.status_code == 303
    assert f'href="/problems/{ids["open"]}"' not in c.get("/problems").text  # settled: not open
    assert f'href="/problems/{ids["open"]}"' in c.get("/problems?show=all").text
    assert f'href="/problems/{ids["open"]}"' in c.get("/problems?status=resolved&show=all").text
    assert c.get("/problems?status=nope").status_code == 422
    en = c.get("/problems?lang=en").text
    assert '<html lang="en">' in en and "Open problems" in en and "Overdue" in en
    assert f'href="/problems/{ids["late"]}"' in c.get("/chains/ICT").text


@pytest.mark.parametrize("role", ["viewer", "auditor", "integration"])
def test_roles_that_may_not_write_problems(login, sessions, role) -> None:  # noqa: ANN001
    admin = login("admin")
    ids = add_plan_and_problems(admin, admin.api, year=_today().year, today=_today())
    c = login(role)
    assert c.get("/problems").status_code == 200
    assert "/problems/new" not in c.get("/problems").text
    r = c.get("/problems/new")
    assert r.status_code == 403 and "角色无权执行此操作" in r.text
    page = c.get(f"/problems/{ids['open']}")
    assert page.status_code == 200 and "/transition" not in page.text
    before = _count(sessions)
    r = c.post(f"/problems/{ids['open']}/transition", data={"csrf": csrf_of(page.text), "to": "resolved",
                                                           "note": "x"})
    assert r.status_code == 403
    r = c.post("/problems/new", data={"csrf": csrf_of(page.text), "chain": "ICT", "title": "x", "detail": "x",
                                      "owner_unit": "x", "due_on": "2030-01-01"})
    assert r.status_code == 403
    assert _count(sessions) == before


def test_a_department_moves_only_its_own_chains_problems(login) -> None:  # noqa: ANN001
    admin = login("admin")
    ids = add_plan_and_problems(admin, admin.api, year=_today().year, today=_today())
    c = login("department", ["AUTO"])
    assert "/transition" not in c.get(f"/problems/{ids['open']}").text
    assert _move(c, ids["open"], "resolved").status_code == 403


def test_problem_posts_need_the_csrf_token(login, sessions) -> None:  # noqa: ANN001
    c = login("admin")
    ids = add_plan_and_problems(c, c.api, year=_today().year, today=_today())
    before = _count(sessions)
    assert c.post(f"/problems/{ids['open']}/transition", data={"to": "resolved", "note": "x"}).status_code == 403
    assert c.post("/problems/new", data={"chain": "ICT", "title": "x"}).status_code == 403
    assert _count(sessions) == before


def test_unknown_problem_is_an_html_404(login) -> None:  # noqa: ANN001
    c = login("viewer")
    r = c.get("/problems/01NOSUCHPROBLEM0000000000")
    assert r.status_code == 404 and "未找到问题" in r.text
