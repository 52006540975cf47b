"""The audit history (SPEC §6): one event per write, the hash chain, filters, pagination, tamper evidence."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.exc import DBAPIError

from service.domain.audit_chain import GENESIS
from service.schemas.audit import AuditEventRead
from tests.api.conftest import API, IS_POSTGRES, P, assert_problem, project_body

RFC3339_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")


def _strict_event(e: dict) -> None:
    AuditEventRead.model_validate(e)
    assert set(e) == set(AuditEventRead.model_fields), set(e) ^ set(AuditEventRead.model_fields)
    assert set(e["actor"]) == {"name", "role"}
    assert set(e["data"]) >= {"before", "after"}
    assert re.fullmatch(r"[0-9a-f]{64}", e["hash"]) and re.fullmatch(r"[0-9a-f]{64}", e["prev_hash"])
    assert RFC3339_UTC.match(e["at"]), e["at"]


# ---------------------------------------------------------------- one event per write


def _op_department(client, admin, new_project, move):
    r = client.post(f"{API}/departments", json={"code": "SWJ", "name": "市商务局"}, headers=admin)
    return r, "department.created", "department", "SWJ", None, {"code": "SWJ", "name": "市商务局"}


def _op_district(client, admin, new_project, move):
    r = client.post(f"{API}/districts", json={"code": "WC", "name": "武昌区", "kind": "district"}, headers=admin)
    return r, "district.created", "district", "WC", None, {"code": "WC", "name": "武昌区", "kind": "district"}


def _op_chain(client, admin, new_project, move):
    body = {"code": "BIO", "name": "生物医药", "leader": "链长", "lead_department": "FGW", "benchmark_city": "苏州"}
    r = client.post(f"{API}/chains", json=body, headers=admin)
    return r, "chain.created", "chain", "BIO", None, body


def _op_chain_update(client, admin, new_project, move):
    r = client.patch(f"{API}/chains/AUTO", json={"name": "汽车及零部件", "leader": "链长"},
                     headers={**admin, "If-Match": '"1"'})
    return r, "chain.updated", "chain", "AUTO", {"name": "汽车制造"}, {"name": "汽车及零部件"}


def _op_project(client, admin, new_project, move):
    r = client.post(P, json=project_body(external_ref="ZS-7", planned_investment=88.8), headers=admin)
    after = {"external_ref": "ZS-7", "name": "光谷芯片厂", "chain": "OPTICS", "district": "JA",
             "investor": "某半导体公司", "planned_investment": "88.80", "is_key": False, "stage": "signed",
             "signed_on": "2026-01-10", "started_on": None, "in_production_on": None, "at_capacity_on": None,
             "cancelled_on": None, "cancel_reason": None, "voided_at": None, "void_reason": None,
             "cumulative_investment": "0.00"}
    return r, "project.created", "project", None, None, after


def _op_project_update(client, admin, new_project, move):
    p = new_project()
    r = client.patch(f"{P}/{p['id']}", json={"investor": "新投资方", "is_key": False},
                     headers={**admin, "If-Match": '"1"'})
    return r, "project.updated", "project", p["id"], {"investor": "某半导体公司"}, {"investor": "新投资方"}


def _op_transition(client, admin, new_project, move):
    p = new_project()
    r = move(p["id"], "started", "2026-02-01", headers=admin)
    return r, "project.transitioned", "project", p["id"], {"stage": "signed", "started_on": None}, \
        {"stage": "started", "started_on": "2026-02-01"}


def _op_cancel(client, admin, new_project, move):
    p = new_project()
    r = move(p["id"], "cancelled", "2026-02-01", reason="撤资", headers=admin)
    return r, "project.transitioned", "project", p["id"], \
        {"stage": "signed", "cancelled_on": None, "cancel_reason": None}, \
        {"stage": "cancelled", "cancelled_on": "2026-02-01", "cancel_reason": "撤资"}


def _op_revert(client, admin, new_project, move):
    p = new_project()
    assert move(p["id"], "started", "2026-02-01").status_code == 200
    r = client.post(f"{P}/{p['id']}/transitions/revert", json={"reason": "录错"}, headers=admin)
    return r, "project.reverted", "project", p["id"], {"stage": "started", "started_on": "2026-02-01"}, \
        {"stage": "signed", "started_on": None}


def _op_void(client, admin, new_project, move):
    p = new_project()
    r = client.post(f"{P}/{p['id']}/void", json={"reason": "重复"}, headers=admin)
    return r, "project.voided", "project", p["id"], {"voided_at": None, "void_reason": None}, \
        {"voided_at": _rfc3339(r.json()["voided_at"]), "void_reason": "重复"}


def _rfc3339(text: str) -> str:
    """As audit data writes timestamps: always six fractional digits, ``Z``."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


