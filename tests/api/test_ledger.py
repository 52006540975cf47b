"""The four-lists ledger and its summary (SPEC §3), through the API on a real database.

The projects of ``ledger`` (today is after all of them; E is voided, D and F are cancelled):

    name  chain   district  planned    key  signed      started     in_production  at_capacity  then
    A     OPTICS  JA        12000.50   yes  2026-01-15  2026-04-10  2026-05-20
    B     OPTICS  HS          800.00        2026-04-01  2026-06-30
    C     AUTO    JA        30000.00   yes  2025-11-03  2026-03-31  2026-04-01     2026-06-15
    D     AUTO    DHGX       5000.00        2026-05-05                                          cancelled 05-10
    E     OPTICS  JA         9999.99        2026-05-31                                          voided
    F     AUTO    HS        10000.00        2026-02-28  2026-05-01                              cancelled 07-01
"""

from __future__ import annotations

import pytest

LISTS = ("signed", "started", "in_production", "at_capacity")
MILESTONES = {
    "A": {"signed": "2026-01-15", "started": "2026-04-10", "in_production": "2026-05-20"},
    "B": {"signed": "2026-04-01", "started": "2026-06-30"},
    "C": {"signed": "2025-11-03", "started": "2026-03-31", "in_production": "2026-04-01", "at_capacity": "2026-06-15"},
    "D": {"signed": "2026-05-05"},
    "E": {"signed": "2026-05-31"},
    "F": {"signed": "2026-02-28"},
}
ATTRS = {
    "A": ("OPTICS", "JA", "12000.50", True),
    "B": ("OPTICS", "HS", "800.00", False),
    "C": ("AUTO", "JA", "30000.00", True),
    "D": ("AUTO", "DHGX", "5000.00", False),
    "E": ("OPTICS", "JA", "9999.99", False),
    "F": ("AUTO", "HS", "10000.00", False),
}


