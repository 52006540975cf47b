from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from operator import attrgetter
from typing import Any

from pydantic import BaseModel, Field, StrictBool
from sqlalchemy import Row

from service.domain.stages import Stage, is_major
from service.schemas.common import Amount, Code, Day, Input, LongText, Name, ShortText, amount_text, by_position


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





#: The ``project`` columns a ``ProjectRead`` is made of, in the order ``_document`` unpacks them.
_COLUMNS = ("id", "external_ref", "name", "chain", "district", "investor", "planned_investment", "is_key", "stage",
            "signed_on", "started_on", "in_production_on", "at_capacity_on", "cancelled_on", "cancel_reason",
            "voided_at", "void_reason", "cumulative_investment", "version", "created_at", "updated_at")
_of_object = attrgetter(*_COLUMNS)


def _document(values: tuple[Any, ...]) -> dict[str, Any]:
    (id_, external_ref, name, chain, district, investor, planned, is_key, stage, signed_on, started_on,
     in_production_on, at_capacity_on, cancelled_on, cancel_reason, voided_at, void_reason, cumulative, version,
     created_at, updated_at) = values
    return {
        "id": id_,
        "external_ref": external_ref,
        "name": name,
        "chain": chain,
        "district": district,
        "investor": investor,
        "planned_investment": amount_text(planned),
        "is_key": bool(is_key),
        "major": is_major(planned),
        "stage": Stage(stage).value,
        "milestones": {"signed": signed_on, "started": started_on, "in_production": in_production_on,
                       "at_capacity": at_capacity_on},
        "cancelled_on": cancelled_on,
        "cancel_reason": cancel_reason,
        "voided": voided_at is not None,
        "voided_at": voided_at,
        "void_reason": void_reason,
        "cumulative_investment": amount_text(cumulative),
        "version": version,
        "created_at": created_at,
        "updated_at": updated_at,
    }


def project_json(p: Any) -> dict[str, Any]:
    """The ``ProjectRead`` document of a ``project`` row (ORM object or Core row), as plain JSON values.

    Every project the API answers with is serialised from this dict by orjson (``json_response``), with no model
    in between: on a list page, building and validating 50 models cost more than reading the rows
    (docs/performance.md). ``ProjectRead`` stays the documented schema; tests/api/test_project_json.py checks
    that both give the same bytes."""
    return _document(_of_object(p))


def projects_json(rows: Sequence[Row[Any]]) -> list[dict[str, Any]]:
    """``project_json`` of every Core row of a page, the columns read by position (``by_position``)."""
    if not rows:
        return []
    take = by_position(rows, _COLUMNS)
    return [_document(take(row)) for row in rows]
