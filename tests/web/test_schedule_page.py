"""The schedule page: every chain's rhythm for a year (or one chain's), as GET /api/v1/schedule has it."""

from __future__ import annotations

import re

import pytest


def _rows(html: str) -> list[tuple[str, str, str]]:
    body = html[html.index('<table class="schedule">'):]
    return re.findall(r'<td class="date">(\d{4}-\d{2}-\d{2}).*?<td class="status-(\w+)">', body, re.S)


@pytest.mark.parametrize(("lang", "title"), [("zh", "2026年工作日程"), ("en", "Schedule 2026")])
def test_every_chains_items_with_their_due_dates_and_status(login, lang, title) -> None:  # noqa: ANN001
    c = login("viewer", lang=lang)
    page = c.get("/schedule", params={"year": 2026})
    assert page.status_code == 200 and title in page.text
    api = c.get("/api/v1/schedule", params={"year": 2026, "limit": 500}, headers=c.api).json()["items"]
    assert [(d, s) for d, s in _rows(page.text)] == [(i["due_on"], i["status"]) for i in api]
    assert 'href="/schedule" aria-current="page"' in page.text
    assert "/api/v1/schedule.ics?year=2026&amp;token=TOKEN" in page.text


def test_one_chain_and_its_dispatch_links(login) -> None:  # noqa: ANN001
    c = login("department", ["ICT"])
    page = c.get("/schedule", params={"year": 2026, "chain": "ICT"})
    api = c.get("/api/v1/schedule", params={"year": 2026, "chain": "ICT"}, headers=c.api).json()["items"]
    assert len(_rows(page.text)) == len(api) == 17  # 12 dispatches, 4 inspections, the appraisal
    assert 'href="/chains/ICT/dispatches/2026-01"' in page.text
    assert "chain=ICT" in page.text[page.text.index('id="ics-url"'):]


def test_an_unknown_chain_is_a_422_page(login) -> None:  # noqa: ANN001
    c = login("viewer")
    r = c.get("/schedule", params={"chain": "NOPE"})
    assert r.status_code == 422 and r.headers["content-type"].startswith("text/html")
