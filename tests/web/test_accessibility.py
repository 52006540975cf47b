"""Every web page passes axe-core (no ``serious`` or ``critical`` violation) in zh-CN and in English, and none
scrolls sideways at 390 px (marker ``browser``).

axe-core is the npm package pinned in tests/web/axe/package-lock.json (``.ci/run`` runs ``npm ci --prefix
tests/web/axe``); it is injected into the page from node_modules, never served by the app. Without it the test
skips locally and fails in CI (CI=true). The pages are tests/web/pages_list.py's ``PAGES``; a web GET route that
the list does not cover fails ``test_every_web_page_is_listed``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import service.web.routes  # noqa: F401  (importing the routes module registers every page)
from service.web.frame import router
from tests.web.conftest import BROWSER_ACTION_MS
from tests.web.pages_list import DOWNLOADS, PAGES, Page, open_page, prepare, sign_in, tokens_for

AXE = Path(__file__).resolve().parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")
PHONE = 390

RUN_AXE = """async () => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map(n => ({target: n.target.join(' '), summary: n.failureSummary}))}));
}"""


def test_every_web_page_is_listed() -> None:
    """A new web page (a GET route of the web router) must be added to PAGES (or to DOWNLOADS for a file)."""
    routes = {r.path for r in router.routes if "GET" in getattr(r, "methods", ())}
    listed = {p.route for p in PAGES}
    assert not routes - listed - DOWNLOADS, f"web GET routes missing from tests/web/pages_list.py: " \
                                            f"{sorted(routes - listed - DOWNLOADS)}"
    assert not (listed | DOWNLOADS) - routes, f"listed but no such route: {sorted((listed | DOWNLOADS) - routes)}"
    assert len({p.name for p in PAGES}) == len(PAGES)


@pytest.fixture(scope="session")
def axe_script() -> Path:
    if not AXE.exists():
        reason = f"{AXE} is missing (npm ci --prefix tests/web/axe)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}: .ci/run installs it")
        pytest.skip(reason)
    return AXE


def axe_violations(page, script: Path) -> list[dict]:  # noqa: ANN001
    page.add_script_tag(path=str(script))
    return [v for v in page.evaluate(RUN_AXE) if v["impact"] in BLOCKING]


def describe(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"  [{v['impact']}] {v['id']}: {v['help']}")
        lines += [f"      {n['target']}: {n['summary'].splitlines()[-1].strip() if n['summary'] else ''}"
                  for n in v["nodes"][:8]]
    return "\n".join(lines)


@pytest.mark.browser
@pytest.mark.parametrize("spec", PAGES, ids=lambda p: p.name)
def test_page_is_accessible_and_fits_a_phone(spec: Page, live_server, chromium, axe_script,  # noqa: ANN001
                                             time_limit) -> None:
    server = live_server
    ids = prepare(server)
    # bypass_csp: the pages' CSP (script-src 'self') would refuse the injected axe script
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN", bypass_csp=True)
    try:
        page = context.new_page()
        page.set_default_timeout(BROWSER_ACTION_MS)
        if spec.role:
            sign_in(page, server, tokens_for(server)[spec.role])
        problems = []
        for lang in ("zh", "en"):
            status = open_page(page, server, spec, ids, lang)
            assert status == spec.status, f"{spec.name} ({lang}): {status}"
            assert page.locator("html").get_attribute("lang") == ("zh-CN" if lang == "zh" else "en")
            found = axe_violations(page, axe_script)
            if found:
                problems.append(f"{spec.name} ({lang}) {page.url}:\n{describe(found)}")
        page.set_viewport_size({"width": PHONE, "height": 844})
        open_page(page, server, spec, ids, "zh")
        found = axe_violations(page, axe_script)  # at phone width a wide chart or table scrolls in its frame
        if found:
            problems.append(f"{spec.name} (zh, {PHONE} px) {page.url}:\n{describe(found)}")
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > PHONE:
            wide = page.evaluate("""(limit) => [...document.querySelectorAll('body *')]
              .filter(e => e.getBoundingClientRect().right > limit + 1 && !e.closest('.table-wrap'))
              .slice(0, 8).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
                + (e.className && typeof e.className === 'string' ? '.' + e.className.split(' ').join('.') : ''))""",
                                 PHONE)
            problems.append(f"{spec.name} scrolls sideways at {PHONE} px (scrollWidth {width}): {wide}")
        assert not problems, "\n".join(problems)
    finally:
        context.close()


@pytest.mark.browser
def test_axe_reports_a_planted_violation(live_server, chromium, axe_script, time_limit) -> None:  # noqa: ANN001
    """The check itself works: a field without a label and grey-on-grey text in the sign-in page are caught."""
    context = chromium.new_context(locale="zh-CN", bypass_csp=True)
    try:
        page = context.new_page()
        page.goto(live_server.url + "/signin")
        page.evaluate("""document.querySelector('main').insertAdjacentHTML('beforeend',
            '<input type="text" id="planted"><p id="pale" style="color:#ccc">淡色的说明文字 pale text</p>')""")
        found = {v["id"]: v for v in axe_violations(page, axe_script)}
        assert set(found) == {"label", "color-contrast"}, describe(list(found.values()))
        assert [n["target"] for n in found["label"]["nodes"]] == ["#planted"]
        assert [n["target"] for n in found["color-contrast"]["nodes"]] == ["#pale"]
    finally:
        context.close()
