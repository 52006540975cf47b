"""The tokens page (admin): create (the secret shown once), list, revoke — the /api/v1/tokens use cases."""

from __future__ import annotations

import re

from tests.web.conftest import csrf_of


def _form(c):  # noqa: ANN001, ANN202
    return csrf_of(c.get("/tokens").text)


def test_create_use_and_revoke_a_token(login) -> None:  # noqa: ANN001
    c = login("admin")
    r = c.post("/tokens", data={"csrf": _form(c), "name": "光电处张三", "role": "department", "chains": ["ICT"]})
    assert r.status_code == 201, r.text
    secret = re.search(r'<code id="secret">([^<]+)</code>', r.text)[1]
    me = c.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert me.status_code == 200 and me.json()["role"] == "department" and me.json()["chains"] == ["ICT"]
    page = c.get("/tokens")
    assert secret not in page.text and "光电处张三" in page.text  # shown once, listed after
    listed = [k for k in c.get("/api/v1/tokens", params={"limit": 500}, headers=c.api).json()["items"]
              if k["name"] == "光电处张三"]
    assert len(listed) == 1 and listed[0]["expires_at"] is not None
    r = c.post(f"/tokens/{listed[0]['id']}/revoke", data={"csrf": csrf_of(page.text)})
    assert r.status_code == 303
    assert c.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
    events = c.get("/api/v1/audit/events", params={"entity": "token", "entity_id": str(listed[0]["id"])},
                   headers=c.api).json()["items"]
    assert [e["action"] for e in events] == ["token.created", "token.revoked"]
    assert secret not in str(events)


def test_a_refused_token_keeps_what_was_typed_and_writes_nothing(login) -> None:  # noqa: ANN001
    c = login("admin", lang="en")
    before = len(c.get("/api/v1/tokens", params={"limit": 500}, headers=c.api).json()["items"])
    r = c.post("/tokens", data={"csrf": _form(c), "name": "no chains", "role": "department"})
    assert r.status_code == 422 and 'role="alert"' in r.text and 'value="no chains"' in r.text
    assert len(c.get("/api/v1/tokens", params={"limit": 500}, headers=c.api).json()["items"]) == before


def test_only_admin(login) -> None:  # noqa: ANN001
    c = login("auditor")
    assert 'href="/tokens"' not in c.get("/").text
    assert c.get("/tokens").status_code == 403
    page = c.get("/")
    assert c.post("/tokens", data={"csrf": csrf_of(page.text), "name": "x", "role": "viewer"}).status_code == 403
