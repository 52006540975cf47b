"""Helpers shared by the tracking-rhythm use cases: periods from the path, the chain a write is for, the
projects an entry list names, If-Match on a PUT that may create, and instants in the service's zone."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from service.db.rhythm import ChainProjects, lock_chain
from service.db.tables import Chain
from service.domain import errors as d
from service.domain.access import Role
from service.domain.context import Ctx
from service.domain.periods import Period, PeriodKind, parse_period
from service.usecases.common import check_version

PERIOD_HINT = {PeriodKind.MONTH: "YYYY-MM", PeriodKind.QUARTER: "YYYY-Qn", PeriodKind.YEAR: "YYYY"}


def period_of(text: str, kind: PeriodKind, *, loc: Sequence[str | int] = ("path", "period")) -> Period:
    """Parse ``text`` as a period of ``kind``; 422 at ``loc`` for a period that does not exist (2026-13,
    2026-Q5) or is of another kind."""
    try:
        period = parse_period(text)
    except d.InvalidInput as exc:
        raise d.InvalidInput.at(list(loc), exc.detail) from exc
    if period.kind is not kind:
        raise d.InvalidInput.at(list(loc), f"'{text}' is not a {kind.value}: use {PERIOD_HINT[kind]}.")
    return period


def not_before_start(period: Period, today: date, *, what: str, loc: Sequence[str | int] = ("path", "period")) -> None:
    """422 for a period that has not begun yet."""
    if period.start > today:
        raise d.InvalidInput.at(
            list(loc), f"{what} for {period} is not possible yet: the period begins on {period.start.isoformat()} "
            f"(today is {today.isoformat()})."
        )


def chain_for_write(session: Session, ctx: Ctx, code: str, *, action: str) -> Chain:
    """The chain (404), locked for the rest of the transaction so writes of one chain queue up, after the
    caller's right to write for it (403: admin, or a department token scoped to it)."""
    ctx.actor.require(Role.ADMIN, Role.DEPARTMENT, action=action)
    chain = lock_chain(session, code)
    if chain is None:
        raise d.NotFound(f"No chain '{code}'.")
    ctx.actor.require_chain(chain.code, action=action)
    return chain


def check_version_or_absent(current: int | None, if_match: int | None, *, required: bool) -> None:
    """If-Match on a PUT that creates or replaces: replacing needs it when ``required`` (428) and current
    (412); an If-Match for a resource that does not exist yet can never match (412, RFC 9110 §13.1.1)."""
    if current is None:
        if if_match is not None:
            raise d.StaleVersion("The resource does not exist yet; send the first PUT without If-Match.")
        return
    check_version(current, if_match, required=required)


def check_chain_projects(
    session: Session, chain: str, ids: Sequence[str], *, loc: Callable[[int], list[str | int]], label: str | None
) -> None:
    """Every id names an existing, non-voided project of ``chain``, at most once; else one 422 listing every
    bad position (at ``loc(i)``, and by index in the message: ``entries[2]: …``, unless ``label`` is None)."""
    found = ChainProjects(session).by_id(ids)
    errors: list[dict[str, object]] = []
    first: dict[str, int] = {}
    for i, pid in enumerate(ids):
        where = f"{label}[{i}]: " if label else ""
        row = found.get(pid)
        if pid in first:
            msg = f"{where}project {pid} is already in {label}[{first[pid]}]."
        elif row is None:
            msg = f"{where}there is no project '{pid}'."
        elif row.chain != chain:
            msg = f"{where}project {pid} belongs to chain '{row.chain}', not '{chain}'."
        elif row.voided_at is not None:
            msg = f"{where}project {pid} is voided."
        else:
            first[pid] = i
            continue
        first.setdefault(pid, i)
        errors.append({"loc": loc(i), "msg": msg})
    if errors:
        raise d.InvalidInput("; ".join(str(e["msg"]) for e in errors), errors=errors)


def local(at: datetime | None, tz: ZoneInfo) -> datetime | None:
    """An instant in the service's zone (the schedule compares calendar dates there)."""
    return None if at is None else at.astimezone(tz)


def end_of_day_utc(day: date, tz: ZoneInfo) -> datetime:
    """The first instant after ``day`` in ``tz``, in UTC: a timestamp before it is on or before ``day``."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
