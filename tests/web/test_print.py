"""The ledger and the appraisal print on A4 (app.css's ``@media print``): no navigation, forms or buttons, table
headers repeated on each sheet, no row cut in two (marker ``browser``)."""

from __future__ import annotations

import re

import pytest

from tests.web.conftest import SCREENSHOTS
from tests.web.pages_list import prepare, sign_in

pytestmark = pytest.mark.browser

A4_POINTS = (595.0, 842.0)  # 210 mm × 297 mm
MEDIA_BOX = re.compile(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]")

STYLE = """(sel) => { const e = document.querySelector(sel); if (!e) return null;
  const s = getComputedStyle(e); return {display: s.display, breakInside: s.breakInside}; }"""


def _pdf_pages(pdf: bytes) -> list[tuple[float, float]]:
    assert pdf.startswith(b"%PDF-"), pdf[:20]
    return [(float(w), float(h)) for w, h in MEDIA_BOX.findall(pdf)]


@pytest.mark.parametrize("which", ["ledger", "appraisal"])
def test_prints_on_a4_without_navigation_or_forms(which: str, live_server, browser_page) -> None:  # noqa: ANN001
    page, server = browser_page, live_server
    ids = prepare(server)
    sign_in(page, server, server.token("admin", name="市委办公厅"))  # the admin sees every form there is
    url = {"ledger": "/ledger?lang=zh", "appraisal": f"/appraisals/{ids['year']}?lang=zh"}[which]
    page.goto(server.url + url)
    table = "main table" if which == "ledger" else "#ranking"
    nav = page.get_by_role("navigation", name="主导航")
    assert nav.is_visible() and page.locator("main form").first.is_visible()  # on screen: all there

    page.emulate_media(media="print")
    assert not nav.is_visible()
    assert not page.locator("header.top .tools").is_visible()  # language switch, signing out
    assert page.locator("main form").count() > 0
    assert all(not f.is_visible() for f in page.locator("main form").all())
    assert all(not b.is_visible() for b in page.locator("button, a.button").all())
    assert page.get_by_role("heading", level=1).is_visible()
    assert page.locator(table).first.is_visible()
    assert page.evaluate(STYLE, f"{table} thead")["display"] == "table-header-group"
    assert page.evaluate(STYLE, f"{table} tbody tr")["breakInside"] == "avoid"
    assert page.evaluate("() => getComputedStyle(document.querySelector('.table-wrap')).overflowX") == "visible"

    pdf = page.pdf(format="A4", print_background=True, prefer_css_page_size=True)
    sizes = _pdf_pages(pdf)
    assert sizes, "no page in the PDF"
    assert all(abs(w - A4_POINTS[0]) < 2 and abs(h - A4_POINTS[1]) < 2 for w, h in sizes), sizes
    if which == "ledger":  # the whole year's four lists: more than one sheet, the header repeated on each
        assert len(sizes) >= 2, len(sizes)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / f"{which}.pdf").write_bytes(pdf)  # test-artifacts/, to look at
