"""Early warnings (预警, SPEC §3): projects idle in a stage past a threshold, and projects without a monthly
dispatch figure for the last N completed months. The selection is one SQL query (``service/db/warnings.py``);
this module turns thresholds into dates and rows into items.

- Idle: the project has been in its stage for *more than* the threshold: ``today − milestone > days``.
- No dispatch: the window is the last ``months`` completed months before the current one (on 2026-11-24 with
  2 months: 2026-09 and 2026-10). A project signed by the end of the window's first month that has no entry in
  any submitted dispatch of the window or later is flagged; ``since`` is the first day of the month after its
  last figure (its signing date when it never had one), ``missed_months`` the completed months since then.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy.orm import Session

from service.db.warnings import IDLE_RULES, NO_DISPATCH, RULE_OF_RANK, WarningQuery, warning_page
from service.domain.periods import Period, PeriodKind
from service.domain.stages import Stage


@dataclass(frozen=True, slots=True)
class Thresholds:
    signed_days: int
    started_days: int
    in_production_days: int
    dispatch_months: int

    def days(self, rule: str) -> int:
        return {"idle_signed": self.signed_days, "idle_started": self.started_days,
                "idle_in_production": self.in_production_days}[rule]


@dataclass(frozen=True, slots=True)
class WarningItem:
    rule: str
    rank: int
    project_id: str
    name: str
    chain: str
    district: str
    stage: Stage
    is_key: bool
    since: date
    days_idle: int
    threshold: int  # days, or months for no_dispatch
    last_dispatch_period: str | None
    missed_months: int | None


def _month_index(day: date) -> int:
    return day.year * 12 + day.month - 1


def _month(index: int) -> Period:
    return Period(PeriodKind.MONTH, index // 12, index % 12 + 1)


def list_warnings(
    session: Session, *, today: date, thresholds: Thresholds, chain: str | None, district: str | None,
    rules: frozenset[str] | None, after: tuple[int, str] | None, limit: int,
) -> list[WarningItem]:
    current = _month_index(today)
    first = _month(current - thresholds.dispatch_months)
    q = WarningQuery(
        today=today,
        idle_before={rule: today - timedelta(days=thresholds.days(rule)) for rule in IDLE_RULES},
        window_first_period=str(first),
        window_first_end=first.end,
        chain=chain, district=district, rules=rules,
    )
    items = []
    for r in warning_page(session, q, after=after, limit=limit):
        rule = RULE_OF_RANK[r.rank]
        if rule == NO_DISPATCH:
            if r.last_period:
                year, month = map(int, r.last_period.split("-"))
                since = _month(year * 12 + month).start  # first day of the month after the last figure
            else:
                since = r.since
            missed = current - _month_index(since)
            threshold = thresholds.dispatch_months
        else:
            since, missed, threshold = r.since, None, thresholds.days(rule)
        items.append(WarningItem(
            rule=rule, rank=r.rank, project_id=r.id, name=r.name, chain=r.chain, district=r.district,
            stage=Stage(r.stage), is_key=bool(r.is_key), since=since, days_idle=(today - since).days,
            threshold=threshold, last_dispatch_period=r.last_period if rule == NO_DISPATCH else None,
            missed_months=missed,
        ))
    return items
