from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field, StrictBool

from service.domain.stages import Stage, is_major
from service.schemas.common import Amount, Code, Day, Input, LongText, Name, ShortText


class Milestones(BaseModel):
    signed: Day | None = None
    started: Day | None = None
    in_production: Day | None = None
    at_capacity: Day | None = None


class MilestonesInput(Milestones, Input):
    pass


class ProjectCreate(Input):
    external_ref: ShortText | None = Field(default=None, description="The promotion office's own id; unique.")
    name: Name
    chain: Code
    district: Code
    investor: Name
    planned_investment: Amount
    is_key: StrictBool = False  # JSON true/false only: "yes" or "0" is refused, not coerced
    stage: Stage = Field(
        default=Stage.SIGNED,
        description="`signed`, or a later stage for historical backfill (every earlier milestone then given).",
    )
    milestones: MilestonesInput


class ProjectUpdate(Input):
    """Attributes only; stage and milestones change through transitions."""

    external_ref: ShortText | None = None
    name: Name | None = None
    district: Code | None = None
    investor: Name | None = None
    planned_investment: Amount | None = None
    is_key: StrictBool | None = None


class ProjectRead(BaseModel):
    id: str
    external_ref: str | None
    name: str
    chain: str
    district: str
    investor: str
    planned_investment: Amount
    is_key: bool
    major: bool = Field(description="Planned investment ≥ 10,000 万元 (1 亿元).")
    stage: Stage
    milestones: Milestones
    cancelled_on: date | None
    cancel_reason: str | None
    voided: bool
    voided_at: datetime | None
    void_reason: str | None
    cumulative_investment: Amount
    version: int
    created_at: datetime
    updated_at: datetime


class TransitionCreate(Input):
    to: Stage = Field(description="The next stage, or `cancelled` (then `reason` is required).")
    on: Day = Field(description="Business date of the milestone; not in the future, not before the previous one.")
    note: LongText | None = None
    reason: LongText | None = None


class ReasonInput(Input):
    reason: LongText





def _amount(value: Decimal) -> str:
    return f"{value:.2f}"  # as Amount serialises


def project_json(p: Any) -> dict[str, Any]:
    """The ``ProjectRead`` document of a ``project`` row (ORM object or Core row), as plain JSON values.

    Every project the API answers with is serialised from this dict by orjson (``json_response``), with no model
    in between: on a list page, building and validating 50 models cost more than reading the rows
    (docs/performance.md). ``ProjectRead`` stays the documented schema; tests/api/test_project_json.py checks
    that both give the same bytes."""
    planned = p.planned_investment
    return {
        "id": p.id,
        "external_ref": p.external_ref,
        "name": p.name,
        "chain": p.chain,
        "district": p.district,
        "investor": p.investor,
        "planned_investment": _amount(planned),
        "is_key": bool(p.is_key),
        "major": is_major(planned),
        "stage": Stage(p.stage).value,
        "milestones": {"signed": p.signed_on, "started": p.started_on, "in_production": p.in_production_on,
                       "at_capacity": p.at_capacity_on},
        "cancelled_on": p.cancelled_on,
        "cancel_reason": p.cancel_reason,
        "voided": p.voided_at is not None,
        "voided_at": p.voided_at,
        "void_reason": p.void_reason,
        "cumulative_investment": _amount(p.cumulative_investment),
        "version": p.version,
        "created_at": p.created_at,
        "updated_at": p.updated_at,
    }