OPS = [_op_department, _op_district, _op_chain, _op_chain_update, _op_project, _op_project_update, _op_transition,
       _op_cancel, _op_revert, _op_void]


@pytest.mark.parametrize("op", OPS, ids=[o.__name__.removeprefix("_op_") for o in OPS])
def test_every_write_appends_exactly_one_event(client, make_token, new_project, move, audit_count, events, op):
    admin = make_token("admin", "王科长")
    admin_rid = {**admin, "X-Request-ID": "req-under-test"}
    # Setup writes go through new_project/move with the fixture's admin; the write under test carries the id.
    head_before = events()
    r, action, entity, entity_id, before, after = op(client, admin_rid, new_project, move)
    assert r.status_code in (200, 201), r.text
    all_events = events()
    # The client's id is kept beside the service's own, which is the event's request_id (issue 19).
    mine = [e for e in all_events if e["data"].get("client_request_id") == "req-under-test"]
    assert len(mine) == 1, mine
    (e,) = mine
    assert e["request_id"] == r.headers["x-request-id"] != "req-under-test"
    _strict_event(e)
    assert e == all_events[-1] and len(all_events) == audit_count()
    assert e["action"] == action and e["entity"] == entity
    assert e["entity_id"] == (entity_id or r.json()["id"])
    assert e["actor"] == {"name": "王科长", "role": "admin"}
    assert e["seq"] == all_events[-2]["seq"] + 1 == len(all_events)
    assert e["prev_hash"] == all_events[-2]["hash"]
    at = datetime.fromisoformat(e["at"].replace("Z", "+00:00"))
    assert abs(at - datetime.now(UTC)) < timedelta(minutes=1)
    assert e["data"]["before"] == before  # None for a creation
    assert e["data"]["after"] == after
    assert len(all_events) > len(head_before)


def test_department_actor_is_recorded(client, make_token, reference, events):
    dept = {**make_token("department", "经信局张三", chains=["OPTICS"]), "X-Request-ID": "dept-write"}
    r = client.post(P, json=project_body(), headers=dept)
    assert r.status_code == 201
    (e,) = [e for e in events() if e["data"].get("client_request_id") == "dept-write"]
    assert e["request_id"] == r.headers["x-request-id"]
    assert e["actor"] == {"name": "经信局张三", "role": "department"} and e["entity_id"] == r.json()["id"]


def test_generated_request_id_is_recorded(client, admin, reference, events):
    r = client.post(f"{API}/departments", json={"code": "SWJ", "name": "市商务局"}, headers=admin)
    (e,) = events(action="department.created", entity_id="SWJ")
    assert e["request_id"] == r.headers["x-request-id"]


def test_seq_is_gapless_across_refused_requests(client, admin, new_project, move, events, audit_count):
    p = new_project()
    move(p["id"], "at_capacity", "2026-02-01")  # 409, no event
    client.post(P, json=project_body(chain="NOPE"), headers=admin)  # 422, no event
    client.post(P, content=b"{", headers={**admin, "Content-Type": "application/json"})  # 400
    move(p["id"], "started", "2026-02-01")
    client.patch(f"{P}/{p['id']}", json={"name": "x"}, headers=admin)  # 428
    client.patch(f"{P}/{p['id']}", json={"name": "新名"}, headers={**admin, "If-Match": '"2"'})
    all_events = events()
    assert [e["seq"] for e in all_events] == list(range(1, len(all_events) + 1)) and len(all_events) == audit_count()
    assert all_events[0]["prev_hash"] == GENESIS
    for prev, nxt in zip(all_events, all_events[1:], strict=False):
        assert nxt["prev_hash"] == prev["hash"]
    assert [e["action"] for e in all_events if e["entity"] == "project"] == [
        "project.created", "project.transitioned", "project.updated"]


# ---------------------------------------------------------------- filters and pagination


@pytest.fixture
def history(client, admin, new_project, move):
    """Reference data (7 events) + two projects with a few changes each."""
    a = new_project(name="甲")
    b = new_project(name="乙", chain="AUTO")
    assert move(a["id"], "started", "2026-02-01").status_code == 200
    assert move(b["id"], "started", "2026-02-02").status_code == 200
    assert client.post(f"{P}/{a['id']}/transitions/revert", json={"reason": "录错"}, headers=admin).status_code == 200
    assert client.post(f"{P}/{b['id']}/void", json={"reason": "重复"}, headers=admin).status_code == 200
    return a, b


