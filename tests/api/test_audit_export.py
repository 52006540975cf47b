"""Streaming audit export: every event, exactly as stored, re-verifiable from the export alone."""

import csv
import io
import json
from datetime import UTC, datetime
from functools import partialmethod

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from service.db.audit import AuditLog
from service.domain.access import SYSTEM
from service.domain.audit_chain import GENESIS, ChainedEvent, verify
from service.usecases import audit_export
from service.usecases.audit_export import csv_lines, ndjson_lines
from tests.api.conftest import IS_POSTGRES


def _make_events(client, admin, reference, n=3):
    for i in range(n):
        r = client.post("/api/v1/projects", headers=admin, json={
            "name": f"=项目{i}", "chain": "OPTICS", "district": "JA", "investor": "+投资方",
            "planned_investment": 100 + i, "milestones": {"signed": "2026-03-01"}})
        assert r.status_code == 201


def _chained(item: dict) -> tuple[ChainedEvent, str]:
    return ChainedEvent(
        seq=item["seq"], at=item["at"], actor_name=item["actor"]["name"], actor_role=item["actor"]["role"],
        request_id=item["request_id"], action=item["action"], entity=item["entity"], entity_id=item["entity_id"],
        data=json.dumps(item["data"], ensure_ascii=False, sort_keys=True, separators=(",", ":")),
        prev_hash=item["prev_hash"],
    ), item["hash"]


def test_ndjson_export_reverifies_and_matches_events(client, admin, reference, audit_count):
    _make_events(client, admin, reference)
    r = client.get("/api/v1/audit/export?format=ndjson", headers=admin)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in r.text.splitlines()]
    assert len(lines) == audit_count()
    assert [e["seq"] for e in lines] == list(range(1, len(lines) + 1))
    listed = client.get("/api/v1/audit/events?limit=500", headers=admin).json()["items"]
    assert lines == listed
    result = verify((*event, digest) for event, digest in map(_chained, lines))
    assert result.ok and result.events == len(lines)


def test_export_after_a_seq(client, admin, reference, audit_count):
    _make_events(client, admin, reference)
    total = audit_count()
    r = client.get(f"/api/v1/audit/export?after={total - 2}", headers=admin)
    assert [json.loads(x)["seq"] for x in r.text.splitlines()] == [total - 1, total]
    assert client.get(f"/api/v1/audit/export?after={total}", headers=admin).text == ""


def test_csv_export_keeps_stored_values(client, admin, reference, audit_count):
    _make_events(client, admin, reference)
    r = client.get("/api/v1/audit/export?format=csv", headers=admin)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert len(rows) == audit_count()
    first_project = next(row for row in rows if row["action"] == "project.created")
    assert json.loads(first_project["data"])["after"]["name"] == "=项目0"
    assert rows[0]["prev_hash"] == GENESIS


@pytest.mark.parametrize(
    ("query", "status"),
    [("format=xml", 422), ("after=-1", 422), ("after=999999", 422), ("after=abc", 422)],
)
def test_bad_export_queries(client, admin, reference, query, status):
    r = client.get(f"/api/v1/audit/export?{query}", headers=admin)
    assert r.status_code == status
    assert r.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize("role", ["viewer", "department", "integration"])
def test_export_is_for_admins_and_auditors(client, make_token, reference, role):
    headers = make_token(role, chains=["OPTICS"] if role == "department" else None)
    assert client.get("/api/v1/audit/export", headers=headers).status_code == 403
    assert client.get("/api/v1/audit/export", headers=make_token("auditor")).status_code == 200


_text = st.text(st.characters(codec="utf-8"), max_size=40) | st.sampled_from(['a,b', 'say "hi"', "x\r\ny", "\r", "\n", ""])
_rows = st.lists(st.tuples(
    st.integers(min_value=1, max_value=2**62), st.just("2026-12-02T06:00:00.123456Z"), _text, _text,
    st.none() | _text, _text, _text, _text, _text, st.text("0123456789abcdef", min_size=64, max_size=64),
    st.text("0123456789abcdef", min_size=64, max_size=64),
), max_size=8)


@settings(max_examples=300, deadline=None)
@given(_rows)
def test_csv_lines_read_back_as_stored_and_are_what_csv_writer_wrote(rows):
    text = csv_lines(rows)
    back = list(csv.reader(io.StringIO(text, newline="")))
    assert back == [[str(v) if v is not None else "" for v in row] for row in rows]
    if not any("\r" in v for row in rows for v in row[2:9] if v is not None):
        buffer = io.StringIO()  # the writer the export used before: the same bytes
        csv.writer(buffer, lineterminator="\n").writerows(rows)
        assert text == buffer.getvalue()


