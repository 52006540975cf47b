"""Projects (SPEC §3): create, read, list, patch, void — and every way a request can be refused."""

from __future__ import annotations

import base64
import json

import pytest

from service.schemas.common import Page
from service.schemas.projects import ProjectRead
from tests.api.conftest import (
    API,
    P,
    assert_problem,
    assert_validation,
    project_body,
    today_shanghai,
    tomorrow_shanghai,
)


def strict_project(data: dict) -> ProjectRead:
    """The body validates against ProjectRead and has exactly its members."""
    assert set(data) == set(ProjectRead.model_fields), set(data) ^ set(ProjectRead.model_fields)
    assert set(data["milestones"]) == {"signed", "started", "in_production", "at_capacity"}
    return ProjectRead.model_validate(data)


def _cursor(values) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


# ---------------------------------------------------------------- create


def test_create_answers_201_with_the_project(client, admin, reference):
    body = project_body(external_ref="ZS-2026-001", is_key=True, planned_investment="12500")
    r = client.post(P, json=body, headers=admin)
    assert r.status_code == 201, r.text
    assert r.headers["etag"] == '"1"' and r.headers["content-type"] == "application/json"
    p = r.json()
    strict_project(p)
    assert p["planned_investment"] == "12500.00" and p["cumulative_investment"] == "0.00"
    assert p["stage"] == "signed" and p["major"] is True and p["is_key"] is True and p["voided"] is False
    assert p["milestones"] == {"signed": "2026-01-10", "started": None, "in_production": None, "at_capacity": None}
    assert p["external_ref"] == "ZS-2026-001" and p["version"] == 1
    assert p["created_at"].endswith("Z") and p["created_at"] == p["updated_at"]
    got = client.get(f"{P}/{p['id']}", headers=admin)
    assert got.status_code == 200 and got.json() == p and got.headers["etag"] == '"1"'


@pytest.mark.parametrize(
    ("sent", "served", "major"),
    [
        ("12500", "12500.00", True),
        (12500, "12500.00", True),
        (12500.5, "12500.50", True),
        ("12500.5", "12500.50", True),
        ("0.1", "0.10", False),
        (0, "0.00", False),
        ("+7", "7.00", False),
        ("9999.99", "9999.99", False),
        ("10000", "10000.00", True),
        ("42.10", "42.10", False),
        ("999999999999.99", "999999999999.99", True),
    ],
)
def test_amounts_accepted_as_number_or_string_served_as_two_decimals(client, admin, reference, sent, served, major):
    r = client.post(P, json=project_body(planned_investment=sent), headers=admin)
    assert r.status_code == 201, r.text
    assert r.json()["planned_investment"] == served and r.json()["major"] is major
    assert client.get(f"{P}/{r.json()['id']}", headers=admin).json()["planned_investment"] == served


@pytest.mark.parametrize(
    "amount",
    ["-1", -0.01, "1.005", 1.005, "abc", "", "1e3", "1_000", "NaN", "Infinity", True, None, [], {"v": 1},
     "1234567890123.00", 1e20, "-0", " 42.10 ", "١٢", "12,500", ".5", "5."],
)
def test_bad_amounts_are_422(client, admin, reference, unchanged, amount):
    with unchanged():
        assert_validation(client.post(P, json=project_body(planned_investment=amount), headers=admin),
                          "body", "planned_investment")


@pytest.mark.parametrize(
    ("overrides", "loc"),
    [
        ({"stage": "foo"}, ("body", "stage")),
        ({"stage": "cancelled"}, ("body", "stage")),
        ({"is_key": "maybe"}, ("body", "is_key")),
        ({"name": 12}, ("body", "name")),
        ({"name": ""}, ("body", "name")),
        ({"name": "x" * 201}, ("body", "name")),
        ({"name": "芯片\u0000厂"}, ("body", "name")),
        ({"investor": "a\u0000"}, ("body", "investor")),
        ({"external_ref": "ref\u0000"}, ("body", "external_ref")),
        ({"chain": "OPT\u0000ICS"}, ("body", "chain")),
        ({"milestones": {"signed": "2026-13-01"}}, ("body", "milestones", "signed")),
        ({"milestones": {"signed": "yesterday"}}, ("body", "milestones", "signed")),
        ({"milestones": {"signed": "2026-01-10", "finished": "2026-01-11"}}, ("body", "milestones", "finished")),
        ({"milestones": "2026-01-10"}, ("body", "milestones")),
        ({"milestones": {"signed": "1900-01-01"}}, ("body", "milestones", "signed")),
        ({"unknown": 1}, ("body", "unknown")),
        ({"version": 2}, ("body", "version")),
        ({"cumulative_investment": "5"}, ("body", "cumulative_investment")),
        ({"voided": True}, ("body", "voided")),
        ({"chain": "NOPE"}, ("body", "chain")),
        ({"district": "NOPE"}, ("body", "district")),
    ],
)
def test_invalid_project_bodies_are_422(client, admin, reference, unchanged, overrides, loc):
    with unchanged():
        assert_validation(client.post(P, json=project_body(**overrides), headers=admin), *loc)