def test_filters(client, admin, history, events):
    a, b = history
    everything = events()
    assert len(everything) == 13
    assert [e["entity"] for e in events(entity="chain")] == ["chain", "chain"]
    assert [e["entity_id"] for e in events(entity="district")] == ["JA", "HS", "DHGX"]
    assert [e["action"] for e in events(entity_id=a["id"])] == [
        "project.created", "project.transitioned", "project.reverted"]
    assert [e["entity_id"] for e in events(action="project.transitioned")] == [a["id"], b["id"]]
    assert [e["entity_id"] for e in events(action="project.voided")] == [b["id"]]
    assert events(entity="project", entity_id=b["id"], action="project.created")[0]["data"]["after"]["name"] == "乙"
    assert events(action="nothing.happened") == []
    assert events(entity_id="NOPE") == []
    after = everything[9]["seq"]
    assert [e["seq"] for e in events(after=after)] == [e["seq"] for e in everything[10:]]
    assert events(after=everything[-1]["seq"]) == []
    assert [e["seq"] for e in events(after=2, entity="project")] == [
        e["seq"] for e in everything if e["entity"] == "project"]


def test_since_and_until(client, admin, history, events):
    everything = events()
    middle = everything[8]["at"]
    since = [e["seq"] for e in events(since=middle)]
    until = [e["seq"] for e in events(until=middle)]
    assert since and since[0] <= everything[8]["seq"] and everything[8]["seq"] in since
    assert everything[8]["seq"] not in until
    assert sorted(since + until) == [e["seq"] for e in everything]
    far_future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    assert events(since=far_future) == []
    assert len(events(until=far_future)) == len(everything)
    # A time with another offset means the same instant.
    shanghai = datetime.fromisoformat(middle.replace("Z", "+00:00")).astimezone(ZoneInfo("Asia/Shanghai"))
    assert "+08:00" in shanghai.isoformat()
    assert [e["seq"] for e in events(since=shanghai.isoformat())] == since


def test_after_the_largest_seq_is_an_empty_page(client, admin, history):
    r = client.get(f"{API}/audit/events", params={"after": 2**31 - 1}, headers=admin)
    assert r.status_code == 200 and r.json() == {"items": [], "next_cursor": None}


def test_cursor_pagination_in_seq_order(client, admin, history, events):
    everything = events()
    seen, cursor, sizes = [], None, []
    while True:
        params = {"limit": 4, **({"cursor": cursor} if cursor else {})}
        r = client.get(f"{API}/audit/events", params=params, headers=admin)
        assert r.status_code == 200
        page = r.json()
        assert set(page) == {"items", "next_cursor"}
        for e in page["items"]:
            _strict_event(e)
        sizes.append(len(page["items"]))
        seen += [e["seq"] for e in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [e["seq"] for e in everything] and sizes == [4, 4, 4, 1]


def test_pagination_with_filters_and_new_events_between_pages(client, admin, history, new_project, events):
    a, _ = history
    first = client.get(f"{API}/audit/events", params={"entity": "project", "limit": 3}, headers=admin).json()
    c = new_project(name="丙")  # written between the page reads
    rest = client.get(f"{API}/audit/events", params={"entity": "project", "limit": 50,
                                                      "cursor": first["next_cursor"]}, headers=admin).json()
    ids = [e["seq"] for e in first["items"]] + [e["seq"] for e in rest["items"]]
    assert ids == [e["seq"] for e in events(entity="project")]
    assert rest["items"][-1]["entity_id"] == c["id"]


@pytest.mark.parametrize(
    "query",
    ["limit=0", "limit=501", "cursor=%%", "cursor=" + base64.urlsafe_b64encode(b'["abc"]').decode().rstrip("="),
     "cursor=" + base64.urlsafe_b64encode(b"[1,2]").decode().rstrip("="),
     "cursor=" + base64.urlsafe_b64encode(b"[-5]").decode().rstrip("="),
     "cursor=" + base64.urlsafe_b64encode(b"[[1]]").decode().rstrip("="),
     "cursor=" + base64.urlsafe_b64encode(b"[1.5]").decode().rstrip("="),
     "cursor=" + base64.urlsafe_b64encode(b"[true]").decode().rstrip("="),
     "cursor=" + base64.urlsafe_b64encode(b"[99999999999999999999999999]").decode().rstrip("="),
     "cursor=" + base64.urlsafe_b64encode(b"[2147483648]").decode().rstrip("="),
     "after=-1", "after=x", "after=2147483648", "after=4611686018427387904", "since=not-a-time",
     "entity=" + "x" * 33],
)
def test_invalid_audit_queries_are_422(client, admin, reference, query):
    body = assert_problem(client.get(f"{API}/audit/events?{query}", headers=admin), 422)
    assert body["errors"][0]["loc"][0] == "query"


# ---------------------------------------------------------------- verify


def test_verify_an_empty_log(client, admin):
    r = client.get(f"{API}/audit/verify", headers=admin)
    assert r.status_code == 200 and r.json()["ok"] is True and r.json()["events"] == 0
    assert r.json()["head"] == GENESIS


def test_verify_ok_names_count_and_head(client, make_token, history, events, audit_count):
    auditor = make_token("auditor")
    r = client.get(f"{API}/audit/verify", headers=auditor)
    assert r.status_code == 200
    everything = events()
    assert r.json() == {"ok": True, "events": audit_count(), "head": everything[-1]["hash"], "first_bad_seq": None,
                        "reason": None, "tree_head_size": None}


@pytest.fixture
def tamper(execute_sql):
    """tamper(sql): run a statement against audit_event as an attacker with database access would.

    On PostgreSQL the append-only trigger refuses it first (asserted); the attacker then disables the trigger.
    """

    def run(sql: str, **params):
        if IS_POSTGRES:
            with pytest.raises(DBAPIError, match="append-only"):
                execute_sql(sql, **params)
            execute_sql("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only")
            try:
                return execute_sql(sql, **params)
            finally:
                execute_sql("ALTER TABLE audit_event ENABLE TRIGGER audit_event_append_only")
        return execute_sql(sql, **params)

    return run


def _verify(client, admin) -> dict:
    r = client.get(f"{API}/audit/verify", headers=admin)
    assert r.status_code == 200, r.text
    return r.json()


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("data", '{"after":{"name":"篡改"},"before":null}'),
        ("actor_name", "someone-else"),
        ("actor_role", "viewer"),
        ("request_id", "forged"),
        ("action", "project.voided"),
        ("entity_id", "OTHER"),
        ("prev_hash", "f" * 64),
        ("hash", "e" * 64),
    ],
)
def test_verify_names_the_first_changed_event(client, admin, history, tamper, column, value):
    assert _verify(client, admin)["ok"] is True
    assert tamper(f"UPDATE audit_event SET {column} = :value WHERE seq = 9", value=value) == 1
    result = _verify(client, admin)
    assert result["ok"] is False and result["first_bad_seq"] == 9 and result["head"] is None


