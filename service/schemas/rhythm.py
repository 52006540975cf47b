"""HTTP models of the tracking rhythm (SPEC §4): calendar, schedule, dispatches, inspections, problems,
appraisals."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from typing import Annotated

from pydantic import BaseModel, Field, PlainSerializer

from service.domain.calendar import CalendarSource
from service.domain.problems import TRANSITIONS, ProblemStatus
from service.domain.schedule import ItemKind, ItemStatus
from service.schemas.audit import TreeHeadRead, tree_head_read
from service.schemas.common import Amount, Code, Day, Input, LongText, Name

#: A project id as clients send it (ULIDs are 26 characters).
ProjectId = Annotated[str, Field(min_length=1, max_length=26, examples=["01KAV6Y0W8Q9F3B1C6X2T4N7ZD"])]
#: An inspection score: 0–100 with at most two decimals, accepted as number or string, served as a number.
Score = Annotated[
    Decimal,
    Field(ge=0, le=100, max_digits=5, decimal_places=2, examples=[87.5]),
    PlainSerializer(float, return_type=float, when_used="json"),
]
#: A weight or component: a plain number in 0–1 (1 means 100 %).
Fraction01 = Annotated[float, Field(ge=0, le=1, strict=True, examples=[0.15])]


def utc(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(UTC)


# ---------------------------------------------------------------- calendar


class CalendarInput(Input):
    holidays: list[Day] = Field(
        max_length=366, description="Dates off (法定节假日), weekdays included; weekend dates inside a holiday "
        "period may be listed and change nothing. Every date in the path's year.",
    )
    workdays: list[Day] = Field(
        max_length=366, description="Adjusted working days (调休): Saturdays or Sundays that are worked.",
    )


class CalendarRead(BaseModel):
    year: int
    source: CalendarSource = Field(description="`override` (loaded with PUT), `library` (the maintained "
                                   "chinese-calendar package) or `weekends` (nothing known: weekends alone decide).")
    provisional: bool = Field(description="True when weekends alone decide (source `weekends`).")
    holidays: list[date]
    workdays: list[date]
    library_version: str = Field(description="Version of the installed official-calendar library.")
    version: int | None = Field(description="The override's version (its ETag); null when there is none.")
    updated_at: datetime | None = None


# ---------------------------------------------------------------- schedule


class ScheduleItemRead(BaseModel):
    kind: ItemKind
    period: str = Field(examples=["2026-03", "2026-Q1", "2026"])
    chain: str
    due_on: date = Field(description="The due date, moved to the next working day when needed.")
    nominal_due_on: date = Field(description="The rule's date (the 5th of the next month, …) before any move.")
    moved: bool
    provisional: bool = Field(description="A year consulted for the due date has no official calendar yet.")
    status: ItemStatus
    done_at: datetime | date | None = Field(
        description="When the item was done: the dispatch's `submitted_at` or the appraisal's `published_at` "
        "(timestamps), the inspection's `held_on` (a date). null while not done."
    )


# ---------------------------------------------------------------- dispatches


class DispatchStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"


class DispatchEntryInput(Input):
    project_id: ProjectId
    invested: Amount = Field(description="Invested in the month, 万元, ≥ 0.")
    progress: LongText = Field(description="Progress in the month (text).")
    problems: list[Name] = Field(default_factory=list, max_length=50, description="Problems raised (text).")


class DispatchInput(Input):
    summary: LongText
    entries: list[DispatchEntryInput] = Field(max_length=5000, description="At most one entry per project, "
                                              "only for the chain's own projects that are not voided.")
    amend_reason: LongText | None = Field(default=None, description="Required once the dispatch is submitted "
                                          "(the change is then an amendment); refused on a draft.")


class DispatchEntryRead(BaseModel):
    project_id: str
    invested: Amount
    progress: str
    problems: list[str]


class DispatchRead(BaseModel):
    chain: str
    period: str
    status: DispatchStatus
    summary: str
    entries: list[DispatchEntryRead]
    due_on: date = Field(description="The schedule's due date of this month's dispatch.")
    submitted_at: datetime | None
    late: bool | None = Field(description="Submitted after the due date; null while a draft.")
    amendments: int = Field(description="Amendments made after submission.")
    audit_tree_head: TreeHeadRead | None = Field(
        default=None, description="The signed audit tree head of the moment it was submitted (SPEC §6); keep it.")
    version: int
    created_at: datetime
    updated_at: datetime


# ---------------------------------------------------------------- inspections


class InspectionInput(Input):
    held_on: Day = Field(description="When the inspection was held: not before the quarter, not in the future.")
    visited_projects: list[ProjectId] = Field(max_length=500, description="Ids of the chain's own projects.")
    score: Score
    findings: LongText


class InspectionRead(BaseModel):
    chain: str
    period: str
    held_on: date
    visited_projects: list[str]
    score: Score
    findings: str
    due_on: date = Field(description="The schedule's due date of this quarter's inspection.")
    late: bool = Field(description="Held after the due date.")
    version: int
    created_at: datetime
    updated_at: datetime


# ---------------------------------------------------------------- problems


class ProblemCreate(Input):
    chain: Code
    project_id: ProjectId | None = Field(default=None, description="A project of the same chain (optional).")
    title: Name
    detail: LongText
    owner_unit: Name = Field(description="The unit responsible for solving it (责任单位).")
    due_on: Day


class ProblemTransitionInput(Input):
    to: ProblemStatus
    note: LongText


class ProblemRead(BaseModel):
    id: str
    chain: str
    project_id: str | None
    title: str
    detail: str
    owner_unit: str
    due_on: date
    status: ProblemStatus
    resolved_on: date | None = Field(description="When it was (last) resolved; cleared when reopened.")
    overdue: bool = Field(description="Not resolved or closed and due before today.")
    allowed_transitions: list[ProblemStatus]
    version: int
    created_at: datetime
    updated_at: datetime


# ---------------------------------------------------------------- appraisals


class AppraisalStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"


class Weights(Input):
    """The five weights, each 0–1, summing to 1."""

    indicators: Fraction01
    tasks: Fraction01
    dispatch: Fraction01
    problems: Fraction01
    inspection: Fraction01


class WeightsRead(BaseModel):
    indicators: float
    tasks: float
    dispatch: float
    problems: float
    inspection: float



class ComponentsRead(WeightsRead):
    """Each component 0–1 (rounded to 4 decimals)."""


class AppraisalInputsRead(BaseModel):
    """What the run read for a chain (the components are computed from these)."""

    has_approved_plan: bool
    indicator_completions: list[float] = Field(description="actual / target per indicator, uncapped.")
    tasks_total: int
    tasks_done_on_time: int
    dispatch_on_time: int = Field(description="Monthly dispatches submitted by their due date, of 12.")
    problems_due: int
    problems_resolved_on_time: int
    inspection_scores: dict[str, float] = Field(description="Quarter (`Q1`…`Q4`) → score; a missing quarter "
                                                "counts 0.")


class RankingRead(BaseModel):
    chain: str
    score: float = Field(description="0–100 = 100 × Σ weight × component, rounded to 2 decimals.")
    rank: int = Field(description="Competition rank (1, 1, 3) on the rounded score.")
    components: ComponentsRead
    inputs: AppraisalInputsRead


class AppraisalRead(BaseModel):
    year: int
    status: AppraisalStatus
    weights: WeightsRead
    rankings: list[RankingRead] = Field(description="Best first (ties by chain code); empty before the first run.")
    run_at: datetime | None = Field(description="When the inputs were last read (the last run).")
    published_at: datetime | None
    audit_tree_head: TreeHeadRead | None = Field(
        default=None, description="The signed audit tree head of the moment it was published (SPEC §6); keep it.")
    version: int
    created_at: datetime
    updated_at: datetime


# ---------------------------------------------------------------- builders (from use-case views, duck-typed)


def calendar_read(view) -> CalendarRead:  # noqa: ANN001 - service.usecases.calendar.CalendarView
    cal, row = view.calendar, view.override
    return CalendarRead(
        year=cal.year, source=cal.source, provisional=cal.provisional, holidays=sorted(cal.holidays),
        workdays=sorted(cal.workdays), library_version=view.library_version,
        version=row.version if row else None, updated_at=row.updated_at if row else None,
    )


def schedule_item_read(item) -> ScheduleItemRead:  # noqa: ANN001 - service.domain.schedule.ScheduleItem
    done_at = item.done_at
    if isinstance(done_at, datetime):
        done_at = done_at.astimezone(UTC)
    return ScheduleItemRead(
        kind=item.kind, period=item.period, chain=item.chain, due_on=item.due_on, nominal_due_on=item.nominal_due_on,
        moved=item.moved, provisional=item.provisional, status=item.status, done_at=done_at,
    )


def dispatch_read(view) -> DispatchRead:  # noqa: ANN001 - service.usecases.dispatches.DispatchView
    row = view.row
    return DispatchRead(
        chain=row.chain, period=row.period, status=row.status, summary=row.summary,
        entries=[DispatchEntryRead(project_id=e.project_id, invested=e.invested, progress=e.progress,
                                   problems=json.loads(e.problems)) for e in view.entries],
        due_on=view.due_on, submitted_at=utc(row.submitted_at), late=view.late, amendments=row.amendments,
        audit_tree_head=tree_head_read(getattr(row, "audit_tree_head", None)),
        version=row.version, created_at=row.created_at, updated_at=row.updated_at,
    )


def inspection_read(view) -> InspectionRead:  # noqa: ANN001 - service.usecases.inspections.InspectionView
    row = view.row
    return InspectionRead(
        chain=row.chain, period=row.period, held_on=row.held_on, visited_projects=json.loads(row.visited_projects),
        score=row.score, findings=row.findings, due_on=view.due_on, late=view.late, version=row.version,
        created_at=row.created_at, updated_at=row.updated_at,
    )


def problem_read(p, *, overdue: bool) -> ProblemRead:  # noqa: ANN001 - service.db.tables.Problem
    status = ProblemStatus(p.status)
    return ProblemRead(
        id=p.id, chain=p.chain, project_id=p.project_id, title=p.title, detail=p.detail, owner_unit=p.owner_unit,
        due_on=p.due_on, status=status, resolved_on=p.resolved_on, overdue=overdue,
        allowed_transitions=sorted(TRANSITIONS[status]), version=p.version, created_at=p.created_at,
        updated_at=p.updated_at,
    )


def _inputs_read(data: dict) -> AppraisalInputsRead:
    return AppraisalInputsRead(
        has_approved_plan=data["has_approved_plan"],
        indicator_completions=[float(Fraction(c)) for c in data["indicator_completions"]],
        tasks_total=data["tasks_total"], tasks_done_on_time=data["tasks_done_on_time"],
        dispatch_on_time=data["dispatch_on_time"], problems_due=data["problems_due"],
        problems_resolved_on_time=data["problems_resolved_on_time"],
        inspection_scores={q: float(Fraction(s)) for q, s in data["inspection_scores"].items()},
    )


def appraisal_read(row, weights: dict, rankings: list[dict]) -> AppraisalRead:  # noqa: ANN001 - Appraisal
    return AppraisalRead(
        year=row.year, status=row.status, weights=WeightsRead(**weights),
        rankings=[RankingRead(chain=r["chain"], score=r["score"], rank=r["rank"],
                              components=ComponentsRead(**r["components"]), inputs=_inputs_read(r["inputs"]))
                  for r in rankings],
        run_at=utc(row.run_at), published_at=utc(row.published_at),
        audit_tree_head=tree_head_read(getattr(row, "audit_tree_head", None)), version=row.version,
        created_at=row.created_at, updated_at=row.updated_at,
    )
