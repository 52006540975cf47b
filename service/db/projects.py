"""Projects: the one list query (API and web), the reads of one project, and the write statements of the use
cases (service/usecases/projects.py), all on the driver's connection as compiled once per shape (raw.py).

A project is read as a record of its stored fields (``service/domain/project_fields.py``) in column order: a named
tuple with every column as an attribute, the same for the API, the web and the use cases. Writes change a
project with one UPDATE of the columns that changed, and keep its history (``project_version``) in the same
transaction.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Hashable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, Select, and_, bindparam, insert, or_, select, update
from sqlalchemy.orm import Session

from service.db.raw import Reader, Writer, session_reader, session_writer
from service.db.tables import Project, ProjectTransition, ProjectVersion
from service.domain.queries import ProjectFilter
from service.domain.stages import MAJOR_THRESHOLD

_PROJECT = Project.__table__
_VERSION = ProjectVersion.__table__
_TRANSITION = ProjectTransition.__table__
#: The stored fields of a project, in column order: what every project record holds.
COLUMNS: tuple[str, ...] = tuple(c.key for c in _PROJECT.columns)
#: The columns a version copies from its project: every stored field but the id.
STATE_COLUMNS: tuple[str, ...] = tuple(c for c in COLUMNS if c != "id")
_NULLABLE = frozenset(c.key for c in _PROJECT.columns if c.nullable)


class ProjectRecord(namedtuple("ProjectRecord", COLUMNS)):  # type: ignore[misc]
    """A project made by a use case (a created one), shaped as the records the reads return."""

    __slots__ = ()

    @classmethod
    def new(cls, **values: Any) -> ProjectRecord:
        """Every column from ``values``; a nullable one left out is null."""
        return cls(**{**dict.fromkeys(_NULLABLE), **values})


# ---------------------------------------------------------------- the list's filter


def _like_literal(text: str) -> str:
    """Escape LIKE metacharacters so ``q`` matches its text literally."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def filter_values(f: ProjectFilter) -> dict[str, Any]:
    """The values of ``f``'s conditions, by the name of their bind parameter (``apply_project_filter``)."""
    values: dict[str, Any] = {}
    if f.chain:
        values["f_chain"] = f.chain
    if f.district:
        values["f_district"] = f.district
    if f.stage:
        values["f_stage"] = f.stage
    if f.key is not None:
        values["f_key"] = f.key
    if f.q:
        values["f_q"] = _like_literal(f.q)
    return values


def statement_shape(name: Hashable, f: ProjectFilter, values: Mapping[str, Any]) -> tuple[Hashable, ...]:
    """The key of a statement that ``apply_project_filter`` restricted by ``f`` and that binds ``values`` (the
    filter's and its own): ``include_voided`` and ``major`` change its text, every other value only by being
    bound, so statements of one shape share one compilation (service/db/raw.py)."""
    return (name, f.include_voided, f.major, *sorted(values))


#: The filters that are one equality each: bind parameter → project column.
_EQUALITY_FILTERS = {"f_chain": "chain", "f_district": "district", "f_stage": "stage", "f_key": "is_key"}


def apply_project_filter(stmt, f: ProjectFilter, table=_PROJECT.c):  # noqa: ANN001, ANN201
    """``stmt`` restricted by ``f``. Each value is a named bind parameter (``f_chain``, …, ``filter_values``),
    so the statement's text depends only on which filters are set: it is compiled once per shape."""
    conds = []
    if not f.include_voided:
        conds.append(table.voided_at.is_(None))
    values = filter_values(f)
    for name, column in _EQUALITY_FILTERS.items():
        if name in values:
            conds.append(getattr(table, column) == bindparam(name, values[name]))
    if f.major is not None:
        threshold = table.planned_investment >= MAJOR_THRESHOLD
        conds.append(threshold if f.major else ~threshold)
    if "f_q" in values:
        pattern = bindparam("f_q", values["f_q"])
        # Case-insensitive on both databases (LIKE is case-sensitive on PostgreSQL, not on SQLite).
        conds.append(or_(table.name.ilike(pattern, escape="\\"), table.investor.ilike(pattern, escape="\\")))
    return stmt.where(and_(*conds)) if conds else stmt


