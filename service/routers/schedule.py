"""The schedule of the tracking rhythm (月调度 · 季观摩 · 年考评), as JSON and as an iCalendar feed (SPEC §4)."""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from icalendar import Calendar, Event
from starlette.responses import Response

from service.deps import CtxDep, SessionDep, settings_of
from service.domain.periods import MAX_YEAR, MIN_YEAR, parse_period
from service.domain.schedule import ItemKind, ItemStatus, ScheduleItem
from service.errors import responses
from service.routers.common import respond
from service.schemas.common import Page
from service.schemas.rhythm import ScheduleItemRead, schedule_item_read
from service.usecases import schedule as uc

router = APIRouter(tags=["tracking rhythm"])

YearQuery = Annotated[int | None, Query(ge=MIN_YEAR, le=MAX_YEAR, description="The year (default: this year).")]
ChainQuery = Annotated[str | None, Query(max_length=32, description="One chain's items (default: every chain).")]
ICS_MEDIA_TYPE = "text/calendar; charset=utf-8"
KIND_ZH = {ItemKind.MONTHLY_DISPATCH: "月调度", ItemKind.QUARTERLY_INSPECTION: "季观摩", ItemKind.ANNUAL_APPRAISAL: "年考评"}
STATUS_ZH = {ItemStatus.UPCOMING: "未到期", ItemStatus.OPEN: "待完成", ItemStatus.DONE: "已完成",
             ItemStatus.DONE_LATE: "逾期完成", ItemStatus.OVERDUE: "已逾期"}
STATUS_NOTE = (
    "Each item's `status`: `upcoming` (period not over) · `open` (over, not yet due) · `done` (done by the due date) "
    "· `done_late` · `overdue` (past due, not done). Done means: a monthly dispatch submitted (`done_at` = its "
    "`submitted_at`), a quarterly inspection recorded (`done_at` = its `held_on`, the tour's business date), the "
    "annual appraisal published (`done_at` = `published_at`). Due dates: dispatch the 5th of the next month, "
    "inspection 15 days after the quarter, appraisal 31 January of the next year; a due date on a non-working "
    "day moves to the next working day of the official calendar (`moved`, `nominal_due_on`); `provisional` "
    "when a year consulted has no official calendar yet (see `GET /calendar/{year}`)."
)


def _read(request: Request, session, ctx, year: int | None, chain: str | None) -> uc.Schedule:  # noqa: ANN001
    return uc.read_schedule(session, year=year or ctx.today.year, chain=chain, today=ctx.today,
                            tz=settings_of(request).tz)


@router.get("/schedule", response_model=Page[ScheduleItemRead], operation_id="get_schedule",
            responses=responses(401, 422),
            description="Every chain's 17 items of the year (12 `monthly_dispatch`, 4 `quarterly_inspection`, "
            "1 `annual_appraisal`), ordered by chain code, then due date; one page (`next_cursor` is always null). "
            "An unknown `chain` → 422. " + STATUS_NOTE)
def get_schedule(
    request: Request, session: SessionDep, ctx: CtxDep, year: YearQuery = None, chain: ChainQuery = None
) -> Response:
    schedule = _read(request, session, ctx, year, chain)
    page = Page[ScheduleItemRead](items=[schedule_item_read(i) for i in schedule.items], next_cursor=None)
    return respond(request, None, page)


def _period_zh(item: ScheduleItem) -> str:
    p = parse_period(item.period)
    if item.kind is ItemKind.MONTHLY_DISPATCH:
        return f"{p.year}年{p.index}月"
    if item.kind is ItemKind.QUARTERLY_INSPECTION:
        return f"{p.year}年第{p.index}季度"
    return f"{p.year}年度"


def ics_feed(schedule: uc.Schedule, *, now) -> bytes:  # noqa: ANN001
    cal = Calendar()
    cal.add("prodid", "-//chain-ledger//schedule//ZH-CN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", "链长制跟踪督办日程")
    stamp = now.astimezone(UTC)
    for item in schedule.items:
        name = schedule.chain_names.get(item.chain, item.chain)
        event = Event()
        event.add("uid", f"{item.kind.value}-{item.period}-{item.chain}@chain-ledger")
        event.add("dtstamp", stamp)
        event.add("dtstart", item.due_on)
        event.add("dtend", item.due_on + timedelta(days=1))
        event.add("summary", f"{KIND_ZH[item.kind]}：{name} {_period_zh(item)}")
        lines = [f"截止日期：{item.due_on.isoformat()}", f"状态：{STATUS_ZH[item.status]}"]
        if item.moved:
            lines.append(f"原定 {item.nominal_due_on.isoformat()}，遇节假日顺延至下一个工作日")
        if item.provisional:
            lines.append("暂定：该年度官方节假日安排尚未载入")
        event.add("description", "\n".join(lines))
        event.add("categories", [KIND_ZH[item.kind]])
        event.add("transp", "TRANSPARENT")
        cal.add_component(event)
    return cal.to_ical()


@router.get("/schedule.ics", operation_id="get_schedule_ics", response_class=Response,
            responses={200: {"content": {"text/calendar": {"schema": {"type": "string"}}},
                             "description": "An iCalendar (RFC 5545) feed"}, **responses(401, 422)},
            description="The schedule as an iCalendar feed (RFC 5545) that calendar apps subscribe to: one all-day "
            "VEVENT per item on its due date, with a stable UID (`<kind>-<period>-<chain>@chain-ledger`) and a "
            "zh-CN SUMMARY (月调度/季观摩/年考评, chain name, period). Calendar apps cannot send headers, so this "
            "route alone also accepts the token as `?token=` (never logged: request logs carry the route "
            "template, not the query). " + STATUS_NOTE)
def get_schedule_ics(
    request: Request, session: SessionDep, ctx: CtxDep, year: YearQuery = None, chain: ChainQuery = None,
    token: Annotated[str | None, Query(max_length=200, description="The bearer token, for clients that cannot "
                                       "send an Authorization header.")] = None,
) -> Response:
    schedule = _read(request, session, ctx, year, chain)
    filename = f"schedule-{chain or 'all'}-{schedule.year}.ics"
    return Response(ics_feed(schedule, now=ctx.now), media_type=ICS_MEDIA_TYPE,
                    headers={"Content-Disposition": f'inline; filename="{filename}"',
                             "Cache-Control": "private, max-age=300"})
