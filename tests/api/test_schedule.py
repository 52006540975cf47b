"""GET /schedule and /schedule.ics: the 17 items of a chain-year, due dates on the official calendar, statuses
computed from what was submitted and when, and the iCalendar feed (with ?token=, never logged)."""

from __future__ import annotations

from datetime import date

import pytest
from icalendar import Calendar

from tests.api.rhythm_support import (  # noqa: F401
    API,
    assert_invalid,
    assert_problem,
    frozen_clock,
    make_project,
)

# 2025 on the official calendar: the items whose due date moved to the next working day.
MOVED_2025 = {
    ("monthly_dispatch", "2025-03"): ("2025-04-05", "2025-04-07"),  # 清明 (Saturday 5 April, off until Monday)
    ("monthly_dispatch", "2025-04"): ("2025-05-05", "2025-05-06"),  # 劳动节 1–5 May
    ("monthly_dispatch", "2025-06"): ("2025-07-05", "2025-07-07"),  # a Saturday
    ("monthly_dispatch", "2025-09"): ("2025-10-05", "2025-10-09"),  # 国庆 1–8 October
    ("annual_appraisal", "2025"): ("2026-01-31", "2026-02-02"),  # a Saturday
}


def schedule(client, headers, **params):
    r = client.get(f"{API}/schedule", params=params, headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["next_cursor"] is None
    return body["items"]


def test_a_past_year_on_the_official_calendar(client, admin, reference, make_token):
    items = schedule(client, make_token("viewer"), year=2025, chain="OPTICS")
    assert len(items) == 17
    assert [i["kind"] for i in items].count("monthly_dispatch") == 12
    assert [i["kind"] for i in items].count("quarterly_inspection") == 4
    assert [i["period"] for i in items if i["kind"] == "annual_appraisal"] == ["2025"]
    assert [i["due_on"] for i in items] == sorted(i["due_on"] for i in items)
    for i in items:
        assert set(i) == {"kind", "period", "chain", "due_on", "nominal_due_on", "moved", "provisional", "status",
                          "done_at"}
        assert i["chain"] == "OPTICS" and i["provisional"] is False and i["done_at"] is None
        assert i["status"] == "overdue"  # nothing was ever done, and 2025 is long past
        moved = MOVED_2025.get((i["kind"], i["period"]))
        assert i["moved"] is (moved is not None)
        assert (i["nominal_due_on"], i["due_on"]) == (moved or (i["nominal_due_on"], i["nominal_due_on"]))
    by_period = {i["period"]: i for i in items}
    assert by_period["2025-01"]["due_on"] == "2025-02-05"
    assert by_period["2025-Q4"]["due_on"] == "2026-01-15"
    assert by_period["2025-12"]["due_on"] == "2026-01-05"


def test_statuses_and_provisional_items_of_the_current_year(client, admin, reference, monkeypatch):
    frozen_clock(monkeypatch, "2026-11-24T10:00:00+08:00")
    items = {(i["kind"], i["period"]): i for i in schedule(client, admin, year=2026, chain="OPTICS")}
    assert items[("monthly_dispatch", "2026-10")]["status"] == "overdue"  # due 2026-11-05
    assert items[("monthly_dispatch", "2026-11")]["status"] == "upcoming"  # the month is not over
    assert items[("monthly_dispatch", "2026-11")]["due_on"] == "2026-12-07"  # 5 December is a Saturday
    assert items[("quarterly_inspection", "2026-Q3")]["status"] == "overdue"
    # Due dates in 2027 depend on a calendar nobody has loaded yet: provisional.
    assert items[("monthly_dispatch", "2026-12")]["provisional"] is True
    assert items[("quarterly_inspection", "2026-Q4")]["provisional"] is True
    assert items[("annual_appraisal", "2026")]["due_on"] == "2027-02-01"  # 31 January 2027 is a Sunday
    assert items[("annual_appraisal", "2026")]["provisional"] is True
    assert items[("monthly_dispatch", "2026-11")]["provisional"] is False

    frozen_clock(monkeypatch, "2026-10-02T10:00:00+08:00")
    items = {(i["kind"], i["period"]): i for i in schedule(client, admin, year=2026, chain="OPTICS")}
    assert items[("monthly_dispatch", "2026-09")]["status"] == "open"  # over, due 2026-10-08 (国庆)
    assert items[("monthly_dispatch", "2026-09")]["due_on"] == "2026-10-08"

    # The admin loads 2027 (5 January a holiday, say): the items are no longer provisional and move.
    r = client.put(f"{API}/calendar/2027", json={"holidays": ["2027-01-01", "2027-01-05"], "workdays": []},
                   headers=admin)
    assert r.status_code == 201, r.text
    items = {(i["kind"], i["period"]): i for i in schedule(client, admin, year=2026, chain="OPTICS")}
    december = items[("monthly_dispatch", "2026-12")]
    assert december["provisional"] is False
    assert (december["nominal_due_on"], december["due_on"], december["moved"]) == ("2027-01-05", "2027-01-06", True)


def test_done_and_done_late_from_what_was_submitted_and_when(client, admin, reference, make_project, monkeypatch):
    p = make_project("OPTICS")
    body = {"summary": "本月调度", "entries": [{"project_id": p["id"], "invested": "100", "progress": "建设中"}]}
    # March: submitted on its due date (7 April, 23:30 Shanghai time): done. April: a day late.
    for period, moment in [("2026-03", "2026-04-07T23:30:00+08:00"), ("2026-04", "2026-05-07T09:00:00+08:00")]:
        frozen_clock(monkeypatch, moment)
        assert client.put(f"{API}/chains/OPTICS/dispatches/{period}", json=body, headers=admin).status_code == 201
        assert client.post(f"{API}/chains/OPTICS/dispatches/{period}/submit", headers=admin).status_code == 200
    # A draft is not done.
    frozen_clock(monkeypatch, "2026-06-03T09:00:00+08:00")
    assert client.put(f"{API}/chains/OPTICS/dispatches/2026-05", json=body, headers=admin).status_code == 201
    # Q1's tour on 10 April (due 15 April): done; Q2's on 20 July (due 15 July): done late.
    frozen_clock(monkeypatch, "2026-11-24T10:00:00+08:00")
    for period, held_on in [("2026-Q1", "2026-04-10"), ("2026-Q2", "2026-07-20")]:
        r = client.put(f"{API}/chains/OPTICS/inspections/{period}",
                       json={"held_on": held_on, "visited_projects": [p["id"]], "score": 80, "findings": "良好"},
                       headers=admin)
        assert r.status_code == 201, r.text

    items = {(i["kind"], i["period"]): i for i in schedule(client, admin, year=2026, chain="OPTICS")}
    march, april, may = (items[("monthly_dispatch", m)] for m in ("2026-03", "2026-04", "2026-05"))
    assert (march["status"], march["done_at"]) == ("done", "2026-04-07T15:30:00Z")
    assert (april["status"], april["done_at"]) == ("done_late", "2026-05-07T01:00:00Z")
    assert (may["status"], may["done_at"]) == ("overdue", None)
    q1, q2 = items[("quarterly_inspection", "2026-Q1")], items[("quarterly_inspection", "2026-Q2")]
    assert (q1["status"], q1["done_at"]) == ("done", "2026-04-10")
    assert (q2["status"], q2["done_at"]) == ("done_late", "2026-07-20")
    # Another chain's items are untouched.
    auto = {(i["kind"], i["period"]): i for i in schedule(client, admin, year=2026, chain="AUTO")}
    assert auto[("monthly_dispatch", "2026-03")]["status"] == "overdue"


def test_every_chain_when_no_chain_is_given(client, admin, reference, monkeypatch):
    frozen_clock(monkeypatch, "2026-11-24T10:00:00+08:00")
    items = schedule(client, admin, year=2026)
    assert len(items) == 34
    assert [i["chain"] for i in items] == ["AUTO"] * 17 + ["OPTICS"] * 17
    assert {i["chain"] for i in schedule(client, admin)} == {"AUTO", "OPTICS"}  # default year: this year


@pytest.mark.parametrize(
    ("params", "loc"),
    [({"year": 2026, "chain": "NOPE"}, ("query", "chain")), ({"year": 1800}, ("query", "year")),
     ({"year": "abc"}, ("query", "year")), ({"year": 2101}, ("query", "year"))],
)
def test_bad_queries(client, admin, reference, params, loc):
    assert_invalid(client.get(f"{API}/schedule", params=params, headers=admin), *loc)
    assert_invalid(client.get(f"{API}/schedule.ics", params=params, headers=admin), *loc)


def test_needs_a_token(client, reference):
    assert_problem(client.get(f"{API}/schedule", params={"year": 2026}), 401)


# ---------------------------------------------------------------- the iCalendar feed


def test_ics_feed_is_valid_rfc5545(client, admin, reference, monkeypatch):
    frozen_clock(monkeypatch, "2026-11-24T10:00:00+08:00")
    r = client.get(f"{API}/schedule.ics", params={"year": 2026, "chain": "OPTICS"}, headers=admin)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/calendar; charset=utf-8"
    raw = r.content
    assert raw.startswith(b"BEGIN:VCALENDAR\r\n") and raw.endswith(b"END:VCALENDAR\r\n")
    assert all(len(line) <= 75 for line in raw.split(b"\r\n"))  # folded lines (octets)
    cal = Calendar.from_ical(raw)
    assert str(cal["VERSION"]) == "2.0" and "chain-ledger" in str(cal["PRODID"])
    events = cal.walk("VEVENT")
    assert len(events) == 17
    uids = [str(e["UID"]) for e in events]
    assert len(set(uids)) == 17
    assert "monthly_dispatch-2026-03-OPTICS@chain-ledger" in uids
    by_uid = {str(e["UID"]): e for e in events}
    march = by_uid["monthly_dispatch-2026-03-OPTICS@chain-ledger"]
    assert march["DTSTART"].dt == date(2026, 4, 7) and march["DTEND"].dt == date(2026, 4, 8)
    assert march["DTSTART"].params.get("VALUE") == "DATE"
    assert "DTSTAMP" in march
    assert str(march["SUMMARY"]) == "月调度：光芯屏端网 2026年3月"
    assert "顺延" in str(march["DESCRIPTION"])
    assert str(by_uid["quarterly_inspection-2026-Q1-OPTICS@chain-ledger"]["SUMMARY"]) == "季观摩：光芯屏端网 2026年第1季度"
    assert str(by_uid["annual_appraisal-2026-OPTICS@chain-ledger"]["SUMMARY"]) == "年考评：光芯屏端网 2026年度"
    assert b"DTSTART;VALUE=DATE:20260407" in raw
    # Stable UIDs: the same feed again names the same events.
    again = Calendar.from_ical(client.get(f"{API}/schedule.ics", params={"year": 2026, "chain": "OPTICS"},
                                          headers=admin).content)
    assert [str(e["UID"]) for e in again.walk("VEVENT")] == uids
    # Every chain.
    everything = Calendar.from_ical(client.get(f"{API}/schedule.ics", params={"year": 2026}, headers=admin).content)
    assert len(everything.walk("VEVENT")) == 34


def test_ics_takes_the_token_from_the_query_and_never_logs_it(client, reference, make_token, monkeypatch):
    import service.middleware

    logged: list[dict] = []

    class Recorder:
        def info(self, event, **fields):  # noqa: ANN001, ANN003, ANN201
            logged.append({"event": event, **fields})

    monkeypatch.setattr(service.middleware, "log", Recorder())
    header = make_token("viewer", "calendar-app")
    token = header["Authorization"].split(" ", 1)[1]
    r = client.get(f"{API}/schedule.ics", params={"year": 2026, "chain": "OPTICS", "token": token})
    assert r.status_code == 200, r.text
    assert len(Calendar.from_ical(r.content).walk("VEVENT")) == 17
    assert_problem(client.get(f"{API}/schedule.ics", params={"year": 2026, "token": "nope"}), 401)
    assert_problem(client.get(f"{API}/schedule.ics", params={"year": 2026}), 401)
    # Only the .ics route reads ?token=.
    assert_problem(client.get(f"{API}/schedule", params={"year": 2026, "token": token}), 401)
    assert len(logged) == 4
    assert logged[0]["route"] == "/api/v1/schedule.ics" and logged[0]["actor"] == "viewer:calendar-app"
    assert all(token not in repr(entry) for entry in logged)