# ---------------------------------------------------------------- reads


def _reader(source: Session | Reader) -> Reader:
    return source if isinstance(source, Reader) else session_reader(source)


class ProjectQueries:
    """Reads of projects, each one statement, on a ``Reader`` of its own (the API's single reads) or on a
    session's transaction (the use cases, the web)."""

    def __init__(self, source: Session | Reader):
        self.r = _reader(source)

    def row(self, project_id: str, *, for_update: bool = False) -> Any | None:
        if for_update:
            return self.r.first("project.row.lock", lambda: select(_PROJECT).where(
                _PROJECT.c.id == bindparam("id")).with_for_update(), id=project_id)
        return self.r.first("project.row", lambda: select(_PROJECT).where(_PROJECT.c.id == bindparam("id")),
                            id=project_id)

    def by_external_ref(self, ref: str) -> Any | None:
        return self.r.first("project.by_ref", lambda: select(_PROJECT).where(
            _PROJECT.c.external_ref == bindparam("ref")), ref=ref)

    def page(self, f: ProjectFilter, *, after: str | None, limit: int) -> list[Any]:
        """Projects matching ``f`` in id order (creation order), after the id ``after``: the one list query of
        ``GET /projects`` and of the web's boards and lists."""
        values: dict[str, Any] = {**filter_values(f), "limit": limit}
        if after is not None:
            values["after"] = after

        def build() -> Select[Any]:
            stmt = apply_project_filter(select(_PROJECT), f).order_by(_PROJECT.c.id)
            if after is not None:
                stmt = stmt.where(_PROJECT.c.id > bindparam("after"))
            return stmt.limit(bindparam("limit", type_=Integer))

        return self.r.all(statement_shape("project.page", f, values), build, **values)

    def latest_transition(self, project_id: str) -> Any | None:
        """The latest transition of the project that was not reverted."""
        t = _TRANSITION.c
        return self.r.first("project.transition.latest", lambda: select(_TRANSITION).where(
            t.project_id == bindparam("project_id"), t.reverted_at.is_(None)).order_by(t.id.desc()).limit(1),
            project_id=project_id)


# ---------------------------------------------------------------- writes


class ProjectStore:
    """The statements of a project change, in the session's transaction: the row, its transitions, its history."""

    def __init__(self, session: Session):
        self.w: Writer = session_writer(session)

    def insert(self, record: Any) -> None:
        self.w.execute("project.insert", lambda: insert(_PROJECT), **record._asdict())

    def update(self, project_id: str, changes: Mapping[str, Any]) -> None:
        """``UPDATE project SET <the changed columns>`` (one compiled statement per set of columns)."""
        columns = tuple(sorted(changes))
        self.w.execute(("project.update", columns), lambda: update(_PROJECT).where(
            _PROJECT.c.id == bindparam("project_id")).values({c: bindparam(f"new_{c}") for c in columns}),
            project_id=project_id, **{f"new_{c}": changes[c] for c in columns})

    def record_version(self, record: Any, now: datetime, *, first: bool) -> None:
        """Close the open version of the project at ``now`` (unless it is the first) and open the new one."""
        if not first:
            v = _VERSION.c
            self.w.execute("project.version.close", lambda: update(_VERSION).where(
                v.project_id == bindparam("project_id"), v.recorded_to.is_(None)).values(
                recorded_to=bindparam("closed_at")), project_id=record.id, closed_at=now)
        state = {c: getattr(record, c) for c in STATE_COLUMNS}
        self.w.execute("project.version.open", lambda: insert(_VERSION).values(
            {c: bindparam(c) for c in (*STATE_COLUMNS, "project_id", "recorded_from")}),
            project_id=record.id, recorded_from=now, **state)

    def add_transition(self, **values: Any) -> None:
        self.w.execute("project.transition.insert", lambda: insert(_TRANSITION).values(
            {c: bindparam(c) for c in values}), **values)

    def mark_reverted(self, transition_id: int, now: datetime) -> None:
        t = _TRANSITION.c
        self.w.execute("project.transition.revert", lambda: update(_TRANSITION).where(
            t.id == bindparam("transition_id")).values(reverted_at=bindparam("at")), transition_id=transition_id,
            at=now)
