"""The system-versioned project history (``project_version``), read by ``as_of`` with one query instead of
replaying the event log. Every project change writes it (``ProjectStore.record_version``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session

from service.db.projects import STATE_COLUMNS
from service.db.tables import ProjectVersion


class ProjectHistory:
    def __init__(self, session: Session):
        self.session = session

    @staticmethod
    def known_at(at: datetime):  # noqa: ANN205
        """The condition 'this version was the current one at ``at``'."""
        return and_(
            ProjectVersion.recorded_from <= at,
            or_(ProjectVersion.recorded_to.is_(None), ProjectVersion.recorded_to > at),
        )

    def get_as_of(self, project_id: str, at: datetime) -> ProjectVersion | None:
        return self.session.scalar(
            select(ProjectVersion).where(ProjectVersion.project_id == project_id, self.known_at(at))
        )

    @classmethod
    def projects_as_of(cls, at: datetime):  # noqa: ANN206
        """A subquery shaped like ``project`` (``id`` included) holding each project as known at ``at``."""
        stmt: Select = select(
            ProjectVersion.project_id.label("id"), *[getattr(ProjectVersion, c) for c in STATE_COLUMNS]
        ).where(cls.known_at(at))
        return stmt.subquery("project_as_of")
