"""The inspection page: a chain's quarterly inspection, recorded and replaced through the inspection use case."""

from __future__ import annotations

from tests.web.conftest import csrf_of, project_id

SIGNED_ICT = "软件和信息服务外包中心项目"
PAGE = "/chains/ICT/inspections/2026-Q3"
API = "/api/v1/chains/ICT/inspections/2026-Q3"


def _save(c, **fields):  # noqa: ANN001, ANN003, ANN202
    page = c.get(PAGE)
    read = c.get(API, headers=c.api)
    version = {"version": str(read.json()["version"])} if read.status_code == 200 else {}
    return c.post(PAGE, data={"csrf": csrf_of(page.text), **version, **fields})


def test_the_department_records_and_replaces_its_inspection(login) -> None:  # noqa: ANN001
    c = login("department", ["ICT"])
    pid = project_id(c, SIGNED_ICT)
    assert c.get(PAGE).status_code == 200
    r = _save(c, held_on="2026-10-10", score="88.5", findings="进展顺利", visited_projects=[pid])
    assert r.status_code == 303, r.text
    got = c.get(API, headers=c.api).json()
    assert (got["held_on"], got["score"], got["visited_projects"], got["version"]) == ("2026-10-10", 88.5, [pid], 1)
    assert _save(c, held_on="2026-10-11", score="90", findings="复核", visited_projects=[pid]).status_code == 303
    assert c.get(API, headers=c.api).json()["version"] == 2
    page = c.get(PAGE)
    assert 'id="score">90' in page.text and SIGNED_ICT in page.text
    auditor = login("auditor")
    events = auditor.get("/api/v1/audit/events", params={"entity": "inspection", "entity_id": "ICT/2026-Q3"},
                         headers=auditor.api).json()["items"]
    assert [e["action"] for e in events] == ["inspection.created", "inspection.updated"]
    assert 'href="/chains/ICT/inspections/2026-Q3"' in c.get("/chains/ICT", params={"year": 2026}).text


def test_refusals_are_shown_and_nothing_is_written(login) -> None:  # noqa: ANN001
    c = login("department", ["ICT"], lang="en")
    r = _save(c, held_on="2026-06-30", score="101", findings="x")
    assert r.status_code == 422 and 'role="alert"' in r.text and 'value="101"' in r.text
    assert c.get(API, headers=c.api).status_code == 404


def test_other_chains_and_readers_only_read(login) -> None:  # noqa: ANN001
    c = login("department", ["AUTO"])
    page = c.get(PAGE)
    assert page.status_code == 200 and 'action="/chains/ICT/inspections/2026-Q3"' not in page.text
    r = c.post(PAGE, data={"csrf": csrf_of(page.text), "held_on": "2026-10-10", "score": "80", "findings": "x"})
    assert r.status_code == 403
