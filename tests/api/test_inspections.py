"""Quarterly inspection (季观摩): PUT/GET /chains/{code}/inspections/{YYYY-Qn}."""

from __future__ import annotations

import pytest

from tests.api.rhythm_support import (  # noqa: F401
    API,
    assert_invalid,
    assert_problem,
    frozen_clock,
    make_project,
    nothing_written,
    rhythm_state,
)

Q = f"{API}/chains/OPTICS/inspections"


def put(client, headers, period, body, *, chain="OPTICS", if_match=None):
    h = {**headers, **({"If-Match": if_match} if if_match else {})}
    return client.put(f"{API}/chains/{chain}/inspections/{period}", json=body, headers=h)


@pytest.fixture
def visited(make_project):
    return [make_project("OPTICS")["id"], make_project("OPTICS")["id"]]


def body(visited, **overrides):
    b = {"held_on": "2026-04-10", "visited_projects": visited, "score": 86.5, "findings": "项目推进有序"}
    b.update(overrides)
    return b


def test_record_read_replace(client, admin, visited, audit_count, events, monkeypatch, nothing_written):
    frozen_clock(monkeypatch, "2026-11-24T10:00:00+08:00")
    n = audit_count()
    r = put(client, admin, "2026-Q1", body(visited))
    assert r.status_code == 201, r.text
    assert r.headers["etag"] == '"1"'
    got = r.json()
    assert got["score"] == 86.5 and got["visited_projects"] == visited and got["held_on"] == "2026-04-10"
    assert got["due_on"] == "2026-04-15" and got["late"] is False and got["period"] == "2026-Q1"
    assert audit_count() == n + 1
    (ev,) = events(action="inspection.created")
    assert ev["entity_id"] == "OPTICS/2026-Q1" and ev["data"]["after"]["score"] == "86.50"
    r = client.get(f"{Q}/2026-Q1", headers=admin)
    assert r.status_code == 200 and r.json() == got and r.headers["etag"] == '"1"'

    with nothing_written():
        assert_problem(put(client, admin, "2026-Q1", body(visited, score="90")), 428)
        assert_problem(put(client, admin, "2026-Q1", body(visited, score="90"), if_match='"3"'), 412)
    r = put(client, admin, "2026-Q1", body(visited[:1], score="90", held_on="2026-04-20"), if_match='"1"')
    assert r.status_code == 200, r.text
    assert r.json()["score"] == 90 and r.json()["late"] is True and r.headers["etag"] == '"2"'
    assert audit_count() == n + 2
    (ev,) = events(action="inspection.updated")
    assert ev["data"]["before"] == {"held_on": "2026-04-10", "visited_projects": visited, "score": "86.50"}
    # Unchanged: nothing written.
    r = put(client, admin, "2026-Q1", body(visited[:1], score="90", held_on="2026-04-20"), if_match='"2"')
    assert r.status_code == 200 and r.headers["etag"] == '"2"' and audit_count() == n + 2


@pytest.mark.parametrize("period", ["2026-Q5", "2026-Q0", "2026-03", "2026", "2026-q1", "2026Q1"])
def test_periods_that_are_not_quarters(client, admin, visited, period, nothing_written):
    with nothing_written():
        assert_invalid(put(client, admin, period, body(visited)), "path", "period")
        assert_invalid(client.get(f"{Q}/{period}", headers=admin), "path", "period")


@pytest.mark.parametrize(
    ("overrides", "loc"),
    [
        ({"score": 100.01}, ("body", "score")),
        ({"score": -1}, ("body", "score")),
        ({"score": "101"}, ("body", "score")),
        ({"score": 86.555}, ("body", "score")),
        ({"score": True}, ("body", "score")),
        ({"held_on": "2099-01-01"}, ("body", "held_on")),  # in the future
        ({"held_on": "2026-03-31"}, ("body", "held_on")),  # before the quarter
        ({"findings": ""}, ("body", "findings")),
        ({"visitors": []}, ("body", "visitors")),  # unknown field
    ],
)
def test_bad_bodies(client, admin, visited, overrides, loc, monkeypatch, nothing_written):
    frozen_clock(monkeypatch, "2026-11-24T10:00:00+08:00")
    with nothing_written():
        assert_invalid(put(client, admin, "2026-Q2", body(visited, **overrides)), *loc)


def test_boundary_scores_are_fine(client, admin, visited):
    assert put(client, admin, "2026-Q1", body(visited, score=0)).json()["score"] == 0
    assert put(client, admin, "2026-Q2", body(visited, score="100", held_on="2026-06-30")).json()["score"] == 100


def test_visited_projects_are_the_chains_own(client, admin, visited, make_project, nothing_written):
    other = make_project("AUTO")["id"]
    with nothing_written():
        r = assert_invalid(put(client, admin, "2026-Q1", body([visited[0], other])), "body", "visited_projects", 1)
        assert "visited_projects[1]" in r["detail"]
        assert_invalid(put(client, admin, "2026-Q1", body([visited[0], visited[0]])), "body", "visited_projects", 1)
        assert_invalid(put(client, admin, "2026-Q1", body(["01NOPE"])), "body", "visited_projects", 0)


def test_a_quarter_not_begun_yet(client, admin, visited, monkeypatch, nothing_written):
    frozen_clock(monkeypatch, "2026-11-24T10:00:00+08:00")
    with nothing_written():
        assert_invalid(put(client, admin, "2027-Q1", body(visited, held_on="2026-11-20")), "path", "period")


def test_who_may_write(client, admin, visited, make_token, nothing_written):
    own = make_token("department", chains=["OPTICS"])
    foreign = make_token("department", chains=["AUTO"])
    with nothing_written():
        assert_problem(put(client, foreign, "2026-Q1", body(visited)), 403)
        assert_problem(put(client, make_token("viewer"), "2026-Q1", body(visited)), 403)
        assert_problem(put(client, admin, "2026-Q1", body(visited), chain="NOPE"), 404)
        assert_problem(put(client, admin, "2026-Q1", body(visited), if_match='"1"'), 412)  # does not exist yet
    assert put(client, own, "2026-Q1", body(visited)).status_code == 201
    assert client.get(f"{Q}/2026-Q1", headers=foreign).status_code == 200
    assert_problem(client.get(f"{Q}/2026-Q2", headers=admin), 404)
