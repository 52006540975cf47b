"""The annual plan page (/chains/{code}/plans/{year}): progress, the months' actuals of the manual indicators and
the tasks' status — written through record_actual and update_task, effects asserted through the API."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from service.db.engine import transaction
from tests.web.conftest import add_plan_and_problems, csrf_of


def _today():  # noqa: ANN202
    return datetime.now(ZoneInfo("Asia/Shanghai")).date()


def _count(sessions) -> int:  # noqa: ANN001
    with transaction(sessions, write=False) as s:
        return s.execute(text("SELECT count(*) FROM audit_event")).scalar_one()


@pytest.fixture
def planned(login):  # noqa: ANN001, ANN201
    admin = login("admin")
    add_plan_and_problems(admin, admin.api, year=_today().year, today=_today())
    return _today().year


def _task_form(c, year: int, key: str) -> dict:  # noqa: ANN001
    page = c.get(f"/chains/ICT/plans/{year}")
    form = page.text[page.text.index(f'action="/chains/ICT/plans/{year}/tasks/{key}"'):]
    form = form[: form.index("</form>")]
    return {"csrf": csrf_of(page.text), **dict(re.findall(r'name="([a-z_]+)" value="([^"]*)"', form))}


def test_the_plan_page_shows_progress_and_actuals(login, planned) -> None:  # noqa: ANN001
    c = login("viewer")
    page = c.get(f"/chains/ICT/plans/{planned}")
    assert page.status_code == 200
    assert "打造具有全球影响力的光芯屏端网产业集群" in page.text and "已批准" in page.text
    assert "新增发明专利" in page.text and "86.00 / 120.00 件" in page.text and page.text.count('<svg class="bar"') == 4
    assert f"{planned}年1月：86.00" in page.text
    assert "/actuals" not in page.text and "/tasks/" not in page.text  # a viewer writes nothing
    en = c.get(f"/chains/ICT/plans/{planned}?lang=en").text
    assert '<html lang="en">' in en and "Monthly actuals" in en and "Annual tasks" in en
    assert f'href="/chains/ICT/plans/{planned}"' in c.get(f"/chains/ICT?year={planned}").text
    assert c.get("/chains/ICT/plans/2030").status_code == 404


def test_record_a_months_actual(login, planned, sessions) -> None:  # noqa: ANN001
    c = login("department", ["ICT"])
    page = c.get(f"/chains/ICT/plans/{planned}")
    month = f"{planned}-01"
    r = c.post(f"/chains/ICT/plans/{planned}/indicators/patents/actuals",
               data={"csrf": csrf_of(page.text), "period": month, "value": "90"})
    assert r.status_code == 303, r.text[:2000]
    assert f"已记录{planned}年1月完成量 90.00" in c.get(r.headers["location"]).text
    actuals = c.get(f"/api/v1/chains/ICT/plans/{planned}/indicators/patents/actuals", headers=c.api).json()["items"]
    assert [(a["period"], a["value"]) for a in actuals] == [(month, "90.00")]
    with transaction(sessions, write=False) as s:
        actor = s.execute(text("SELECT actor_name FROM audit_event WHERE entity_id = :e ORDER BY seq DESC"),
                          {"e": f"ICT/{planned}/patents/{month}"}).scalars().first()
    assert actor == "department-web"
    before = _count(sessions)
    r = c.post(f"/chains/ICT/plans/{planned}/indicators/patents/actuals",
               data={"csrf": csrf_of(page.text), "period": month, "value": "1.234"})
    assert r.status_code == 422
    row = r.text[r.text.index('id="i-patents"'):]
    row = row[: row.index("</tr>")]
    assert "完成量：最多两位小数。" in row and 'value="1.234"' in row
    r = c.post(f"/chains/ICT/plans/{planned}/indicators/signed/actuals",
               data={"csrf": csrf_of(page.text), "period": month, "value": "1"})
    assert r.status_code == 409
    assert _count(sessions) == before


def test_mark_a_task_done_and_open_again(login, planned, sessions) -> None:  # noqa: ANN001
    c = login("department", ["ICT"])
    r = c.post(f"/chains/ICT/plans/{planned}/tasks/park", data=_task_form(c, planned, "park"))
    assert r.status_code == 303, r.text[:2000]
    assert "任务“建成光电子信息产业园二期”已改为已完成" in c.get(r.headers["location"]).text
    plan = c.get(f"/api/v1/chains/ICT/plans/{planned}", headers=c.api).json()
    task = next(t for t in plan["tasks"] if t["key"] == "park")
    assert task["status"] == "done" and task["done_on"] == _today().isoformat()
    r = c.post(f"/chains/ICT/plans/{planned}/tasks/park", data=_task_form(c, planned, "park"))
    assert r.status_code == 303
    plan = c.get(f"/api/v1/chains/ICT/plans/{planned}", headers=c.api).json()
    assert next(t for t in plan["tasks"] if t["key"] == "park")["status"] == "open"
    with transaction(sessions, write=False) as s:
        actions = s.execute(text("SELECT action FROM audit_event WHERE entity_id = :e AND action = 'plan.task_updated'"),
                            {"e": f"ICT/{planned}"}).scalars().all()
    assert len(actions) == 2
    before = _count(sessions)
    stale = _task_form(c, planned, "park")
    stale["version"] = "1"
    r = c.post(f"/chains/ICT/plans/{planned}/tasks/park", data=stale)
    assert r.status_code == 412 and "已被他人修改" in r.text
    form = _task_form(c, planned, "park")
    r = c.post(f"/chains/ICT/plans/{planned}/tasks/park", data={**form, "done_on": "2999-01-01"})
    assert r.status_code == 422
    assert _count(sessions) == before


def test_only_the_chains_writers_change_the_plan(login, planned, sessions) -> None:  # noqa: ANN001
    c = login("department", ["AUTO"])
    page = c.get(f"/chains/ICT/plans/{planned}")
    assert page.status_code == 200 and "/tasks/" not in page.text
    before = _count(sessions)
    r = c.post(f"/chains/ICT/plans/{planned}/tasks/park", data={"csrf": csrf_of(page.text), "status": "done",
                                                                 "version": "2"})
    assert r.status_code == 403 and "本令牌仅可操作产业链 AUTO" in r.text
    r = c.post(f"/chains/ICT/plans/{planned}/indicators/patents/actuals",
               data={"status": "done", "period": f"{planned}-01", "value": "1"})
    assert r.status_code == 403  # no CSRF token
    v = login("viewer")
    r = v.post(f"/chains/ICT/plans/{planned}/indicators/patents/actuals",
               data={"csrf": csrf_of(v.get("/").text), "period": f"{planned}-01", "value": "1"})
    assert r.status_code == 403
    assert _count(sessions) == before


def test_every_control_of_the_plan_page_has_a_label(login, planned) -> None:  # noqa: ANN001
    html = login("department", ["ICT"]).get(f"/chains/ICT/plans/{planned}").text
    labels = set(re.findall(r'<label[^>]* for="([^"]+)"', html))
    controls = [a for _, a in re.findall(r"<(input|select|textarea)\b([^>]*)>", html) if 'type="hidden"' not in a]
    assert controls
    for attrs in controls:
        ident = re.search(r'id="([^"]+)"', attrs)
        assert ident and ident[1] in labels, attrs


def test_the_plan_page_draws_a_manual_indicators_progress_over_the_year(login, planned) -> None:  # noqa: ANN001
    c = login("viewer")
    page = c.get(f"/chains/ICT/plans/{planned}").text
    chart = page[page.index('id="chart"'):]
    chart = chart[: chart.index("</section>")]
    assert '<svg class="chart"' in chart and "新增发明专利：逐月累计完成率与时序进度" in chart
    # January's 86 of 120: 72 % done at the month's end, against 31 days of the year elapsed
    jan = re.search(r"<tr><th scope=\"row\">1月</th>(.*?)</tr>", chart)
    elapsed = 100 * 31 / (366 if planned % 4 == 0 else 365)
    assert jan and "86.00" in jan[1] and "72%" in jan[1] and f"{elapsed:.0f}%" in jan[1]
    assert "累计完成率: 72%" in chart  # the bar's own tooltip
    en = c.get(f"/chains/ICT/plans/{planned}?lang=en&chart=nope").text
    assert "新增发明专利: cumulative completion by month against time" in en  # an unknown key: the first manual one
