"""The year's rhythm for every chain (or one): due dates on the working-day calendar, overdue marked, and the
iCalendar feed's address."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import Request
from starlette.responses import Response

from service.deps import settings_of
from service.domain.schedule import ItemStatus
from service.usecases import schedule as schedule_uc
from service.web.frame import (
    SignedIn,
    TextQuery,
    YearQuery,
    all_reference,
    optional_text,
    reading,
    render,
    router,
)
from service.web.pages.chains import schedule_rows
from service.web.session import web_ctx


@router.get("/schedule")
def schedule_page(request: Request, actor: SignedIn, year: YearQuery = None, chain: TextQuery = None) -> Response:
    ctx = web_ctx(request, actor)
    year = year or ctx.today.year
    code = optional_text(chain)
    with reading(request) as session:
        chains = all_reference(session, "chain")
        schedule = schedule_uc.read_schedule(session, year=year, chain=code, today=ctx.today,
                                             tz=settings_of(request).tz)
    rows = schedule_rows(request, schedule.items, ctx.today)
    feed = {"year": year, **({"chain": code} if code else {})}
    return render(
        request, "schedule.html", actor=actor, nav="schedule", year=year, this_year=ctx.today.year, chain=code,
        chains=chains, rows=rows, chain_names=schedule.chain_names,
        overdue_count=sum(1 for r in rows if r["item"].status is ItemStatus.OVERDUE),
        ics_url=f"{str(request.base_url).rstrip('/')}/api/v1/schedule.ics?{urlencode(feed)}&token=TOKEN",
    )
