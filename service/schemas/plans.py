"""Annual plans (一链一表, SPEC §5) over HTTP: the plan PUT body, task PATCH, monthly actuals, progress reports."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, Field, PlainSerializer

from service.domain.plans import ProgressStatus, TaskStatus
from service.schemas.audit import TreeHeadRead, tree_head_read
from service.schemas.common import Amount, Day, Input, LongText, Name, ShortText, amount_text, line

if TYPE_CHECKING:
    from service.usecases.plan_progress import ChainProgress, PlanProgress
    from service.usecases.plans import PlanView

#: A task or indicator key: short, URL-safe (it appears in paths), unique within a plan.
PartKey = Annotated[
    str,
    Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", examples=["new_projects"]),
]
Unit = Annotated[line(32), Field(examples=["个", "万元"])]
#: A month of the plan year, ``YYYY-MM``.
Month = Annotated[str, Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", examples=["2026-03"])]
#: A figure that may be negative (a benchmark gap) or a sum: a decimal served as a string with two decimals.
Figure = Annotated[
    Decimal, PlainSerializer(amount_text, return_type=str, when_used="json"), Field(examples=["12500.00"])
]


class PlanStatus(StrEnum):
    DRAFT = "draft"
    APPROVED = "approved"


class IndicatorSource(StrEnum):
    """Where an indicator's actual comes from: typed in monthly (``manual``) or computed by the service from
    the ledger (projects of the chain whose milestone falls in the plan year, voided excluded) or from the
    chain's submitted monthly dispatch reports."""

    MANUAL = "manual"
    SIGNED_COUNT = "ledger.signed.count"
    SIGNED_INVESTMENT = "ledger.signed.investment"
    STARTED_COUNT = "ledger.started.count"
    STARTED_INVESTMENT = "ledger.started.investment"
    IN_PRODUCTION_COUNT = "ledger.in_production.count"
    IN_PRODUCTION_INVESTMENT = "ledger.in_production.investment"
    AT_CAPACITY_COUNT = "ledger.at_capacity.count"
    AT_CAPACITY_INVESTMENT = "ledger.at_capacity.investment"
    DISPATCH_INVESTED = "dispatch.invested"


# ---------------------------------------------------------------- input


class TaskInput(Input):
    key: PartKey
    title: Name
    owner_unit: Name = Field(description="The unit responsible (责任单位).")
    due_on: Day = Field(description="Within the plan year.")


class BenchmarkInput(Input):
    city: ShortText | None = Field(
        default=None, description="The city caught up with (比学赶超); defaults to the plan's `benchmark_city`."
    )
    value: Amount = Field(description="That city's figure for this indicator, in the indicator's unit.")


class IndicatorInput(Input):
    key: PartKey
    name: Name
    unit: Unit
    target: Amount = Field(description="The year's target (≥ 0; a zero target counts as met).")
    source: IndicatorSource
    benchmark: BenchmarkInput | None = None


class PlanPut(Input):
    goals: LongText
    benchmark_city: ShortText | None = Field(default=None, description="Defaults to the chain's `benchmark_city`.")
    tasks: list[TaskInput] = Field(default_factory=list, max_length=200)
    indicators: list[IndicatorInput] = Field(default_factory=list, max_length=100)
    revision_reason: LongText | None = Field(
        default=None, description="Required to revise an approved plan (ignored while it is a draft)."
    )


class TaskUpdate(Input):
    status: TaskStatus | None = None
    done_on: Day | None = Field(
        default=None,
        description="With `status: done`; defaults to today; not in the future. Cleared when the task is reopened.",
    )


class ActualCreate(Input):
    period: Month = Field(description="A month of the plan year, not after the current month.")
    value: Amount = Field(description="The month's amount (≥ 0); the year's actual is the sum of its months.")


# ---------------------------------------------------------------- output


class Benchmark(BaseModel):
    city: str | None
    value: Figure


class TaskRead(BaseModel):
    key: str
    title: str
    owner_unit: str
    due_on: date
    status: TaskStatus
    done_on: date | None


class IndicatorRead(BaseModel):
    key: str
    name: str
    unit: str
    target: Figure
    source: IndicatorSource
    benchmark: Benchmark | None


class PlanRead(BaseModel):
    chain: str
    year: int
    revision: int = Field(description="1 while drafting; each revision of an approved plan adds one.")
    current: bool = Field(description="This is the chain-year's latest revision.")
    status: PlanStatus
    goals: str
    benchmark_city: str | None
    revision_reason: str | None
    approved_at: datetime | None
    tasks: list[TaskRead]
    indicators: list[IndicatorRead]
    audit_tree_head: TreeHeadRead | None = Field(
        default=None, description="The signed audit tree head of the moment it was approved (each revision) (SPEC §6); keep it.")
    version: int = Field(description="Covers the plan with its tasks and indicators; grows across revisions.")
    created_at: datetime
    updated_at: datetime


class PlanRevisionRead(BaseModel):
    revision: int
    status: PlanStatus
    revision_reason: str | None
    approved_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime


class ActualRead(BaseModel):
    chain: str
    year: int
    indicator_key: str
    period: str
    value: Figure
    version: int
    created_at: datetime
    updated_at: datetime


class IndicatorProgressRead(BaseModel):
    key: str
    name: str
    unit: str
    source: IndicatorSource
    target: Figure
    actual: Figure = Field(description="Computed for ledger/dispatch sources; the sum of the months for manual.")
    completion: float = Field(description="actual / target, uncapped (1 = 100 %); a zero target counts as 1.")
    expected: float = Field(description="Elapsed share of the plan year today (0–1).")
    status: ProgressStatus
    benchmark: Benchmark | None
    benchmark_gap: Figure | None = Field(description="actual − benchmark value, where a benchmark is set.")


