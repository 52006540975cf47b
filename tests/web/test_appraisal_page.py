"""The appraisal page: the ranking with each component's value and weight; admin sets weights, runs, publishes —
through the use cases of /api/v1/appraisals (asserted through the API and the audit log)."""

from __future__ import annotations

import re

from tests.web.conftest import csrf_of

A = "/api/v1/appraisals/2025"


def _post(c, path: str, data: dict | None = None):  # noqa: ANN001, ANN202
    page = c.get("/appraisals/2025")
    return c.post(path, data={"csrf": csrf_of(page.text), **(data or {})})


def _ranked(html: str) -> list[tuple[str, str]]:
    body = html[html.index('<table id="ranking">'):]
    return re.findall(r'<a href="/chains/(\w+)">.*?<strong>([\d.]+)</strong>', body, re.S)


def test_admin_runs_sets_weights_and_publishes(login) -> None:  # noqa: ANN001
    c = login("admin")
    assert c.get("/appraisals/2025").status_code == 200
    assert c.get(A, headers=c.api).status_code == 404
    r = _post(c, "/appraisals/2025/run")
    assert r.status_code == 303 and r.headers["location"] == "/appraisals/2025"
    api = c.get(A, headers=c.api).json()
    page = c.get("/appraisals/2025")
    assert "已计算" in page.text  # the flash
    assert _ranked(page.text) == [(x["chain"], f"{x['score']:.2f}") for x in api["rankings"]]
    # weights: all on dispatch; the ranking is re-scored at once
    weights = {"indicators": "0", "tasks": "0", "dispatch": "1", "problems": "0", "inspection": "0"}
    r = _post(c, "/appraisals/2025/weights", {**weights, "version": str(api["version"])})
    assert r.status_code == 303, r.text
    after = c.get(A, headers=c.api).json()
    assert after["weights"]["dispatch"] == 1 and after["version"] == api["version"] + 1
    assert all(x["score"] == round(100 * x["components"]["dispatch"], 2) for x in after["rankings"])
    events = c.get("/api/v1/audit/events", params={"entity": "appraisal", "entity_id": "2025"}, headers=c.api).json()
    assert [e["action"] for e in events["items"]] == ["appraisal.run", "appraisal.weights_set"]
    r = _post(c, "/appraisals/2025/publish", {"version": str(after["version"])})
    assert r.status_code == 303
    assert c.get(A, headers=c.api).json()["status"] == "published"
    assert 'action="/appraisals/2025/run"' not in c.get("/appraisals/2025").text  # frozen: no more actions


def test_weights_that_do_not_sum_to_one_are_refused_beside_the_form(login) -> None:  # noqa: ANN001
    c = login("admin", lang="en")
    _post(c, "/appraisals/2025/run")
    version = c.get(A, headers=c.api).json()["version"]
    bad = {"indicators": "0.5", "tasks": "0.5", "dispatch": "0.5", "problems": "0", "inspection": "0",
           "version": str(version)}
    r = _post(c, "/appraisals/2025/weights", bad)
    assert r.status_code == 422 and 'role="alert"' in r.text
    assert 'value="0.5"' in r.text  # what was typed is kept
    assert c.get(A, headers=c.api).json()["version"] == version  # nothing written


def test_other_roles_read_the_ranking_and_may_not_act(login) -> None:  # noqa: ANN001
    admin = login("admin")
    _post(admin, "/appraisals/2025/run")
    c = login("department", ["ICT"])
    page = c.get("/appraisals/2025")
    assert page.status_code == 200 and _ranked(page.text)
    assert 'action="/appraisals/2025/run"' not in page.text
    r = _post(c, "/appraisals/2025/run")
    assert r.status_code == 403 and r.headers["content-type"].startswith("text/html")
