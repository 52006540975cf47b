"""Cycle times by chain or district (SPEC §3 "Speed"): how fast projects land, start and produce.

Every chain (or district) of the reference data gets a row, those without completions in the period with
``count`` 0 and null statistics; ``totals`` cover every project. See ``service/db/cycle_times.py`` for the
percentile definition (type 7 / ``percentile_cont``), identical on SQLite and PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.db.cycle_times import STEPS, StepRow, cycle_times
from service.db.tables import Chain, District
from service.domain.periods import Period

GROUPS = {"chain": Chain, "district": District}
STEP_NAMES = {rank: name for rank, name, _, _ in STEPS}


@dataclass(frozen=True, slots=True)
class StepStats:
    count: int
    median_days: float | None
    p90_days: float | None


@dataclass(frozen=True, slots=True)
class CycleRow:
    code: str
    name: str
    steps: dict[str, StepStats]


def _stats(rows: list[StepRow]) -> dict[str, StepStats]:
    found = {r.step: r for r in rows}
    out = {}
    for rank, name in STEP_NAMES.items():
        r = found.get(rank)
        out[name] = (StepStats(r.count, round(r.median, 1), round(r.p90, 1)) if r
                     else StepStats(0, None, None))
    return out


def read_cycle_times(session: Session, *, period: Period, by: str) -> tuple[list[CycleRow], dict[str, StepStats]]:
    model = GROUPS[by]
    refs = session.execute(select(model.code, model.name).order_by(model.code)).all()
    grouped: dict[str, list[StepRow]] = {}
    for r in cycle_times(session, by=by, start=period.start, end=period.end):
        grouped.setdefault(r.group, []).append(r)  # type: ignore[arg-type]
    rows = [CycleRow(code=ref.code, name=ref.name, steps=_stats(grouped.get(ref.code, []))) for ref in refs]
    totals = _stats(list(cycle_times(session, by=None, start=period.start, end=period.end)))
    return rows, totals
