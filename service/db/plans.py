"""Annual plans (一链一表, SPEC §5): revisions with their tasks and indicators, manual monthly actuals, and the
ledger metrics an indicator can be computed from.

A chain-year's plan is a set of ``plan`` rows, one per revision; the highest revision is the current one.
Metrics are aggregated in SQL (one grouped statement for every ledger and dispatch metric of any number of
chains), amounts summed as exact integer hundredths (the ``Money`` storage) and typed back as ``Money``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, and_, case, delete, func, or_, select, tuple_, type_coerce
from sqlalchemy.orm import Session

from service.db.tables import Chain, Dispatch, DispatchEntry, Plan, PlanActual, PlanIndicator, PlanTask, Project
from service.db.types import Money
from service.domain.stages import LISTS

#: The metric names of ``metrics()``: ``<list>_count`` and ``<list>_investment`` of the four lists, and
#: ``dispatch_invested``.
LEDGER_METRICS = tuple(f"{lst.value}_{what}" for lst in LISTS for what in ("count", "investment"))
DISPATCH_INVESTED = "dispatch_invested"
METRICS = (*LEDGER_METRICS, DISPATCH_INVESTED)


def _money_sum(expr: ColumnElement[Any]) -> ColumnElement[Decimal]:
    """``sum`` of a Money expression (integer hundredths) as a Money value, 0 when empty."""
    return type_coerce(func.coalesce(func.sum(type_coerce(expr, BigInteger)), 0), Money)


@dataclass(frozen=True, slots=True)
class PlanParts:
    tasks: list[PlanTask]
    indicators: list[PlanIndicator]


class PlanRepo:
    def __init__(self, session: Session):
        self.session = session

    # ------------------------------------------------------------ locking

    def lock_chain(self, code: str) -> Chain | None:
        """The chain row, locked for the transaction: plan writes of one chain queue here (no two creates of
        revision 1, no lost task update). ``FOR NO KEY UPDATE`` on PostgreSQL, so project inserts that only
        reference the chain are not blocked; SQLite's write transaction is serialised already."""
        return self.session.scalar(select(Chain).where(Chain.code == code).with_for_update(key_share=True))

    def chains(self) -> list[tuple[str, str]]:
        """Every chain's ``(code, name)``, by code."""
        return [(r.code, r.name) for r in self.session.execute(select(Chain.code, Chain.name).order_by(Chain.code))]

    # ------------------------------------------------------------ revisions

    def current(self, chain: str, year: int) -> Plan | None:
        """The highest revision of the chain-year, or None."""
        return self.session.scalar(
            select(Plan).where(Plan.chain == chain, Plan.year == year).order_by(Plan.revision.desc()).limit(1)
        )

    def revision(self, chain: str, year: int, revision: int) -> Plan | None:
        return self.session.scalar(
            select(Plan).where(Plan.chain == chain, Plan.year == year, Plan.revision == revision)
        )

    def revisions(self, chain: str, year: int, *, after: int | None, limit: int) -> list[Plan]:
        stmt = select(Plan).where(Plan.chain == chain, Plan.year == year).order_by(Plan.revision).limit(limit)
        if after is not None:
            stmt = stmt.where(Plan.revision > after)
        return list(self.session.scalars(stmt))

    def current_of_year(self, year: int, chains: Sequence[str] | None = None) -> list[Plan]:
        """The current (highest) revision of every chain's plan for ``year`` (of ``chains`` when given)."""
        conds = [Plan.year == year]
        if chains is not None:
            conds.append(Plan.chain.in_(list(chains)))
        latest = (
            select(Plan.chain, func.max(Plan.revision).label("revision"))
            .where(*conds)
            .group_by(Plan.chain)
            .subquery("latest")
        )
        stmt = (
            select(Plan)
            .join(latest, and_(Plan.chain == latest.c.chain, Plan.revision == latest.c.revision))
            .where(Plan.year == year)
            .order_by(Plan.chain)
        )
        return list(self.session.scalars(stmt))

    def add(self, row: Plan | PlanTask | PlanIndicator | PlanActual) -> None:
        self.session.add(row)
        self.session.flush()

    # ------------------------------------------------------------ parts (tasks, indicators)

    def parts(self, plan_ids: Iterable[int]) -> dict[int, PlanParts]:
        """Tasks and indicators of the given plans, in the order they were written (two queries)."""
        ids = list(plan_ids)
        out = {pid: PlanParts([], []) for pid in ids}
        if not ids:
            return out
        for t in self.session.scalars(select(PlanTask).where(PlanTask.plan_id.in_(ids)).order_by(PlanTask.id)):
            out[t.plan_id].tasks.append(t)
        for i in self.session.scalars(
            select(PlanIndicator).where(PlanIndicator.plan_id.in_(ids)).order_by(PlanIndicator.id)
        ):
            out[i.plan_id].indicators.append(i)
        return out

    def task(self, plan_id: int, key: str) -> PlanTask | None:
        return self.session.scalar(select(PlanTask).where(PlanTask.plan_id == plan_id, PlanTask.key == key))

    def indicator(self, plan_id: int, key: str) -> PlanIndicator | None:
        return self.session.scalar(
            select(PlanIndicator).where(PlanIndicator.plan_id == plan_id, PlanIndicator.key == key)
        )

    def replace_parts(self, plan_id: int, tasks: Sequence[PlanTask], indicators: Sequence[PlanIndicator]) -> None:
        """Delete the plan's tasks and indicators, then insert the given ones (in their order). The deletes run
        first as statements, so a key that stays does not collide with its old row."""
        self.session.execute(delete(PlanTask).where(PlanTask.plan_id == plan_id))
        self.session.execute(delete(PlanIndicator).where(PlanIndicator.plan_id == plan_id))
        self.session.add_all([*tasks, *indicators])
        self.session.flush()

    # ------------------------------------------------------------ manual actuals

    def actual(self, chain: str, year: int, key: str, period: str) -> PlanActual | None:
        return self.session.scalar(
            select(PlanActual).where(
                PlanActual.chain == chain, PlanActual.year == year, PlanActual.indicator_key == key,
                PlanActual.period == period,
            )
        )

    def actuals(self, chain: str, year: int, key: str) -> list[PlanActual]:
        return list(
            self.session.scalars(
                select(PlanActual)
                .where(PlanActual.chain == chain, PlanActual.year == year, PlanActual.indicator_key == key)
                .order_by(PlanActual.period)
            )
        )

    def manual_totals(self, year: int, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Decimal]:
        """The year's sum of monthly actuals per ``(chain, indicator_key)`` asked for (missing → absent)."""
        pairs = list(set(keys))
        if not pairs:
            return {}
        stmt = (
            select(PlanActual.chain, PlanActual.indicator_key, _money_sum(PlanActual.value).label("total"))
            .where(PlanActual.year == year, tuple_(PlanActual.chain, PlanActual.indicator_key).in_(pairs))
            .group_by(PlanActual.chain, PlanActual.indicator_key)
        )
        return {(r.chain, r.indicator_key): r.total for r in self.session.execute(stmt)}

    # ------------------------------------------------------------ computed metrics

    def metrics(self, year: int, chains: Sequence[str]) -> dict[str, dict[str, Decimal]]:
        """Every ledger and dispatch metric of ``chains`` for ``year``, from one SQL statement:

        - ``<list>_count`` / ``<list>_investment``: projects of the chain whose milestone ``<list>`` falls in the
          year, voided ones excluded (cancelled ones stay on the lists they reached, as on the ledger);
          investment is the sum of ``planned_investment``;
        - ``dispatch_invested``: the sum of ``invested`` of the chain's *submitted* monthly dispatch reports for
          the months of the year (entries of voided projects excluded: they count nowhere).

        Chains without any figure get zeros.
        """
        codes = list(chains)
        if not codes:
            return {}
        start, end = date(year, 1, 1), date(year, 12, 31)
        p = Project.__table__.c
        aggs: list[ColumnElement[Any]] = []
        for lst in LISTS:
            hit = p[f"{lst.value}_on"].between(start, end)
            aggs.append(func.sum(case((hit, 1), else_=0)).label(f"{lst.value}_count"))
            aggs.append(
                func.sum(case((hit, type_coerce(p.planned_investment, BigInteger)), else_=0))
                .label(f"{lst.value}_investment")
            )
        ledger = (
            select(p.chain, *aggs)
            .where(
                p.chain.in_(codes),
                p.voided_at.is_(None),
                # Only projects on some list this year (the per-list milestone indexes can serve each branch).
                or_(*(p[f"{lst.value}_on"].between(start, end) for lst in LISTS)),
            )
            .group_by(p.chain)
            .subquery("ledger")
        )
        e, dsp = DispatchEntry.__table__.c, Dispatch.__table__.c
        dispatch = (
            select(dsp.chain, func.sum(type_coerce(e.invested, BigInteger)).label(DISPATCH_INVESTED))
            .select_from(
                DispatchEntry.__table__
                .join(Dispatch.__table__, e.dispatch_id == dsp.id)
                .join(Project.__table__, e.project_id == p.id)
            )
            .where(
                dsp.chain.in_(codes),
                dsp.status == "submitted",
                dsp.period.between(f"{year:04d}-01", f"{year:04d}-12"),
                p.voided_at.is_(None),
            )
            .group_by(dsp.chain)
            .subquery("dispatch")
        )
        c = Chain.__table__.c
        columns: list[ColumnElement[Any]] = []
        for name in LEDGER_METRICS:
            value = func.coalesce(ledger.c[name], 0)
            columns.append((type_coerce(value, Money) if name.endswith("_investment") else value).label(name))
        columns.append(type_coerce(func.coalesce(dispatch.c[DISPATCH_INVESTED], 0), Money).label(DISPATCH_INVESTED))
        stmt = (
            select(c.code, *columns)
            .select_from(
                Chain.__table__
                .outerjoin(ledger, ledger.c.chain == c.code)
                .outerjoin(dispatch, dispatch.c.chain == c.code)
            )
            .where(c.code.in_(codes))
        )
        out: dict[str, dict[str, Decimal]] = {}
        for row in self.session.execute(stmt):
            m = row._mapping
            out[row.code] = {
                name: (m[name] if name.endswith(("_investment", "_invested")) else Decimal(int(m[name])))
                for name in METRICS
            }
        return out
