"""Tables (SQLModel, table=True). Singular names; a naming convention so migrations name every constraint."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from service.db.types import Money, UTCDateTime
from service.domain import project_fields as pf

SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _ts(nullable: bool = False) -> Column:
    return Column(UTCDateTime(), nullable=nullable)


class Department(SQLModel, table=True):
    code: str = Field(primary_key=True, max_length=32)
    name: str = Field(max_length=200)
    version: int = 1
    created_at: datetime = Field(sa_column=_ts())
    updated_at: datetime = Field(sa_column=_ts())


class District(SQLModel, table=True):
    code: str = Field(primary_key=True, max_length=32)
    name: str = Field(max_length=200)
    kind: str = Field(max_length=32)
    version: int = 1
    created_at: datetime = Field(sa_column=_ts())
    updated_at: datetime = Field(sa_column=_ts())


class Chain(SQLModel, table=True):
    code: str = Field(primary_key=True, max_length=32)
    name: str = Field(max_length=200)
    leader: str = Field(max_length=200)
    lead_department: str = Field(
        sa_column=Column(String(32), ForeignKey("department.code"), nullable=False, index=True)
    )
    benchmark_city: str | None = Field(default=None, max_length=100)
    version: int = 1
    created_at: datetime = Field(sa_column=_ts())
    updated_at: datetime = Field(sa_column=_ts())


_TEXT_LENGTH = {pf.Kind.NAME: 200, pf.Kind.REF: 100, pf.Kind.CODE: 32, pf.Kind.STAGE: 16}


def _column(f: pf.Field, *, history: bool) -> tuple[Any, Any]:
    """The annotation and ``Field`` of a project field's column. In the history (``project_version``) a code is a
    plain copy and a unique ref may repeat (one row per version): no foreign key, no unique index there."""
    nullable = f.nullable and not f.required
    if f.kind is pf.Kind.ID:
        return str, Field(primary_key=True, max_length=26)
    if f.kind in _TEXT_LENGTH:
        length = _TEXT_LENGTH[f.kind]
        if f.kind is pf.Kind.CODE and not history:
            column = Column(String(length), ForeignKey(f"{f.references}.code"), nullable=nullable)
            return str, Field(sa_column=column)
        kwargs: dict[str, Any] = {"max_length": length}
        if f.unique and not history:
            kwargs["unique"] = True
        return (str | None, Field(default=None, **kwargs)) if nullable else (str, Field(**kwargs))
    if f.kind is pf.Kind.AMOUNT:
        return (Decimal | None, Field(default=None, sa_type=Money, nullable=True)) if nullable else (
            Decimal, Field(sa_type=Money, nullable=False))
    if f.kind is pf.Kind.FLAG:
        return bool, Field(default=False)
    if f.kind is pf.Kind.DATE:
        return date | None, Field(default=None)
    if f.kind is pf.Kind.TEXT:
        return str | None, Field(default=None, sa_type=Text, nullable=True)
    if f.kind is pf.Kind.TIMESTAMP:
        return (datetime | None, Field(default=None, sa_type=UTCDateTime, nullable=True)) if nullable else (
            datetime, Field(sa_type=UTCDateTime, nullable=False))
    if f.kind is pf.Kind.COUNT:
        return int, Field(default=1)
    raise ValueError(f"no column for {f.kind} ({f.name})")  # pragma: no cover - every kind is mapped


def _project_columns(name: str, *, history: bool) -> type[SQLModel]:
    """A base class holding a column per stored project field (``service/domain/project_fields.py``): the table
    ``project``, and its history ``project_version`` (there without the id: a version names its ``project_id``)."""
    annotations: dict[str, Any] = {}
    namespace: dict[str, Any] = {"__module__": __name__, "__doc__": _project_columns.__doc__}
    for f in pf.FIELDS:
        if f.stored and not (history and f.kind is pf.Kind.ID):
            annotations[f.name], namespace[f.name] = _column(f, history=history)
    return type(name, (SQLModel,), {"__annotations__": annotations, **namespace})


ProjectColumns = _project_columns("ProjectColumns", history=False)
ProjectVersionColumns = _project_columns("ProjectVersionColumns", history=True)


class Project(ProjectColumns, table=True):
    __table_args__ = (
        Index("ix_project_chain_id", "chain", "id"),
        Index("ix_project_district_id", "district", "id"),
        Index("ix_project_stage_id", "stage", "id"),
        Index("ix_project_signed_on", "signed_on", "id"),
        Index("ix_project_started_on", "started_on", "id"),
        Index("ix_project_in_production_on", "in_production_on", "id"),
        Index("ix_project_at_capacity_on", "at_capacity_on", "id"),
    )


class ProjectVersion(ProjectVersionColumns, table=True):
    """System-versioned history (SQL:2011 style): one row per version of a project, valid in
    ``[recorded_from, recorded_to)`` of the ledger's own clock. ``as_of`` reads it with one query;
    the audit chain stays the proof (a test holds the two together)."""

    __tablename__ = "project_version"
    __table_args__ = (
        UniqueConstraint("project_id", "version"),
        Index("ix_project_version_recorded", "recorded_from", "recorded_to"),
    )

    row_id: int | None = Field(default=None, primary_key=True)
    project_id: str = Field(sa_column=Column(String(26), ForeignKey("project.id"), nullable=False))
    recorded_from: datetime = Field(sa_type=UTCDateTime, nullable=False)
    recorded_to: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)

    @property
    def id(self) -> str:
        """Read like a ``project`` row."""
        return self.project_id


class ProjectTransition(SQLModel, table=True):
    """Every stage change, kept for revert (the latest un-reverted one is undone) and cycle times."""

    __tablename__ = "project_transition"
    __table_args__ = (Index("ix_project_transition_project_id_id", "project_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: str = Field(sa_column=Column(String(26), ForeignKey("project.id"), nullable=False))
    from_stage: str = Field(max_length=16)
    to_stage: str = Field(max_length=16)
    on: date
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(sa_column=_ts())
    reverted_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    role: str = Field(max_length=16)
    token_hash: str = Field(max_length=64, unique=True)
    chains: str = Field(default="[]", sa_column=Column(Text, nullable=False))  # JSON list of chain codes
    created_at: datetime = Field(sa_column=_ts())
    revoked_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    # None: never expires (only when an admin asks for it); the default is LEDGER_TOKEN_TTL_DAYS after creation.
    expires_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    last_used_on: date | None = Field(default=None)  # the service's "today" of its last use, written once a day


class WebSession(SQLModel, table=True):
    """A signed-in browser session (the web frontend). The cookie names it by a random secret; only the secret's
    SHA-256 is stored. Signing out deletes the row, so a copied cookie no longer signs anyone in."""

    __tablename__ = "web_session"

    id: str = Field(primary_key=True, max_length=64)  # sha256 hex of the cookie's session secret
    token_id: int = Field(sa_column=Column(Integer, ForeignKey("api_token.id"), nullable=False, index=True))
    created_at: datetime = Field(sa_column=_ts())
    last_seen_at: datetime = Field(sa_column=_ts())


class AuditEvent(SQLModel, table=True):
    """Append-only, hash-chained. Nothing updates or deletes a row (a trigger enforces it on PostgreSQL)."""

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_entity_entity_id_seq", "entity", "entity_id", "seq"),
        Index("ix_audit_event_action_seq", "action", "seq"),
        Index("ix_audit_event_at", "at"),
    )

    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    at: datetime = Field(sa_column=_ts())
    actor_name: str = Field(max_length=100)
    actor_role: str = Field(max_length=16)
    request_id: str | None = Field(default=None, max_length=100)
    action: str = Field(max_length=64)
    entity: str = Field(max_length=32)
    entity_id: str = Field(max_length=100)
    data: str = Field(sa_column=Column(Text, nullable=False))  # canonical JSON {"before": …, "after": …}
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64, unique=True)


class AuditHead(SQLModel, table=True):
    """One row: the chain's last seq and hash. Locking it serialises appends (no fork, no gap)."""

    __tablename__ = "audit_head"

    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    seq: int
    hash: str = Field(max_length=64)