@pytest.mark.skipif(not IS_POSTGRES, reason="COPY is PostgreSQL's; SQLite's export is the row loop")
def test_postgres_copy_writes_what_the_row_loop_writes(app, sessions, make_token, new_project, reference):
    odd = make_token("admin", name='市"经信",局\r\n第二行')
    new_project(headers=odd, name='引号"与,逗号')
    with Session(app.state.db.engine) as session:
        log = AuditLog(session)
        copied = b"".join(log.copy_csv(after=0, chunk_bytes=64)).decode()
        looped = csv_lines(list(log.stream_rows(after=0)))
        tail = b"".join(log.copy_csv(after=3)).decode()
    rows = list(csv.reader(io.StringIO(copied, newline="")))
    assert rows == list(csv.reader(io.StringIO(looped, newline="")))
    assert any(row[2] == '市"经信",局\r\n第二行' for row in rows)  # quotes, a comma and a CRLF, read back
    assert [row[0] for row in csv.reader(io.StringIO(tail, newline=""))][0] == "4"


@pytest.mark.skipif(not IS_POSTGRES, reason="COPY is PostgreSQL's; SQLite's export is the row loop")
def test_postgres_copy_writes_the_row_loops_ndjson_byte_for_byte(app, make_token, new_project, reference):
    odd = make_token("admin", name='反斜杠\\ 引号" 制表\t 换行\r\n 控制\x01\x1f 删除\x7f emoji 🚀 \\n')
    new_project(headers=odd, name='名称\\"')  # (a tab is refused in a name now; the token name and id carry controls)
    odd_id = 'id "引号" \\ \t\x02 🚀'  # entity ids are free text too
    with Session(app.state.db.engine) as session, session.begin():
        AuditLog(session).append(actor=SYSTEM, request_id="req-1.a:b", action="test.odd", entity="test",
                                 entity_id=odd_id, before=None, after={"v": odd_id[:3]},
                                 now=datetime.now(UTC))
    with Session(app.state.db.engine) as session:
        log = AuditLog(session)
        copied = b"".join(log.copy_ndjson(after=0, chunk_bytes=64))
        looped = ndjson_lines(list(log.stream_rows(after=0))).encode()
        tail = b"".join(log.copy_ndjson(after=3))
    assert copied == looped
    assert any(json.loads(line)["actor"]["name"].startswith("反斜杠\\ 引号") for line in copied.splitlines())
    last = json.loads(copied.splitlines()[-1])
    assert (last["entity_id"], last["request_id"], last["action"]) == (odd_id, "req-1.a:b", "test.odd")
    assert json.loads(tail.splitlines()[0])["seq"] == 4


@pytest.mark.skipif(not IS_POSTGRES, reason="COPY is PostgreSQL's; SQLite's export is the row loop")
@pytest.mark.parametrize("export", [audit_export._csv, audit_export._ndjson], ids=["csv", "ndjson"])
def test_a_copy_abandoned_mid_stream_leaves_the_pool_usable(app, client, admin, reference, audit_count, export,
                                                            monkeypatch):
    monkeypatch.setattr(AuditLog, "copy_csv", partialmethod(AuditLog.copy_csv, chunk_bytes=64))
    monkeypatch.setattr(AuditLog, "copy_ndjson", partialmethod(AuditLog.copy_ndjson, chunk_bytes=64))
    stream = export(app.state.db, 0)
    next(stream), next(stream), next(stream)  # the header, then two chunks of rows
    stream.close()  # the client went away: COPY is cancelled, the session rolled back, its connection returned
    for _ in range(app.state.settings.db_pool_size + 1):  # every pooled connection answers again
        assert client.get("/api/v1/audit/verify", headers=admin).json()["events"] == audit_count()


@pytest.mark.parametrize("field", ["action", "entity", "request_id"])
@pytest.mark.parametrize("value", ['a"b', "a\\b", "a b", "项目", "x\n", ""])
def test_append_refuses_a_name_that_would_need_escaping(app, reference, audit_count, field, value):
    """The export splices role, request id, action and entity unescaped: append keeps them plain names."""
    before = audit_count()
    fields = {"action": "test.ok", "entity": "test", "request_id": None} | {field: value}
    with Session(app.state.db.engine) as session, pytest.raises(ValueError, match=field):
        AuditLog(session).append(actor=SYSTEM, entity_id="x", before=None, after=None, now=datetime.now(UTC), **fields)
    assert audit_count() == before
