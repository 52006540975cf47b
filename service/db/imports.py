"""Lookups of the project import: reference codes and names, projects by external_ref or id, in batches."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.db.tables import Chain, District, Project

BATCH = 500


class ImportLookups:
    def __init__(self, session: Session):
        self.session = session

    def chains(self) -> list[Chain]:
        """Every chain as an ORM object: while the caller holds them, the use cases' look-ups of a project's
        chain hit the session's identity map instead of the database (once per row otherwise)."""
        return list(self.session.scalars(select(Chain)))

    def districts(self) -> list[District]:
        return list(self.session.scalars(select(District)))

    def _projects(self, column, values: Iterable[str]) -> dict[str, Project]:
        values = sorted(set(values))
        out: dict[str, Project] = {}
        for i in range(0, len(values), BATCH):
            for p in self.session.scalars(select(Project).where(column.in_(values[i:i + BATCH]))):
                out[getattr(p, column.key)] = p
        return out

    def projects_by_external_ref(self, refs: Iterable[str]) -> dict[str, Project]:
        return self._projects(Project.external_ref, refs)

    def projects_by_id(self, ids: Iterable[str]) -> dict[str, Project]:
        return self._projects(Project.id, ids)
