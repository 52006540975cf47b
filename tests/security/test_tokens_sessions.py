"""Tokens, web sessions, the calendar feed's ?token= and request ids (issue 19, points 3–5): each finding replayed,
its refusal asserted.

Time moves through ``app.state.clock`` (the request's clock, ``service/deps.py: request_now``), never by sleeping.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import API, P, assert_problem, project_body
from tests.web.conftest import csrf_of

T = f"{API}/tokens"
ROLES = ["admin", "department", "integration", "auditor", "viewer"]
SECRET_WORDS = ("secret", "token_hash", "hash")


class Clock:
    """A settable clock for ``app.state.clock``: starts at the real time, moves only when told."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock(app) -> Clock:
    c = Clock()
    app.state.clock = c
    return c


def _create(client, admin, **body):
    body = {"name": "对接系统", "role": "viewer", **body}
    return client.post(T, json=body, headers=admin)


def _bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def _role_body(role: str) -> dict:
    return {"role": role, **({"chains": ["OPTICS"]} if role == "department" else {})}


# ---------------------------------------------------------------- the token API


def test_create_shows_the_secret_once_and_audits_without_it(client, admin, reference, events, audit_count):
    before = audit_count()
    r = _create(client, admin, name="招商局对接", role="integration")
    assert r.status_code == 201, r.text
    body = r.json()
    assert re.fullmatch(r"cl_[A-Za-z0-9_-]{40,}", body["secret"])
    assert body["role"] == "integration" and body["chains"] == [] and body["revoked_at"] is None
    assert body["last_used_on"] is None
    created = datetime.fromisoformat(body["created_at"].replace("Z", "+00:00"))
    expires = datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00"))
    assert expires - created == timedelta(days=365)  # LEDGER_TOKEN_TTL_DAYS
    assert client.get(f"{API}/me", headers=_bearer(body["secret"])).status_code == 200
    assert audit_count() == before + 1
    (e,) = events(action="token.created")
    assert e["entity"] == "token" and e["entity_id"] == str(body["id"])
    assert e["actor"]["role"] == "admin" and e["data"]["after"]["name"] == "招商局对接"
    text = str(e)
    assert body["secret"] not in text and "token_hash" not in text and "secret" not in text


def test_the_token_ttl_setting_and_expires_on_and_never_expires(client, admin, app):
    app.state.settings.token_ttl_days = 30
    r = _create(client, admin)
    body = r.json()
    created = datetime.fromisoformat(body["created_at"].replace("Z", "+00:00"))
    assert datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00")) - created == timedelta(days=30)
    r = _create(client, admin, expires_on="2099-06-30")
    assert r.status_code == 201, r.text
    assert r.json()["expires_at"] == "2099-06-30T16:00:00Z"  # the next midnight in Asia/Shanghai
    r = _create(client, admin, never_expires=True)
    assert r.status_code == 201 and r.json()["expires_at"] is None


@pytest.mark.parametrize("body, loc", [
    ({"expires_on": "2020-01-01"}, ("body", "expires_on")),
    ({"expires_on": "9999-12-31"}, ("body", "expires_on")),
    ({"expires_on": "2099-01-01", "never_expires": True}, ("body", "never_expires")),
    ({"role": "department"}, ("body", "chains")),
    ({"role": "department", "chains": ["NOPE"]}, ("body", "chains", 0)),
    ({"chains": ["OPTICS"]}, ("body", "chains")),
    ({"role": "root"}, ("body", "role")),
    ({"name": ""}, ("body", "name")),
    ({"secret": "cl_mine"}, ("body", "secret")),
])
def test_bad_creates_are_422_and_write_nothing(client, admin, reference, unchanged, body, loc):
    with unchanged():
        r = _create(client, admin, **body)
        problem = assert_problem(r, 422)
    assert any(tuple(e["loc"])[: len(loc)] == loc for e in problem["errors"]), problem


