"""Idempotency-Key on POST (SPEC §1): replay, mismatch, in flight, failures, per token."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

import pytest

from service.db.engine import transaction
from service.db.tables import ApiToken, IdempotencyRecord
from service.db.tokens import hash_token
from tests.api.conftest import API, P, assert_problem, project_body


def _projects(client, admin) -> list[dict]:
    return client.get(f"{P}?include_voided=true&limit=500", headers=admin).json()["items"]


def _token_id(sessions, headers) -> int:
    token = headers["Authorization"].removeprefix("Bearer ")
    with transaction(sessions, write=False) as s:
        return s.query(ApiToken).filter_by(token_hash=hash_token(token)).one().id


def _records(execute_sql) -> list[tuple]:
    return execute_sql("SELECT key, state, response_status FROM idempotency_record ORDER BY id")


def test_same_key_same_body_replays_the_first_response(client, admin, reference, audit_count, events):
    headers = {**admin, "Idempotency-Key": "push-001"}
    before = audit_count()
    first = client.post(P, json=project_body(external_ref="ZS-1"), headers=headers)
    assert first.status_code == 201 and "idempotent-replayed" not in first.headers
    for _ in range(2):
        again = client.post(P, json=project_body(external_ref="ZS-1"), headers=headers)
        assert again.status_code == 201
        assert again.headers["idempotent-replayed"] == "true"
        assert again.content == first.content
        assert again.headers["etag"] == first.headers["etag"] == '"1"'
        assert again.headers["content-type"] == "application/json"
    assert len(_projects(client, admin)) == 1
    assert audit_count() == before + 1
    assert len(events(action="project.created")) == 1


def test_replay_returns_the_first_response_even_after_the_resource_changed(client, admin, reference, move):
    headers = {**admin, "Idempotency-Key": "push-002"}
    first = client.post(P, json=project_body(), headers=headers)
    assert move(first.json()["id"], "started", "2026-02-01").status_code == 200
    again = client.post(P, json=project_body(), headers=headers)
    assert again.status_code == 201 and again.json() == first.json() and again.json()["stage"] == "signed"


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/departments", {"code": "SWJ", "name": "市商务局"}, 201),
        ("/districts", {"code": "WC", "name": "武昌区", "kind": "district"}, 201),
        ("/chains", {"code": "BIO", "name": "生物医药", "leader": "链长", "lead_department": "FGW"}, 201),
    ],
)
def test_reference_creates_replay_too(client, admin, reference, audit_count, path, body, status):
    headers = {**admin, "Idempotency-Key": f"ref-{path}"}
    before = audit_count()
    first = client.post(f"{API}{path}", json=body, headers=headers)
    again = client.post(f"{API}{path}", json=body, headers=headers)
    assert first.status_code == again.status_code == status
    assert again.headers["idempotent-replayed"] == "true" and again.content == first.content
    assert audit_count() == before + 1


def test_action_replay_does_not_turn_into_a_conflict(client, admin, new_project, audit_count):
    p = new_project()
    headers = {**admin, "Idempotency-Key": "move-1"}
    body = {"to": "started", "on": "2026-02-01"}
    first = client.post(f"{P}/{p['id']}/transitions", json=body, headers=headers)
    before = audit_count()
    again = client.post(f"{P}/{p['id']}/transitions", json=body, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.headers["idempotent-replayed"] == "true" and again.json() == first.json()
    assert audit_count() == before
    assert client.get(f"{P}/{p['id']}", headers=admin).json()["version"] == 2


@pytest.mark.parametrize(
    ("second_path", "second_body"),
    [
        (P, project_body(name="另一个名字")),
        (P, {**project_body(), "is_key": True}),
        (f"{API}/departments", {"code": "SWJ", "name": "市商务局"}),
    ],
)
def test_same_key_different_request_is_422(client, admin, reference, unchanged, second_path, second_body):
    headers = {**admin, "Idempotency-Key": "push-003"}
    assert client.post(P, json=project_body(), headers=headers).status_code == 201
    with unchanged():
        body = assert_problem(client.post(second_path, json=second_body, headers=headers), 422,
                              "/problems/idempotency-key-reused")
    assert "idempotent-replayed" not in body
    assert len(_projects(client, admin)) == 1


def test_the_key_of_a_failed_request_can_be_reused(client, admin, reference, unchanged, execute_sql, audit_count):
    headers = {**admin, "Idempotency-Key": "retry-me"}
    with unchanged():
        assert_problem(client.post(P, json=project_body(chain="NOPE"), headers=headers), 422)
    with unchanged():
        assert_problem(client.post(P, content=b"{broken", headers={**headers, "Content-Type": "application/json"}), 400)
    with unchanged():
        assert_problem(client.post(P, json=project_body(stage="foo"), headers=headers), 422)
    assert _records(execute_sql) == []
    before = audit_count()
    r = client.post(P, json=project_body(), headers=headers)
    assert r.status_code == 201 and "idempotent-replayed" not in r.headers
    assert audit_count() == before + 1
    assert _records(execute_sql) == [("retry-me", "done", 201)]


def test_the_key_of_a_conflict_can_be_reused(client, admin, reference, unchanged, new_project):
    existing = new_project(external_ref="ZS-1")
    headers = {**admin, "Idempotency-Key": "dup"}
    with unchanged():
        body = assert_problem(client.post(P, json=project_body(external_ref="ZS-1"), headers=headers), 409)
    assert body["existing_id"] == existing["id"]
    r = client.post(P, json=project_body(external_ref="ZS-2"), headers=headers)
    assert r.status_code == 201


def test_the_key_of_a_forbidden_request_can_be_reused(client, make_token, reference, unchanged):
    integ = {**make_token("integration"), "Idempotency-Key": "integ-1"}
    backfill = project_body(stage="started", milestones={"signed": "2026-01-10", "started": "2026-02-01"})
    with unchanged():
        assert_problem(client.post(P, json=backfill, headers=integ), 403)
    assert client.post(P, json=project_body(), headers=integ).status_code == 201


def test_keys_are_per_token(client, admin, make_token, reference, audit_count):
    other_admin = make_token("admin", "second-admin")
    before = audit_count()
    a = client.post(P, json=project_body(), headers={**admin, "Idempotency-Key": "shared"})
    b = client.post(P, json=project_body(), headers={**other_admin, "Idempotency-Key": "shared"})
    assert a.status_code == b.status_code == 201
    assert "idempotent-replayed" not in b.headers and a.json()["id"] != b.json()["id"]
    assert audit_count() == before + 2


RAW = json.dumps(project_body()).encode()
JSON = {"Content-Type": "application/json"}


def _insert_record(sessions, token_id, key, *, state="in_flight", created_at=None, locked_until=None, path=P):
    """A record as a first request with body ``RAW`` would have left it."""
    now = datetime.now(UTC)
    with transaction(sessions, write=True) as s:
        s.add(IdempotencyRecord(
            token_id=token_id, key=key, method="POST", path=path, body_hash=hashlib.sha256(RAW).hexdigest(),
            state=state, created_at=created_at or now, locked_until=locked_until or now + timedelta(minutes=5),
            response_status=201 if state == "done" else None,
            response_body='{"stale": true}' if state == "done" else None,
            response_headers="{}" if state == "done" else None,
        ))


def test_a_key_still_in_flight_is_409(client, admin, reference, sessions, unchanged):
    _insert_record(sessions, _token_id(sessions, admin), "busy")
    with unchanged():
        assert_problem(client.post(P, json=project_body(), headers={**admin, "Idempotency-Key": "busy"}), 409,
                       "/problems/idempotency-in-flight")
    # Another key of the same token is not affected.
    assert client.post(P, json=project_body(), headers={**admin, "Idempotency-Key": "free"}).status_code == 201


def test_an_in_flight_key_whose_lease_ran_out_is_taken_over(client, admin, reference, sessions, audit_count):
    past = datetime.now(UTC) - timedelta(minutes=5)
    _insert_record(sessions, _token_id(sessions, admin), "died", created_at=past, locked_until=past)
    before = audit_count()
    r = client.post(P, json=project_body(), headers={**admin, "Idempotency-Key": "died"})
    assert r.status_code == 201 and "idempotent-replayed" not in r.headers
    assert audit_count() == before + 1


def test_a_key_older_than_24_hours_is_fresh_again(client, admin, reference, sessions, audit_count):
    long_ago = datetime.now(UTC) - timedelta(hours=25)
    _insert_record(sessions, _token_id(sessions, admin), "old", state="done", created_at=long_ago,
                   locked_until=long_ago)
    r = client.post(P, content=RAW, headers={**admin, **JSON, "Idempotency-Key": "old"})
    assert r.status_code == 201 and "idempotent-replayed" not in r.headers and "stale" not in r.json()


def test_a_key_within_24_hours_replays(client, admin, reference, sessions, unchanged):
    recent = datetime.now(UTC) - timedelta(hours=23)
    _insert_record(sessions, _token_id(sessions, admin), "recent", state="done", created_at=recent,
                   locked_until=recent)
    with unchanged():
        r = client.post(P, content=RAW, headers={**admin, **JSON, "Idempotency-Key": "recent"})
    assert r.status_code == 201 and r.headers["idempotent-replayed"] == "true" and r.json() == {"stale": True}


@pytest.mark.parametrize("key", ["k" * 256, "tab\there"])
def test_unusable_keys_are_422(client, admin, reference, unchanged, key):
    with unchanged():
        body = assert_problem(client.post(P, json=project_body(), headers={**admin, "Idempotency-Key": key}), 422)
    assert body["errors"][0]["loc"] == ["header", "Idempotency-Key"]


def test_a_255_character_key_is_fine(client, admin, reference):
    key = "k" * 255
    assert client.post(P, json=project_body(), headers={**admin, "Idempotency-Key": key}).status_code == 201
    assert client.post(P, json=project_body(), headers={**admin, "Idempotency-Key": key}).headers[
        "idempotent-replayed"] == "true"


def test_key_on_a_refused_role_writes_no_record(client, make_token, reference, execute_sql, unchanged):
    viewer = {**make_token("viewer"), "Idempotency-Key": "viewer-key"}
    with unchanged():
        assert_problem(client.post(P, json=project_body(), headers=viewer), 403)
    assert _records(execute_sql) == []


def test_gets_ignore_the_key(client, admin, new_project, execute_sql):
    new_project()
    headers = {**admin, "Idempotency-Key": "read"}
    a = client.get(P, headers=headers)
    b = client.get(P, headers=headers)
    assert a.status_code == b.status_code == 200 and "idempotent-replayed" not in b.headers
    assert _records(execute_sql) == []
