"""Cycle times (早落地、早开工、早投产, SPEC §3): count, median and 90th percentile of the days each step took, for
the projects that completed the step in a period (the step's later milestone falls in the period), in SQL.

Percentile definition (the same on both databases): linear interpolation between closest ranks — Hyndman & Fan
type 7, PostgreSQL's ``percentile_cont``, Excel's ``PERCENTILE.INC``, NumPy's default. With the step durations
sorted ``x[0] ≤ … ≤ x[n−1]`` and ``h = p·(n−1)``: ``P(p) = x[⌊h⌋] + (h − ⌊h⌋)·(x[⌊h⌋+1] − x[⌊h⌋])``.

- PostgreSQL: ``percentile_cont(p) WITHIN GROUP (ORDER BY days)``.
- SQLite (no percentile function): ``ROW_NUMBER()`` and ``COUNT(*)`` over the (group, step) partition give each
  duration its 0-based rank ``k`` and ``n``; with ``p = a/b`` in integers, ``⌊h⌋ = (n−1)·a DIV b`` and
  ``h − ⌊h⌋ = ((n−1)·a MOD b) / b``, so the two neighbouring ranks are picked exactly and interpolated.

Both return double precision; the use case rounds to 0.1 day (every exact result is a multiple of 0.5 for the
median and of 0.1 for the 90th percentile, so rounding only removes floating point's last-bit differences and
both databases answer identically).
Voided projects are left out; cancelled projects count for the steps they completed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Integer, case, cast, func, literal_column, select, union_all
from sqlalchemy.orm import Session

from service.db.tables import Project

#: (rank, step name, from milestone column, to milestone column)
STEPS: tuple[tuple[int, str, str, str], ...] = (
    (1, "signed_to_started", "signed_on", "started_on"),
    (2, "started_to_in_production", "started_on", "in_production_on"),
    (3, "in_production_to_at_capacity", "in_production_on", "at_capacity_on"),
)
#: Percentiles as exact fractions a/b: the median and the 90th percentile.
MEDIAN = (1, 2)
P90 = (9, 10)


@dataclass(frozen=True, slots=True)
class StepRow:
    group: str | None
    step: int
    count: int
    median: float
    p90: float


def _days(dialect: str, start: Any, end: Any) -> Any:
    if dialect == "postgresql":
        return end - start  # date − date is an integer number of days
    return cast(func.julianday(end) - func.julianday(start), Integer)


def _durations(dialect: str, by: str | None, start: date, end: date):  # noqa: ANN202
    """``grp, step, days`` of every step completed in [start, end]."""
    branches = []
    for rank, _, a, b in STEPS:
        frm, to = getattr(Project, a), getattr(Project, b)
        group = getattr(Project, by) if by else literal_column("''")
        branches.append(
            select(group.label("grp"), literal_column(str(rank)).label("step"), _days(dialect, frm, to).label("days"))
            .where(Project.voided_at.is_(None), frm.is_not(None), to.between(start, end))
        )
    return union_all(*branches).subquery("durations")


def _interpolated(k: Any, n: Any, days: Any, fraction: tuple[int, int]) -> Any:
    """The type-7 percentile of a (group, step) partition, from each row's rank ``k`` (0-based) and ``n``."""
    a, b = fraction
    low_rank = (n - 1) * a // b  # ⌊h⌋: integer division
    low = func.max(case((k == low_rank, days)))
    high = func.max(case((k == low_rank + 1, days)))
    share = (func.max(n) - 1) * a % b
    return low + (func.coalesce(high, low) - low) * share * 1.0 / b


def cycle_times(session: Session, *, by: str | None, start: date, end: date) -> Sequence[StepRow]:
    """One row per (group, step) that has completions; ``group`` is the chain or district code (None for the
    totals when ``by`` is None)."""
    dialect = session.get_bind().dialect.name
    d = _durations(dialect, by, start, end)
    if dialect == "postgresql":
        stmt = select(
            d.c.grp, d.c.step, func.count().label("n"),
            func.percentile_cont(MEDIAN[0] / MEDIAN[1]).within_group(d.c.days).label("median"),
            func.percentile_cont(P90[0] / P90[1]).within_group(d.c.days).label("p90"),
        ).group_by(d.c.grp, d.c.step)
    else:
        partition = (d.c.grp, d.c.step)
        ranked = select(
            d.c.grp, d.c.step, d.c.days,
            (func.row_number().over(partition_by=partition, order_by=d.c.days) - 1).label("k"),
            func.count().over(partition_by=partition).label("n"),
        ).subquery("ranked")
        stmt = select(
            ranked.c.grp, ranked.c.step, func.max(ranked.c.n).label("n"),
            _interpolated(ranked.c.k, ranked.c.n, ranked.c.days, MEDIAN).label("median"),
            _interpolated(ranked.c.k, ranked.c.n, ranked.c.days, P90).label("p90"),
        ).group_by(ranked.c.grp, ranked.c.step)
    return [
        StepRow(group=r.grp if by else None, step=int(r.step), count=int(r.n), median=float(r.median),
                p90=float(r.p90))
        for r in session.execute(stmt)
    ]
