"""The web frontend is an application of its own, mounted after the API's routes (service/web/routes.py): its
session middleware wraps the pages only, and the API answers exactly as it would without it."""

from __future__ import annotations

import pytest

from service.web.routes import WebMount
from service.web.session import SESSION_COOKIE, WebSessionMiddleware
from tests.web.conftest import csrf_of


def _middleware(app) -> list[type]:  # noqa: ANN001
    return [m.cls for m in app.user_middleware]


def test_the_session_middleware_wraps_the_pages_only(app) -> None:  # noqa: ANN001
    assert WebSessionMiddleware not in _middleware(app)
    web = [r for r in app.routes if isinstance(r, WebMount)]
    assert len(web) == 1 and app.routes[-1] is web[0]  # after every API route
    assert WebSessionMiddleware in _middleware(web[0].app)
    assert web[0].app.state is app.state  # one database, one clock


def test_pages_get_the_session_and_the_api_never_does(login) -> None:  # noqa: ANN001
    c = login("admin")
    page = c.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    c.cookies.clear()
    signin = c.get("/signin")
    assert SESSION_COOKIE in signin.headers.get("set-cookie", "")
    api = c.get("/api/v1/me", headers=c.api)
    assert api.status_code == 200 and "set-cookie" not in api.headers


def test_the_api_answers_as_if_the_web_were_not_there(client) -> None:  # noqa: ANN001
    unknown = client.get("/api/v1/no-such-thing")
    assert unknown.status_code == 404 and unknown.headers["content-type"] == "application/problem+json"
    assert client.post("/healthz").status_code == 405  # the root's own routes keep their 405
    assert client.delete("/api/v1/projects").status_code == 405
    assert client.get("/static/app.css").status_code == 200
    page = client.get("/no-such-page")
    assert page.status_code == 404 and page.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("lang, message", [("zh", "提交的内容太大：一次最多 1,024 KiB。"),
                                           ("en", "What was sent is too large: at most 1,024 KiB at a time.")])
def test_a_form_over_the_body_limit_is_a_page_in_the_users_language(login, lang, message) -> None:  # noqa: ANN001
    """Declared larger than LEDGER_MAX_BODY_BYTES: an error page (not the API's problem+json), and nothing written."""
    c = login("department", ["AUTO"], lang=lang)
    csrf = csrf_of(c.get("/problems/new").text)
    before = c.get("/api/v1/problems", headers=c.api).json()
    r = c.post("/problems/new", data={"csrf": csrf, "chain": "AUTO", "title": "x" * (1024 * 1024 + 1)})
    assert r.status_code == 413 and r.headers["content-type"].startswith("text/html")
    assert message in r.text
    assert c.get("/api/v1/problems", headers=c.api).json() == before