def test_the_list_never_shows_a_secret_nor_its_hash(client, admin, reference):
    secrets = [_create(client, admin, name=f"t{i}").json()["secret"] for i in range(3)]
    seen, cursor = [], None
    while True:
        r = client.get(T, params={"limit": 2, **({"cursor": cursor} if cursor else {})}, headers=admin)
        assert r.status_code == 200, r.text
        page = r.json()
        assert set(page) == {"items", "next_cursor"}
        seen += page["items"]
        for item in page["items"]:
            assert set(item) == {"id", "name", "role", "chains", "created_at", "expires_at", "last_used_on",
                                 "revoked_at"}
        for s in secrets:
            assert s not in r.text
        assert "hash" not in r.text and "secret" not in r.text
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert [t["id"] for t in seen] == sorted(t["id"] for t in seen)
    assert {"t0", "t1", "t2", "admin-tester"} <= {t["name"] for t in seen}
    assert_problem(client.get(T, params={"cursor": "x"}, headers=admin), 422)


@pytest.mark.parametrize("role", ["department", "integration", "auditor", "viewer"])
def test_only_admins_manage_tokens(client, make_token, admin, reference, unchanged, role):
    headers = make_token(role, chains=["OPTICS"] if role == "department" else None)
    victim = _create(client, admin).json()["id"]
    with unchanged():
        assert_problem(client.get(T, headers=headers), 403)
        assert_problem(_create(client, headers, role="admin"), 403)
        assert_problem(client.post(f"{T}/{victim}/revoke", headers=headers), 403)


def test_an_idempotent_replay_does_not_reveal_the_secret(client, admin, audit_count):
    key = {**admin, "Idempotency-Key": "token-once"}
    first = _create(client, key)
    assert first.status_code == 201 and first.json()["secret"]
    events_after_first = audit_count()
    again = _create(client, key)
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert again.json()["secret"] is None and again.json()["id"] == first.json()["id"]
    assert first.json()["secret"] not in again.text
    assert audit_count() == events_after_first


def test_the_stored_idempotent_answer_holds_no_secret(client, admin, execute_sql):
    secret = _create(client, {**admin, "Idempotency-Key": "token-stored"}).json()["secret"]
    rows = execute_sql("SELECT response_body FROM idempotency_record WHERE key = 'token-stored'")
    assert rows and secret not in str(rows) and '"secret":null' in rows[0][0]


