"""Annual appraisal (年度考核比拼, SPEC §4): weights, runs, publication.

- A run reads every chain's inputs with grouped SQL aggregates — dispatches submitted by their schedule due
  date, problems due in the year resolved by their due date, the quarterly inspection scores — plus the
  approved plan's indicator completions and task counts (``service.usecases.plans.appraisal_inputs_by_chain``),
  then scores them with ``service.domain.appraisal.score``. The inputs are stored with the rankings.
- Weights set after a run re-score the stored inputs at once (the rankings always match the weights shown);
  only a run reads the database again.
- Runs are possible for the current year (a provisional ranking) and past years, never for a future year;
  publishing needs a run and a year that is over. Once published, the appraisal is frozen: any later run or
  weights change → 409.
"""

from __future__ import annotations

import json
from datetime import date
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.db.rhythm import AppraisalInputQueries, AppraisalRepo, chain_codes
from service.db.tables import Appraisal
from service.domain import errors as d
from service.domain.access import Role
from service.domain.appraisal import DEFAULT_WEIGHTS, QUARTERS, ChainInputs, Ranking, score, validate_weights
from service.domain.context import Ctx
from service.domain.schedule import ItemKind, due_date, periods_of
from service.usecases.audit_tree import report_head
from service.usecases.calendar import working_calendar_of
from service.usecases.common import audit, check_version
from service.usecases.plan_progress import appraisal_inputs_by_chain
from service.usecases.rhythm import end_of_day_utc

DRAFT, PUBLISHED = "draft", "published"


# ---------------------------------------------------------------- inputs


def gather_inputs(session: Session, *, year: int, today: date, tz: ZoneInfo) -> dict[str, ChainInputs]:
    """Every chain's inputs for ``year`` (chains without any activity get zeros)."""
    chains = [code for code, _ in chain_codes(session)]
    calendar = working_calendar_of(session)
    cutoffs = {
        str(m): end_of_day_utc(due_date(ItemKind.MONTHLY_DISPATCH, m, calendar).due_on, tz)
        for m in periods_of(ItemKind.MONTHLY_DISPATCH, year)
    }
    q = AppraisalInputQueries(session)
    on_time = q.dispatch_on_time(cutoffs)
    problems = q.problems(date(year, 1, 1), date(year, 12, 31))
    scores = q.inspection_scores({f"{year}-Q{n}": n for n in QUARTERS})
    plans = appraisal_inputs_by_chain(session, year=year, today=today, chains=chains)
    out = {}
    for chain in chains:
        plan = plans[chain]
        due, resolved = problems.get(chain, (0, 0))
        out[chain] = ChainInputs(
            has_approved_plan=plan.has_approved_plan,
            indicator_completions=tuple(plan.indicator_completions),
            tasks_total=plan.tasks_total,
            tasks_done_on_time=plan.tasks_done_on_time,
            dispatch_on_time=on_time.get(chain, 0),
            problems_due=due,
            problems_resolved_on_time=resolved,
            inspection_scores=scores.get(chain, {}),
        )
    return out


def _exact_text(x: Any) -> str:
    """A number as exact text (a float as the decimal it prints as), readable back with ``Fraction``."""
    return repr(x) if isinstance(x, float) else str(x)


def _inputs_json(i: ChainInputs) -> dict[str, Any]:
    return {
        "has_approved_plan": i.has_approved_plan,
        "indicator_completions": [_exact_text(c) for c in i.indicator_completions],
        "tasks_total": i.tasks_total,
        "tasks_done_on_time": i.tasks_done_on_time,
        "dispatch_on_time": i.dispatch_on_time,
        "problems_due": i.problems_due,
        "problems_resolved_on_time": i.problems_resolved_on_time,
        "inspection_scores": {f"Q{q}": _exact_text(s) for q, s in sorted(i.inspection_scores.items())},
    }


def inputs_from_json(data: dict[str, Any]) -> ChainInputs:
    return ChainInputs(
        has_approved_plan=data["has_approved_plan"],
        indicator_completions=[Fraction(c) for c in data["indicator_completions"]],
        tasks_total=data["tasks_total"],
        tasks_done_on_time=data["tasks_done_on_time"],
        dispatch_on_time=data["dispatch_on_time"],
        problems_due=data["problems_due"],
        problems_resolved_on_time=data["problems_resolved_on_time"],
        inspection_scores={int(q[1:]): Fraction(s) for q, s in data["inspection_scores"].items()},
    )


def _rankings_json(rankings: list[Ranking], inputs: dict[str, ChainInputs]) -> str:
    return json.dumps([
        {"chain": r.chain, "score": r.score, "rank": r.rank, "components": r.components.as_dict(),
         "inputs": _inputs_json(inputs[r.chain])}
        for r in rankings
    ], ensure_ascii=False)


# ---------------------------------------------------------------- reads


def weights_of(row: Appraisal) -> dict[str, float]:
    return json.loads(row.weights)


def rankings_of(row: Appraisal) -> list[dict[str, Any]]:
    """The stored rankings (best first); each ``inputs`` as exact text."""
    return json.loads(row.rankings) if row.rankings else []


def get_appraisal(session: Session, *, year: int) -> Appraisal:
    row = AppraisalRepo(session).get(year)
    if row is None:
        raise d.NotFound(f"There is no appraisal for {year} yet: set its weights or run it.")
    return row


