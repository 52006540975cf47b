"""The audit page (admin, auditor): events with filters, one entity's history, verification and the exports,
through the same use cases as /api/v1/audit/*."""

from __future__ import annotations

import re

import pytest

from tests.api.conftest import execute_sql  # noqa: F401  (fixture of attack)
from tests.api.test_audit_tree import attack  # noqa: F401  (fixture)
from tests.web.conftest import project_id

SIGNED_ICT = "软件和信息服务外包中心项目"


def _seqs(html: str) -> list[int]:
    body = html[html.index('<table id="events">'):]
    return [int(s) for s in re.findall(r"<tr>\s*<td>(\d+)</td>", body)]


@pytest.mark.parametrize("role", ["auditor", "admin"])
def test_the_audit_page_lists_the_events_the_api_lists(login, role) -> None:  # noqa: ANN001
    c = login(role)
    page = c.get("/audit")
    assert page.status_code == 200, page.text
    assert 'href="/audit" aria-current="page"' in page.text  # in the navigation, as the current page
    api = c.get("/api/v1/audit/events", params={"limit": 50}, headers=c.api).json()["items"]
    assert _seqs(page.text) == [e["seq"] for e in api]
    later = c.get("/audit", params={"after": api[-1]["seq"]})
    assert later.status_code == 200 and _seqs(later.text)[0] == api[-1]["seq"] + 1


def test_one_entitys_history_and_the_link_to_its_page(login) -> None:  # noqa: ANN001
    c = login("auditor")
    pid = project_id(c, SIGNED_ICT)
    page = c.get("/audit", params={"entity": "project", "entity_id": pid})
    api = c.get("/api/v1/audit/events", params={"entity": "project", "entity_id": pid}, headers=c.api).json()
    assert _seqs(page.text) == [e["seq"] for e in api["items"]] and api["items"]
    assert f'href="/projects/{pid}"' in page.text
    assert 'value="project"' in page.text and f'value="{pid}"' in page.text  # the filter shows what was asked


@pytest.mark.parametrize(("lang", "says"), [("zh", "校验通过"), ("en", "Verified:")])
def test_verification_shows_the_chains_result(login, lang, says) -> None:  # noqa: ANN001
    c = login("auditor", lang=lang)
    verified = c.get("/api/v1/audit/verify", headers=c.api).json()
    page = c.get("/audit", params={"verify": "1"})
    assert page.status_code == 200
    assert says in page.text and verified["head"] in page.text and f"{verified['events']}" in page.text


def test_the_exports_are_the_apis(login) -> None:  # noqa: ANN001
    c = login("auditor")
    for fmt in ("csv", "ndjson"):
        page = c.get(f"/audit/export.{fmt}")
        assert page.status_code == 200 and "attachment" in page.headers["content-disposition"]
        assert page.content == c.get("/api/v1/audit/export", params={"format": fmt}, headers=c.api).content


@pytest.mark.parametrize("role", ["department", "viewer", "integration"])
def test_other_roles_get_a_403_page_and_no_link(login, role) -> None:  # noqa: ANN001
    c = login(role, ["ICT"] if role == "department" else None)
    assert 'href="/audit"' not in c.get("/").text
    for path in ("/audit", "/audit?verify=1", "/audit/export.csv", "/audit/export.ndjson"):
        r = c.get(path)
        assert r.status_code == 403 and r.headers["content-type"].startswith("text/html"), path


def test_the_signed_heads_newest_first_and_a_truncation_named(login, attack) -> None:  # noqa: ANN001
    c = login("auditor")
    first = c.get("/api/v1/audit/tree-head", headers=c.api).json()
    admin = login("admin")
    r = admin.post("/api/v1/departments", json={"code": "TESTDEPT", "name": "测试部门"}, headers=admin.api)
    assert r.status_code == 201, r.text
    second = c.get("/api/v1/audit/tree-head", headers=c.api).json()
    page = c.get("/audit").text
    heads = page[page.index('<table id="heads">'):]
    assert heads.index(second["root"]) < heads.index(first["root"])  # newest first
    # the tail removed (and its head row with it): the page names the truncation the signed head shows
    attack("DELETE FROM audit_event WHERE seq = :seq", seq=second["size"])
    attack("UPDATE audit_head SET seq = :seq, hash = (SELECT hash FROM audit_event WHERE seq = :seq)",
           seq=second["size"] - 1)
    verdict = c.get("/api/v1/audit/verify", headers=c.api).json()
    assert verdict["reason"] == "truncated"
    page = c.get("/audit", params={"verify": "1"}).text
    assert "尾部被删除" in page and f"第 {verdict['first_bad_seq']} 条" in page
