"""The benchmark's web-page row (bench/__main__.py, operation ``page``): the service's side runs the page signed in
through the sign-in form; the references, which serve no HTML, run the API list the page wraps."""

from __future__ import annotations

import httpx

from bench.__main__ import _script, web_session


def test_the_page_runs_signed_in_on_the_service_and_the_references_run_the_list_it_wraps(live_server) -> None:  # noqa: ANN001
    paths = {"list": "list.txt", "page": "page.txt"}
    cookie = web_session(live_server.url, live_server.token("department", ["ICT"]))
    assert cookie.startswith("ledger_session=")
    r = httpx.get(live_server.url + "/projects?chain=ICT", headers={"Cookie": cookie}, follow_redirects=False)
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]  # the page itself, not the sign-in
    assert _script("page", "tok", None, paths, None, cookie) == ("paths.lua", ["page.txt", "", cookie], None)
    assert _script("page", "", None, paths, None, "") == ("paths.lua", ["list.txt"], None)
