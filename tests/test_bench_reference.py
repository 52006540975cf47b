"""The benchmark's two references (bench/reference.py, bench/reference_fastapi.py) share one core of SQL and JSON
(bench/reference_core.py): on a migrated, seeded database they answer the same bytes to every operation."""

from __future__ import annotations

import importlib
from datetime import datetime

import pytest
from sqlalchemy import create_engine, text
from starlette.testclient import TestClient

from service.synthetic import seed_synthetic


@pytest.fixture
def refs(db_url, monkeypatch):  # noqa: ANN001, ANN201
    """Both apps on ``db_url`` (the core reads its URL at import: it is reloaded, then the two layers over it)."""
    seed_synthetic(db_url, 60, seed=5)
    monkeypatch.setenv("BENCH_REF_DATABASE_URL", db_url)
    import bench.reference
    import bench.reference_core
    import bench.reference_fastapi

    core = importlib.reload(bench.reference_core)
    asgi = importlib.reload(bench.reference)
    fast = importlib.reload(bench.reference_fastapi)
    engine = create_engine(db_url)
    with engine.connect() as conn:
        projects = conn.execute(text("SELECT id, chain, stage FROM project ORDER BY id")).all()
    engine.dispose()
    return core, asgi.app, fast.app, projects


def answers(app, requests: list[tuple[str, str, dict | None]]) -> list[tuple[int, str, bytes]]:  # noqa: ANN001
    """Status, content type and body of each request, in order, with the app's lifespan around them (one client
    at a time: asyncpg's pool belongs to the client's event loop)."""
    out = []
    with TestClient(app) as client:
        for method, path, body in requests:
            r = client.request(method, path, json=body)
            out.append((r.status_code, r.headers["content-type"], r.content))
    return out


def test_reads_answer_the_same_bytes(refs):  # noqa: ANN001
    core, asgi, fast, projects = refs
    chain = max({c for _, c, _ in projects}, key=lambda c: sum(1 for _, x, _ in projects if x == c))
    year = datetime.now(core.TZ).year
    months = [f"{year - 1}-{m:02d}" for m in range(1, 13)]
    reads = [
        "/healthz",
        f"/api/v1/projects?chain={chain}&limit=2",
        f"/api/v1/projects?chain={chain}",
        "/api/v1/projects?chain=NOPE",
        *(f"/api/v1/projects/{pid}" for pid, _, _ in projects[:8]),
        "/api/v1/projects/no-such-id",  # 404, the same problem body
        *(f"/api/v1/ledger/summary?period={p}" for p in (year - 2, year - 1, year, f"{year - 1}-Q2", f"{year}-03")),
        *(f"/api/v1/ledger?period={p}" for p in (year - 1, *months)),
        f"/api/v1/ledger?period={year - 1}&limit=1",  # truncated lists
        "/api/v1/ledger?period=last-year",  # 422, the same ValueError
    ]
    a = answers(asgi, [("GET", p, None) for p in reads])
    f = answers(fast, [("GET", p, None) for p in reads])
    for path, x, y in zip(reads, a, f, strict=True):
        assert x == y, path
    assert [s for s, _, _ in a].count(200) == len(reads) - 2
    assert all(t == "application/json" for _, t, _ in a)

    # the list's next page, through each app's own cursor
    first = [(s, t, b) for s, t, b in a if b.startswith(b'{"items"')][0]
    cursor = core.orjson.loads(first[2])["next_cursor"]
    assert cursor
    page2 = [("GET", f"/api/v1/projects?chain={chain}&limit=2&cursor={cursor}", None)]
    assert answers(asgi, page2) == answers(fast, page2)
    assert core.orjson.loads(answers(fast, page2)[0][2])["items"]


def test_transitions_answer_what_the_other_app_reads(refs):  # noqa: ANN001
    core, asgi, fast, projects = refs
    a_id, b_id = [pid for pid, _, stage in projects if stage == "signed"][:2]
    on = datetime.now(core.TZ).date().isoformat()
    step = {"to": "started", "on": on}

    (a_moved,) = answers(asgi, [("POST", f"/api/v1/projects/{a_id}/transitions", step)])
    a_read, b_moved, a_again_fast = answers(fast, [
        ("GET", f"/api/v1/projects/{a_id}", None),
        ("POST", f"/api/v1/projects/{b_id}/transitions", step),
        ("POST", f"/api/v1/projects/{a_id}/transitions", step),
    ])
    b_read, a_again_asgi = answers(asgi, [
        ("GET", f"/api/v1/projects/{b_id}", None),
        ("POST", f"/api/v1/projects/{a_id}/transitions", step),
    ])
    assert a_moved[0] == b_moved[0] == 200
    assert a_moved == a_read and b_moved == b_read  # the transition's answer is the project as stored
    body = core.orjson.loads(b_moved[2])
    assert body["stage"] == "started" and body["milestones"]["started"] == on and body["version"] >= 2
    assert a_again_fast == a_again_asgi and a_again_fast[0] == 409  # the same problem, byte for byte


def test_fastapi_reference_has_no_middleware_and_no_dependencies(refs):  # noqa: ANN001
    _, _, fast, _ = refs
    assert fast.user_middleware == []
    routes = [r for r in fast.routes if hasattr(r, "dependant")]
    assert {r.path for r in routes} == {"/api/v1/projects", "/api/v1/projects/{project_id}",
                                        "/api/v1/projects/{project_id}/transitions", "/api/v1/ledger/summary",
                                        "/api/v1/ledger", "/healthz"}
    assert all(r.dependant.dependencies == [] for r in routes)
    assert not fast._native_telemetry.enabled()