def test_verify_notices_a_changed_timestamp(client, admin, history, tamper, execute_sql):
    ((at,),) = execute_sql("SELECT at FROM audit_event WHERE seq = 4")
    moved = (at if isinstance(at, datetime) else datetime.fromisoformat(at)) - timedelta(days=30)
    tamper("UPDATE audit_event SET at = :at WHERE seq = 4", at=moved)
    result = _verify(client, admin)
    assert result["ok"] is False and result["first_bad_seq"] == 4


def test_a_rehashed_forgery_breaks_the_next_link(client, admin, history, tamper, events):
    """An attacker who recomputes the changed event's own hash is caught by its successor's prev_hash."""
    from service.domain.audit_chain import ChainedEvent, link

    e = next(x for x in events() if x["seq"] == 10)
    forged_data = '{"after":{"stage":"at_capacity"},"before":null}'
    forged = ChainedEvent(seq=e["seq"], at=e["at"], actor_name=e["actor"]["name"], actor_role=e["actor"]["role"],
                          request_id=e["request_id"], action=e["action"], entity=e["entity"],
                          entity_id=e["entity_id"], data=forged_data, prev_hash=e["prev_hash"])
    tamper("UPDATE audit_event SET data = :d, hash = :h WHERE seq = 10", d=forged_data, h=link(forged))
    result = _verify(client, admin)
    assert result["ok"] is False and result["first_bad_seq"] == 11


@pytest.mark.parametrize(("victim", "first_bad"), [(1, 1), (6, 6), (13, 13)])
def test_verify_names_a_deleted_event(client, admin, history, tamper, audit_count, victim, first_bad):
    assert audit_count() == 13
    assert tamper("DELETE FROM audit_event WHERE seq = :seq", seq=victim) == 1
    result = _verify(client, admin)
    assert result["ok"] is False and result["first_bad_seq"] == first_bad


@pytest.mark.skipif(not IS_POSTGRES, reason="the append-only trigger exists on PostgreSQL only")
@pytest.mark.parametrize("sql", ["UPDATE audit_event SET actor_name = 'x'", "DELETE FROM audit_event",
                                 "TRUNCATE audit_event"])
def test_postgres_refuses_to_change_events(client, admin, history, execute_sql, audit_count, sql):
    before = audit_count()
    with pytest.raises(DBAPIError, match="append-only"):
        execute_sql(sql)
    assert audit_count() == before and _verify(client, admin)["ok"] is True


def test_there_is_no_api_that_changes_events(client, admin, history):
    for method in ("put", "patch", "delete", "post"):
        r = client.request(method.upper(), f"{API}/audit/events/1", headers=admin)
        assert r.status_code in (404, 405)
        r = client.request(method.upper(), f"{API}/audit/events", headers=admin)
        assert r.status_code == 405
