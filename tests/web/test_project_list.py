"""The project list (/projects): the filters and the text search give what GET /api/v1/projects gives, paged with
the API's cursors; links to the exports and to registering a project."""

from __future__ import annotations

import re

import pytest

ROWS = re.compile(r'<tr>\s*<td><a href="/projects/([0-9A-Z]+)">')


def _api_ids(c, **params) -> list[str]:  # noqa: ANN001
    ids, cursor = [], None
    while True:
        r = c.get("/api/v1/projects", params={**params, "limit": 50, **({"cursor": cursor} if cursor else {})},
                  headers=c.api)
        assert r.status_code == 200, r.text
        ids += [p["id"] for p in r.json()["items"]]
        cursor = r.json()["next_cursor"]
        if not cursor:
            return ids


def _web_ids(c, url: str) -> list[str]:  # noqa: ANN001
    ids = []
    while url:
        page = c.get(url)
        assert page.status_code == 200, page.text[:500]
        ids += ROWS.findall(page.text)
        found = re.search(r'<a href="([^"]+)" id="next-page"', page.text)
        url = found[1].replace("&amp;", "&") if found else None
    return ids


@pytest.mark.parametrize("query", [
    {}, {"chain": "ICT"}, {"stage": "signed"}, {"key": "true"}, {"major": "false", "chain": "AUTO"},
    {"q": "芯片"}, {"district": "DHGX"},
])
def test_the_list_is_the_apis_list(login, query) -> None:  # noqa: ANN001
    c = login("viewer")
    from urllib.parse import urlencode

    assert _web_ids(c, "/projects?" + urlencode(query)) == _api_ids(c, **query)


def test_the_list_pages_with_the_apis_cursor(login, monkeypatch) -> None:  # noqa: ANN001
    from service.web.pages import project_list

    monkeypatch.setattr(project_list, "PAGE_SIZE", 7)
    c = login("viewer")
    first = c.get("/projects?chain=ICT")
    assert len(ROWS.findall(first.text)) == 7 and 'id="first-page"' not in first.text
    nxt = re.search(r'<a href="([^"]+)" id="next-page"', first.text)[1].replace("&amp;", "&")
    assert nxt.startswith("/projects?chain=ICT&cursor=")
    second = c.get(nxt)
    assert 'id="first-page"' in second.text
    assert set(ROWS.findall(first.text)).isdisjoint(ROWS.findall(second.text))
    assert _web_ids(c, "/projects?chain=ICT") == _api_ids(c, chain="ICT")
    assert c.get("/projects?cursor=not-a-cursor").status_code == 422
    r = c.get("/projects?stage=nope")
    assert r.status_code == 422 and "没有“nope”这一阶段" in r.text


def test_the_list_has_export_links_and_shows_what_was_searched(login) -> None:  # noqa: ANN001
    c = login("department", ["ICT"])
    page = c.get("/projects?chain=ICT&key=true&q=%E9%A1%B9%E7%9B%AE&stage=started")
    assert page.status_code == 200
    assert re.search(r'href="/ledger/export.csv\?period=\d{4}&amp;chain=ICT&amp;key=true"', page.text)
    assert 'id="q" name="q" value="项目"' in page.text and '<option value="started" selected>' in page.text
    assert 'href="/projects/new?chain=ICT"' in page.text
    assert "/projects/new" not in login("viewer").get("/projects").text
    en = c.get("/projects?lang=en")
    assert '<html lang="en">' in en.text and "Name or investor" in en.text and "项目查询" not in en.text
    assert c.get("/projects?lang=zh").text.count("项目查询") >= 1


@pytest.mark.parametrize(("lang", "key", "major"), [("zh", "重点", "亿元以上"), ("en", "Key", "Major")])
def test_each_row_has_the_badges_of_its_project(login, lang, key, major) -> None:  # noqa: ANN001
    """重点 on a key project, 亿元以上 on one of at least 10,000 万元 (the API's ``is_key``, ``is_major``), in the
    page's language; the demo has key and major, major only, and neither."""
    from decimal import Decimal

    from service.domain.stages import is_major

    c = login("viewer", lang=lang)
    api = {p["id"]: p for p in c.get("/api/v1/projects", params={"limit": 200}, headers=c.api).json()["items"]}
    page = c.get("/projects").text
    rows = re.findall(r'<tr>\s*<td><a href="/projects/([0-9A-Z]+)">[^<]*</a>(.*?)</td>', page, re.S)
    assert len(rows) == min(50, len(api)) > 0
    kinds = set()
    for pid, badges in rows:
        expected = (api[pid]["is_key"], is_major(Decimal(api[pid]["planned_investment"])))
        kinds.add(expected)
        shown = (f'<span class="badge key">{key}</span>' in badges, f'<span class="badge major">{major}</span>' in badges)
        assert shown == expected, (pid, badges)
    assert kinds >= {(True, True), (False, True), (False, False)}