class AuditTreeNode(SQLModel, table=True):
    """The Merkle tree over the events (SPEC §6): the root of every perfect subtree, ``(level, idx)`` covering leaves
    ``[idx·2^level, (idx+1)·2^level)`` (level 0: the leaf hashes). Written by ``AuditLog.append`` in the event's
    transaction; never changed (service/domain/merkle.py)."""

    __tablename__ = "audit_tree_node"

    level: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    idx: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    hash: str = Field(max_length=64)


class AuditTreeHead(SQLModel, table=True):
    """A signed tree head (SPEC §6): every one the service signed, kept so ``/audit/verify`` holds the chain to it."""

    __tablename__ = "audit_tree_head"
    __table_args__ = (Index("ix_audit_tree_head_size", "size"),)

    id: int | None = Field(default=None, primary_key=True)
    size: int
    root: str = Field(max_length=64)
    signed_at: datetime = Field(sa_column=_ts())
    key_id: str = Field(max_length=64)
    signature: str = Field(max_length=100)


class IdempotencyRecord(SQLModel, table=True):
    __tablename__ = "idempotency_record"
    __table_args__ = (UniqueConstraint("token_id", "key"), Index("ix_idempotency_record_created_at", "created_at"))

    id: int | None = Field(default=None, primary_key=True)
    token_id: int = Field(sa_column=Column(ForeignKey("api_token.id"), nullable=False))
    key: str = Field(max_length=255)
    method: str = Field(max_length=8)
    path: str = Field(sa_column=Column(Text, nullable=False))
    body_hash: str = Field(max_length=64)
    state: str = Field(max_length=16)  # in_flight | done
    response_status: int | None = None
    response_body: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    response_headers: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(sa_column=_ts())
    locked_until: datetime = Field(sa_column=_ts())


