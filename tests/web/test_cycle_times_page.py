"""The cycle-times page: per chain, the days from signed → started → in production → at capacity, as
GET /api/v1/ledger/cycle-times?by=chain has them — a server-drawn bar chart of the medians and the table beside it."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from xml.etree import ElementTree

import pytest

from service.web import charts
from service.web.i18n import translate
from tests.web.conftest import BROWSER_ACTION_MS
from tests.web.pages_list import sign_in, tokens_for
from tests.web.test_accessibility import axe_script, axe_violations, describe  # noqa: F401  (axe_script: a fixture)

SVG = "{http://www.w3.org/2000/svg}"
STEPS = ("signed_to_started", "started_to_in_production", "in_production_to_at_capacity")
CHAINS = ["AUTO", "EQUIP", "HEALTH", "ICT", "MATERIAL"]  # the demo's chains, by code (the API's order)
NONE = {"zh": "无", "en": "none"}


def _cell(text: str, lang: str) -> float | int | None:
    if "visually-hidden" in text:
        assert re.search(rf'<span class="visually-hidden">{NONE[lang]}</span>', text), text
        return None
    return float(text) if "." in text else int(text)


def _table(html: str, lang: str) -> dict[str, list[float | int | None]]:
    """``{chain code (""  for the totals): [count, median, p90] × the three steps]}`` as the page's table shows."""
    table = html[html.index('<table id="cycle-table">'):html.index("</table>")]
    rows = re.findall(r'<tr data-chain="([A-Z]*)">(.*?)</tr>', table, re.S)
    return {code: [_cell(c, lang) for c in re.findall(r'<td class="num">(.*?)</td>', body, re.S)]
            for code, body in rows}


def _figures(steps: dict) -> list[float | int | None]:
    return [v for step in STEPS for v in (steps[step]["count"], steps[step]["median_days"], steps[step]["p90_days"])]


def _svg(html: str) -> ElementTree.Element:
    return ElementTree.fromstring(re.search(r"<svg class=\"chart\".*?</svg>", html, re.S)[0])


@pytest.mark.parametrize(("lang", "title", "step"), [("zh", "项目推进周期", "签约→开工"),
                                                    ("en", "Cycle times", "Signed → started")])
@pytest.mark.parametrize("period", ["2026", "2026-Q2", "2025-08"])
def test_the_figures_are_the_apis(login, lang, title, step, period) -> None:  # noqa: ANN001
    c = login("viewer", lang=lang)
    page = c.get("/cycle-times", params={"period": period})
    assert page.status_code == 200, page.text
    assert f"<h1>{title}</h1>" in page.text and step in page.text
    assert 'href="/cycle-times" aria-current="page"' in page.text
    assert f'name="period" value="{period}"' in page.text
    api = c.get("/api/v1/ledger/cycle-times", params={"period": period, "by": "chain"}, headers=c.api)
    assert api.status_code == 200
    body = api.json()
    assert [r["chain"] for r in body["rows"]] == CHAINS
    expected = {r["chain"]: _figures(r) for r in body["rows"]} | {"": _figures(body["totals"])}
    shown = _table(page.text, lang)
    assert shown == expected
    assert any(None in figures for figures in shown.values())  # a step no project completed shows "none"
    assert sum(v is not None for v in shown[""]) > 3  # and some were completed


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_chart_has_one_bar_group_per_chain_with_the_medians(login, lang) -> None:  # noqa: ANN001
    c = login("department", ["ICT"], lang=lang)
    page = c.get("/cycle-times", params={"period": "2026"})
    rows = c.get("/api/v1/ledger/cycle-times", params={"period": "2026"}, headers=c.api).json()["rows"]
    svg = _svg(page.text)
    assert svg.get("role") == "img"
    title = svg.find(f"{SVG}title").text
    assert title == {"zh": "2026年各产业链各步骤用时中位数（天）", "en": "Median days per step and chain, 2026"}[lang]
    assert svg.get("aria-labelledby") == "chart-title chart-desc" and svg.find(f"{SVG}desc").text
    # one group per chain: its name under the group, and one bar per step that some project completed
    groups = [e.text for e in svg.iter(f"{SVG}text") if e.get("class") == "axis" and e.get("text-anchor") == "middle"]
    assert groups == [r["name"] for r in rows]
    bars = [r.find(f"{SVG}title").text for r in svg.iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None]
    unit = {"zh": "天", "en": " days"}[lang]
    labels = {"zh": ["签约→开工", "开工→投产", "投产→达产"],
              "en": ["Signed → started", "Started → in production", "In production → at capacity"]}[lang]
    assert bars == [f"{r['name']} {label}: {r[s]['median_days']}{unit}"
                    for r in rows for s, label in zip(STEPS, labels, strict=True) if r[s]["median_days"] is not None]
    assert len(bars) < 3 * len(rows)  # the demo has chains where a step is not completed: no bar, not a zero bar
    # the bars take the colours of the list each step arrives at
    assert {r.get("class") for r in svg.iter(f"{SVG}rect")} == {"bar-started", "bar-in_production", "bar-at_capacity"}


