"""PUT/GET /calendar/{year}: the admin-loaded official calendar beats the library; weekends decide otherwise."""

from __future__ import annotations

from tests.api.rhythm_support import API, assert_invalid, assert_problem, nothing_written, rhythm_state  # noqa: F401

# The State Council's 2027 schedule is not in the library (chinese-calendar 1.11 covers 2004–2026): a plausible one.
HOLIDAYS_2027 = ["2027-01-01", "2027-02-05", "2027-02-08", "2027-02-09", "2027-02-10", "2027-02-11",
                 "2027-04-05", "2027-05-03", "2027-05-04", "2027-05-05"]
WORKDAYS_2027 = ["2027-02-13", "2027-02-14"]


def put(client, headers, year, body, **extra):
    return client.put(f"{API}/calendar/{year}", json=body, headers={**headers, **extra})


def test_sources_library_weekends_then_override(client, admin, make_token, audit_count, events):
    viewer = make_token("viewer")
    r = client.get(f"{API}/calendar/2026", headers=viewer)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["source"] == "library" and body["provisional"] is False and body["version"] is None
    assert "2026-10-01" in body["holidays"] and "etag" not in r.headers
    assert body["library_version"]

    r = client.get(f"{API}/calendar/2027", headers=viewer)
    assert r.json() | {"library_version": None} == {
        "year": 2027, "source": "weekends", "provisional": True, "holidays": [], "workdays": [],
        "library_version": None, "version": None, "updated_at": None,
    }

    n = audit_count()
    r = put(client, admin, 2027, {"holidays": list(reversed(HOLIDAYS_2027)), "workdays": WORKDAYS_2027})
    assert r.status_code == 201, r.text
    assert r.headers["etag"] == '"1"'
    assert r.json()["source"] == "override" and r.json()["holidays"] == HOLIDAYS_2027
    assert audit_count() == n + 1
    (event,) = events(action="calendar.created")
    assert event["entity"] == "calendar" and event["entity_id"] == "2027"
    assert event["data"]["after"] == {"holidays": HOLIDAYS_2027, "workdays": WORKDAYS_2027}

    r = client.get(f"{API}/calendar/2027", headers=viewer)
    assert r.json()["source"] == "override" and r.json()["provisional"] is False and r.headers["etag"] == '"1"'


def test_replace_needs_if_match_and_is_audited(client, admin, audit_count, events, nothing_written):
    assert put(client, admin, 2027, {"holidays": HOLIDAYS_2027, "workdays": []}).status_code == 201
    with nothing_written():
        assert_problem(put(client, admin, 2027, {"holidays": HOLIDAYS_2027, "workdays": WORKDAYS_2027}), 428)
        assert_problem(put(client, admin, 2027, {"holidays": HOLIDAYS_2027, "workdays": WORKDAYS_2027},
                           **{"If-Match": '"7"'}), 412)
    n = audit_count()
    r = put(client, admin, 2027, {"holidays": HOLIDAYS_2027, "workdays": WORKDAYS_2027}, **{"If-Match": '"1"'})
    assert r.status_code == 200, r.text
    assert r.headers["etag"] == '"2"' and r.json()["workdays"] == WORKDAYS_2027
    assert audit_count() == n + 1
    (event,) = events(action="calendar.updated")
    assert event["data"] == {"before": {"workdays": []}, "after": {"workdays": WORKDAYS_2027}}
    # The same content again: 200, nothing written.
    r = put(client, admin, 2027, {"holidays": HOLIDAYS_2027, "workdays": WORKDAYS_2027}, **{"If-Match": '"2"'})
    assert r.status_code == 200 and r.headers["etag"] == '"2"' and audit_count() == n + 1


def test_an_override_beats_the_library(client, admin):
    # Pretend 2026-05-06 (a Wednesday) were a holiday too.
    r = client.get(f"{API}/calendar/2026", headers=admin)
    library = r.json()
    r = put(client, admin, 2026, {"holidays": library["holidays"] + ["2026-05-06"], "workdays": library["workdays"]})
    assert r.status_code == 201, r.text
    assert client.get(f"{API}/calendar/2026", headers=admin).json()["source"] == "override"


def test_bad_calendars_write_nothing(client, admin, make_token, nothing_written):
    dept = make_token("department", chains=["OPTICS"])
    with nothing_written():
        assert_problem(put(client, dept, 2027, {"holidays": [], "workdays": []}), 403)
        assert_problem(put(client, make_token("auditor"), 2027, {"holidays": [], "workdays": []}), 403)
        assert_problem(client.put(f"{API}/calendar/2027", json={"holidays": [], "workdays": []}), 401)
        assert_invalid(put(client, admin, 2027, {"holidays": ["2026-12-31"], "workdays": []}), "body", "holidays", 0)
        # 2027-02-15 is a Monday: an adjusted workday must be a Saturday or Sunday.
        assert_invalid(put(client, admin, 2027, {"holidays": [], "workdays": ["2027-02-13", "2027-02-15"]}),
                       "body", "workdays", 1)
        assert_invalid(put(client, admin, 2027, {"holidays": ["2027-02-13"], "workdays": ["2027-02-13"]}),
                       "body", "workdays", 0)
        assert_invalid(put(client, admin, 2027, {"holidays": ["2027-02-30"], "workdays": []}), "body", "holidays", 0)
        assert_invalid(put(client, admin, 2027, {"holidays": []}), "body", "workdays")
        assert_invalid(put(client, admin, 2027, {"holidays": [], "workdays": [], "note": "x"}), "body", "note")
        assert_invalid(put(client, admin, 1900, {"holidays": [], "workdays": []}), "path", "year")
        # If-Match on a calendar that does not exist yet can never match.
        assert_problem(put(client, admin, 2027, {"holidays": [], "workdays": []}, **{"If-Match": '"1"'}), 412)
    assert_invalid(client.get(f"{API}/calendar/abc", headers=admin), "path", "year")