@pytest.mark.parametrize("missing", ["name", "chain", "district", "investor", "planned_investment", "milestones"])
def test_missing_required_field_is_422(client, admin, reference, unchanged, missing):
    body = project_body()
    del body[missing]
    with unchanged():
        assert_validation(client.post(P, json=body, headers=admin), "body", missing)


def test_unknown_chain_and_district_are_both_named(client, admin, reference, unchanged):
    with unchanged():
        body = assert_validation(client.post(P, json=project_body(chain="NOPE", district="NADA"), headers=admin),
                                 "body", "chain")
    assert ("body", "district") in [tuple(e["loc"]) for e in body["errors"]]
    assert client.get(P, headers=admin).json()["items"] == []


# ---------------------------------------------------------------- milestones on create


def _ms(**m):
    return {"signed": None, "started": None, "in_production": None, "at_capacity": None, **m}


@pytest.mark.parametrize(
    ("stage", "milestones", "bad"),
    [
        ("signed", {}, "signed"),
        ("signed", {"signed": None}, "signed"),
        ("started", {"signed": "2026-01-10"}, "started"),
        ("in_production", {"signed": "2026-01-10", "started": "2026-02-01"}, "in_production"),
        ("at_capacity", {"signed": "2026-01-10", "in_production": "2026-03-01", "at_capacity": "2026-04-01"},
         "started"),
        ("started", {"signed": "2026-03-01", "started": "2026-02-01"}, "started"),
        ("at_capacity", {"signed": "2026-01-10", "started": "2026-02-01", "in_production": "2026-01-20",
                         "at_capacity": "2026-04-01"}, "in_production"),
        ("signed", {"signed": "2026-01-10", "started": "2026-02-01"}, "started"),
        ("started", {"signed": "2026-01-10", "started": "2026-02-01", "at_capacity": "2026-05-01"}, "at_capacity"),
        ("signed", {"signed": "FUTURE"}, "signed"),
        ("started", {"signed": "2026-01-10", "started": "FUTURE"}, "started"),
    ],
)
def test_milestone_rules_on_create(client, admin, reference, unchanged, stage, milestones, bad):
    future = tomorrow_shanghai().isoformat()
    milestones = {k: (future if v == "FUTURE" else v) for k, v in milestones.items()}
    with unchanged():
        assert_validation(client.post(P, json=project_body(stage=stage, milestones=milestones), headers=admin),
                          "body", "milestones", bad)


@pytest.mark.parametrize(
    ("stage", "milestones"),
    [
        ("started", {"signed": "2026-01-10", "started": "2026-01-10"}),
        ("in_production", {"signed": "2025-05-01", "started": "2025-09-01", "in_production": "2026-06-30"}),
        ("at_capacity", {"signed": "2024-01-10", "started": "2024-06-01", "in_production": "2025-03-01",
                         "at_capacity": "2026-04-01"}),
    ],
)
def test_backfill_at_a_later_stage_with_every_earlier_milestone(client, admin, reference, audit_count,
                                                               stage, milestones):
    before = audit_count()
    r = client.post(P, json=project_body(stage=stage, milestones=milestones), headers=admin)
    assert r.status_code == 201, r.text
    assert r.json()["stage"] == stage and r.json()["milestones"] == _ms(**milestones)
    assert audit_count() == before + 1
    # A backfilled project has no transition to revert.
    assert_problem(client.post(f"{P}/{r.json()['id']}/transitions/revert", json={"reason": "x"}, headers=admin),
                   409)


def test_signed_today_in_shanghai_is_not_the_future(client, admin, reference):
    r = client.post(P, json=project_body(milestones={"signed": today_shanghai().isoformat()}), headers=admin)
    assert r.status_code == 201, r.text