def _snapshot(row: Appraisal) -> dict[str, Any]:
    return {"status": row.status, "weights": weights_of(row), "run_at": row.run_at,
            "published_at": row.published_at, "rankings": rankings_of(row)}


# ---------------------------------------------------------------- writes


def _load(session: Session, ctx: Ctx, year: int, *, action: str) -> Appraisal | None:
    ctx.actor.require(Role.ADMIN, action=action)
    return AppraisalRepo(session).get(year, for_update=True)


def _create(session: Session, ctx: Ctx, year: int, weights: dict[str, float], if_match: int | None) -> Appraisal:
    if if_match is not None:
        raise d.StaleVersion(f"There is no appraisal for {year} yet; send the first request without If-Match.")
    row = Appraisal(year=year, status=DRAFT, weights=json.dumps(weights), created_at=ctx.now, updated_at=ctx.now)
    try:
        AppraisalRepo(session).add(row)
    except IntegrityError as exc:  # PostgreSQL: another request created it meanwhile
        raise d.Conflict(f"The appraisal for {year} was created concurrently; read it and retry.") from exc
    return row


def _frozen(row: Appraisal, what: str) -> d.Conflict:
    return d.Conflict(f"The appraisal for {row.year} is published (frozen); it can no longer {what}.")


def _rescore(row: Appraisal) -> None:
    stored = rankings_of(row)
    if not stored:
        return
    inputs = {r["chain"]: inputs_from_json(r["inputs"]) for r in stored}
    row.rankings = _rankings_json(score(inputs, weights_of(row)), inputs)


def set_weights(
    session: Session, *, ctx: Ctx, year: int, weights: dict[str, Any], if_match: int | None
) -> tuple[Appraisal, bool]:
    """Set the five weights (each 0–1, summing to 1). Before the first run this creates the year's draft
    appraisal (``True``); afterwards it needs If-Match, and re-scores the last run's inputs."""
    checked = validate_weights(weights, loc=("body",))
    row = _load(session, ctx, year, action="set appraisal weights")
    if row is None:
        row = _create(session, ctx, year, checked, if_match)
        audit(session, ctx, action="appraisal.weights_set", entity="appraisal", entity_id=str(year),
              before=None, after=_snapshot(row))
        return row, True
    if row.status == PUBLISHED:
        raise _frozen(row, "change weights")
    check_version(row.version, if_match, required=True)
    before = _snapshot(row)
    row.weights = json.dumps(checked)
    _rescore(row)
    if _snapshot(row) != before:
        row.version += 1
        row.updated_at = ctx.now
        session.flush()
        audit(session, ctx, action="appraisal.weights_set", entity="appraisal", entity_id=str(year),
              before=before, after=_snapshot(row))
    return row, False


def run_appraisal(session: Session, *, ctx: Ctx, year: int, if_match: int | None, tz: ZoneInfo) -> Appraisal:
    """Compute every chain's components, score and rank (creating the draft with default weights when the
    year has none). Honours If-Match when sent."""
    row = _load(session, ctx, year, action="run appraisals")
    if year > ctx.today.year:
        raise d.InvalidInput.at(["path", "year"], f"{year} has not begun (today is {ctx.today.isoformat()}).")
    if row is None:
        row = _create(session, ctx, year, dict(DEFAULT_WEIGHTS), if_match)
        before = None
    else:
        if row.status == PUBLISHED:
            raise _frozen(row, "run")
        check_version(row.version, if_match, required=False)
        before = _snapshot(row)
        row.version += 1
    inputs = gather_inputs(session, year=year, today=ctx.today, tz=tz)
    row.rankings = _rankings_json(score(inputs, weights_of(row)), inputs)
    row.run_at = ctx.now
    row.updated_at = ctx.now
    session.flush()
    audit(session, ctx, action="appraisal.run", entity="appraisal", entity_id=str(year), before=before,
          after=_snapshot(row))
    return row


def publish_appraisal(session: Session, *, ctx: Ctx, year: int, if_match: int | None) -> Appraisal:
    """Freeze the last run (409 when already published or never run; 422 while the year is not over)."""
    row = _load(session, ctx, year, action="publish appraisals")
    if row is None:
        raise d.NotFound(f"There is no appraisal for {year}; run it first.")
    check_version(row.version, if_match, required=False)
    if row.status == PUBLISHED:
        raise _frozen(row, "be published again")
    if not row.rankings:
        raise d.Conflict(f"The appraisal for {year} has not been run; run it before publishing.")
    if year >= ctx.today.year:
        raise d.InvalidInput.at(["path", "year"], f"{year} is not over yet; publish its appraisal from "
                                f"{year + 1}-01-01 on (run it as often as needed meanwhile).")
    before = _snapshot(row)
    row.status, row.published_at = PUBLISHED, ctx.now
    row.version += 1
    row.updated_at = ctx.now
    session.flush()
    audit(session, ctx, action="appraisal.published", entity="appraisal", entity_id=str(year), before=before,
          after=_snapshot(row))
    row.audit_tree_head = report_head(session, ctx)  # the signed head of the moment it was published (SPEC §6)
    session.flush()
    return row

