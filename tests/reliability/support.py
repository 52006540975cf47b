"""Helpers of the reliability suite (issue 8): reference data, project bodies, the audit log read over HTTP."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

API = "/api/v1"
P = f"{API}/projects"
PROBLEM_JSON = "application/problem+json"
ZERO_HASH = "0" * 64


def today_shanghai() -> date:
    """The service's "today" (default zone Asia/Shanghai)."""
    return datetime.now(ZoneInfo("Asia/Shanghai")).date()


def signed_on() -> str:
    """A signing date safely in the past (transitions on the same date are valid: not before, not future)."""
    return (today_shanghai() - timedelta(days=60)).isoformat()


def project_body(name: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": name, "chain": "OPTICS", "district": "JA", "investor": "某半导体公司",
        "planned_investment": "12500", "milestones": {"signed": signed_on()},
    }
    body.update(overrides)
    return body


def seed_reference(http, headers: dict[str, str]) -> None:  # noqa: ANN001 - httpx.Client or TestClient
    """The departments, a district and the two chains the bodies above name, created through the API."""
    for path, body in [
        ("departments", {"code": "JXJ", "name": "市经信局"}),
        ("departments", {"code": "FGW", "name": "市发改委"}),
        ("districts", {"code": "JA", "name": "江岸区", "kind": "district"}),
        ("chains", {"code": "OPTICS", "name": "光芯屏端网", "leader": "链长", "lead_department": "JXJ"}),
        ("chains", {"code": "AUTO", "name": "汽车制造", "leader": "链长", "lead_department": "FGW"}),
    ]:
        r = http.post(f"{API}/{path}", json=body, headers=headers)
        assert r.status_code == 201, r.text


def all_pages(http, headers: dict[str, str], path: str, **params: Any) -> list[dict[str, Any]]:  # noqa: ANN001
    """Every item of a cursor-paginated list at ``path`` (under the API base), read across pages."""
    out: list[dict[str, Any]] = []
    query: dict[str, Any] = {"limit": 500, **params}
    while True:
        r = http.get(f"{API}/{path}", params=query, headers=headers)
        assert r.status_code == 200, r.text
        page = r.json()
        out.extend(page["items"])
        if not page["next_cursor"]:
            return out
        query["cursor"] = page["next_cursor"]


def audit_events(http, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:  # noqa: ANN001
    """Every audit event matching ``params``, in seq order, read through the API across pages."""
    return all_pages(http, headers, "audit/events", **params)


def verify(http, headers: dict[str, str]) -> dict[str, Any]:  # noqa: ANN001
    r = http.get(f"{API}/audit/verify", headers=headers)
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["ok"] is True, result
    return result


def assert_one_chain(events: list[dict[str, Any]]) -> None:
    """seq is 1..n without gaps and each event's prev_hash is its predecessor's hash: one unforked chain."""
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1)), "seq has gaps or repeats"
    previous = ZERO_HASH
    for e in events:
        assert e["prev_hash"] == previous, f"the chain forks or breaks at seq {e['seq']}"
        previous = e["hash"]
    assert len({e["hash"] for e in events}) == len(events), "two events share a hash"


def assert_problem(r, *statuses: int) -> dict[str, Any]:  # noqa: ANN001
    """An RFC 9457 problem+json answer with one of ``statuses`` and no stack trace."""
    assert r.status_code in statuses, (r.status_code, r.text[:500])
    assert r.headers["content-type"].startswith(PROBLEM_JSON), r.headers.get("content-type")
    body = r.json()
    for member in ("type", "title", "status", "detail"):
        assert member in body, body
    assert body["status"] == r.status_code
    assert "Traceback" not in r.text
    return body