# ---------------------------------------------------------------- external_ref


def test_duplicate_external_ref_names_the_existing_id(client, admin, reference, unchanged):
    first = client.post(P, json=project_body(external_ref="ZS-1"), headers=admin).json()
    with unchanged():
        body = assert_problem(client.post(P, json=project_body(external_ref="ZS-1", name="另一个"), headers=admin),
                              409, "/problems/duplicate")
    assert body["existing_id"] == first["id"] and first["id"] in body["detail"]
    assert len(client.get(P, headers=admin).json()["items"]) == 1


def test_duplicate_external_ref_via_patch_is_409(client, admin, new_project, unchanged):
    a = new_project(external_ref="ZS-1")
    b = new_project(external_ref="ZS-2")
    with unchanged():
        body = assert_problem(client.patch(f"{P}/{b['id']}", json={"external_ref": "ZS-1"},
                                           headers={**admin, "If-Match": '"1"'}), 409)
    assert body["existing_id"] == a["id"]
    # Re-sending its own ref is not a conflict, and a ref can be cleared.
    assert client.patch(f"{P}/{b['id']}", json={"external_ref": "ZS-2"},
                        headers={**admin, "If-Match": '"1"'}).status_code == 200
    r = client.patch(f"{P}/{b['id']}", json={"external_ref": None}, headers={**admin, "If-Match": '"1"'})
    assert r.status_code == 200 and r.json()["external_ref"] is None and r.json()["version"] == 2


def test_projects_without_external_ref_do_not_collide(client, admin, new_project):
    new_project()
    new_project()
    assert len(client.get(P, headers=admin).json()["items"]) == 2


# ---------------------------------------------------------------- read


@pytest.mark.parametrize("project_id", ["01J0000000000000000000000X", "nope", "x" * 300])
def test_unknown_project_is_404(client, admin, reference, project_id):
    assert_problem(client.get(f"{P}/{project_id}", headers=admin), 404, "/problems/not-found")


# ---------------------------------------------------------------- patch


def test_patch_requires_if_match(client, admin, new_project, unchanged):
    p = new_project()
    with unchanged():
        assert_problem(client.patch(f"{P}/{p['id']}", json={"name": "新名"}, headers=admin), 428,
                       "/problems/precondition-required")
    assert client.get(f"{P}/{p['id']}", headers=admin).json()["name"] == p["name"]


@pytest.mark.parametrize("etag", ['"2"', '"0"', '"abc"', '"2", "3"', 'W/"7"'])
def test_patch_with_a_stale_if_match_is_412(client, admin, new_project, unchanged, etag):
    p = new_project()
    with unchanged():
        assert_problem(client.patch(f"{P}/{p['id']}", json={"name": "新名"}, headers={**admin, "If-Match": etag}),
                       412, "/problems/stale-version")


@pytest.mark.parametrize("etag", ["abc", "null", '"1', "*, 1"])
def test_an_if_match_that_is_no_entity_tag_is_422(client, admin, new_project, unchanged, etag):
    """The header's pattern (in the OpenAPI document) says what an entity tag is; anything else is refused."""
    p = new_project()
    with unchanged():
        problem = assert_problem(client.patch(f"{P}/{p['id']}", json={"name": "新名"},
                                              headers={**admin, "If-Match": etag}), 422, "/problems/validation-error")
    assert problem["errors"][0]["loc"] == ["header", "If-Match"]


@pytest.mark.parametrize("etag", ["*", '"1", "2"', '"0", W/"1"', "1"])
def test_if_match_star_or_a_list_naming_the_version_matches(client, admin, new_project, etag):
    """RFC 9110: ``*`` matches any current version; a list matches when one of its tags is the version."""
    p = new_project()
    r = client.patch(f"{P}/{p['id']}", json={"name": "新名"}, headers={**admin, "If-Match": etag})
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 2 and r.headers["etag"] == '"2"'


