"""Reference data (SPEC §2): departments, districts, chains."""

from __future__ import annotations

import pytest

from service.schemas.common import Page
from service.schemas.reference import ChainRead, DepartmentRead, DistrictRead
from tests.api.conftest import API, assert_problem, assert_validation

CHAIN = {"code": "BIO", "name": "生物医药", "leader": "副市长", "lead_department": "FGW"}


def _strict(model, data):
    """The body validates against the declared response model and has no undeclared member."""
    model.model_validate(data)
    assert set(data) == set(model.model_fields), set(data) ^ set(model.model_fields)


def test_reference_fixture_is_listed_with_its_declared_shape(client, admin, reference):
    deps = client.get(f"{API}/departments", headers=admin)
    assert deps.status_code == 200
    Page[DepartmentRead].model_validate(deps.json())
    assert [(d["code"], d["name"]) for d in deps.json()["items"]] == [("FGW", "市发改委"), ("JXJ", "市经信局")]
    for item in deps.json()["items"]:
        _strict(DepartmentRead, item)

    districts = client.get(f"{API}/districts", headers=admin).json()
    assert {d["code"]: d["kind"] for d in districts["items"]} == {
        "DHGX": "development_zone", "HS": "district", "JA": "district"}
    for item in districts["items"]:
        _strict(DistrictRead, item)

    chains = client.get(f"{API}/chains", headers=admin).json()
    assert [c["code"] for c in chains["items"]] == ["AUTO", "OPTICS"]
    assert chains["next_cursor"] is None
    for item in chains["items"]:
        _strict(ChainRead, item)
        assert item["version"] == 1 and item["created_at"].endswith("Z")


@pytest.mark.parametrize(
    ("path", "body", "kind"),
    [
        ("/departments", {"code": "SWJ", "name": "市商务局"}, DepartmentRead),
        ("/districts", {"code": "WC", "name": "武昌区", "kind": "district"}, DistrictRead),
        ("/districts", {"code": "WEDZ", "name": "经开区", "kind": "development_zone"}, DistrictRead),
        ("/chains", {**CHAIN, "benchmark_city": "苏州"}, ChainRead),
        ("/chains", CHAIN, ChainRead),
    ],
)
def test_create_answers_201_with_the_resource_and_etag(client, admin, reference, path, body, kind):
    r = client.post(f"{API}{path}", json=body, headers=admin)
    assert r.status_code == 201, r.text
    assert r.headers["etag"] == '"1"'
    assert r.headers["content-type"] == "application/json"
    _strict(kind, r.json())
    for k, v in body.items():
        assert r.json()[k] == v
    listed = client.get(f"{API}{path}", headers=admin).json()["items"]
    assert body["code"] in [x["code"] for x in listed]


def test_get_chain_and_404(client, admin, reference):
    r = client.get(f"{API}/chains/OPTICS", headers=admin)
    assert r.status_code == 200 and r.headers["etag"] == '"1"'
    _strict(ChainRead, r.json())
    assert r.json()["lead_department"] == "JXJ" and r.json()["benchmark_city"] is None
    assert_problem(client.get(f"{API}/chains/NOPE", headers=admin), 404, "/problems/not-found")


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/departments", {"code": "FGW", "name": "另一个发改委"}),
        ("/districts", {"code": "JA", "name": "江岸", "kind": "district"}),
        ("/chains", {**CHAIN, "code": "OPTICS"}),
    ],
)
def test_duplicate_code_is_409(client, admin, reference, unchanged, path, body):
    with unchanged():
        body_ = assert_problem(client.post(f"{API}{path}", json=body, headers=admin), 409, "/problems/duplicate")
    assert body["code"] in body_["detail"]
    listed = client.get(f"{API}{path}", headers=admin).json()["items"]
    assert [x["code"] for x in listed].count(body["code"]) == 1


