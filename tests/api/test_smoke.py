def test_health_and_auth(client, admin):
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").status_code == 200
    r = client.get("/api/v1/me")
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/problem+json")
    assert client.get("/api/v1/me", headers=admin).json()["role"] == "admin"


def test_project_lifecycle(client, admin, reference, audit_count):
    body = {"name": "光谷芯片厂", "chain": "OPTICS", "district": "JA", "investor": "某公司",
            "planned_investment": "12500.5", "milestones": {"signed": "2026-01-10"}}
    r = client.post("/api/v1/projects", json=body, headers=admin)
    assert r.status_code == 201, r.text
    p = r.json()
    assert p["planned_investment"] == "12500.50" and p["major"] is True and r.headers["etag"] == '"1"'
    r = client.post(f"/api/v1/projects/{p['id']}/transitions", json={"to": "started", "on": "2026-02-01"}, headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["stage"] == "started"
    r = client.get("/api/v1/audit/verify", headers=admin)
    assert r.json()["ok"] is True, r.text
    assert r.json()["events"] == audit_count()