def test_patch_with_the_current_etag_bumps_the_version(client, admin, new_project, audit_count, events):
    p = new_project(is_key=False, planned_investment="9000")
    before = audit_count()
    r = client.patch(f"{P}/{p['id']}", json={"name": "新名", "is_key": True, "planned_investment": 10000.5,
                                             "district": "HS", "investor": "新投资方"},
                     headers={**admin, "If-Match": r'"1"'})
    assert r.status_code == 200, r.text
    strict_project(r.json())
    assert r.headers["etag"] == '"2"' and r.json()["version"] == 2
    assert r.json()["planned_investment"] == "10000.50" and r.json()["major"] is True
    assert r.json()["name"] == "新名" and r.json()["district"] == "HS" and r.json()["is_key"] is True
    assert r.json()["updated_at"] >= p["updated_at"] and r.json()["created_at"] == p["created_at"]
    assert client.get(f"{P}/{p['id']}", headers=admin).json() == r.json()
    assert audit_count() == before + 1
    (e,) = events(action="project.updated")
    assert e["data"]["before"] == {"name": p["name"], "is_key": False, "planned_investment": "9000.00",
                                   "district": "JA", "investor": p["investor"]}
    assert e["data"]["after"] == {"name": "新名", "is_key": True, "planned_investment": "10000.50",
                                  "district": "HS", "investor": "新投资方"}
    # The old version is stale now.
    assert_problem(client.patch(f"{P}/{p['id']}", json={"name": "再改"}, headers={**admin, "If-Match": '"1"'}), 412)


def test_patch_that_changes_nothing_keeps_version_and_audit(client, admin, new_project, unchanged):
    p = new_project()
    with unchanged():
        r = client.patch(f"{P}/{p['id']}", json={"name": p["name"]}, headers={**admin, "If-Match": '"1"'})
    assert r.status_code == 200 and r.json()["version"] == 1 and r.headers["etag"] == '"1"'


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"stage": "started"}, ("body", "stage")),
        ({"milestones": {"signed": "2026-01-01"}}, ("body", "milestones")),
        ({"chain": "AUTO"}, ("body", "chain")),
        ({"version": 3}, ("body", "version")),
        ({"name": None}, ("body", "name")),
        ({"is_key": None}, ("body", "is_key")),
        ({"planned_investment": None}, ("body", "planned_investment")),
        ({"planned_investment": "-5"}, ("body", "planned_investment")),
        ({"district": "NOPE"}, ("body", "district")),
        ({"district": None}, ("body", "district")),
        ({"investor": "x\u0000"}, ("body", "investor")),
    ],
)
def test_patch_cannot_change_stage_milestones_chain_or_break_rules(client, admin, new_project, unchanged, body, loc):
    p = new_project()
    with unchanged():
        assert_validation(client.patch(f"{P}/{p['id']}", json=body, headers={**admin, "If-Match": '"1"'}), *loc)
    assert client.get(f"{P}/{p['id']}", headers=admin).json() == p


def test_patch_unknown_project_is_404(client, admin, reference, unchanged):
    with unchanged():
        assert_problem(client.patch(f"{P}/NOPE", json={"name": "x"}, headers={**admin, "If-Match": '"1"'}), 404)


# ---------------------------------------------------------------- list, filters


def test_list_filters(client, admin, new_project, move):
    a = new_project(name="光芯一号", chain="OPTICS", district="JA", is_key=True, planned_investment="20000")
    b = new_project(name="汽车二号", chain="AUTO", district="HS", investor="东风", planned_investment="500")
    c = new_project(name="光芯三号", chain="OPTICS", district="DHGX", planned_investment="10000")
    assert move(c["id"], "started", "2026-03-01").status_code == 200

    def ids(query: str) -> list[str]:
        r = client.get(f"{P}?{query}", headers=admin)
        assert r.status_code == 200, r.text
        Page[ProjectRead].model_validate(r.json())
        return [x["id"] for x in r.json()["items"]]

    assert ids("") == [a["id"], b["id"], c["id"]]
    assert ids("chain=OPTICS") == [a["id"], c["id"]]
    assert ids("district=HS") == [b["id"]]
    assert ids("stage=started") == [c["id"]]
    assert ids("stage=signed&chain=OPTICS") == [a["id"]]
    assert ids("key=true") == [a["id"]]
    assert ids("key=false") == [b["id"], c["id"]]
    assert ids("major=true") == [a["id"], c["id"]]
    assert ids("major=false") == [b["id"]]
    assert ids("q=东风") == [b["id"]]
    assert ids("q=光芯") == [a["id"], c["id"]]
    assert ids("chain=NOPE") == []