@pytest.mark.parametrize(
    ("path", "body", "loc"),
    [
        ("/districts", {"code": "X1", "name": "某区", "kind": "x"}, ("body", "kind")),
        ("/districts", {"code": "X1", "name": "某区"}, ("body", "kind")),
        ("/departments", {"code": "X1"}, ("body", "name")),
        ("/departments", {"code": "A B", "name": "空格"}, ("body", "code")),
        ("/departments", {"code": "", "name": "空"}, ("body", "code")),
        ("/departments", {"code": "X" * 33, "name": "长"}, ("body", "code")),
        ("/departments", {"code": "X1", "name": "   "}, ("body", "name")),
        ("/departments", {"code": "X1", "name": "a\u0000b"}, ("body", "name")),
        ("/departments", {"code": "X\u00001", "name": "nul"}, ("body", "code")),
        ("/departments", {"code": 12, "name": "数字"}, ("body", "code")),
        ("/departments", {"code": "X1", "name": "部门", "extra": 1}, ("body", "extra")),
        ("/chains", {**CHAIN, "lead_department": "NOPE"}, ("body", "lead_department")),
        ("/chains", {**CHAIN, "leader": None}, ("body", "leader")),
        ("/chains", {**CHAIN, "benchmark_city": "x\u0000"}, ("body", "benchmark_city")),
        ("/chains", {**CHAIN, "version": 3}, ("body", "version")),
    ],
)
def test_invalid_reference_bodies_are_422(client, admin, reference, unchanged, path, body, loc):
    with unchanged():
        assert_validation(client.post(f"{API}{path}", json=body, headers=admin), *loc)


def test_unknown_lead_department_is_refused_even_for_a_new_code(client, admin, reference, unchanged):
    with unchanged():
        body = assert_validation(
            client.post(f"{API}/chains", json={**CHAIN, "lead_department": "NOPE"}, headers=admin),
            "body", "lead_department")
    assert "NOPE" in body["detail"]
    assert_problem(client.get(f"{API}/chains/BIO", headers=admin), 404)


# ---------------------------------------------------------------- PATCH /chains/{code}


def test_patch_chain_needs_if_match(client, admin, reference, unchanged):
    with unchanged():
        assert_problem(client.patch(f"{API}/chains/OPTICS", json={"leader": "新链长"}, headers=admin), 428,
                       "/problems/precondition-required")
    with unchanged():
        assert_problem(client.patch(f"{API}/chains/OPTICS", json={"leader": "新链长"},
                                    headers={**admin, "If-Match": '"7"'}), 412, "/problems/stale-version")
    with unchanged():
        assert_problem(client.patch(f"{API}/chains/OPTICS", json={"leader": "新链长"},
                                    headers={**admin, "If-Match": '"garbage"'}), 412)
        assert_problem(client.patch(f"{API}/chains/OPTICS", json={"leader": "新链长"},
                                    headers={**admin, "If-Match": "garbage"}), 422)
    assert client.get(f"{API}/chains/OPTICS", headers=admin).json()["leader"] == "链长"


@pytest.mark.parametrize("etag", ['"1"', 'W/"1"', "1"])
def test_patch_chain_with_the_current_etag(client, admin, reference, audit_count, events, etag):
    before = audit_count()
    r = client.patch(f"{API}/chains/OPTICS", json={"leader": "新链长", "lead_department": "FGW",
                                                   "benchmark_city": "深圳"},
                     headers={**admin, "If-Match": etag, "X-Request-ID": "patch-chain-1"})
    assert r.status_code == 200, r.text
    _strict(ChainRead, r.json())
    assert r.headers["etag"] == '"2"' and r.json()["version"] == 2
    assert r.json()["leader"] == "新链长" and r.json()["lead_department"] == "FGW"
    assert client.get(f"{API}/chains/OPTICS", headers=admin).json()["benchmark_city"] == "深圳"
    assert audit_count() == before + 1
    (e,) = events(action="chain.updated")
    assert e["entity"] == "chain" and e["entity_id"] == "OPTICS" and e["request_id"] == r.headers["x-request-id"]
    assert e["data"]["client_request_id"] == "patch-chain-1"
    assert e["data"]["before"] == {"leader": "链长", "lead_department": "JXJ", "benchmark_city": None}
    assert e["data"]["after"] == {"leader": "新链长", "lead_department": "FGW", "benchmark_city": "深圳"}
    # The old ETag is now stale.
    assert_problem(client.patch(f"{API}/chains/OPTICS", json={"name": "x"}, headers={**admin, "If-Match": '"1"'}),
                   412)


