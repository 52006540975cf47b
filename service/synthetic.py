"""``chain-ledger seed --synthetic N``: N projects with full stage histories, for benchmarks.

Reference data goes through the use cases. Projects, their versions, transitions and audit events are
bulk-inserted in batches, but built exactly as the use cases build them (same snapshots, same canonical
audit data, a valid hash chain), so ``/audit/verify`` and ``as_of`` work on the result. About ten events per
project: the creation, up to three transitions and a series of planned-investment revisions.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, select, text, update

from service.config import get_settings
from service.db.engine import make_engine, make_sessionmaker, transaction
from service.db.projects import STATE_COLUMNS, ProjectRecord
from service.db.reference import ReferenceRepo
from service.db.tables import (
    AuditEvent,
    AuditHead,
    AuditTreeNode,
    Project,
    ProjectTransition,
    ProjectVersion,
)
from service.db.values import diff, jsonable, new_id, rfc3339
from service.domain import audit_chain, merkle
from service.domain.access import SYSTEM, Actor, Role
from service.domain.context import Ctx
from service.domain.project_fields import milestone_field
from service.domain.stages import LISTS
from service.schemas.reference import (
    ChainCreate,
    DepartmentCreate,
    DistrictCreate,
    DistrictKind,
)
from service.usecases import reference
from service.usecases.projects import snapshot

CHAINS, DISTRICTS = 30, 16
BATCH = 2000
ACTOR = Actor(name="synthetic", role=Role.ADMIN)
_LOADED = (Project, ProjectVersion, ProjectTransition, AuditEvent, AuditTreeNode)  # the tables the batches fill


def _reference(session, ctx: Ctx) -> None:  # noqa: ANN001
    repo = ReferenceRepo(session)
    if repo.department("SYN") is None:
        reference.create_department(session, ctx=ctx, data=DepartmentCreate(code="SYN", name="合成数据牵头部门"))
    for i in range(1, DISTRICTS + 1):
        if repo.district(f"D{i:02d}") is None:
            reference.create_district(session, ctx=ctx, data=DistrictCreate(
                code=f"D{i:02d}", name=f"合成区{i:02d}", kind=DistrictKind.DISTRICT))
    for i in range(1, CHAINS + 1):
        if repo.chain(f"C{i:02d}") is None:
            reference.create_chain(session, ctx=ctx, data=ChainCreate(
                code=f"C{i:02d}", name=f"合成产业链{i:02d}", leader="分管副市长", lead_department="SYN"))


def _project_history(rng: random.Random, index: int, today: date, now: datetime) -> list[tuple[str, Any]]:
    """The successive states of one project, each with the action that produced it."""
    signed = today - timedelta(days=rng.randint(30, 3 * 365))
    p = ProjectRecord.new(
        id=new_id(now), external_ref=f"SYN-{index:07d}", name=f"合成项目{index:07d}",
        chain=f"C{rng.randint(1, CHAINS):02d}", district=f"D{rng.randint(1, DISTRICTS):02d}",
        investor=f"合成投资方{rng.randint(1, 5000):04d}",
        planned_investment=Decimal(rng.randint(100_00, 500_000_00)) / 100, is_key=rng.random() < 0.3,
        stage="signed", signed_on=signed, cumulative_investment=Decimal("0.00"), version=1,
        created_at=now, updated_at=now,
    )
    states = [("project.created", p)]
    current = signed
    for stage in LISTS[1:]:
        if rng.random() < 0.35:
            break
        current = min(today, current + timedelta(days=rng.randint(20, 400)))
        p = p._replace(**{"stage": stage.value, milestone_field(stage.value): current, "version": p.version + 1})
        states.append(("project.transitioned", p))
    for _ in range(rng.randint(4, 11)):
        amount = (p.planned_investment * Decimal(rng.randint(90, 115)) / 100).quantize(Decimal("0.01"))
        p = p._replace(planned_investment=amount, version=p.version + 1)
        states.append(("project.updated", p))
    return states


def seed_synthetic(database_url: str, n: int, *, seed: int = 1) -> str:
    rng = random.Random(seed)
    settings = get_settings()
    engine = make_engine(database_url)
    factory = make_sessionmaker(engine)
    now = datetime.now(UTC)
    today = now.astimezone(settings.tz).date()
    with transaction(factory, write=True) as session:
        _reference(session, Ctx(actor=SYSTEM, request_id=None, now=now, today=today))
        # A later run continues the numbering (external_ref is unique).
        offset = session.scalar(select(func.count()).where(Project.external_ref.like("SYN-%"))) or 0
    events = 0
    try:
        for start in range(offset, offset + n, BATCH):
            with transaction(factory, write=True) as session:
                events += _batch(session, rng, range(start, min(offset + n, start + BATCH)), today)
        if engine.dialect.name == "postgresql":
            # PostgreSQL's advice after a bulk load ("Populating a Database": run ANALYZE afterwards), and what
            # autovacuum does within a minute or so on a running server: without statistics the planner guesses,
            # e.g. a chain's page of 50 became a bitmap scan and a sort of all its ~3,400 projects (3.8 ms instead
            # of 0.6). SQLite gathers no statistics by itself, so a deployment there never has them: none here.
            with engine.connect() as conn:
                conn.execute(text(f"ANALYZE {', '.join(t.__tablename__ for t in _LOADED)}"))
                conn.commit()
    finally:
        engine.dispose()
    return f"synthetic: {n} projects, {events} audit events"


def _tree_nodes(session, audit: list[dict[str, Any]]) -> list[dict[str, Any]]:  # noqa: ANN001
    """The Merkle tree's nodes the batch's events complete (as ``AuditLog.append`` stores them one by one)."""
    made: dict[merkle.Node, bytes] = {}

    def left_of(level: int, idx: int) -> bytes:
        if (level, idx) not in made:
            made[(level, idx)] = bytes.fromhex(session.scalar(select(AuditTreeNode.hash).where(
                AuditTreeNode.level == level, AuditTreeNode.idx == idx)))
        return made[(level, idx)]

    rows: list[dict[str, Any]] = []
    for event in audit:
        for level, idx, h in merkle.completed_nodes(event["seq"] - 1, merkle.leaf_hash(bytes.fromhex(event["hash"])),
                                                    left_of):
            made[(level, idx)] = h
            rows.append({"level": level, "idx": idx, "hash": h.hex()})
    return rows


def _batch(session, rng: random.Random, indexes: range, today: date) -> int:  # noqa: ANN001
    head = session.execute(select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1).with_for_update()).one()
    seq, prev = head.seq, head.hash
    projects: list[dict[str, Any]] = []
    versions: list[dict[str, Any]] = []
    transitions: list[dict[str, Any]] = []
    audit: list[dict[str, Any]] = []
    for index in indexes:
        at = datetime.now(UTC)
        states = _project_history(rng, index, today, at)
        before: dict[str, Any] | None = None
        for number, (action, p) in enumerate(states):
            at = at + timedelta(microseconds=10)
            after = snapshot(p)
            b, a = (None, after) if before is None else diff(before, after)
            data = audit_chain.canonical_json({"before": jsonable(b), "after": jsonable(a)})
            seq += 1
            chained = audit_chain.ChainedEvent(
                seq=seq, at=rfc3339(at), actor_name=ACTOR.name, actor_role=ACTOR.role.value, request_id=None,
                action=action, entity="project", entity_id=p.id, data=data, prev_hash=prev,
            )
            prev = audit_chain.link(chained)
            audit.append({"seq": seq, "at": at, "actor_name": ACTOR.name, "actor_role": ACTOR.role.value,
                          "request_id": None, "action": action, "entity": "project", "entity_id": p.id,
                          "data": data, "prev_hash": chained.prev_hash, "hash": prev})
            last = number == len(states) - 1
            versions.append({"project_id": p.id, "recorded_from": at,
                             "recorded_to": None if last else at + timedelta(microseconds=10),
                             **{c: getattr(p, c) for c in STATE_COLUMNS}, "updated_at": at})
            if action == "project.transitioned":
                transitions.append({"project_id": p.id, "from_stage": states[number - 1][1].stage,
                                    "to_stage": p.stage, "on": getattr(p, f"{p.stage}_on"), "note": None,
                                    "reason": None, "created_at": at, "reverted_at": None})
            before = after
        final = states[-1][1]
        projects.append({**final._asdict(), "created_at": states[0][1].created_at, "updated_at": at})
    session.execute(insert(Project), projects)
    session.execute(insert(ProjectVersion), versions)
    if transitions:
        session.execute(insert(ProjectTransition), transitions)
    session.execute(insert(AuditEvent), audit)
    session.execute(insert(AuditTreeNode), _tree_nodes(session, audit))
    session.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=seq, hash=prev))
    return len(audit)