def create_project(client, headers, name, *, chain, district, planned, key=False, milestones, **extra) -> dict:
    stage = [s for s in LISTS if s in milestones][-1]
    body = {"name": name, "chain": chain, "district": district, "investor": f"{name} 投资方",
            "planned_investment": planned, "is_key": key, "stage": stage, "milestones": milestones, **extra}
    r = client.post("/api/v1/projects", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


def act(client, headers, project_id: str, action: str, body: dict) -> None:
    r = client.post(f"/api/v1/projects/{project_id}/{action}", json=body, headers=headers)
    assert r.status_code == 200, r.text


@pytest.fixture
def ledger(client, admin, reference) -> dict[str, dict]:
    projects = {}
    for name, (chain, district, planned, key) in ATTRS.items():
        projects[name] = create_project(client, admin, name, chain=chain, district=district, planned=planned, key=key,
                                        milestones=MILESTONES[name], external_ref=f"ZS-{name}")
    act(client, admin, projects["D"]["id"], "transitions", {"to": "cancelled", "on": "2026-05-10", "reason": "撤资"})
    act(client, admin, projects["E"]["id"], "void", {"reason": "录入错误"})
    act(client, admin, projects["F"]["id"], "transitions", {"to": "started", "on": "2026-05-01"})
    act(client, admin, projects["F"]["id"], "transitions", {"to": "cancelled", "on": "2026-07-01", "reason": "停建"})
    return projects


def get_ledger(client, headers, **params) -> dict:
    r = client.get("/api/v1/ledger", params=params, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def names(lst: dict, projects: dict[str, dict]) -> list[str]:
    by_id = {p["id"]: name for name, p in projects.items()}
    return [by_id[item["id"]] for item in lst["projects"]]


# (period, from, to, {list: (count, investment, names in milestone-date order)})
PERIODS = [
    ("2026", "2026-01-01", "2026-12-31", {
        "signed": (4, "27800.50", "AFBD"), "started": (4, "52800.50", "CAFB"),
        "in_production": (2, "42000.50", "CA"), "at_capacity": (1, "30000.00", "C")}),
    ("2026-Q1", "2026-01-01", "2026-03-31", {
        "signed": (2, "22000.50", "AF"), "started": (1, "30000.00", "C"),
        "in_production": (0, "0.00", ""), "at_capacity": (0, "0.00", "")}),
    ("2026-Q2", "2026-04-01", "2026-06-30", {  # B is on two lists; both bounds are inclusive
        "signed": (2, "5800.00", "BD"), "started": (3, "22800.50", "AFB"),
        "in_production": (2, "42000.50", "CA"), "at_capacity": (1, "30000.00", "C")}),
    ("2026-05", "2026-05-01", "2026-05-31", {  # E (signed 05-31) is voided
        "signed": (1, "5000.00", "D"), "started": (1, "10000.00", "F"),
        "in_production": (1, "12000.50", "A"), "at_capacity": (0, "0.00", "")}),
    ("2026-02", "2026-02-01", "2026-02-28", {
        "signed": (1, "10000.00", "F"), "started": (0, "0.00", ""),
        "in_production": (0, "0.00", ""), "at_capacity": (0, "0.00", "")}),
    ("2025", "2025-01-01", "2025-12-31", {
        "signed": (1, "30000.00", "C"), "started": (0, "0.00", ""),
        "in_production": (0, "0.00", ""), "at_capacity": (0, "0.00", "")}),
    ("2026-07", "2026-07-01", "2026-07-31", {  # a cancellation date is on no list
        "signed": (0, "0.00", ""), "started": (0, "0.00", ""),
        "in_production": (0, "0.00", ""), "at_capacity": (0, "0.00", "")}),
]


@pytest.mark.parametrize(("period", "start", "end", "expected"), PERIODS, ids=[p[0] for p in PERIODS])
def test_lists_of_a_period(client, admin, ledger, period, start, end, expected):
    body = get_ledger(client, admin, period=period)
    assert (body["period"], body["from"], body["to"]) == (period, start, end)
    assert list(body["lists"]) == list(LISTS)
    for lst, (count, investment, order) in expected.items():
        got = body["lists"][lst]
        assert (got["count"], got["investment"], "".join(names(got, ledger)), got["truncated"]) == (
            count, investment, order, False), lst


def test_items_carry_the_project_and_the_date_of_their_list(client, admin, ledger):
    lists = get_ledger(client, admin, period="2026-Q2")["lists"]
    a = ledger["A"]
    assert lists["started"]["projects"][0] == {
        "id": a["id"], "external_ref": "ZS-A", "name": "A", "chain": "OPTICS", "district": "JA",
        "investor": "A 投资方", "planned_investment": "12000.50", "is_key": True, "major": True,
        "stage": "in_production", "on": "2026-04-10",
    }
    assert lists["in_production"]["projects"][1]["on"] == "2026-05-20"
    assert [i["major"] for i in lists["started"]["projects"]] == [True, True, False]  # 10000.00 is major


def test_cancelled_projects_stay_on_the_lists_they_reached_flagged(client, admin, ledger):
    lists = get_ledger(client, admin, period="2026")["lists"]
    stages = {lst: {i["name"]: i["stage"] for i in lists[lst]["projects"]} for lst in LISTS}
    assert stages["signed"] == {"A": "in_production", "F": "cancelled", "B": "started", "D": "cancelled"}
    assert stages["started"]["F"] == "cancelled"


def test_voided_projects_count_nowhere(client, admin, ledger, reference):
    everything = [i["name"] for y in ("2025", "2026") for lst in get_ledger(client, admin, period=y)["lists"].values()
                  for i in lst["projects"]]
    assert "E" not in everything
    rows = client.get("/api/v1/ledger/summary", params={"period": "2026-05", "by": "district"}, headers=admin).json()
    assert [r["signed"]["count"] for r in rows["rows"]] == [1, 0, 0]  # DHGX (D), HS, JA (E voided)


@pytest.mark.parametrize(("limit", "shown", "truncated"), [
    (1, {"signed": 1, "started": 1, "in_production": 1, "at_capacity": 1},
     {"signed": True, "started": True, "in_production": True, "at_capacity": False}),
    (2, {"signed": 2, "started": 2, "in_production": 2, "at_capacity": 1},
     {"signed": True, "started": True, "in_production": False, "at_capacity": False}),
    (4, {"signed": 4, "started": 4, "in_production": 2, "at_capacity": 1},
     {"signed": False, "started": False, "in_production": False, "at_capacity": False}),
])
def test_limit_truncates_items_but_never_counts(client, admin, ledger, limit, shown, truncated):
    lists = get_ledger(client, admin, period="2026", limit=limit)["lists"]
    assert {lst: len(v["projects"]) for lst, v in lists.items()} == shown
    assert {lst: v["truncated"] for lst, v in lists.items()} == truncated
    assert {lst: v["count"] for lst, v in lists.items()} == {"signed": 4, "started": 4, "in_production": 2,
                                                             "at_capacity": 1}
    assert lists["signed"]["investment"] == "27800.50"
    assert "".join(names(lists["signed"], ledger)) == "AFBD"[:limit]


# (filters, {list: (count, investment)}) over 2026
FILTERS = [
    ({"chain": "OPTICS"}, {"signed": (2, "12800.50"), "started": (2, "12800.50"), "in_production": (1, "12000.50"),
                           "at_capacity": (0, "0.00")}),
    ({"district": "JA"}, {"signed": (1, "12000.50"), "started": (2, "42000.50"), "in_production": (2, "42000.50"),
                          "at_capacity": (1, "30000.00")}),
    ({"key": "true"}, {"signed": (1, "12000.50"), "started": (2, "42000.50"), "in_production": (2, "42000.50"),
                       "at_capacity": (1, "30000.00")}),
    ({"key": "false"}, {"signed": (3, "15800.00"), "started": (2, "10800.00"), "in_production": (0, "0.00"),
                        "at_capacity": (0, "0.00")}),
    ({"major": "true"}, {"signed": (2, "22000.50"), "started": (3, "52000.50"), "in_production": (2, "42000.50"),
                         "at_capacity": (1, "30000.00")}),
    ({"major": "false"}, {"signed": (2, "5800.00"), "started": (1, "800.00"), "in_production": (0, "0.00"),
                          "at_capacity": (0, "0.00")}),
    ({"chain": "AUTO", "district": "HS"}, {"signed": (1, "10000.00"), "started": (1, "10000.00"),
                                           "in_production": (0, "0.00"), "at_capacity": (0, "0.00")}),
    ({"chain": "NOSUCH"}, {lst: (0, "0.00") for lst in LISTS}),  # unknown codes match nothing
]


@pytest.mark.parametrize(("filters", "expected"), FILTERS, ids=[str(f) for f, _ in FILTERS])
def test_filters(client, admin, ledger, filters, expected):
    lists = get_ledger(client, admin, period="2026", **filters)["lists"]
    assert {lst: (v["count"], v["investment"]) for lst, v in lists.items()} == expected
    assert all(len(v["projects"]) == v["count"] for v in lists.values())


def summary(client, headers, **params) -> dict:
    r = client.get("/api/v1/ledger/summary", params=params, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def tallies(lists: dict) -> dict:
    return {lst: {"count": lists[lst]["count"], "investment": lists[lst]["investment"]} for lst in LISTS}


def test_summary_by_chain(client, admin, ledger):
    body = summary(client, admin, period="2026", by="chain")
    assert (body["period"], body["from"], body["to"], body["by"]) == ("2026", "2026-01-01", "2026-12-31", "chain")
    assert body["rows"] == [
        {"chain": "AUTO", "name": "汽车制造",
         "signed": {"count": 2, "investment": "15000.00"}, "started": {"count": 2, "investment": "40000.00"},
         "in_production": {"count": 1, "investment": "30000.00"}, "at_capacity": {"count": 1, "investment": "30000.00"}},
        {"chain": "OPTICS", "name": "光芯屏端网",
         "signed": {"count": 2, "investment": "12800.50"}, "started": {"count": 2, "investment": "12800.50"},
         "in_production": {"count": 1, "investment": "12000.50"}, "at_capacity": {"count": 0, "investment": "0.00"}},
    ]


def test_summary_lists_codes_without_projects_with_zeros(client, admin, ledger):
    body = summary(client, admin, period="2025", by="chain")
    assert [r["chain"] for r in body["rows"]] == ["AUTO", "OPTICS"]
    assert body["rows"][1] == {"chain": "OPTICS", "name": "光芯屏端网",
                               **{lst: {"count": 0, "investment": "0.00"} for lst in LISTS}}
    assert body["totals"]["signed"] == {"count": 1, "investment": "30000.00"}


@pytest.mark.parametrize("by", ["chain", "district"])
@pytest.mark.parametrize("filters", [{}, {"key": "true"}, {"major": "false"}])
def test_summary_agrees_with_the_ledger(client, admin, ledger, by, filters):
    for period in ("2025", "2026", "2026-Q1", "2026-Q2", "2026-05", "2026-07"):
        body = summary(client, admin, period=period, by=by, **filters)
        assert body["totals"] == tallies(get_ledger(client, admin, period=period, **filters)["lists"]), period
        assert [r[by] for r in body["rows"]] == (["AUTO", "OPTICS"] if by == "chain" else ["DHGX", "HS", "JA"])
        for row in body["rows"]:
            lists = get_ledger(client, admin, period=period, **{by: row[by]}, **filters)["lists"]
            assert {lst: row[lst] for lst in LISTS} == tallies(lists), (period, row[by])


def test_summary_on_an_empty_ledger(client, admin, reference):
    body = summary(client, admin, period="2026-Q3", by="district")
    assert [r["district"] for r in body["rows"]] == ["DHGX", "HS", "JA"]
    assert body["totals"] == {lst: {"count": 0, "investment": "0.00"} for lst in LISTS}


@pytest.mark.parametrize("path", ["/api/v1/ledger", "/api/v1/ledger/summary"])
@pytest.mark.parametrize("period", ["2026-13", "2026-00", "2026-Q5", "2026-Q0", "2026-q2", "26", "2026-5", "2026-",
                                    "abc", "", "1989", "2026-05-01"])
def test_bad_periods_are_422_naming_period(client, admin, reference, path, period):
    r = client.get(path, params={"period": period}, headers=admin)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert [e["loc"] for e in r.json()["errors"]] == [["query", "period"]]


@pytest.mark.parametrize(("path", "params"), [
    ("/api/v1/ledger", {}),
    ("/api/v1/ledger", {"period": "2026", "limit": "0"}),
    ("/api/v1/ledger", {"period": "2026", "limit": "5001"}),
    ("/api/v1/ledger", {"period": "2026", "format": "pdf"}),
    ("/api/v1/ledger", {"period": "2026", "key": "maybe"}),
    ("/api/v1/ledger/summary", {"period": "2026", "by": "investor"}),
    ("/api/v1/ledger/summary", {"period": "2026", "format": "ods"}),
])
def test_other_bad_parameters_are_422(client, admin, reference, path, params):
    r = client.get(path, params=params, headers=admin)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize("path", ["/api/v1/ledger?period=2026", "/api/v1/ledger/summary?period=2026",
                                  "/api/v1/ledger?period=2026&format=csv"])
def test_any_token_reads_none_is_401(client, make_token, reference, path):
    assert client.get(path).status_code == 401
    assert client.get(path, headers={"Authorization": "Bearer nope"}).status_code == 401
    for role in ("viewer", "auditor", "integration", "department"):
        assert client.get(path, headers=make_token(role)).status_code == 200, role


def test_limit_default_and_maximum(client, admin, reference):
    """Seven projects signed the same day: ordered by id (creation order) within a date."""
    ids = [create_project(client, admin, f"P{i}", chain="OPTICS", district="HS", planned="1.00",
                          milestones={"signed": "2026-03-03"})["id"] for i in range(7)]
    signed = get_ledger(client, admin, period="2026-03")["lists"]["signed"]
    assert [i["id"] for i in signed["projects"]] == sorted(ids) and signed["truncated"] is False
    signed = get_ledger(client, admin, period="2026-03", limit=5000)["lists"]["signed"]
    assert (signed["count"], signed["investment"], len(signed["projects"])) == (7, "7.00", 7)
    signed = get_ledger(client, admin, period="2026-03", limit=6)["lists"]["signed"]
    assert [i["id"] for i in signed["projects"]] == sorted(ids)[:6] and signed["truncated"] is True


def test_reverted_milestones_leave_the_list(client, admin, reference):
    p = create_project(client, admin, "R", chain="AUTO", district="JA", planned="100", milestones={"signed": "2026-08-01"})
    act(client, admin, p["id"], "transitions", {"to": "started", "on": "2026-09-01"})
    assert get_ledger(client, admin, period="2026-09")["lists"]["started"]["count"] == 1
    act(client, admin, p["id"], "transitions/revert", {"reason": "录错日期"})
    assert get_ledger(client, admin, period="2026-09")["lists"]["started"]["count"] == 0
    assert get_ledger(client, admin, period="2026-08")["lists"]["signed"]["count"] == 1


@pytest.mark.parametrize("params", [{"period": "2026"}, {"period": "2026-Q2", "limit": 1}, {"period": "2024"},
                                    {"period": "2026", "chain": "AUTO", "key": "true"}])
def test_the_ledger_answer_is_the_documented_models_serialisation(client, admin, ledger, params):
    """The ledger is serialised straight from its rows (``ledger_json``): byte for byte what ``LedgerRead``
    writes for the same document (cancelled items, truncated lists, empty lists, filters)."""
    from service.schemas.ledger import LedgerRead

    r = client.get("/api/v1/ledger", params=params, headers=admin)
    assert r.status_code == 200, r.text
    model = LedgerRead.model_validate(r.json())
    assert r.content == model.__pydantic_serializer__.to_json(model)
