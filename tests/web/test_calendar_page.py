"""The calendar page (admin): the calendar in use for a year, and loading one — the /api/v1/calendar use cases."""

from __future__ import annotations

from tests.web.conftest import csrf_of

C = "/api/v1/calendar/2027"


def _save(c, holidays: str, workdays: str = ""):  # noqa: ANN001, ANN202
    page = c.get("/calendar/2027")
    version = c.get(C, headers=c.api).json()["version"]
    data = {"csrf": csrf_of(page.text), "holidays": holidays, "workdays": workdays}
    return c.post("/calendar/2027", data={**data, **({"version": str(version)} if version else {})})


def test_admin_loads_a_year_and_replaces_it(login) -> None:  # noqa: ANN001
    c = login("admin")
    assert c.get(C, headers=c.api).json()["source"] == "weekends"
    r = _save(c, "2027-01-01\n2027-02-08, 2027-02-09 2027-02-10", "2027-02-06")
    assert r.status_code == 303, r.text
    cal = c.get(C, headers=c.api).json()
    assert cal["source"] == "override" and cal["holidays"] == ["2027-01-01", "2027-02-08", "2027-02-09", "2027-02-10"]
    assert cal["workdays"] == ["2027-02-06"]
    page = c.get("/calendar/2027")
    assert "2027-02-09" in page.text and "管理员载入" in page.text
    assert _save(c, "2027-01-01").status_code == 303  # a replacement carries the version it read
    events = c.get("/api/v1/audit/events", params={"entity": "calendar", "entity_id": "2027"}, headers=c.api).json()
    assert [e["action"] for e in events["items"]] == ["calendar.created", "calendar.updated"]


def test_bad_dates_are_refused_and_kept(login) -> None:  # noqa: ANN001
    c = login("admin", lang="en")
    for typed in ("2027-13-01", "2026-12-31", "next monday"):
        r = _save(c, typed)
        assert r.status_code == 422 and 'role="alert"' in r.text and typed in r.text, typed
    assert c.get(C, headers=c.api).json()["source"] == "weekends"  # nothing written


def test_only_admin(login) -> None:  # noqa: ANN001
    c = login("department", ["ICT"])
    assert c.get("/calendar/2027").status_code == 403
    assert c.post("/calendar/2027", data={"csrf": csrf_of(c.get("/").text), "holidays": "2027-01-01"}).status_code == 403