def test_patch_chain_that_changes_nothing_keeps_the_version(client, admin, reference, unchanged):
    with unchanged():
        r = client.patch(f"{API}/chains/OPTICS", json={"leader": "链长"}, headers={**admin, "If-Match": '"1"'})
    assert r.status_code == 200 and r.json()["version"] == 1 and r.headers["etag"] == '"1"'


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"lead_department": "NOPE"}, ("body", "lead_department")),
        ({"lead_department": None}, ("body", "lead_department")),
        ({"name": None}, ("body", "name")),
        ({"leader": ""}, ("body", "leader")),
        ({"code": "NEW"}, ("body", "code")),
        ({"version": 5}, ("body", "version")),
    ],
)
def test_invalid_chain_patch_is_422(client, admin, reference, unchanged, body, loc):
    with unchanged():
        assert_validation(client.patch(f"{API}/chains/OPTICS", json=body, headers={**admin, "If-Match": '"1"'}), *loc)
    assert client.get(f"{API}/chains/OPTICS", headers=admin).json()["version"] == 1


def test_patch_unknown_chain_is_404(client, admin, reference, unchanged):
    with unchanged():
        assert_problem(client.patch(f"{API}/chains/NOPE", json={"name": "x"}, headers={**admin, "If-Match": '"1"'}),
                       404)


def test_benchmark_city_can_be_cleared(client, admin, reference):
    assert client.patch(f"{API}/chains/AUTO", json={"benchmark_city": "长春"},
                        headers={**admin, "If-Match": '"1"'}).status_code == 200
    r = client.patch(f"{API}/chains/AUTO", json={"benchmark_city": None}, headers={**admin, "If-Match": '"2"'})
    assert r.status_code == 200 and r.json()["benchmark_city"] is None and r.json()["version"] == 3


# ---------------------------------------------------------------- lists


def test_departments_paginate_by_code(client, admin, reference):
    for i in range(5):
        assert client.post(f"{API}/departments", json={"code": f"D{i}", "name": f"部门{i}"},
                           headers=admin).status_code == 201
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = client.get(f"{API}/departments", params=params, headers=admin).json()
        pages += 1
        assert len(page["items"]) <= 3
        seen += [d["code"] for d in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(["FGW", "JXJ", *[f"D{i}" for i in range(5)]]) and pages == 3


@pytest.mark.parametrize("path", ["/departments", "/districts", "/chains"])
@pytest.mark.parametrize("query", ["limit=0", "limit=501", "limit=x", "cursor=%%%", "cursor=-FGW",
                                   "cursor=a%20b", f"cursor={'X' * 33}"])
def test_invalid_list_queries_are_422(client, admin, reference, path, query):
    # A code list's cursor is a code: anything the pattern refuses (a leading '-', a space, 33 characters) is 422
    body = assert_problem(client.get(f"{API}{path}?{query}", headers=admin), 422)
    assert body["errors"][0]["loc"][0] == "query"


def test_concurrent_duplicate_code_is_409_not_500(client, admin, reference, monkeypatch, audit_count):
    """Two creates of one code race past the existence check; the database refuses the second: 409."""
    import threading

    from service.db.reference import ReferenceRepo

    barrier = threading.Barrier(2, timeout=2)
    original = ReferenceRepo.department

    def racing(self, code):
        found = original(self, code)
        if found is None and code == "SWJ":
            try:
                barrier.wait()
            except threading.BrokenBarrierError:
                pass  # SQLite: the write lock already serialises the two requests
        return found

    monkeypatch.setattr(ReferenceRepo, "department", racing)
    before = audit_count()
    results: list = [None, None]

    def create(i: int) -> None:
        results[i] = client.post(f"{API}/departments", json={"code": "SWJ", "name": f"商务局{i}"}, headers=admin)

    threads = [threading.Thread(target=create, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(r.status_code for r in results) == [201, 409], [r.text for r in results]
    assert_problem(next(r for r in results if r.status_code == 409), 409)
    assert audit_count() == before + 1
