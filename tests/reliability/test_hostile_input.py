"""A catalogue of hostile input against the main write routes (SPEC §1: never a 500 for bad input).

Malformed JSON, wrong content types, bodies over the limit (declared and streamed), NUL characters in strings,
path and query, lone surrogates, 100 kB strings, SQL and spreadsheet-formula metacharacters, far-past and
far-future dates, huge numbers (as amount, score, ETag or version). Each answer is a 4xx problem+json and leaves
the audit head and the written tables as they were — or, where the input is legitimately acceptable (a name
holding SQL or a formula, a due date in 9999), a 2xx that stores it literally and appends exactly one event.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import sessionmaker

from service.config import Settings
from service.db.audit import AuditLog
from service.db.engine import transaction
from tests.reliability.support import (
    API,
    P,
    assert_problem,
    project_body,
    seed_reference,
    signed_on,
)
from tests.support.live_server import add_token

BIG = 10**40
HUGE_TEXT = "长" * 100_000  # 100 k characters (300 kB of UTF-8), far past every string limit
TWO_MIB = 2 * 1024 * 1024
SQL = "'; DROP TABLE project;--"
JSON_CT = {"Content-Type": "application/json"}


def _raw(body: dict[str, Any], old: str, new: str) -> bytes:
    """``body`` as JSON with the text ``old`` replaced by raw JSON ``new`` (for tokens json.dumps won't write)."""
    encoded = json.dumps(body, ensure_ascii=False)
    assert old in encoded
    return encoded.replace(old, new, 1).encode()


def _chunks(total: int) -> Iterator[bytes]:
    """A body sent without Content-Length (chunked), so only counting can stop it."""
    yield b'{"name": "'
    for _ in range(total // 65536):
        yield b"x" * 65536
    yield b'"}'


@dataclass(frozen=True)
class Case:
    id: str
    method: str
    path: str  # {pid}: an existing project; {problem}: an existing problem
    request: Callable[[], dict[str, Any]]  # keyword arguments of client.request (headers added to the admin's)
    statuses: tuple[int, ...]
    stored: dict[str, Any] = field(default_factory=dict)  # for a 2xx: fields that must read back literally


def body(**kw: Any) -> Callable[[], dict[str, Any]]:
    return lambda: {"json": kw}


def raw(content: bytes | Callable[[], Any], content_type: str = "application/json") -> Callable[[], dict[str, Any]]:
    return lambda: {"content": content() if callable(content) else content, "headers": {"Content-Type": content_type}}


def create(**overrides: Any) -> Callable[[], dict[str, Any]]:
    return lambda: {"json": {**project_body("敌意输入项目"), **overrides}}


TRANSITION = f"{P}/{{pid}}/transitions"
PATCH = f"{P}/{{pid}}"
IF1 = {"If-Match": "{etag}"}  # the target's current ETag, read just before the request

CASES = [
    # ---------------------------------------------------------------- malformed bodies
    *[Case(f"malformed-json-{name}", m, path, raw(b'{"name": "x", '), (400,))
      for name, m, path in [("create", "POST", P), ("transition", "POST", TRANSITION), ("void", "POST", f"{P}/{{pid}}/void"),
                            ("chain", "POST", f"{API}/chains"), ("problem", "POST", f"{API}/problems"),
                            ("dispatch", "PUT", f"{API}/chains/OPTICS/dispatches/2026-05")]],
    Case("malformed-json-patch", "PATCH", PATCH, lambda: {"content": b"{'name': 1}", "headers": {**JSON_CT, **IF1}},
         (400,)),
    Case("invalid-utf8", "POST", P, raw(b'{"name": "\xff\xfe"}'), (400,)),
    Case("nested-100k-deep", "POST", P, raw(b"[" * 100_000 + b"]" * 100_000), (400, 422)),
    Case("json-array", "POST", P, raw(b"[]"), (422,)),
    Case("json-null", "POST", P, raw(b"null"), (422,)),
    Case("empty-body", "POST", TRANSITION, raw(b""), (400, 422)),
    Case("text-plain", "POST", P, raw(lambda: json.dumps(project_body("x")).encode(), "text/plain"), (415, 422)),
    Case("form-urlencoded", "POST", P, raw(b"name=x&chain=OPTICS", "application/x-www-form-urlencoded"), (415, 422)),
    Case("xml", "POST", TRANSITION, raw(b"<to>started</to>", "application/xml"), (415, 422)),
    Case("unknown-field", "POST", P, create(stage_override="at_capacity"), (422,)),
    Case("version-in-body", "PATCH", PATCH,
         lambda: {"content": b'{"version": ' + str(BIG).encode() + b"}", "headers": {**JSON_CT, **IF1}}, (422,)),
    # ---------------------------------------------------------------- size
    Case("2MiB-declared", "POST", P, raw(lambda: b'{"name": "' + b"x" * TWO_MIB + b'"}'), (413,)),
    Case("2MiB-chunked", "POST", P, raw(lambda: _chunks(TWO_MIB)), (413,)),
    Case("2MiB-transition", "POST", TRANSITION, raw(lambda: b'{"note": "' + b"x" * TWO_MIB + b'"}'), (413,)),
    Case("100k-name", "POST", P, create(name=HUGE_TEXT), (422,)),
    Case("100k-investor-patch", "PATCH", PATCH, lambda: {"json": {"investor": HUGE_TEXT}, "headers": IF1}, (422,)),
    Case("100k-note", "POST", TRANSITION, body(to="started", on=signed_on(), note=HUGE_TEXT), (422,)),
    Case("100k-void-reason", "POST", f"{P}/{{pid}}/void", body(reason=HUGE_TEXT), (422,)),
    Case("100k-chain-code", "POST", f"{API}/chains",
         body(code="C" * 100_000, name="n", leader="l", lead_department="JXJ"), (422,)),
    Case("300-char-idempotency-key", "POST", P, lambda: {**create()(), "headers": {"Idempotency-Key": "k" * 300}},
         (422,)),
    # ---------------------------------------------------------------- NUL characters and lone surrogates
    Case("nul-name", "POST", P, create(name="光谷\x00芯片"), (422,)),
    Case("nul-investor", "POST", P, create(investor="\x00"), (422,)),
    Case("nul-external-ref", "POST", P, create(external_ref="REF\x00-1"), (422,)),
    Case("nul-chain-code", "POST", P, create(chain="OPTICS\x00"), (422,)),
    Case("nul-patch-name", "PATCH", PATCH, lambda: {"json": {"name": "a\x00b"}, "headers": IF1}, (422,)),
    Case("nul-note", "POST", TRANSITION, body(to="started", on=signed_on(), note="\x00"), (422,)),
    Case("nul-void-reason", "POST", f"{P}/{{pid}}/void", body(reason="重复\x00录入"), (422,)),
    Case("nul-problem-title", "POST", f"{API}/problems",
         body(chain="OPTICS", title="问题\x00", detail="d", owner_unit="u", due_on="2026-05-01"), (422,)),
    Case("nul-dispatch-progress", "PUT", f"{API}/chains/OPTICS/dispatches/2026-05",
         lambda: {"json": {"summary": "s", "entries": [{"project_id": "{pid}", "invested": "1", "progress": "\x00"}]}},
         (422,)),
    Case("nul-in-path", "PATCH", f"{P}/ab%00cd", lambda: {"json": {"name": "x"}, "headers": IF1}, (422,)),
    Case("nul-in-path-transition", "POST", f"{P}/%00/transitions", body(to="started", on=signed_on()), (422,)),
    Case("nul-in-query", "POST", f"{P}?q=%00", create(), (422,)),
    Case("lone-surrogate-name", "POST", P, raw(lambda: _raw(project_body("@@"), "@@", "\\ud800")), (422,)),
    Case("lone-surrogate-reason", "POST", f"{P}/{{pid}}/void", raw(b'{"reason": "\\udfff"}'), (422,)),
    # ---------------------------------------------------------------- SQL and formula metacharacters
    Case("sql-in-name", "POST", P, create(name=SQL, investor='" OR 1=1 --'), (201,),
         stored={"name": SQL, "investor": '" OR 1=1 --'}),
    Case("formula-in-name", "POST", P, create(name="=1+1", investor="@SUM(A1)", external_ref="+cmd|' /C calc'!A0"),
         (201,), stored={"name": "=1+1", "investor": "@SUM(A1)", "external_ref": "+cmd|' /C calc'!A0"}),
    Case("formula-in-patch", "PATCH", PATCH, lambda: {"json": {"name": "-2+3", "investor": SQL}, "headers": IF1},
         (200,), stored={"name": "-2+3", "investor": SQL}),
    Case("sql-in-chain-code", "POST", f"{API}/chains", body(code=SQL, name="n", leader="l", lead_department="JXJ"),
         (422,)),
    Case("sql-in-path", "PATCH", f"{P}/%27%3B%20DROP%20TABLE%20project%3B--",
         lambda: {"json": {"name": "x"}, "headers": IF1}, (404,)),
    Case("sql-in-stage", "POST", TRANSITION, body(to=SQL, on=signed_on()), (422,)),
    Case("sql-in-period", "PUT", f"{API}/chains/OPTICS/dispatches/2026-05%27--", body(summary="s", entries=[]),
         (422,)),
    # ---------------------------------------------------------------- dates
    Case("signed-0001-01-01", "POST", P, create(milestones={"signed": "0001-01-01"}), (422,)),
    Case("signed-9999-12-31", "POST", P, create(milestones={"signed": "9999-12-31"}), (422,)),
    Case("signed-not-a-date", "POST", P, create(milestones={"signed": "2026-02-30"}), (422,)),
    Case("signed-year-10000", "POST", P, create(milestones={"signed": "10000-01-01"}), (422,)),
    Case("transition-on-0001", "POST", TRANSITION, body(to="started", on="0001-01-01"), (422,)),
    Case("transition-on-9999", "POST", TRANSITION, body(to="started", on="9999-12-31"), (422,)),
    Case("cancel-on-9999", "POST", TRANSITION, body(to="cancelled", on="9999-12-31", reason="r"), (422,)),
    Case("problem-due-0001", "POST", f"{API}/problems",
         body(chain="OPTICS", title="t", detail="d", owner_unit="u", due_on="0001-01-01"), (422,)),
    Case("problem-due-9999", "POST", f"{API}/problems",  # a far due date is odd but valid: stored as sent
         body(chain="OPTICS", title="远期问题", detail="d", owner_unit="u", due_on="9999-12-31"), (201,),
         stored={"due_on": "9999-12-31", "title": "远期问题"}),
    Case("dispatch-period-9999", "PUT", f"{API}/chains/OPTICS/dispatches/9999-12", body(summary="s", entries=[]),
         (422,)),
    Case("dispatch-period-0001", "PUT", f"{API}/chains/OPTICS/dispatches/0001-01", body(summary="s", entries=[]),
         (422,)),
    Case("inspection-held-0001", "PUT", f"{API}/chains/OPTICS/inspections/2026-Q1",
         body(held_on="0001-01-01", visited_projects=[], score=80, findings="f"), (422,)),
    # ---------------------------------------------------------------- huge numbers
    Case("investment-10e40-number", "POST", P, raw(lambda: _raw(project_body("x"), '"12500"', str(BIG))), (422,)),
    Case("investment-10e40-string", "POST", P, create(planned_investment=str(BIG)), (422,)),
    Case("investment-1e400", "POST", P, raw(lambda: _raw(project_body("x"), '"12500"', "1e400")), (422,)),
    Case("investment-NaN", "POST", P, raw(lambda: _raw(project_body("x"), '"12500"', "NaN")), (422,)),
    Case("investment-Infinity", "POST", P, raw(lambda: _raw(project_body("x"), '"12500"', "-Infinity")), (422,)),
    Case("investment-negative", "POST", P, create(planned_investment="-1"), (422,)),
    Case("investment-exponent", "POST", P, create(planned_investment="1e5"), (422,)),
    Case("if-match-10e40", "PATCH", PATCH, lambda: {"json": {"name": "x"}, "headers": {"If-Match": f'"{BIG}"'}},
         (412,)),
    Case("if-match-10e40-transition", "POST", TRANSITION,  # a bare number is read as a tag up to 18 digits
         lambda: {"json": {"to": "started", "on": signed_on()}, "headers": {"If-Match": str(BIG)}}, (422,)),
    Case("if-match-negative", "POST", f"{P}/{{pid}}/void",
         lambda: {"json": {"reason": "r"}, "headers": {"If-Match": '"-1"'}}, (412,)),
    Case("dispatch-invested-10e40", "PUT", f"{API}/chains/OPTICS/dispatches/2026-05",
         raw(lambda: b'{"summary": "s", "entries": [{"project_id": "{pid}", "invested": ' + str(BIG).encode()
             + b', "progress": "p"}]}'), (422,)),
    Case("inspection-score-10e40", "PUT", f"{API}/chains/OPTICS/inspections/2026-Q1",
         raw(b'{"held_on": "2026-04-01", "visited_projects": [], "score": ' + str(BIG).encode()
             + b', "findings": "f"}'), (422,)),
    Case("problem-id-10e40", "POST", f"{API}/problems/{BIG}/transitions", body(to="resolved", note="n"), (404, 422)),
    Case("year-10e40", "POST", f"{API}/appraisals/{BIG}/run", lambda: {}, (422,)),
]
WRITTEN_TABLES = ("audit_event", "project", "project_version", "project_transition", "chain", "problem", "dispatch",
                  "dispatch_entry", "inspection", "appraisal", "idempotency_record")


def _state(sessions) -> tuple[Any, ...]:  # noqa: ANN001
    with transaction(sessions, write=False) as s:
        head = AuditLog(s).head()
        counts = tuple(s.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in WRITTEN_TABLES)
    return head, counts


def _fill(value: Any, pid: str, etag: str) -> Any:
    if isinstance(value, str):
        return value.replace("{pid}", pid).replace("{etag}", etag)
    if isinstance(value, bytes):
        return value.replace(b"{pid}", pid.encode())
    if isinstance(value, dict):
        return {k: _fill(v, pid, etag) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, pid, etag) for v in value]
    return value


@pytest.fixture(scope="module")
def hostile(databases) -> Iterator[tuple[Any, dict[str, str], sessionmaker]]:  # noqa: ANN001
    """One app on one database for the whole catalogue (a fresh database per case costs seconds on PostgreSQL):
    every refusal is checked to leave the database as it was, so the cases do not disturb each other."""
    from fastapi.testclient import TestClient

    from service.main import create_app

    url = databases.fresh_url()
    app = create_app(Settings(database_url=url))
    admin = add_token(url, "admin", name="hostile-admin")
    with TestClient(app, raise_server_exceptions=False) as client:
        seed_reference(client, admin)
        yield client, admin, app.state.db.sessions
    app.state.db.engine.dispose()
    databases.drop(url)


@pytest.fixture(scope="module")
def target(hostile) -> str:  # noqa: ANN001
    """An existing project on OPTICS to aim the per-project routes at."""
    client, admin, _ = hostile
    r = client.post(P, json=project_body("靶子项目"), headers=admin)
    assert r.status_code == 201, r.text
    return r.json()["id"]


@pytest.fixture
def client(hostile):  # noqa: ANN001, ANN201
    return hostile[0]


@pytest.fixture
def admin(hostile) -> dict[str, str]:  # noqa: ANN001
    return hostile[1]


@pytest.fixture
def sessions(hostile) -> sessionmaker:  # noqa: ANN001
    return hostile[2]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_input(case: Case, client, admin, target, sessions):
    etag = client.get(f"{P}/{target}", headers=admin).headers["ETag"]
    kwargs = case.request()
    kwargs = {k: (v if k == "content" and not isinstance(v, bytes) else _fill(v, target, etag))
              for k, v in kwargs.items()}
    kwargs["headers"] = {**admin, **kwargs.get("headers", {})}
    before = _state(sessions)

    r = client.request(case.method, case.path.replace("{pid}", target), **kwargs)

    assert r.status_code < 500, r.text[:1000]
    assert r.status_code in case.statuses, (r.status_code, r.text[:1000])
    (seq, _), counts = after = _state(sessions)
    if r.status_code >= 400:
        assert_problem(r, r.status_code)
        assert after == before, "a refused request changed the audit head or a table"
        return
    # Legitimately acceptable: stored literally, read back literally, exactly one audit event.
    assert seq == before[0][0] + 1
    stored = r.json()
    for name, value in case.stored.items():
        assert stored[name] == value, (name, stored[name])
    if case.path.startswith(P):
        again = client.get(f"{P}/{stored['id']}", headers=admin).json()
        for name, value in case.stored.items():
            assert again[name] == value, (name, again[name])
        if "name" in case.stored:  # q= matches the text literally, metacharacters and all
            q = case.stored["name"]
            found = client.get(P, params={"q": q, "limit": 500}, headers=admin).json()["items"]
            assert stored["id"] in [p["id"] for p in found]
            assert all(q in p["name"] or q in p["investor"] for p in found), found


def test_streamed_export_refuses_bad_as_of_up_front(client, admin, target):
    """A CSV export streams its rows; an as_of outside the ledger's history is refused before the stream starts
    (found by schemathesis: it used to break the response mid-stream)."""
    for as_of in ("2000-01-01T00:00:00Z", "9999-12-31T23:59:59+00:00"):
        r = client.get(f"{API}/ledger", params={"period": "2026", "format": "csv", "as_of": as_of}, headers=admin)
        assert_problem(r, 422)


def test_timestamps_are_rfc3339_text(client, admin, target):
    """A bare number is not a timestamp (pydantic alone would read ``0.5`` as Unix seconds; found by
    schemathesis on /audit/events?until=)."""
    for params in ({"until": "0.5"}, {"since": "1700000000"}):
        assert_problem(client.get(f"{API}/audit/events", params=params, headers=admin), 422)
    assert_problem(client.get(f"{P}/{target}", params={"as_of": "1764000000"}, headers=admin), 422)
    ok = client.get(f"{API}/audit/events", params={"until": "2999-01-01T00:00:00+08:00"}, headers=admin)
    assert ok.status_code == 200, ok.text


def test_is_key_takes_json_booleans_only(client, admin, target):
    """``is_key`` is a JSON boolean; "yes" or "0" is refused, not coerced (found by schemathesis)."""
    etag = {"If-Match": client.get(f"{P}/{target}", headers=admin).headers["ETag"]}
    for value in ("yes", "0", 1):
        assert_problem(client.post(P, json=project_body("布尔项目", is_key=value), headers=admin), 422)
        assert_problem(client.patch(f"{P}/{target}", json={"is_key": value}, headers={**admin, **etag}), 422)
    r = client.patch(f"{P}/{target}", json={"is_key": True}, headers={**admin, **etag})
    assert r.status_code == 200 and r.json()["is_key"] is True, r.text