# ---------------------------------------------------------------- the tracking rhythm (月调度 · 季观摩 · 年考评)


class CalendarOverride(SQLModel, table=True):
    """An admin-loaded official working-day calendar for a year (beats the library)."""

    __tablename__ = "calendar_override"

    year: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    holidays: str = Field(default="[]", sa_column=Column(Text, nullable=False))  # JSON list of ISO dates
    workdays: str = Field(default="[]", sa_column=Column(Text, nullable=False))  # JSON list of ISO dates (调休)
    version: int = 1
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class Dispatch(SQLModel, table=True):
    """A chain's monthly dispatch report (月调度) for one month."""

    __table_args__ = (UniqueConstraint("chain", "period"),)

    id: int | None = Field(default=None, primary_key=True)
    chain: str = Field(sa_column=Column(String(32), ForeignKey("chain.code"), nullable=False))
    period: str = Field(max_length=7)  # YYYY-MM
    status: str = Field(max_length=16)  # draft | submitted
    summary: str = Field(default="", sa_column=Column(Text, nullable=False))
    submitted_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    amendments: int = 0
    version: int = 1
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    audit_tree_head: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # signed head, JSON


class DispatchEntry(SQLModel, table=True):
    __tablename__ = "dispatch_entry"
    __table_args__ = (
        UniqueConstraint("dispatch_id", "project_id"),
        Index("ix_dispatch_entry_project_id", "project_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    dispatch_id: int = Field(sa_column=Column(ForeignKey("dispatch.id"), nullable=False))
    project_id: str = Field(sa_column=Column(String(26), ForeignKey("project.id"), nullable=False))
    invested: Decimal = Field(sa_type=Money, nullable=False)
    progress: str = Field(default="", sa_column=Column(Text, nullable=False))
    problems: str = Field(default="[]", sa_column=Column(Text, nullable=False))  # JSON list of strings


class Inspection(SQLModel, table=True):
    """A chain's quarterly inspection (季观摩)."""

    __table_args__ = (UniqueConstraint("chain", "period"),)

    id: int | None = Field(default=None, primary_key=True)
    chain: str = Field(sa_column=Column(String(32), ForeignKey("chain.code"), nullable=False))
    period: str = Field(max_length=7)  # YYYY-Qn
    held_on: date
    visited_projects: str = Field(default="[]", sa_column=Column(Text, nullable=False))  # JSON list of ids
    score: Decimal = Field(sa_type=Money, nullable=False)  # 0–100, two decimals
    findings: str = Field(default="", sa_column=Column(Text, nullable=False))
    version: int = 1
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class Problem(SQLModel, table=True):
    """A prominent problem (突出问题) with its lifecycle."""

    __table_args__ = (
        Index("ix_problem_chain_status", "chain", "status"),
        Index("ix_problem_due_on", "due_on"),
    )

    id: str = Field(primary_key=True, max_length=26)
    chain: str = Field(sa_column=Column(String(32), ForeignKey("chain.code"), nullable=False))
    project_id: str | None = Field(default=None, sa_column=Column(String(26), ForeignKey("project.id"), nullable=True))
    title: str = Field(max_length=200)
    detail: str = Field(default="", sa_column=Column(Text, nullable=False))
    owner_unit: str = Field(max_length=200)
    due_on: date
    status: str = Field(max_length=16)  # open | in_progress | resolved | closed | reopened
    resolved_on: date | None = None
    version: int = 1
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class Appraisal(SQLModel, table=True):
    """The annual appraisal (年考评) of every chain for a year: weights, computed rankings, status."""

    year: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    status: str = Field(max_length=16)  # draft | published
    weights: str = Field(sa_column=Column(Text, nullable=False))  # JSON {component: weight}
    rankings: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # JSON, set by a run
    run_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    version: int = 1
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    audit_tree_head: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # signed head, JSON


# ---------------------------------------------------------------- annual plans (一链一表)


class Plan(SQLModel, table=True):
    """One revision of a chain's annual work plan. The highest revision of a chain-year is the current one."""

    __table_args__ = (UniqueConstraint("chain", "year", "revision"),)

    id: int | None = Field(default=None, primary_key=True)
    chain: str = Field(sa_column=Column(String(32), ForeignKey("chain.code"), nullable=False))
    year: int
    revision: int = 1
    status: str = Field(max_length=16)  # draft | approved
    goals: str = Field(default="", sa_column=Column(Text, nullable=False))
    benchmark_city: str | None = Field(default=None, max_length=100)
    revision_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    approved_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    version: int = 1
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    audit_tree_head: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # signed head, JSON


class PlanTask(SQLModel, table=True):
    __tablename__ = "plan_task"
    __table_args__ = (UniqueConstraint("plan_id", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(sa_column=Column(ForeignKey("plan.id"), nullable=False))
    key: str = Field(max_length=64)
    title: str = Field(max_length=200)
    owner_unit: str = Field(max_length=200)
    due_on: date
    status: str = Field(default="open", max_length=16)  # open | done
    done_on: date | None = None


class PlanIndicator(SQLModel, table=True):
    __tablename__ = "plan_indicator"
    __table_args__ = (UniqueConstraint("plan_id", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(sa_column=Column(ForeignKey("plan.id"), nullable=False))
    key: str = Field(max_length=64)
    name: str = Field(max_length=200)
    unit: str = Field(max_length=32)
    target: Decimal = Field(sa_type=Money, nullable=False)
    source: str = Field(max_length=64)  # manual | ledger.<list>.count | ledger.<list>.investment | dispatch.invested
    benchmark_city: str | None = Field(default=None, max_length=100)
    benchmark_value: Decimal | None = Field(default=None, sa_type=Money, nullable=True)


class PlanActual(SQLModel, table=True):
    """A monthly actual of a manual indicator, keyed by indicator key so it survives plan revisions."""

    __tablename__ = "plan_actual"
    __table_args__ = (UniqueConstraint("chain", "year", "indicator_key", "period"),)

    id: int | None = Field(default=None, primary_key=True)
    chain: str = Field(sa_column=Column(String(32), ForeignKey("chain.code"), nullable=False))
    year: int
    indicator_key: str = Field(max_length=64)
    period: str = Field(max_length=7)  # YYYY-MM
    value: Decimal = Field(sa_type=Money, nullable=False)
    version: int = 1
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


# The webhooks' tables (subscriptions, outbox, attempts) live in service/db/webhook_tables.py; imported here so
# that this module names every table of the schema.
from service.db.webhook_tables import WebhookAttempt, WebhookDelivery, WebhookSubscription  # noqa: E402, F401
