"""A change to any stored column of a project is versioned and audited, in the same transaction.

The columns come from the ``project`` table itself (SQLAlchemy's metadata, which tests/migrations holds equal to
the migrated database), not from the field definition the service derives its lists from: a column added later is
covered without editing this test. Hypothesis picks a column and a value of its type and the change goes through
the one path every project write takes (``usecases.projects._change``); the row, its new version in the history
and the audit event must all show it — the trap of a field missing from a hand-kept snapshot list (set, committed,
but neither versioned nor audited) cannot come back.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import orjson
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from service.db.tables import AuditEvent, Project, ProjectVersion
from service.db.values import jsonable
from service.domain import project_fields as pf
from service.domain.access import SYSTEM
from service.domain.context import Ctx
from service.usecases import projects as uc
from tests.api.conftest import P

#: Columns every change moves (never on their own): the id, the version and the two timestamps.
BOOKKEEPING = {"id", "version", "created_at", "updated_at"}
COLUMNS = [c for c in Project.__table__.columns if c.key not in BOOKKEEPING]
#: Reference data the ``reference`` fixture loads (foreign keys need existing codes).
CODES = {"chain": ["OPTICS", "AUTO"], "district": ["JA", "HS", "DHGX"]}


def test_the_columns_are_seen():
    assert {"name", "planned_investment", "stage", "signed_on", "voided_at", "cumulative_investment"} <= {
        c.key for c in COLUMNS}


def test_every_stored_column_is_audited_by_the_definition():
    """No column is outside the audited set: ``_change`` refuses to write a column it would not audit."""
    assert {c.key for c in COLUMNS} == set(pf.AUDITED)


def _values(column) -> st.SearchStrategy:  # noqa: ANN001
    """Values a column of this type holds (by the Python type its SQL type reads as)."""
    sql_type = getattr(column.type, "impl", column.type)  # a TypeDecorator reads as its own python_type
    kind = column.type.python_type if column.type.python_type is not object else sql_type.python_type
    if column.key in CODES:
        base = st.sampled_from(CODES[column.key])
    elif kind is Decimal:
        base = st.decimals(min_value=0, max_value=Decimal("99999999.99"), places=2)
    elif kind is datetime:
        base = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC))
    elif kind is date:
        base = st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31))
    elif kind is bool:
        base = st.booleans()
    elif kind is str:
        length = getattr(column.type, "length", None) or 200
        base = st.text(alphabet=st.characters(categories=("L", "N")), min_size=1, max_size=min(length, 40))
    else:  # pragma: no cover - a new column type: teach the test its values
        raise AssertionError(f"no values for column {column.key} of type {column.type!r}")
    return st.one_of(st.none(), base) if column.nullable else base


@st.composite
def changes(draw) -> tuple[str, object]:  # noqa: ANN001
    column = draw(st.sampled_from(COLUMNS))
    return column.key, draw(_values(column))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(change=changes())
def test_a_change_to_any_column_is_versioned_and_audited(sessions, client, admin, reference, change):
    column, value = change
    project = client.post(P, json={"name": "光谷芯片厂", "chain": "OPTICS", "district": "JA", "investor": "某公司",
                                   "planned_investment": "12500", "milestones": {"signed": "2026-01-10"}},
                          headers=admin).json()
    assume(project[column] != value if column in project else True)
    now = datetime.now(UTC) + timedelta(seconds=1)
    ctx = Ctx(actor=SYSTEM, request_id=None, now=now, today=now.date())
    with sessions.begin() as session:
        before = uc.get_project(session, project_id=project["id"], for_update=True)
        assume(getattr(before, column) != value)
        after = uc._change(session, ctx, before, "project.updated", {column: value})  # noqa: SLF001
    assert after.version == before.version + 1

    with sessions() as session:
        row = session.get(Project, project["id"])
        assert getattr(row, column) == value and row.version == before.version + 1
        version = session.scalar(select(ProjectVersion).where(ProjectVersion.project_id == project["id"],
                                                              ProjectVersion.version == row.version))
        assert version is not None and version.recorded_to is None and getattr(version, column) == value
        event = session.scalars(select(AuditEvent).where(AuditEvent.entity_id == project["id"])
                                .order_by(AuditEvent.seq.desc())).first()
    data = orjson.loads(event.data)
    assert event.action == "project.updated"
    assert data["before"] == {column: jsonable(getattr(before, column))}
    assert data["after"] == {column: jsonable(value)}


def test_an_unaudited_column_is_refused_not_written(sessions, client, admin, reference):
    """Bookkeeping moves with every change, never alone: ``_change`` refuses it instead of writing it unaudited."""
    project = client.post(P, json={"name": "光谷芯片厂", "chain": "OPTICS", "district": "JA", "investor": "某公司",
                                   "planned_investment": "12500", "milestones": {"signed": "2026-01-10"}},
                          headers=admin).json()
    now = datetime.now(UTC)
    ctx = Ctx(actor=SYSTEM, request_id=None, now=now, today=now.date())
    with sessions.begin() as session:
        p = uc.get_project(session, project_id=project["id"], for_update=True)
        try:
            uc._change(session, ctx, p, "project.updated", {"version": 99})  # noqa: SLF001
        except ValueError as exc:
            assert "version" in str(exc)
        else:  # pragma: no cover - the refusal is the point
            raise AssertionError("an unaudited column was written")
    assert client.get(f"{P}/{project['id']}", headers=admin).json()["version"] == 1