@pytest.mark.parametrize(
    ("q", "expected"),
    [("100%", ["纯度100%工厂"]), ("%", ["纯度100%工厂"]), ("_", ["a_b 项目"]), ("a_b", ["a_b 项目"]),
     ("a%b", []), ("\\", ["反斜杠\\厂"]), ("'", ["O'Neil 厂"]), ("o'neil", ["O'Neil 厂"]), ("A_B", ["a_b 项目"])],
)
def test_q_matches_literally(client, admin, new_project, q, expected):
    for name in ["纯度100%工厂", "a_b 项目", "axb 项目", "纯度1000工厂", "反斜杠\\厂", "O'Neil 厂"]:
        new_project(name=name)
    r = client.get(P, params={"q": q}, headers=admin)
    assert r.status_code == 200, r.text
    assert [x["name"] for x in r.json()["items"]] == expected


@pytest.mark.parametrize(
    "query",
    ["limit=0", "limit=501", "limit=-1", "limit=abc", "stage=foo", "key=maybe", "major=2", "cursor=garbage!",
     f"cursor={_cursor([1, 2])}", f"cursor={_cursor([123])}", f"cursor={_cursor([None])}",
     f"cursor={_cursor({'id': 'x'})}", f"cursor={_cursor([['x']])}", "q=" + "x" * 201, "include_voided=perhaps"],
)
def test_invalid_list_queries_are_422(client, admin, new_project, query):
    new_project()
    body = assert_problem(client.get(f"{P}?{query}", headers=admin), 422)
    assert body["errors"][0]["loc"][0] == "query"


def test_pages_neither_skip_nor_repeat(client, admin, new_project):
    created = [new_project(name=f"项目{i}")["id"] for i in range(7)]
    seen, cursor, pages = [], None, []
    while True:
        r = client.get(P, params={"limit": 3, **({"cursor": cursor} if cursor else {})}, headers=admin)
        assert r.status_code == 200
        pages.append(len(r.json()["items"]))
        seen += [x["id"] for x in r.json()["items"]]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            break
    assert pages == [3, 3, 1]
    assert seen == created


def test_limit_equal_to_the_rest_ends_without_an_empty_page(client, admin, new_project):
    for i in range(6):
        new_project(name=f"项目{i}")
    first = client.get(P, params={"limit": 3}, headers=admin).json()
    second = client.get(P, params={"limit": 3, "cursor": first["next_cursor"]}, headers=admin).json()
    assert len(second["items"]) == 3 and second["next_cursor"] is None


def test_writes_between_page_reads_do_not_shift_pages(client, admin, new_project, move):
    created = [new_project(name=f"项目{i}")["id"] for i in range(5)]
    first = client.get(P, params={"limit": 2}, headers=admin).json()
    # Between the reads: new projects, a project on page one voided, a project on page two moved.
    created.append(new_project(name="后来的")["id"])
    assert client.post(f"{P}/{created[0]}/void", json={"reason": "重复"}, headers=admin).status_code == 200
    assert move(created[2], "started", "2026-02-01").status_code == 200
    rest, cursor = [], first["next_cursor"]
    while cursor:
        page = client.get(P, params={"limit": 2, "cursor": cursor}, headers=admin).json()
        rest += [x["id"] for x in page["items"]]
        cursor = page["next_cursor"]
    assert [x["id"] for x in first["items"]] == created[:2]
    assert rest == created[2:]


def test_default_and_maximum_limit(client, admin, new_project):
    for i in range(3):
        new_project(name=f"项目{i}")
    assert len(client.get(P, headers=admin).json()["items"]) == 3
    assert client.get(f"{P}?limit=500", headers=admin).status_code == 200


# ---------------------------------------------------------------- void


def test_void_leaves_lists_but_stays_readable(client, admin, new_project, audit_count, events):
    keep = new_project(name="保留")
    gone = new_project(name="作废")
    before = audit_count()
    r = client.post(f"{P}/{gone['id']}/void", json={"reason": "重复录入"},
                    headers={**admin, "X-Request-ID": "void-1"})
    assert r.status_code == 200, r.text
    strict_project(r.json())
    assert r.json()["voided"] is True and r.json()["void_reason"] == "重复录入" and r.json()["voided_at"]
    assert r.json()["version"] == 2 and r.headers["etag"] == '"2"'
    assert audit_count() == before + 1
    (e,) = events(action="project.voided")
    assert e["entity_id"] == gone["id"] and e["data"]["client_request_id"] == "void-1" and e["data"]["reason"] == "重复录入"
    assert e["request_id"] == r.headers["x-request-id"]
    assert e["data"]["before"] == {"voided_at": None, "void_reason": None}
    assert e["data"]["after"]["void_reason"] == "重复录入"

    assert [x["id"] for x in client.get(P, headers=admin).json()["items"]] == [keep["id"]]
    assert [x["id"] for x in client.get(f"{P}?q=作废", headers=admin).json()["items"]] == []
    listed = client.get(f"{P}?include_voided=true", headers=admin).json()["items"]
    assert [x["id"] for x in listed] == [keep["id"], gone["id"]]
    assert listed[1]["voided"] is True
    got = client.get(f"{P}/{gone['id']}", headers=admin)
    assert got.status_code == 200 and got.json()["voided"] is True and got.headers["etag"] == '"2"'


