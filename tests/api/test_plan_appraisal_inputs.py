"""``service.usecases.plans.appraisal_inputs``: what the annual appraisal takes from a chain's approved plan.

The plans are written straight to the tables here, so this contract does not depend on the plan API."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from service.db.engine import transaction
from service.db.tables import Plan, PlanActual, PlanIndicator, PlanTask
from service.usecases.plan_progress import PlanAppraisalInputs, appraisal_inputs, appraisal_inputs_by_chain
from tests.api.plan_support import DISPATCH_INVESTED_2026, LEDGER_2026, YEAR, build_world, frac

TODAY = date(2026, 11, 24)


def _plan(sessions, chain: str, *, revision: int, status: str, indicators, tasks) -> None:  # noqa: ANN001
    now = datetime.now(UTC)
    with transaction(sessions, write=True) as s:
        plan = Plan(chain=chain, year=YEAR, revision=revision, status=status, goals="目标",
                    approved_at=now if status == "approved" else None, version=revision,
                    created_at=now, updated_at=now)
        s.add(plan)
        s.flush()
        for key, source, target in indicators:
            s.add(PlanIndicator(plan_id=plan.id, key=key, name=key, unit="个", target=Decimal(target), source=source))
        for key, due_on, status_, done_on in tasks:
            s.add(PlanTask(plan_id=plan.id, key=key, title=key, owner_unit="市经信局", due_on=date.fromisoformat(due_on),
                           status=status_, done_on=date.fromisoformat(done_on) if done_on else None))


def _actual(sessions, chain: str, key: str, period: str, value: str) -> None:  # noqa: ANN001
    now = datetime.now(UTC)
    with transaction(sessions, write=True) as s:
        s.add(PlanActual(chain=chain, year=YEAR, indicator_key=key, period=period, value=Decimal(value),
                         created_at=now, updated_at=now))


def _inputs(sessions, chain: str, year: int = YEAR) -> PlanAppraisalInputs:  # noqa: ANN001
    with transaction(sessions, write=False) as s:
        return appraisal_inputs(s, chain=chain, year=year, today=TODAY)


def test_without_a_plan_or_with_a_draft_only_there_is_no_approved_plan(sessions, reference):
    assert _inputs(sessions, "OPTICS") == PlanAppraisalInputs(False, [], 0, 0)
    _plan(sessions, "OPTICS", revision=1, status="draft", indicators=[("n", "ledger.signed.count", "1")],
          tasks=[("t", "2026-03-31", "done", "2026-03-01")])
    assert _inputs(sessions, "OPTICS") == PlanAppraisalInputs(False, [], 0, 0)


def test_the_latest_approved_revision_counts_uncapped_with_manual_and_computed_sources(
    client, admin, sessions, reference
):
    build_world(client, admin, sessions)
    # Revision 1 (superseded) would give other figures: it must not be read.
    _plan(sessions, "OPTICS", revision=1, status="approved", indicators=[("old", "ledger.signed.count", "1")],
          tasks=[("old", "2026-03-31", "done", "2026-03-01")])
    _plan(sessions, "OPTICS", revision=2, status="approved",
          indicators=[
              ("signed_n", "ledger.signed.count", "4"),            # 3 / 4
              ("started_inv", "ledger.started.investment", "10000"),  # 15800.50 / 10000, uncapped
              ("cap_n", "ledger.at_capacity.count", "0"),          # zero target counts as met
              ("invested", "dispatch.invested", "1000"),           # 750.25 / 1000
              ("output", "manual", "1200"),                        # (100 + 300) / 1200
          ],
          tasks=[
              ("on_time", "2026-03-31", "done", "2026-03-31"),
              ("late", "2026-06-30", "done", "2026-07-01"),
              ("open_overdue", "2026-09-30", "open", None),
              ("open_later", "2026-12-31", "open", None),
          ])
    _actual(sessions, "OPTICS", "output", "2026-01", "100")
    _actual(sessions, "OPTICS", "output", "2026-02", "300")
    _actual(sessions, "AUTO", "output", "2026-02", "999")  # another chain's figure

    got = _inputs(sessions, "OPTICS")
    assert got.has_approved_plan is True
    assert got.indicator_completions == [
        float(frac(LEDGER_2026["signed"][0]) / 4),
        float(frac(LEDGER_2026["started"][1]) / 10000),
        1.0,
        float(frac(DISPATCH_INVESTED_2026) / 1000),
        float(frac(400) / 1200),
    ]
    assert got.indicator_completions[1] == pytest.approx(1.58005)  # above 1: the appraisal caps, not the plan
    assert (got.tasks_total, got.tasks_done_on_time) == (4, 1)

    # Another year, another chain: nothing.
    assert _inputs(sessions, "OPTICS", 2025) == PlanAppraisalInputs(False, [], 0, 0)
    with transaction(sessions, write=False) as s:
        many = appraisal_inputs_by_chain(s, year=YEAR, today=TODAY, chains=["AUTO", "OPTICS"])
    assert many == {"AUTO": PlanAppraisalInputs(False, [], 0, 0), "OPTICS": got}


def test_a_plan_without_tasks_or_indicators_reports_zero_counts(sessions, reference):
    _plan(sessions, "AUTO", revision=1, status="approved", indicators=[], tasks=[])
    assert _inputs(sessions, "AUTO") == PlanAppraisalInputs(True, [], 0, 0)
