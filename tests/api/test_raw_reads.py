"""The hot reads on the driver's cursor (service/db/raw.py) give what SQLAlchemy's own execution gives: the same
rows, with values of the same types, for every shape of the project filter; each shape is compiled once."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import orjson
import pytest
from sqlalchemy import select

from service.db.engine import transaction
from service.db.history import ProjectHistory
from service.db.ledger import ITEM_KEYS, LedgerQueries
from service.db.projects import ProjectQueries, apply_project_filter
from service.db.raw import Reader, reader, statements
from service.db.tables import ApiToken, Project
from service.db.tokens import live_token
from service.deps import now_utc
from service.domain.queries import ProjectFilter
from service.domain.stages import LISTS
from service.schemas.common import amount_text
from tests.api.conftest import IS_POSTGRES, P


@pytest.fixture
def mixed(client, admin, new_project, move, execute_sql) -> list[str]:
    ids = [
        new_project(planned_investment="0", name="小项目_甲")["id"],
        new_project(external_ref="ZS-9", is_key=True, planned_investment="12500.5", chain="OPTICS")["id"],
        new_project(planned_investment="10000", district="JA", investor="某100%公司")["id"],
        new_project(planned_investment="9999.99", is_key=True, stage="in_production",
                    milestones={"signed": "2025-01-02", "started": "2025-03-04", "in_production": "2025-06-30"})["id"],
    ]
    assert move(ids[0], "started", "2026-02-01").status_code == 200
    voided = new_project(name="作废")["id"]
    assert client.post(f"{P}/{voided}/void", json={"reason": "重复录入"}, headers=admin).status_code == 200
    execute_sql("UPDATE project SET created_at = '2026-03-01 08:00:00' WHERE id = :id", id=ids[2])
    return [*ids, voided]


FILTERS = [
    ProjectFilter(),
    ProjectFilter(include_voided=True),
    ProjectFilter(chain="OPTICS"),
    ProjectFilter(chain="NOPE"),
    ProjectFilter(district="JA", stage="signed"),
    ProjectFilter(stage="started"),
    ProjectFilter(key=True),
    ProjectFilter(key=False, include_voided=True),
    ProjectFilter(major=True),
    ProjectFilter(major=False),
    ProjectFilter(q="100%"),
    ProjectFilter(q="_甲"),
    ProjectFilter(q="某", chain="OPTICS", key=True, major=True),
]


def test_a_record_is_the_core_row(app, sessions, mixed):
    table = Project.__table__
    with transaction(sessions, write=False) as session, reader(app.state.db.engine) as r:
        for project_id in mixed:
            core = session.execute(select(table).where(table.c.id == project_id)).one()
            record = ProjectQueries(r).row(project_id)
            assert record._fields == tuple(core._fields)
            assert tuple(record) == tuple(core)
            assert [type(v) for v in record] == [type(v) for v in core]
            assert isinstance(record.planned_investment, Decimal)
            assert isinstance(record.created_at, datetime) and record.created_at.utcoffset().total_seconds() == 0
        assert ProjectQueries(r).row("01NOSUCHPROJECT0000000000") is None


@pytest.mark.parametrize("f", FILTERS, ids=repr)
def test_every_filter_shape_reads_the_orm_page(app, sessions, mixed, f):
    with transaction(sessions, write=False) as session, reader(app.state.db.engine) as r:
        # The same statement run by SQLAlchemy's ORM execution: the reference the driver's cursor must match.
        expected = [p.id for p in session.scalars(apply_project_filter(select(Project), f).order_by(Project.id))]
        assert [p.id for p in ProjectQueries(r).page(f, after=None, limit=500)] == expected
        if len(expected) >= 2:  # keyset continuation and the limit are parameters too
            assert [p.id for p in ProjectQueries(r).page(f, after=expected[0], limit=1)] == expected[1:2]


def test_a_shape_is_compiled_once_per_dialect(app, mixed):
    engine = app.state.db.engine
    with reader(engine) as r:
        ProjectQueries(r).page(ProjectFilter(chain="OPTICS"), after=None, limit=5)
        compiled = dict(statements(engine.dialect))
        for chain in ("OPTICS", "ICT", "NOPE"):
            ProjectQueries(r).page(ProjectFilter(chain=chain), after=None, limit=7)
    assert statements(engine.dialect) == compiled


def test_revoked_and_unknown_tokens_are_not_live(app, sessions, admin, execute_sql):
    with transaction(sessions, write=False) as session:
        token = session.scalars(select(ApiToken).where(ApiToken.revoked_at.is_(None))).first()
    assert token is not None
    with reader(app.state.db.engine) as r:
        assert live_token(r, token.token_hash).id == token.id
        assert live_token(r, "0" * 64) is None
    execute_sql("UPDATE api_token SET revoked_at = created_at WHERE id = :id", id=token.id)
    with reader(app.state.db.engine) as r:
        assert live_token(r, token.token_hash) is None


def test_a_read_opens_no_transaction(app, admin):
    """A single-statement read is one round trip: no BEGIN before it (PostgreSQL: autocommit connections of
    their own) and so nothing to roll back when its connection goes back to the pool."""
    engine = app.state.db.reads_engine
    assert engine is (app.state.db.inline_engine or app.state.db.engine) if not IS_POSTGRES else engine is not app.state.db.engine
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("SELECT count(*) FROM api_token")
        assert cursor.fetchall()[0][0] >= 1
        if not IS_POSTGRES:
            assert not raw.driver_connection.in_transaction
        else:
            import psycopg

            assert raw.driver_connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    finally:
        raw.close()


# ---------------------------------------------------------------- the ledger's statements (session_reader)

WIDE = (date(2000, 1, 1), date(2099, 12, 31))


def _same_rows(records, rows) -> None:
    assert len(records) == len(rows)
    for record, row in zip(records, rows, strict=True):
        assert record._fields == tuple(row._fields)
        assert record._mapping == dict(row._mapping)
        assert [type(v) for v in record] == [type(v) for v in row]


@pytest.mark.parametrize("f", FILTERS, ids=repr)
def test_the_ledgers_compiled_statements_read_what_the_session_reads(sessions, mixed, f, monkeypatch):
    """Every statement ``LedgerQueries`` runs on the session's connection — compiled once per shape on the live
    table, for the call on any other source (``as_of``) — reads the rows, keys and value types that the same
    statement gives through the session."""
    checked: list[object] = []
    compiled_all = Reader.all

    def all_and_through_the_session(self, key, build, **values):  # noqa: ANN001, ANN202
        records = compiled_all(self, key, build, **values)
        _same_rows(records, session.execute(build()).all())
        checked.append(key)
        return records

    monkeypatch.setattr(Reader, "all", all_and_through_the_session)
    with transaction(sessions, write=False) as session:
        for q in (LedgerQueries(session), LedgerQueries(session, ProjectHistory.projects_as_of(now_utc()))):
            for start, end in (WIDE, (date(2025, 1, 1), date(2025, 12, 31))):
                q.totals(f, start, end)
                for by in ("chain", "district"):
                    q.summary(by, f, start, end)
                for lst in LISTS:
                    for limit in (1, 500):
                        q.items(lst, f, start, end, limit=limit)
    assert len(checked) == 2 * 2 * (1 + 2 + len(LISTS) * 2)
    assert None in checked and any(key is not None for key in checked)  # both paths ran


def _typed_document(record) -> dict:  # noqa: ANN001
    """What the typed path made of a ledger item: amounts as their text, every other value as it is."""
    return {k: amount_text(v) if isinstance(v, Decimal) else v for k, v in record._mapping.items()}


@pytest.mark.parametrize("f", FILTERS, ids=repr)
def test_ledger_items_read_as_json_are_the_typed_items_written(sessions, mixed, f):
    """``as_json`` items (each value straight from the driver to its JSON value) serialise to the very bytes of
    the typed items turned into their documents, key order included, on the live table and on ``as_of``."""
    with transaction(sessions, write=False) as session:
        for q in (LedgerQueries(session), LedgerQueries(session, ProjectHistory.projects_as_of(now_utc()))):
            for lst in LISTS:
                typed = q.items(lst, f, *WIDE, limit=500)
                documents = q.items(lst, f, *WIDE, limit=500, as_json=True)
                assert [tuple(d) for d in documents] == [ITEM_KEYS] * len(typed)
                assert (orjson.dumps(documents, option=orjson.OPT_UTC_Z)
                        == orjson.dumps([_typed_document(r) for r in typed], option=orjson.OPT_UTC_Z))


def test_the_ledger_is_compiled_once_per_shape_and_reads_in_the_sessions_transaction(app, sessions, mixed):
    with transaction(sessions, write=False) as session:
        q = LedgerQueries(session)
        q.totals(ProjectFilter(chain="OPTICS"), *WIDE)
        before = dict(statements(app.state.db.engine.dialect))
        counts = [q.totals(ProjectFilter(chain=c), date(2025, y, 1), date(2026, 12, 31))[0] for c, y in
                  (("OPTICS", 1), ("ICT", 2), ("NOPE", 3))]
        assert statements(app.state.db.engine.dialect) == before
        assert session.in_transaction()  # the statements ran on the session's own connection
    assert counts[2] is None or counts[2] == 0
    assert counts[0] >= 1