class TaskProgressRead(BaseModel):
    key: str
    title: str
    owner_unit: str
    due_on: date
    status: TaskStatus
    done_on: date | None
    overdue: bool = Field(description="Not done and due before today.")
    done_on_time: bool = Field(description="Done by its due date (what the annual appraisal counts).")


class PlanProgressRead(BaseModel):
    chain: str
    year: int
    revision: int
    status: PlanStatus
    approved: bool = Field(description="false: the chain-year has only a draft; this is the draft's progress.")
    as_of: date = Field(description="Today in the configured time zone.")
    expected: float = Field(description="Elapsed share of the plan year today (0–1).")
    indicators: list[IndicatorProgressRead]
    tasks: list[TaskProgressRead]


class TaskTally(BaseModel):
    total: int
    done: int
    done_on_time: int
    overdue: int


class ChainProgressRow(BaseModel):
    chain: str
    chain_name: str
    has_plan: bool
    revision: int | None
    status: PlanStatus | None
    approved: bool
    indicators: list[IndicatorProgressRead] = Field(description="Empty when the chain has no plan for the year.")
    tasks: TaskTally | None


class CityProgressRead(BaseModel):
    year: int
    as_of: date
    expected: float
    rows: list[ChainProgressRow] = Field(description="Every chain, by code; chains without a plan have "
                                         "`has_plan: false`.")


# ---------------------------------------------------------------- from use-case results


def _benchmark(city: str | None, value: Decimal | None) -> Benchmark | None:
    return None if value is None else Benchmark(city=city, value=value)


def plan_read(view: PlanView) -> PlanRead:
    p = view.plan
    return PlanRead(
        chain=p.chain, year=p.year, revision=p.revision, current=view.current, status=PlanStatus(p.status),
        goals=p.goals, benchmark_city=p.benchmark_city, revision_reason=p.revision_reason, approved_at=p.approved_at,
        tasks=[TaskRead(key=t.key, title=t.title, owner_unit=t.owner_unit, due_on=t.due_on,
                        status=TaskStatus(t.status), done_on=t.done_on) for t in view.tasks],
        indicators=[IndicatorRead(key=i.key, name=i.name, unit=i.unit, target=i.target,
                                  source=IndicatorSource(i.source),
                                  benchmark=_benchmark(i.benchmark_city, i.benchmark_value))
                    for i in view.indicators],
        audit_tree_head=tree_head_read(getattr(p, "audit_tree_head", None)),
        version=p.version, created_at=p.created_at, updated_at=p.updated_at,
    )


def revision_read(p: Any) -> PlanRevisionRead:
    return PlanRevisionRead(revision=p.revision, status=PlanStatus(p.status), revision_reason=p.revision_reason,
                            approved_at=p.approved_at, version=p.version, created_at=p.created_at,
                            updated_at=p.updated_at)


def actual_read(a: Any) -> ActualRead:
    return ActualRead(chain=a.chain, year=a.year, indicator_key=a.indicator_key, period=a.period, value=a.value,
                      version=a.version, created_at=a.created_at, updated_at=a.updated_at)


def _indicator_progress(progress: PlanProgress) -> list[IndicatorProgressRead]:
    out = []
    for f in progress.indicators:
        i, r = f.indicator, f.progress
        out.append(IndicatorProgressRead(
            key=i.key, name=i.name, unit=i.unit, source=IndicatorSource(i.source), target=r.target,
            actual=r.actual, completion=r.completion, expected=r.expected, status=r.status,
            benchmark=_benchmark(i.benchmark_city, i.benchmark_value), benchmark_gap=r.benchmark_gap,
        ))
    return out


def progress_read(progress: PlanProgress, *, today: date) -> PlanProgressRead:
    p = progress.plan
    return PlanProgressRead(
        chain=p.chain, year=p.year, revision=p.revision, status=PlanStatus(p.status), approved=progress.approved,
        as_of=today, expected=progress.expected, indicators=_indicator_progress(progress),
        tasks=[TaskProgressRead(key=f.task.key, title=f.task.title, owner_unit=f.task.owner_unit,
                                due_on=f.task.due_on, status=TaskStatus(f.task.status), done_on=f.task.done_on,
                                overdue=f.overdue, done_on_time=f.done_on_time) for f in progress.tasks],
    )


def city_progress_read(rows: list[ChainProgress], *, year: int, today: date, expected: float) -> CityProgressRead:
    out = []
    for row in rows:
        pr = row.progress
        if pr is None:
            out.append(ChainProgressRow(chain=row.code, chain_name=row.name, has_plan=False, revision=None,
                                        status=None, approved=False, indicators=[], tasks=None))
            continue
        out.append(ChainProgressRow(
            chain=row.code, chain_name=row.name, has_plan=True, revision=pr.plan.revision,
            status=PlanStatus(pr.plan.status), approved=pr.approved, indicators=_indicator_progress(pr),
            tasks=TaskTally(
                total=len(pr.tasks),
                done=sum(1 for t in pr.tasks if t.task.status == TaskStatus.DONE),
                done_on_time=sum(1 for t in pr.tasks if t.done_on_time),
                overdue=sum(1 for t in pr.tasks if t.overdue),
            ),
        ))
    return CityProgressRead(year=year, as_of=today, expected=expected, rows=out)
