"""The ledger as it was known at a moment (SPEC §6, two clocks): ``as_of`` reads the version history."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.db.history import ProjectHistory
from service.db.tables import AuditEvent, ProjectVersion
from service.domain import errors as d


def check_as_of(session: Session, *, as_of: datetime, now: datetime, field: str = "as_of") -> datetime:
    """``as_of`` must carry a time zone, lie between the first event and now."""
    if as_of.tzinfo is None:
        raise d.InvalidInput.at(["query", field], "as_of needs a time zone (RFC 3339, e.g. 2026-05-05T00:00:00+08:00).")
    if as_of > now:
        raise d.InvalidInput.at(["query", field], "as_of is in the future.")
    first = session.scalar(select(func.min(AuditEvent.at)))
    if first is None or as_of < first:
        raise d.InvalidInput.at(["query", field], "as_of is before the first event of the ledger.")
    return as_of


def project_as_of(session: Session, *, project_id: str, as_of: datetime, now: datetime) -> ProjectVersion:
    check_as_of(session, as_of=as_of, now=now)
    row = ProjectHistory(session).get_as_of(project_id, as_of)
    if row is None:
        raise d.NotFound(f"Project '{project_id}' was not known at {as_of.isoformat()}.")
    return row