@pytest.mark.parametrize(("lang", "text"), [
    ("zh", "2024年没有项目完成签约→开工、开工→投产或投产→达产中的任何一步，暂无推进周期可显示。"),
    ("en", "No project completed a step (signed → started, started → in production or in production → at "
           "capacity) in 2024, so there are no cycle times to show."),
])
def test_a_period_without_completions_says_so(login, lang, text) -> None:  # noqa: ANN001
    c = login("viewer", lang=lang)
    page = c.get("/cycle-times", params={"period": "2024"})
    assert page.status_code == 200
    api = c.get("/api/v1/ledger/cycle-times", params={"period": "2024"}, headers=c.api).json()
    assert all(s["count"] == 0 for s in api["totals"].values())
    assert f'<p id="cycles-empty">{text}</p>' in page.text
    assert "<svg" not in page.text and "<table" not in page.text


def test_the_period_defaults_to_this_year(app, login) -> None:  # noqa: ANN001
    app.state.clock = lambda: datetime(2026, 11, 20, 2, tzinfo=UTC)
    c = login("viewer")
    page = c.get("/cycle-times")
    assert page.status_code == 200
    assert 'name="period" value="2026"' in page.text and "2026-01-01 至 2026-12-31" in page.text
    assert _table(page.text, "zh") == _table(c.get("/cycle-times?period=2026").text, "zh")


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize(("typed", "key", "values"), [("2026-x", "err.period_invalid", {"text": "2026-x"}),
                                                      ("2026-13", "err.month_range", {"month": "13"}),
                                                      ("2026-Q5", "err.quarter_range", {"quarter": "5"})])
def test_a_wrong_period_is_refused_beside_the_field_and_kept(login, lang, typed, key, values) -> None:  # noqa: ANN001
    c = login("viewer", lang=lang)
    page = c.get("/cycle-times", params={"period": typed})
    assert page.status_code == 422 and page.headers["content-type"].startswith("text/html")
    error = re.search(r'<p class="field-error" id="period-error" role="alert">(.*?)</p>', page.text, re.S)
    assert error and error[1].strip() == translate(lang, key, **values)  # what is wrong with it, not "“?”"
    assert f'value="{typed}"' in page.text
    assert 'aria-describedby="period-hint period-error" aria-invalid="true"' in page.text
    assert "<svg" not in page.text and "<table" not in page.text


def test_signed_out_goes_to_sign_in(client) -> None:  # noqa: ANN001
    r = client.get("/cycle-times?period=2026", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/signin?next=%2Fcycle-times")


def test_the_chart_takes_fractional_days_and_leaves_missing_figures_out() -> None:
    svg = charts.grouped_bars(["甲", "乙"], [charts.Series("started", "签约→开工", [2.5, None]),
                                           charts.Series("at_capacity", "投产→达产", [None, 4.5])],
                              title="t", desc="d", unit="天")
    root = ElementTree.fromstring(str(svg))
    bars = [r.find(f"{SVG}title").text for r in root.iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None]
    assert bars == ["甲 签约→开工: 2.5天", "乙 投产→达产: 4.5天"]
    ticks = [e.text for e in root.iter(f"{SVG}text") if e.get("text-anchor") == "end"]
    assert ticks == ["0", "1", "2", "3", "4", "5"]  # the axis reaches above the highest figure


@pytest.mark.browser
def test_on_a_phone_the_chart_scrolls_by_keyboard_and_the_filter_works(live_server, chromium, axe_script,  # noqa: ANN001, F811
                                                                      time_limit) -> None:
    """At 390 px the chart scrolls sideways inside its frame (the page does not): the frame takes the focus, so a
    keyboard can scroll it (axe-core: no serious violation, zh and en); the period is typed and sent by keyboard."""
    context = chromium.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", bypass_csp=True)
    try:
        page = context.new_page()
        page.set_default_timeout(BROWSER_ACTION_MS)
        sign_in(page, live_server, tokens_for(live_server)["department"])
        for lang in ("zh", "en"):
            page.goto(f"{live_server.url}/cycle-times?period=2025-08&lang={lang}")
            assert page.locator("#cycle-chart svg").count() == 1
            assert axe_violations(page, axe_script) == [], describe(axe_violations(page, axe_script))
            assert page.evaluate("document.documentElement.scrollWidth") <= 390
            frame = page.locator("#cycle-chart")
            assert frame.evaluate("e => e.scrollWidth > e.clientWidth")  # the chart is wider than the phone
        page.goto(f"{live_server.url}/cycle-times?lang=zh")
        page.locator("#period").focus()
        page.keyboard.press("Control+A")
        page.keyboard.type("2025-Q3")
        page.keyboard.press("Enter")
        page.wait_for_url("**period=2025-Q3**")
        assert "2025年第3季度" in page.locator("p.sub").inner_text()
        page.locator("#cycle-chart").focus()
        page.keyboard.press("ArrowRight")
        # Chromium animates a keyboard scroll: wait for it to move (fails after BROWSER_ACTION_MS if it never does)
        page.wait_for_function("() => document.querySelector('#cycle-chart').scrollLeft > 0")
    finally:
        context.close()