@pytest.mark.parametrize(
    ("method", "suffix", "body", "headers"),
    [
        ("post", "/void", {"reason": "再作废"}, {}),
        ("post", "/transitions", {"to": "started", "on": "2026-02-01"}, {}),
        ("post", "/transitions", {"to": "cancelled", "on": "2026-02-01", "reason": "终止"}, {}),
        ("post", "/transitions/revert", {"reason": "撤销"}, {}),
        ("patch", "", {"name": "改名"}, {"If-Match": '"2"'}),
    ],
)
def test_actions_on_a_voided_project_are_409(client, admin, new_project, unchanged, method, suffix, body, headers):
    p = new_project()
    assert client.post(f"{P}/{p['id']}/void", json={"reason": "录错"}, headers=admin).status_code == 200
    with unchanged():
        assert_problem(getattr(client, method)(f"{P}/{p['id']}{suffix}", json=body, headers={**admin, **headers}),
                       409)
    assert client.get(f"{P}/{p['id']}", headers=admin).json()["version"] == 2


@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "   "}, {"reason": None}, {"reason": "x\u0000"},
                                  {"reason": "ok", "extra": 1}])
def test_void_needs_a_reason(client, admin, new_project, unchanged, body):
    p = new_project()
    with unchanged():
        assert_problem(client.post(f"{P}/{p['id']}/void", json=body, headers=admin), 422)
    assert client.get(P, headers=admin).json()["items"][0]["voided"] is False


def test_void_honours_if_match(client, admin, new_project, unchanged):
    p = new_project()
    with unchanged():
        assert_problem(client.post(f"{P}/{p['id']}/void", json={"reason": "x"}, headers={**admin, "If-Match": '"5"'}),
                       412)
    assert client.post(f"{P}/{p['id']}/void", json={"reason": "x"},
                       headers={**admin, "If-Match": '"1"'}).status_code == 200


def test_void_unknown_project_is_404(client, admin, reference, unchanged):
    with unchanged():
        assert_problem(client.post(f"{P}/NOPE/void", json={"reason": "x"}, headers=admin), 404)


def test_list_response_matches_declared_model(client, admin, new_project):
    new_project()
    r = client.get(P, headers=admin)
    assert set(r.json()) == {"items", "next_cursor"}
    for item in r.json()["items"]:
        strict_project(item)
    assert client.get(f"{API}/openapi.json").status_code == 404  # the spec lives at the site root
    assert client.get("/openapi.json").status_code == 200


def test_concurrent_duplicate_external_ref_is_409_not_500(client, admin, reference, monkeypatch, audit_count):
    """Two pushes of the same external_ref race past the uniqueness check: the loser gets 409 naming the
    winner (on SQLite the write lock serialises them; the barrier then just times out)."""
    import threading

    from service.db.projects import ProjectQueries

    barrier = threading.Barrier(2, timeout=2)
    original = ProjectQueries.by_external_ref

    def racing(self, ref):
        found = original(self, ref)
        if found is None:
            try:
                barrier.wait()
            except threading.BrokenBarrierError:
                pass
        return found

    monkeypatch.setattr(ProjectQueries, "by_external_ref", racing)
    before = audit_count()
    results: list = [None, None]

    def push(i: int) -> None:
        results[i] = client.post(P, json=project_body(external_ref="ZS-RACE"), headers=admin)

    threads = [threading.Thread(target=push, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    statuses = sorted(r.status_code for r in results)
    assert statuses == [201, 409], [r.text for r in results]
    winner = next(r for r in results if r.status_code == 201).json()
    loser = assert_problem(next(r for r in results if r.status_code == 409), 409, "/problems/duplicate")
    assert loser["existing_id"] == winner["id"]
    assert audit_count() == before + 1