@pytest.mark.parametrize("role", ROLES)
def test_a_revoked_token_is_401_at_once_everywhere(client, admin, reference, events, audit_count, role):
    created = _create(client, admin, name=f"{role}-to-revoke", **_role_body(role)).json()
    headers = _bearer(created["secret"])
    assert client.get(f"{API}/me", headers=headers).status_code == 200
    before = audit_count()
    r = client.post(f"{T}/{created['id']}/revoke", headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["revoked_at"] and "secret" not in r.json()
    assert audit_count() == before + 1
    e = events(action="token.revoked")[-1]
    assert e["entity_id"] == str(created["id"]) and e["data"]["after"]["revoked_at"]
    assert created["secret"] not in str(e)
    # The very next request, read or write, and the calendar feed's ?token=: 401.
    assert_problem(client.get(f"{API}/me", headers=headers), 401)
    assert_problem(client.get(P, headers=headers), 401)
    assert_problem(client.post(P, json=project_body(), headers=headers), 401)
    assert_problem(client.get(f"{API}/schedule.ics", params={"token": created["secret"]}), 401)
    assert audit_count() == before + 1
    assert_problem(client.post(f"{T}/{created['id']}/revoke", headers=admin), 409)
    assert_problem(client.post(f"{T}/999999/revoke", headers=admin), 404)


def test_an_expired_token_is_401(client, admin, reference, clock):
    created = _create(client, admin, expires_on=clock.now.date().isoformat(), role="admin").json()
    headers = _bearer(created["secret"])
    assert client.get(f"{API}/me", headers=headers).status_code == 200
    clock.advance(days=2)  # past the next midnight in any time zone
    assert_problem(client.get(f"{API}/me", headers=headers), 401)
    assert_problem(client.post(P, json=project_body(), headers=headers), 401)
    assert_problem(client.get(f"{API}/schedule.ics", params={"token": created["secret"]}), 401)
    listed = {t["id"]: t for t in client.get(T, headers=admin, params={"limit": 500}).json()["items"]}
    assert listed[created["id"]]["revoked_at"] is None  # expired, not revoked


def test_last_used_on_is_recorded_once_a_day(client, admin, clock, execute_sql):
    created = _create(client, admin).json()
    assert created["last_used_on"] is None
    headers = _bearer(created["secret"])
    client.get(f"{API}/me", headers=headers)

    def last_used() -> date | None:
        (row,) = execute_sql("SELECT last_used_on FROM api_token WHERE id = :id", id=created["id"])
        return None if row[0] is None else date.fromisoformat(str(row[0])[:10])

    first = last_used()
    assert first is not None
    execute_sql("UPDATE api_token SET last_used_on = :d WHERE id = :id", d=first - timedelta(days=3),
                id=created["id"])
    clock.advance(days=1)
    client.get(f"{API}/me", headers=headers)
    assert last_used() == first + timedelta(days=1)


# ---------------------------------------------------------------- the calendar feed's ?token=


def test_query_token_only_on_the_calendar_feed(client, admin, reference, unchanged):
    secret = _create(client, admin, role="admin").json()["secret"]
    assert client.get(f"{API}/schedule.ics", params={"token": secret, "year": 2026}).status_code == 200
    for path in (f"{API}/me", P, f"{API}/schedule", f"{API}/tokens", f"{API}/audit/events"):
        assert_problem(client.get(path, params={"token": secret}), 401)
    with unchanged():
        assert_problem(client.post(P, params={"token": secret}, json=project_body()), 401)
        # A write route whose path ends in .ics (a project id of that spelling) took ?token= before.
        assert_problem(client.patch(f"{P}/nope.ics", params={"token": secret}, json={"name": "x"},
                                    headers={"If-Match": '"1"'}), 401)


# ---------------------------------------------------------------- request ids


def test_a_clients_request_id_is_kept_beside_the_services_own(client, admin, reference, events, capsys):
    r = client.post(f"{API}/departments", json={"code": "SWJ", "name": "市商务局"},
                    headers={**admin, "X-Request-ID": "spoofed-id-1"})
    assert r.status_code == 201, r.text
    own = r.headers["x-request-id"]
    assert own != "spoofed-id-1" and re.fullmatch(r"[0-9a-f]{32}", own)
    (e,) = events(action="department.created", entity_id="SWJ")
    assert e["request_id"] == own and e["data"]["client_request_id"] == "spoofed-id-1"
    assert not [x for x in events() if x["request_id"] == "spoofed-id-1"]
    logged = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    lines = [e for e in logged if e.get("request_id") == own]
    assert lines and lines[0]["client_request_id"] == "spoofed-id-1", lines
    assert client.get(f"{API}/audit/verify", headers=admin).json()["ok"] is True


def test_without_a_client_id_the_event_holds_none(client, admin, reference, events):
    (e,) = events(action="chain.created", entity_id="OPTICS")
    assert "client_request_id" not in e["data"]


# ---------------------------------------------------------------- web sessions


def _sign_in(app, secret: str) -> TestClient:
    c = TestClient(app, follow_redirects=False, raise_server_exceptions=False)
    page = c.get("/signin")
    r = c.post("/signin", data={"csrf": csrf_of(page.text), "token": secret, "next": "/"})
    assert r.status_code == 303, r.text
    return c


def _signed_in(c: TestClient) -> bool:
    """Does a page answer as signed in (200), rather than sending to the sign-in form (303)?"""
    r = c.get("/")
    assert r.status_code in (200, 303), r.text
    return r.status_code == 200


@pytest.fixture
def web_token(client, admin):
    return _create(client, admin, role="viewer", name="web-viewer").json()


def test_a_copied_cookie_is_refused_after_signout(app, client, web_token, sessions, execute_sql):
    c = _sign_in(app, web_token["secret"])
    cookie = c.cookies.get("ledger_session")
    assert _signed_in(c)
    copy = TestClient(app, follow_redirects=False, raise_server_exceptions=False)
    copy.cookies.set("ledger_session", cookie)
    assert _signed_in(copy)  # a copied cookie works while its session lives …
    copy.close()
    assert execute_sql("SELECT count(*) FROM web_session")[0][0] == 1
    csrf = csrf_of(c.get("/").text)
    assert c.post("/signout", data={"csrf": csrf}).status_code == 303
    assert execute_sql("SELECT count(*) FROM web_session")[0][0] == 0
    replay = TestClient(app, follow_redirects=False, raise_server_exceptions=False)
    replay.cookies.set("ledger_session", cookie)
    assert not _signed_in(replay)  # … and not after sign-out
    assert replay.get("/signin").status_code == 200  # the sign-in form: nobody is signed in
    c.close()
    replay.close()


def test_the_cookie_holds_no_token_nor_its_hash(app, web_token):
    import base64
    import hashlib

    c = _sign_in(app, web_token["secret"])
    raw = c.cookies.get("ledger_session")
    decoded = base64.b64decode(raw.split(".")[0] + "==").decode()
    assert web_token["secret"] not in decoded
    assert hashlib.sha256(web_token["secret"].encode()).hexdigest() not in decoded
    c.close()


def test_idle_timeout_ends_the_session(app, web_token, clock):
    c = _sign_in(app, web_token["secret"])
    clock.advance(minutes=119)
    assert _signed_in(c)  # used: the idle time counts from here
    clock.advance(minutes=119)
    assert _signed_in(c)
    clock.advance(minutes=121)
    assert not _signed_in(c)
    clock.advance(minutes=-200)  # a cookie of an ended session does not come back
    assert not _signed_in(c)
    c.close()


def test_the_idle_setting(app, web_token, clock):
    app.state.settings.session_idle_minutes = 5
    c = _sign_in(app, web_token["secret"])
    clock.advance(minutes=6)
    assert not _signed_in(c)
    c.close()


def test_absolute_timeout_ends_a_busy_session(app, web_token, clock):
    c = _sign_in(app, web_token["secret"])
    for _ in range(11):
        clock.advance(hours=1)
        assert _signed_in(c)
    clock.advance(minutes=61)
    assert not _signed_in(c)
    c.close()


def test_revoking_the_token_ends_its_sessions_at_once(app, client, admin, web_token, execute_sql):
    a, b = _sign_in(app, web_token["secret"]), _sign_in(app, web_token["secret"])
    assert _signed_in(a) and _signed_in(b)
    assert client.post(f"{T}/{web_token['id']}/revoke", headers=admin).status_code == 200
    assert not _signed_in(a) and not _signed_in(b)
    assert execute_sql("SELECT count(*) FROM web_session")[0][0] == 0
    a.close()
    b.close()


def test_an_expiring_token_ends_its_sessions(app, client, admin, clock):
    token = _create(client, admin, expires_on=clock.now.date().isoformat()).json()
    c = _sign_in(app, token["secret"])
    assert _signed_in(c)
    clock.advance(days=2)
    assert not _signed_in(c)
    page = c.get("/signin")
    r = c.post("/signin", data={"csrf": csrf_of(page.text), "token": token["secret"], "next": "/"})
    assert r.status_code == 401
    c.close()


def test_a_page_records_the_tokens_use(app, client, admin, web_token, clock, execute_sql):
    c = _sign_in(app, web_token["secret"])
    execute_sql("UPDATE api_token SET last_used_on = NULL WHERE id = :id", id=web_token["id"])
    assert _signed_in(c)
    (row,) = execute_sql("SELECT last_used_on FROM api_token WHERE id = :id", id=web_token["id"])
    assert row[0] is not None
    c.close()


def test_a_revocation_reaches_another_instance_at_once(client, admin, settings):
    """Two app instances on one database: revoked through one, refused by the other on its next request (no
    token cache anywhere)."""
    from service.main import create_app

    created = _create(client, admin, role="viewer").json()
    other_app = create_app(settings)
    with TestClient(other_app, raise_server_exceptions=False) as other:
        headers = _bearer(created["secret"])
        assert other.get(f"{API}/me", headers=headers).status_code == 200
        assert client.post(f"{T}/{created['id']}/revoke", headers=admin).status_code == 200
        assert_problem(other.get(f"{API}/me", headers=headers), 401)
    other_app.state.db.engine.dispose()
