"""HTTP models of the early warnings (预警) and the cycle times (早落地、早开工、早投产), SPEC §3."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from service.domain.stages import Stage


class GroupBy(StrEnum):
    CHAIN = "chain"
    DISTRICT = "district"


class WarningRule(StrEnum):
    IDLE_SIGNED = "idle_signed"
    IDLE_STARTED = "idle_started"
    IDLE_IN_PRODUCTION = "idle_in_production"
    NO_DISPATCH = "no_dispatch"


class WarningRead(BaseModel):
    rule: WarningRule = Field(description="`idle_signed` (signed, not started), `idle_started` (started, not in "
                              "production), `idle_in_production` (in production, not at capacity), `no_dispatch` "
                              "(no monthly dispatch figure for the last N completed months).")
    project_id: str
    name: str
    chain: str
    district: str
    stage: Stage
    is_key: bool
    since: date = Field(description="Idle rules: the date the project entered its stage. `no_dispatch`: the first "
                        "day of the month after its last figure (its signing date when it never had one).")
    days_idle: int = Field(description="Days from `since` to today.")
    threshold: int = Field(description="The threshold that was passed: days (idle rules) or months (`no_dispatch`).")
    last_dispatch_period: str | None = Field(description="`no_dispatch`: the month of the latest figure, if any.")
    missed_months: int | None = Field(description="`no_dispatch`: completed months without a figure since `since`.")


class StepStatsRead(BaseModel):
    count: int = Field(description="Projects that completed the step in the period.")
    median_days: float | None = Field(description="Median duration in days (0.1 precision); null when count is 0.")
    p90_days: float | None = Field(description="90th percentile in days (0.1 precision); null when count is 0.")


class CycleSteps(BaseModel):
    signed_to_started: StepStatsRead
    started_to_in_production: StepStatsRead
    in_production_to_at_capacity: StepStatsRead


class ChainCycleRow(CycleSteps):
    chain: str
    name: str


class DistrictCycleRow(CycleSteps):
    district: str
    name: str


class CycleTimesRead(BaseModel):
    model_config = ConfigDict(serialize_by_alias=True, validate_by_name=True)

    period: str = Field(examples=["2026-Q2"])
    from_: date = Field(alias="from", description="First day of the period (inclusive).")
    to: date = Field(description="Last day of the period (inclusive).")
    by: GroupBy
    percentile: str = Field(description="How the median and 90th percentile are defined.")
    rows: list[ChainCycleRow] | list[DistrictCycleRow] = Field(
        description="One row per chain (or district) of the reference data, ordered by code."
    )
    totals: CycleSteps
