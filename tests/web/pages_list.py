"""Every web page, once: the list the accessibility test, the 390 px check and the documentation screenshots walk.

``PAGES`` names each GET route of the web router with a real URL (ids from the seeded demo plus ``prepare``'s
plan, problems and appraisal) and the role that opens it. ``DOWNLOADS`` are the GET routes that answer a file,
not a page. test_accessibility.py fails when the web router has a GET route that neither covers, so a new page
has to be added here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx

from tests.web.conftest import LiveServer, add_plan_and_problems


@dataclass(frozen=True)
class Page:
    name: str  # also the screenshot's file name
    route: str  # the web router's path pattern
    url: str  # with {placeholders} that ``prepare`` fills
    role: str | None  # None: signed out
    status: int = 200
    submit: bool = False  # then send the page's form as it is (the browser's own checks off): its errors shown


PAGES: tuple[Page, ...] = (
    Page("signin", "/signin", "/signin", None),
    Page("overview", "/", "/", "department"),
    Page("ledger", "/ledger", "/ledger", "department"),
    Page("cycle-times", "/cycle-times", "/cycle-times", "department"),
    Page("projects", "/projects", "/projects", "department"),
    Page("project", "/projects/{project_id}", "/projects/{project}", "department"),
    Page("project-new", "/projects/new", "/projects/new", "department"),
    Page("project-edit", "/projects/{project_id}/edit", "/projects/{project}/edit", "department"),
    Page("chain", "/chains/{code}", "/chains/ICT", "department"),
    Page("plan", "/chains/{code}/plans/{year}", "/chains/ICT/plans/{year}", "department"),
    Page("plan-edit", "/chains/{code}/plans/{year}/edit", "/chains/ICT/plans/{year}/edit", "department"),
    Page("plan-revisions", "/chains/{code}/plans/{year}/revisions", "/chains/ICT/plans/{year}/revisions",
         "department"),
    Page("dispatch", "/chains/{code}/dispatches/{month}", "/chains/ICT/dispatches/{month}", "department"),
    Page("inspection", "/chains/{code}/inspections/{period}", "/chains/ICT/inspections/{quarter}", "department"),
    Page("problems", "/problems", "/problems", "department"),
    Page("problem", "/problems/{problem_id}", "/problems/{problem}", "department"),
    Page("problem-new", "/problems/new", "/problems/new", "department"),
    Page("schedule", "/schedule", "/schedule", "department"),
    Page("imports", "/imports", "/imports", "department"),
    Page("appraisals", "/appraisals", "/appraisals", "admin"),
    Page("appraisal", "/appraisals/{year}", "/appraisals/{year}", "admin"),
    Page("audit", "/audit", "/audit", "auditor"),
    Page("tokens", "/tokens", "/tokens", "admin"),
    Page("calendars", "/calendar", "/calendar", "admin"),
    Page("calendar", "/calendar/{year}", "/calendar/{year}", "admin"),
    # states with errors: the error page, a filter refused, forms sent empty (errors beside the fields)
    Page("not-found", "/projects/{project_id}", "/projects/999999999", "department", status=404),
    Page("ledger-error", "/ledger", "/ledger?period=2026-13", "department", status=422),
    Page("project-new-errors", "/projects/new", "/projects/new", "department", status=422, submit=True),
    Page("problem-new-errors", "/problems/new", "/problems/new", "department", status=422, submit=True),
)

DOWNLOADS: frozenset[str] = frozenset({
    "/ledger/export.csv", "/ledger/export.xlsx", "/audit/export.csv", "/audit/export.ndjson",
    "/imports/template.xlsx", "/imports/template-en.xlsx",
})

PROJECT = "软件和信息服务外包中心项目"  # ICT, signed in the demo


def prepare(server: LiveServer) -> dict[str, str]:
    """A plan, two problems and a run appraisal for this year (through the API, as an admin); the values that
    fill the pages' URLs."""
    today = datetime.now(ZoneInfo("Asia/Shanghai"))
    admin = {"Authorization": f"Bearer {server.token('admin')}"}
    with httpx.Client(base_url=server.url, timeout=60) as api:  # setup, not what is tested: a busy CI host is slow
        problems = add_plan_and_problems(api, admin, year=today.year, today=today.date())
        r = api.post(f"/api/v1/appraisals/{today.year}/run", headers=admin)
        assert r.status_code in (200, 201), r.text
        r = api.get("/api/v1/projects", params={"q": PROJECT, "limit": 5}, headers=admin)
        assert r.status_code == 200, r.text
        (project,) = [p["id"] for p in r.json()["items"] if p["name"] == PROJECT]
    return {"project": str(project), "problem": str(problems["late"]), "year": str(today.year),
            "month": today.strftime("%Y-%m"), "quarter": f"{today.year}-Q{(today.month - 1) // 3 + 1}"}


def url_of(page: Page, ids: dict[str, str], lang: str) -> str:
    url = page.url.format(**ids)
    return url + ("&" if "?" in url else "?") + f"lang={lang}"


def open_page(page, server: LiveServer, spec: Page, ids: dict[str, str], lang: str) -> int:  # noqa: ANN001
    """Show ``spec`` in ``lang`` (submitting its form when it says so); the HTTP status of what is shown."""
    response = page.goto(server.url + url_of(spec, ids, lang))
    if spec.submit:
        form = page.locator("main form[method=post]").first
        form.evaluate("f => { f.noValidate = true; }")
        with page.expect_navigation() as navigation:
            form.locator("button[type=submit]").last.click()
        response = navigation.value
    return response.status


def tokens_for(server: LiveServer) -> dict[str, str]:
    """One token per role the list needs (the department is scoped to ICT, so it writes there)."""
    return {
        "department": server.token("department", ["ICT"], name="市经信局"),
        "admin": server.token("admin", name="市委办公厅"),
        "auditor": server.token("auditor", name="市审计局"),
    }


def sign_in(page, server: LiveServer, token: str) -> None:  # noqa: ANN001
    """Sign in through the form (zh-CN)."""
    page.goto(server.url + "/signin?lang=zh")
    page.get_by_label("访问令牌").fill(token)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(server.url + "/")
