"""Plan progress (一链一表, SPEC §5): each indicator's actual against its target and the year's elapsed share, the
tasks' state, for one chain, every chain, and the annual appraisal — a constant number of queries however many
plans are read. Computed sources: ``ledger.<list>.count|investment`` = the chain's projects whose milestone
``<list>`` falls in the plan year (voided excluded, cancelled kept on the lists they reached — exactly the ledger's
figures); ``dispatch.invested`` = the sum of the chain's submitted monthly dispatch entries for the months of the
year (entries of voided projects excluded)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy.orm import Session

from service.db.plans import PlanRepo
from service.db.tables import Plan, PlanIndicator, PlanTask
from service.domain import errors as d
from service.domain import plans as rules
from service.domain.periods import MAX_YEAR, MIN_YEAR
from service.schemas.plans import IndicatorSource, PlanStatus


def _metric_of(source: str) -> str | None:
    """``ledger.started.count`` → ``started_count``; ``dispatch.invested`` → ``dispatch_invested``; manual → None."""
    if source == IndicatorSource.MANUAL:
        return None
    if source == IndicatorSource.DISPATCH_INVESTED:
        return "dispatch_invested"
    _, lst, what = source.split(".")
    return f"{lst}_{what}"


@dataclass(frozen=True, slots=True)
class IndicatorFigure:
    indicator: PlanIndicator
    progress: rules.IndicatorProgress


@dataclass(frozen=True, slots=True)
class TaskFigure:
    task: PlanTask
    overdue: bool
    done_on_time: bool


@dataclass(frozen=True, slots=True)
class PlanProgress:
    plan: Plan
    expected: float
    indicators: list[IndicatorFigure]
    tasks: list[TaskFigure]

    @property
    def approved(self) -> bool:
        return self.plan.status == PlanStatus.APPROVED


def evaluate(session: Session, plans: Sequence[Plan], *, year: int, today: date) -> dict[str, PlanProgress]:
    """Progress of each of ``plans`` (all of ``year``), keyed by chain. Constant number of queries whatever
    the number of plans: their parts (2), every computed metric (1), every manual total (1)."""
    repo = PlanRepo(session)
    parts = repo.parts(p.id for p in plans)  # type: ignore[misc]
    metrics = repo.metrics(year, [p.chain for p in plans])
    manual = repo.manual_totals(
        year,
        ((p.chain, i.key) for p in plans for i in parts[p.id].indicators if i.source == IndicatorSource.MANUAL),
    )
    expected = rules.expected_share(year, today)
    out: dict[str, PlanProgress] = {}
    for p in plans:
        figures = []
        for i in parts[p.id].indicators:
            metric = _metric_of(i.source)
            if metric is None:
                actual = manual.get((p.chain, i.key), Decimal("0.00"))
            else:
                actual = metrics[p.chain][metric]
            figures.append(IndicatorFigure(i, rules.indicator_progress(
                key=i.key, target=i.target, actual=actual, year=year, today=today, benchmark=i.benchmark_value,
            )))
        tasks = [
            TaskFigure(
                t,
                overdue=rules.task_overdue(status=t.status, due_on=t.due_on, today=today),
                done_on_time=rules.task_done_on_time(status=t.status, done_on=t.done_on, due_on=t.due_on),
            )
            for t in parts[p.id].tasks
        ]
        out[p.chain] = PlanProgress(plan=p, expected=expected, indicators=figures, tasks=tasks)
    return out


# ---------------------------------------------------------------- for the annual appraisal (年考评)


@dataclass(frozen=True, slots=True)
class PlanAppraisalInputs:
    """What the annual appraisal takes from a chain's approved plan (SPEC §4: ``indicators`` and ``tasks``)."""

    has_approved_plan: bool
    #: Each indicator's completion, uncapped (a zero target counts as 1); the appraisal caps each at 1.
    indicator_completions: list[float] = field(default_factory=list)
    tasks_total: int = 0
    #: Tasks done by their due date.
    tasks_done_on_time: int = 0


NO_APPROVED_PLAN = PlanAppraisalInputs(has_approved_plan=False)


def _appraisal_inputs(progress: PlanProgress | None) -> PlanAppraisalInputs:
    if progress is None or not progress.approved:
        return NO_APPROVED_PLAN
    return PlanAppraisalInputs(
        has_approved_plan=True,
        indicator_completions=[f.progress.completion for f in progress.indicators],
        tasks_total=len(progress.tasks),
        tasks_done_on_time=sum(1 for t in progress.tasks if t.done_on_time),
    )


def appraisal_inputs(session: Session, *, chain: str, year: int, today: date) -> PlanAppraisalInputs:
    """The approved plan's figures for the appraisal of ``chain`` in ``year``: completions from the current
    approved revision (computed sources as of now, manual actuals summed), and its tasks done on time.
    Without an approved plan (none, or only a draft) → ``has_approved_plan=False`` and zeros.
    ``today`` is the appraisal's date (it does not change completions or on-time counts, only ``expected``)."""
    plan = PlanRepo(session).current(chain, year)
    if plan is None or plan.status != PlanStatus.APPROVED:
        return NO_APPROVED_PLAN
    return _appraisal_inputs(evaluate(session, [plan], year=year, today=today)[chain])


def appraisal_inputs_by_chain(
    session: Session, *, year: int, today: date, chains: Sequence[str]
) -> dict[str, PlanAppraisalInputs]:
    """``appraisal_inputs`` of many chains at once (a constant number of queries); every chain asked for is
    in the answer."""
    plans = [p for p in PlanRepo(session).current_of_year(year, chains) if p.status == PlanStatus.APPROVED]
    progress = evaluate(session, plans, year=year, today=today)
    return {c: _appraisal_inputs(progress.get(c)) for c in chains}


@dataclass(frozen=True, slots=True)
class ChainProgress:
    code: str
    name: str
    progress: PlanProgress | None


def city_progress(session: Session, *, year: int, today: date) -> tuple[list[ChainProgress], float]:
    """Every chain (by code) with its plan's progress, or None when it has no plan for ``year``; and the
    expected share of the year. A constant number of queries, whatever the number of chains."""
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise d.InvalidInput.at(["path", "year"], f"Year {year} is outside {MIN_YEAR}–{MAX_YEAR}.")
    repo = PlanRepo(session)
    chains = repo.chains()
    progress = evaluate(session, repo.current_of_year(year), year=year, today=today)
    rows = [ChainProgress(code, name, progress.get(code)) for code, name in chains]
    return rows, rules.expected_share(year, today)
