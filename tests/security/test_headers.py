"""Issue 19, point 5: every response says ``X-Content-Type-Options: nosniff``, exactly once."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(("path", "status"), [
    ("/api/v1/projects", 200),
    ("/api/v1/ledger?period=2026&format=csv", 200),
    ("/api/v1/projects/nope", 404),
    ("/api/v1/ledger?period=1", 422),
    ("/healthz", 200),
    ("/openapi.json", 200),
    ("/signin", 200),
    ("/static/app.css", 200),
])
def test_every_response_forbids_sniffing(client, admin, reference, path, status):
    r = client.get(path, headers=admin)
    assert r.status_code == status, r.text
    assert r.headers.get_list("x-content-type-options") == ["nosniff"]


def test_an_unauthenticated_answer_forbids_sniffing_too(client):
    r = client.get("/api/v1/projects")
    assert r.status_code == 401
    assert r.headers.get_list("x-content-type-options") == ["nosniff"]
