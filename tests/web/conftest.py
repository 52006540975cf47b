"""Web frontend fixtures: the demo data, signed-in TestClients, and a live server driven by real Chromium.

Every test gets a fresh copy of one database seeded once per session with ``service.seed.seed_demo`` (the
chains ICT/AUTO/EQUIP/MATERIAL/HEALTH, their departments, Wuhan's districts and forty projects). Browser tests
(marker ``browser``) start the real app under uvicorn in a thread on a free loopback port and drive Debian's
Chromium through Playwright; without /usr/bin/chromium they skip locally and fail in CI (CI=true).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from service.db.engine import transaction
from service.db.tables import ApiToken
from service.db.tokens import TokenRepo, hash_token
from tests.conftest import BACKEND, _pg_admin

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
DOCS_SCREENSHOTS = ROOT / "docs" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-gpu", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
BROWSER_TEST_SECONDS = 60  # a page's test, start to end (a journey marks its own, longer bound)
# One browser action (a navigation, a click, a wait). A page answers in well under a second, but on a CI host busy
# with the other workers' browsers a navigation with its assets once took more than 10 s.
BROWSER_ACTION_MS = 20_000
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives real headless Chromium (skips locally without "
                            "/usr/bin/chromium, fails in CI)")
    config.addinivalue_line("markers", "time_limit(seconds): a browser test's bound instead of "
                            "BROWSER_TEST_SECONDS (a whole journey is longer than one page's test)")


# ---------------------------------------------------------------- the demo database


@pytest.fixture(scope="session")
def seeded_template(databases) -> str:
    """One migrated database with the demo seeded through the use cases (cloned for every test)."""
    from service.seed import seed_demo

    url = databases.fresh_url()
    seed_demo(url)
    return url


@pytest.fixture
def db_url(databases, seeded_template: str) -> Iterator[str]:
    """Overrides the root fixture: a fresh copy of the seeded demo database."""
    if BACKEND == "postgres":
        name = f"cl_test_{uuid.uuid4().hex[:12]}"
        template = make_url(seeded_template).database
        with _pg_admin().connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
        databases.created.append(name)
        url = databases._pg_url(name)
    else:
        source = Path(make_url(seeded_template).database)
        target = source.with_name(f"{uuid.uuid4().hex}.db")
        shutil.copyfile(source, target)
        url = f"sqlite:///{target}"
    yield url
    databases.drop(url)


def create_token(app, role: str, chains: list[str] | None = None, name: str | None = None) -> str:  # noqa: ANN001
    token = f"test_{uuid.uuid4().hex}"
    with transaction(app.state.db.sessions, write=True) as session:
        TokenRepo(session).add(ApiToken(name=name or f"{role}-web", role=role, token_hash=hash_token(token),
                                        chains=json.dumps(chains or []), created_at=datetime.now(UTC)))
    return token


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, "no CSRF token in the page"
    return match[1]


@pytest.fixture
def login(app) -> Callable[..., object]:
    """login(role, chains=None, base_url=…) → a TestClient signed in through the sign-in form (its ``token``
    attribute holds the raw token, ``api`` the bearer headers for the same token)."""
    from fastapi.testclient import TestClient

    clients = []

    def sign_in(role: str, chains: list[str] | None = None, *, base_url: str = "http://testserver",
                lang: str | None = None):  # noqa: ANN202
        token = create_token(app, role, chains)
        client = TestClient(app, base_url=base_url, follow_redirects=False, raise_server_exceptions=False)
        page = client.get("/signin" + (f"?lang={lang}" if lang else ""))
        r = client.post("/signin", data={"csrf": csrf_of(page.text), "token": token, "next": "/"})
        assert r.status_code == 303, r.text
        client.token = token  # type: ignore[attr-defined]
        client.api = {"Authorization": f"Bearer {token}"}  # type: ignore[attr-defined]
        clients.append(client)
        return client

    yield sign_in
    for c in clients:
        c.close()


def project_id(client, name: str) -> str:  # noqa: ANN001
    """The id of the demo project called ``name`` (through the API)."""
    r = client.get("/api/v1/projects", params={"q": name, "limit": 5}, headers=client.api)
    assert r.status_code == 200, r.text
    items = [p for p in r.json()["items"] if p["name"] == name]
    assert len(items) == 1, items
    return items[0]["id"]


# ---------------------------------------------------------------- live server + Chromium


@dataclass
class LiveServer:
    url: str
    app: object

    def token(self, role: str, chains: list[str] | None = None, name: str | None = None) -> str:
        return create_token(self.app, role, chains, name)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def live_server(settings) -> Iterator[LiveServer]:  # noqa: ANN001
    """The real app under uvicorn in a thread, on a free loopback port, on the test's own database."""
    import uvicorn

    from service.main import create_app

    app = create_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=_free_port(), log_config=None,
                                           access_log=False, lifespan="on", timeout_graceful_shutdown=2))
    thread = threading.Thread(target=server.run, name="live-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the live server did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield LiveServer(url=f"http://127.0.0.1:{port}", app=app)
    server.should_exit = True
    thread.join(10)
    app.state.db.engine.dispose()


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (browser tests must run in CI: .ci/run installs Chromium)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium():  # noqa: ANN201
    if not os.path.exists(CHROMIUM):
        _unavailable(f"{CHROMIUM} is missing (apt-get install chromium fonts-noto-cjk)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install -e '.[test]')")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def time_limit(request: pytest.FixtureRequest) -> Iterator[None]:
    """Each browser test is bounded: it fails after BROWSER_TEST_SECONDS (or its ``time_limit`` marker's seconds)
    instead of hanging."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    marker = request.node.get_closest_marker("time_limit")
    seconds = marker.args[0] if marker else BROWSER_TEST_SECONDS

    def expired(_signum, _frame):  # noqa: ANN001, ANN202
        pytest.fail(f"browser test took longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture
def browser_page(chromium, time_limit):  # noqa: ANN001, ANN201
    """A fresh browser context (no cookies) at 1280 × 900, zh-CN, downloads allowed; BROWSER_ACTION_MS per action."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN", accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(BROWSER_ACTION_MS)
    errors: list[str] = []  # console errors and uncaught exceptions (CSP violations show up here too)
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.console_errors = errors
    yield page
    context.close()


def screenshot(page, name: str, *, docs: bool = False) -> Path:  # noqa: ANN001
    """Save a full-page screenshot under test-artifacts/screenshots/ (gitignored). With ``docs`` and
    LEDGER_DOCS_SCREENSHOTS=1, also refresh the committed copy under docs/screenshots/ (shown in the README)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    if docs and os.environ.get("LEDGER_DOCS_SCREENSHOTS") == "1":
        DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(DOCS_SCREENSHOTS / f"{name}.png"), full_page=True)
    return path


def browser_sign_in(page, server: LiveServer, token: str) -> None:  # noqa: ANN001
    page.goto(server.url + "/")
    assert page.url.startswith(server.url + "/signin")
    page.get_by_label("访问令牌").fill(token)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(server.url + "/")


# ---------------------------------------------------------------- more demo: a plan, problems (through the API)


def add_plan_and_problems(api, headers: dict[str, str], *, year: int, today) -> dict[str, str]:  # noqa: ANN001
    """Give chain ICT an approved plan for ``year`` (four indicators, two tasks, a manual actual) and two open
    problems, one overdue — through the API, as an admin. ``api`` is a TestClient or an httpx.Client whose
    base URL is the site root."""
    from datetime import timedelta

    plan = {
        "goals": "打造具有全球影响力的光芯屏端网产业集群",
        "tasks": [
            {"key": "fab", "title": "推动12英寸晶圆项目满产", "owner_unit": "东湖新技术开发区", "due_on": f"{year}-06-30"},
            {"key": "park", "title": "建成光电子信息产业园二期", "owner_unit": "市经信局", "due_on": f"{year}-12-31"},
        ],
        "indicators": [
            {"key": "signed", "name": "新签约项目", "unit": "个", "target": "8", "source": "ledger.signed.count",
             "benchmark": {"city": "深圳", "value": "12"}},
            {"key": "started_inv", "name": "新开工项目投资", "unit": "万元", "target": "400000",
             "source": "ledger.started.investment"},
            {"key": "patents", "name": "新增发明专利", "unit": "件", "target": "120", "source": "manual"},
            {"key": "dispatched", "name": "月调度完成投资", "unit": "万元", "target": "50000",
             "source": "dispatch.invested"},
        ],
    }
    r = api.put(f"/api/v1/chains/ICT/plans/{year}", json=plan, headers=headers)
    assert r.status_code == 201, r.text
    r = api.post(f"/api/v1/chains/ICT/plans/{year}/approve", headers=headers)
    assert r.status_code == 200, r.text
    r = api.post(f"/api/v1/chains/ICT/plans/{year}/indicators/patents/actuals", json={"period": f"{year}-01",
                 "value": "86"}, headers=headers)
    assert r.status_code == 201, r.text
    ids = {}
    for key, title, owner, due in (
        ("late", "项目用电报装审批周期长", "国网武汉供电公司", today - timedelta(days=10)),
        ("open", "高端人才公寓配套不足", "东湖新技术开发区管委会", today + timedelta(days=20)),
    ):
        r = api.post("/api/v1/problems", json={"chain": "ICT", "title": title, "detail": title, "owner_unit": owner,
                                              "due_on": due.isoformat()}, headers=headers)
        assert r.status_code == 201, r.text
        ids[key] = r.json()["id"]
    return ids
