"""Screenshots of every web page (tests/web/pages_list.py's ``PAGES``) in zh-CN at 1280 px and at 390 px wide,
into docs/screenshots/<page>-1280.png and <page>-390.png (committed). Runs only with LEDGER_DOCS_SCREENSHOTS=1:

    LEDGER_DOCS_SCREENSHOTS=1 .venv/bin/python -m pytest -q -n0 tests/web/test_screenshots.py

Each image is the page's top, at most ``MAX_HEIGHT`` CSS pixels tall, so the folder stays small.
"""

from __future__ import annotations

import os

import pytest

from tests.web.conftest import BROWSER_ACTION_MS, DOCS_SCREENSHOTS
from tests.web.pages_list import PAGES, open_page, prepare, sign_in, tokens_for

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(os.environ.get("LEDGER_DOCS_SCREENSHOTS") != "1",
                       reason="refreshes docs/screenshots/ only with LEDGER_DOCS_SCREENSHOTS=1"),
]

WIDTHS = {1280: 900, 390: 844}  # width: viewport height
MAX_HEIGHT = {1280: 2000, 390: 3000}


def test_screenshots_of_every_page(live_server, chromium) -> None:  # noqa: ANN001
    server = live_server
    ids = prepare(server)
    tokens = tokens_for(server)
    DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    written = []
    for width, height in WIDTHS.items():
        context = chromium.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
        try:
            page = context.new_page()
            page.set_default_timeout(BROWSER_ACTION_MS)
            signed_in_as = None
            for spec in sorted(PAGES, key=lambda p: p.role or ""):
                if spec.role != signed_in_as:
                    context.clear_cookies()
                    if spec.role:
                        sign_in(page, server, tokens[spec.role])
                    signed_in_as = spec.role
                assert open_page(page, server, spec, ids, "zh") == spec.status, spec.name
                full = page.evaluate("document.documentElement.scrollHeight")
                path = DOCS_SCREENSHOTS / f"{spec.name}-{width}.png"
                page.screenshot(path=str(path), full_page=True,
                                clip={"x": 0, "y": 0, "width": width, "height": min(full, MAX_HEIGHT[width])})
                written.append(path)
        finally:
            context.close()
    assert len(written) == 2 * len(PAGES)
    assert all(p.stat().st_size > 5_000 for p in written)
