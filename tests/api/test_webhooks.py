"""Webhooks (SPEC §7): subscriptions, the transactional outbox, signed delivery to a real receiver, retries with
backoff, dead deliveries, per-entity order, redelivery, and two workers that never send the same row twice."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from datetime import datetime

import pytest
from sqlalchemy import text

from service.config import Settings
from service.db.engine import make_engine, make_sessionmaker
from service.db.webhooks import Outbox
from service.worker import DeliveryWorker
from tests.api.conftest import (
    API,
    IS_POSTGRES,
    P,
    assert_problem,
    assert_validation,
    project_body,
)
from tests.support.live_server import wait_for
from tests.support.receiver import Receiver

W = f"{API}/webhooks"
#: Tiny timings so retries, timeouts and dead deliveries happen within a second or two.
FAST = {
    "webhook_retry_base_seconds": 0.05, "webhook_retry_max_seconds": 0.4, "webhook_timeout_seconds": 0.5,
    "webhook_poll_seconds": 0.02, "webhook_max_attempts": 10,
}


@pytest.fixture
def worker_options() -> dict:
    """Settings a test can override (e.g. webhook_max_attempts) before the app starts."""
    return {}


@pytest.fixture
def settings(request, db_url: str, worker_options: dict) -> Settings:
    """The app under test runs its delivery worker only when the test asks for the ``worker_on`` fixture."""
    on = "worker_on" in request.fixturenames
    return Settings(database_url=db_url, idempotency_lease_seconds=60, webhook_worker=on, **{**FAST, **worker_options})


@pytest.fixture
def worker_on() -> bool:
    return True


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(slow_seconds=1.0).start()
    yield r
    r.stop()


@pytest.fixture
def subscribe(client, admin) -> Callable[..., dict]:
    def make(url: str, events: list[str] | None = None, headers: dict | None = None,
             receiver: Receiver | None = None) -> dict:
        r = client.post(W, json={"url": url, "events": events or ["*"]}, headers=headers or admin)
        assert r.status_code == 201, r.text
        if receiver is not None:
            receiver.secret = r.json()["secret"]
        return r.json()

    return make


def deliveries(client, headers, webhook_id: str) -> list[dict]:
    r = client.get(f"{W}/{webhook_id}/deliveries", params={"limit": 500}, headers=headers)
    assert r.status_code == 200, r.text
    return sorted(r.json()["items"], key=lambda d: d["id"])


def all_settled(client, headers, webhook_id: str, count: int, status: str = "delivered"):
    items = deliveries(client, headers, webhook_id)
    return items if len(items) == count and all(d["status"] == status for d in items) else None


def outbox_count(execute_sql) -> int:
    return execute_sql("SELECT count(*) FROM webhook_delivery")[0][0]


# ---------------------------------------------------------------- subscriptions


def test_create_shows_the_secret_once(client, admin, reference, audit_count, events, execute_sql):
    before = audit_count()
    r = client.post(W, json={"url": "https://receiver.example.cn/hook", "events": ["project.created",
                                                                                   "project.transitioned"]},
                    headers=admin)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["secret"].startswith("whsec_") and len(base64.b64decode(body["secret"][6:])) == 32
    assert body["events"] == ["project.created", "project.transitioned"] and r.headers["etag"] == '"1"'
    assert body["created_by_role"] == "admin"  # decides what its events show (tests/security)
    assert audit_count() == before + 1
    event = events(action="webhook.created")[-1]
    assert event["entity_id"] == body["id"] and body["secret"] not in json.dumps(event)
    one = client.get(f"{W}/{body['id']}", headers=admin).json()
    listed = client.get(W, headers=admin).json()["items"]
    assert "secret" not in one and [w["id"] for w in listed] == [body["id"]] and "secret" not in listed[0]
    assert execute_sql("SELECT secret FROM webhook_subscription")[0][0] == body["secret"]


@pytest.mark.parametrize("role", ["admin", "integration"])
def test_admin_and_integration_manage_webhooks(client, make_token, reference, role):
    headers = make_token(role)
    created = client.post(W, json={"url": "http://10.1.2.3:9000/h", "events": ["project.*"]}, headers=headers)
    assert created.status_code == 201, created.text
    assert created.json()["created_by_role"] == role
    assert client.get(W, headers=headers).status_code == 200
    assert client.delete(f"{W}/{created.json()['id']}", headers=headers).status_code == 204


@pytest.mark.parametrize("role", ["department", "auditor", "viewer"])
def test_other_roles_may_not_touch_webhooks(client, make_token, admin, reference, unchanged, role):
    headers = make_token(role, chains=["OPTICS"] if role == "department" else None)
    hook = client.post(W, json={"url": "http://10.1.2.3:9000/h", "events": ["*"]}, headers=admin).json()
    with unchanged():
        assert_problem(client.post(W, json={"url": "http://10.1.2.3:9000/h", "events": ["*"]}, headers=headers), 403)
        assert_problem(client.get(W, headers=headers), 403)
        assert_problem(client.get(f"{W}/{hook['id']}/deliveries", headers=headers), 403)
        assert_problem(client.delete(f"{W}/{hook['id']}", headers=headers), 403)


@pytest.mark.parametrize(("url", "fragment"), [
    ("ftp://receiver.example.cn/h", "http or https"),
    ("receiver.example.cn/h", "http or https"),
    ("http:///no-host", "no host"),
    ("http://user:pw@receiver.example.cn/h", "Credentials"),
    ("http://receiver.example.cn:99999/h", "Not a valid URL"),
    ("http://testserver/hook", "itself"),  # the Host this request reached
    ("http://TestServer:80/hook", "itself"),
    ("http://127.0.0.1:80/hook", "itself"),  # this machine, on the port the service listens on
    ("http://0x7f.1:80/hook", "itself"),  # the same, in another spelling
    ("http://169.254.169.254/latest/meta-data/", "link-local"),  # more in tests/security
    ("http://metadata.google.internal/", "metadata"),
])
def test_bad_destinations_are_422(client, admin, reference, unchanged, url, fragment):
    with unchanged():
        body = assert_validation(client.post(W, json={"url": url, "events": ["*"]}, headers=admin), "body", "url")
    assert fragment in body["errors"][0]["msg"], body


@pytest.fixture
def public_url_options(worker_options):
    worker_options["public_url"] = "https://ledger.example.cn"


def test_the_public_url_is_the_service_itself(public_url_options, client, admin, reference, unchanged):
    for url in ("https://ledger.example.cn/hooks", "https://LEDGER.example.cn:443/x"):
        with unchanged():
            assert_validation(client.post(W, json={"url": url, "events": ["*"]}, headers=admin), "body", "url")
    assert client.post(W, json={"url": "https://ledger.example.cn:8443/x", "events": ["*"]},
                       headers=admin).status_code == 201  # another port: another service


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/h", "http://localhost:8080/h", "http://192.168.1.20/h",
                                 "http://[::1]:9000/h", "https://receiver.example.cn/h"])
def test_private_and_loopback_receivers_are_allowed(client, admin, reference, url):
    assert client.post(W, json={"url": url, "events": ["*"]}, headers=admin).status_code == 201


@pytest.fixture
def allowed_hosts_options(worker_options):
    worker_options["webhook_allowed_hosts"] = "receiver.example.cn, *.gov.example"


def test_allowed_hosts_restrict_destinations(allowed_hosts_options, client, admin, reference, unchanged):
    for url in ("https://receiver.example.cn/h", "https://a.gov.example/h", "https://b.a.gov.example/h"):
        assert client.post(W, json={"url": url, "events": ["*"]}, headers=admin).status_code == 201, url
    for url in ("https://other.example.cn/h", "https://gov.example/h", "http://127.0.0.1:9000/h"):
        with unchanged():
            body = assert_validation(client.post(W, json={"url": url, "events": ["*"]}, headers=admin), "body", "url")
        assert "LEDGER_WEBHOOK_ALLOWED_HOSTS" in body["errors"][0]["msg"]


@pytest.mark.parametrize("events", [[], ["project.create"], ["nope.*"], ["PROJECT.CREATED"], ["*", "x"]])
def test_unknown_events_are_422(client, admin, reference, unchanged, events):
    with unchanged():
        assert_validation(client.post(W, json={"url": "http://10.0.0.1/h", "events": events}, headers=admin),
                          "body", "events")


def test_unknown_webhook_is_404(client, admin, reference):
    assert_problem(client.get(f"{W}/NOPE", headers=admin), 404)
    assert_problem(client.get(f"{W}/NOPE/deliveries", headers=admin), 404)
    assert_problem(client.post(f"{W}/NOPE/deliveries/1/redeliver", headers=admin), 404)


# ---------------------------------------------------------------- the outbox (no worker)


def test_events_go_to_the_outbox_in_the_writing_transaction(client, admin, reference, subscribe, new_project, move,
                                                             execute_sql, unchanged):
    projects = subscribe("http://10.0.0.1/projects", ["project.*"])
    created = subscribe("http://10.0.0.2/created", ["project.created"])
    before = outbox_count(execute_sql)
    p = new_project()
    assert outbox_count(execute_sql) == before + 2  # one row per matching subscription
    assert move(p["id"], "started", "2026-02-01").status_code == 200
    assert outbox_count(execute_sql) == before + 3
    with unchanged():  # a refused write writes no outbox row either
        assert client.post(P, json=project_body(chain="NOPE"), headers=admin).status_code == 422
        assert move(p["id"], "at_capacity", "2026-03-01").status_code == 409
    assert outbox_count(execute_sql) == before + 3
    items = deliveries(client, admin, projects["id"])
    assert [(d["event_type"], d["entity_id"], d["status"], d["attempt_count"]) for d in items] == [
        ("project.created", p["id"], "pending", 0), ("project.transitioned", p["id"], "pending", 0)]
    assert items[0]["payload"]["type"] == "project.created"
    assert items[0]["payload"]["data"]["after"]["name"] == p["name"]
    audit_seq = execute_sql("SELECT max(seq) FROM audit_event WHERE action = 'project.transitioned'")[0][0]
    assert items[1]["event_seq"] == audit_seq and items[1]["message_id"] == f"msg_{audit_seq}"
    assert [d["event_type"] for d in deliveries(client, admin, created["id"])] == ["project.created"]


def test_deleting_a_webhook_cancels_its_pending_deliveries(client, admin, reference, subscribe, new_project,
                                                           audit_count, execute_sql):
    hook = subscribe("http://10.0.0.1/h", ["project.created"])
    new_project()
    before = audit_count()
    assert client.delete(f"{W}/{hook['id']}", headers=admin).status_code == 204
    assert audit_count() == before + 1
    assert_problem(client.get(f"{W}/{hook['id']}", headers=admin), 404)
    assert_problem(client.delete(f"{W}/{hook['id']}", headers=admin), 404)
    assert execute_sql("SELECT status FROM webhook_delivery") == [("cancelled",)]
    new_project(name="另一个")
    assert execute_sql("SELECT count(*) FROM webhook_delivery")[0][0] == 1


def test_an_import_is_delivered_like_the_same_requests(client, admin, reference, subscribe, execute_sql):
    hook = subscribe("http://10.0.0.1/h", ["project.created", "import.applied"])
    content = ("name,chain,district,investor,planned_investment,signed_on\n"
               "芯片厂,OPTICS,JA,某公司,1,2026-01-10\n芯片厂2,OPTICS,JA,某公司,2,2026-01-11\n").encode()
    assert client.post(f"{P}/import", params={"dry_run": "true"}, files={"file": ("p.csv", content, "text/csv")},
                       headers=admin).status_code == 200
    assert deliveries(client, admin, hook["id"]) == []  # a dry run writes no outbox row
    assert client.post(f"{P}/import", files={"file": ("p.csv", content, "text/csv")}, headers=admin).status_code == 200
    assert [d["event_type"] for d in deliveries(client, admin, hook["id"])] == [
        "project.created", "project.created", "import.applied"]


# ---------------------------------------------------------------- delivery (the worker in the app)


def test_events_are_delivered_signed(worker_on, client, admin, reference, receiver, subscribe, new_project, move):
    hook = subscribe(receiver.url, ["project.created", "project.transitioned"], receiver=receiver)
    p = new_project()
    assert move(p["id"], "started", "2026-02-01").status_code == 200
    items = wait_for(lambda: all_settled(client, admin, hook["id"], 2), what="two deliveries")
    got = receiver.delivered()
    assert [(g.type, g.entity_id, g.valid) for g in got] == [("project.created", p["id"], True),
                                                              ("project.transitioned", p["id"], True)]
    assert [g.webhook_id for g in got] == [d["message_id"] for d in items]
    assert got[1].payload["data"]["after"]["stage"] == "started" and got[1].payload["data"]["before"]["stage"] == "signed"
    for d in items:
        assert [(a["number"], a["outcome"], a["status_code"]) for a in d["attempts"]] == [(1, "delivered", 200)]
        assert d["delivered_at"] and d["next_attempt_at"] is None


def test_retries_after_failures_then_delivers(worker_on, client, admin, reference, receiver, subscribe, new_project):
    hook = subscribe(receiver.url, ["project.created"], receiver=receiver)
    receiver.plan.extend(["500", "timeout", "reset"])
    new_project()
    [item] = wait_for(lambda: all_settled(client, admin, hook["id"], 1), what="the delivery")
    attempts = item["attempts"]
    assert [a["outcome"] for a in attempts] == ["failed", "failed", "failed", "delivered"]
    assert [a["status_code"] for a in attempts] == [500, None, None, 200]
    assert attempts[0]["error"] == "HTTP 500" and attempts[1]["error"].startswith("timeout")
    assert attempts[2]["error"] and attempts[3]["error"] is None
    assert [r.mode for r in receiver.log()] == ["500", "timeout", "reset", "ok"]
    assert all(r.valid for r in receiver.log() if r.mode != "reset")
    assert len({r.webhook_id for r in receiver.log()}) == 1  # the same message id on every attempt
    # Exponential backoff: each wait at least half of base·2^(n-1).
    starts = [datetime.fromisoformat(a["started_at"]).timestamp() for a in attempts]
    assert starts[1] - starts[0] >= 0.025 and starts[3] - starts[2] >= 0.1


@pytest.fixture
def three_attempts(worker_options):
    worker_options["webhook_max_attempts"] = 3


def test_dead_after_the_last_attempt_then_redelivered(three_attempts, worker_on, client, admin, reference, receiver,
                                                      subscribe, new_project, audit_count, events):
    hook = subscribe(receiver.url, ["project.created"], receiver=receiver)
    receiver.default = "500"
    new_project()
    [item] = wait_for(lambda: all_settled(client, admin, hook["id"], 1, status="dead"), what="a dead delivery")
    assert [a["status_code"] for a in item["attempts"]] == [500, 500, 500]
    assert item["attempt_count"] == 3 and item["next_attempt_at"] is None
    time.sleep(0.3)
    assert len(receiver.log()) == 3  # nothing after the last attempt
    receiver.default = "ok"
    before = audit_count()
    r = client.post(f"{W}/{hook['id']}/deliveries/{item['id']}/redeliver", headers=admin)
    assert r.status_code == 200, r.text
    assert audit_count() == before + 1
    assert events(action="webhook.redelivered")[-1]["data"]["delivery_id"] == item["id"]
    [item] = wait_for(lambda: all_settled(client, admin, hook["id"], 1), what="the redelivery")
    assert [(a["number"], a["outcome"]) for a in item["attempts"]] == [
        (1, "failed"), (2, "failed"), (3, "failed"), (4, "delivered")]
    assert item["attempt_count"] == 1
    assert_problem(client.post(f"{W}/{hook['id']}/deliveries/999999/redeliver", headers=admin), 404)


@pytest.fixture
def patient(worker_options):
    """Enough attempts that a head held back on purpose (or a receiver down for a while) does not die."""
    worker_options["webhook_max_attempts"] = 40


def test_events_of_one_entity_stay_in_order(patient, worker_on, client, admin, reference, receiver, subscribe,
                                            new_project, move):
    """Project A's first event fails until every event of B is delivered: A's later events wait for it, B's
    events do not wait for A."""
    hook = subscribe(receiver.url, ["project.*"], receiver=receiver)
    ids: dict[str, str] = {}

    def rule(payload: dict) -> str | None:
        if payload["type"] == "project.created" and payload["data"]["after"]["name"] == "A":
            b_done = sum(1 for r in receiver.delivered() if r.entity_id == ids.get("B"))
            if b_done < 3:
                return "500"
        return None

    receiver.rule = rule
    a = new_project(name="A")
    ids["B"] = new_project(name="B")["id"]
    for pid in (a["id"], ids["B"]):
        assert move(pid, "started", "2026-02-01").status_code == 200
        assert move(pid, "in_production", "2026-03-01").status_code == 200
    wait_for(lambda: all_settled(client, admin, hook["id"], 6), what="six deliveries")
    log = receiver.log()
    for pid in (a["id"], ids["B"]):
        delivered = [r.seq for r in log if r.entity_id == pid and r.delivered]
        assert delivered == sorted(delivered) and len(delivered) == 3
        # Nothing later of this entity was even tried before an earlier one was delivered.
        tried = [r.seq for r in log if r.entity_id == pid]
        assert tried == sorted(tried)
    a_done = next(r.at for r in log if r.entity_id == a["id"] and r.delivered)
    assert max(r.at for r in log if r.entity_id == ids["B"] and r.delivered) < a_done
    assert sum(1 for r in log if r.entity_id == a["id"] and r.mode == "500") >= 1


def test_a_receiver_down_for_a_while_gets_everything_in_order(patient, worker_on, client, admin, reference, receiver,
                                                              subscribe, new_project, move, capsys):
    hook = subscribe(receiver.url, ["project.*"], receiver=receiver)
    receiver.stop()
    a = new_project(name="甲")
    b = new_project(name="乙")
    assert move(a["id"], "started", "2026-02-01").status_code == 200
    assert move(b["id"], "started", "2026-02-02").status_code == 200
    assert move(a["id"], "in_production", "2026-03-01").status_code == 200
    wait_for(lambda: sum(d["attempt_count"] for d in deliveries(client, admin, hook["id"])) >= 6,
             what="failed attempts while the receiver is down")
    time.sleep(0.5)
    down = deliveries(client, admin, hook["id"])
    assert all(d["status"] == "pending" for d in down)
    assert all(a_["status_code"] is None for d in down for a_ in d["attempts"])
    receiver.start()
    items = wait_for(lambda: all_settled(client, admin, hook["id"], 5), what="delivery after the receiver is back")
    got = receiver.delivered()
    assert Counter(g.webhook_id for g in got) == Counter(d["message_id"] for d in items)  # each once
    for pid in (a["id"], b["id"]):
        seqs = [g.seq for g in got if g.entity_id == pid]
        assert seqs == sorted(seqs)
    assert all(g.valid for g in got)
    with capsys.disabled():
        print("\n--- delivery log: receiver down, then up ---")
        names = {a["id"]: "甲", b["id"]: "乙"}
        for d in items:
            tries = ", ".join(f"#{x['number']} {x['outcome']}"
                              f"{'' if x['status_code'] is None else ' ' + str(x['status_code'])}"
                              f"{' (' + x['error'].split(':')[0] + ')' if x['error'] else ''}" for x in d["attempts"])
            print(f"{d['message_id']:>8} {d['event_type']:<22} {names[d['entity_id']]}  {d['status']:<9} {tries}")
        print("receiver got, in order:", [f"{names[g.entity_id]}:{g.type.split('.')[1]}" for g in got])


# ---------------------------------------------------------------- several workers


def _pump(workers: list[DeliveryWorker], stop: threading.Event) -> list[threading.Thread]:
    def loop(w: DeliveryWorker) -> None:
        while not stop.is_set():
            if not w.run_once():
                time.sleep(0.01)

    threads = [threading.Thread(target=loop, args=(w,), daemon=True) for w in workers]
    for t in threads:
        t.start()
    return threads


def test_two_workers_never_send_a_row_twice(client, admin, reference, subscribe, new_project, move, db_url,
                                            execute_sql):
    receiver = Receiver(latency=0.02).start()
    try:
        hook = subscribe(receiver.url, ["project.*"], receiver=receiver)
        ids = [new_project(name=f"P{i}")["id"] for i in range(8)]
        for pid in ids:
            assert move(pid, "started", "2026-02-01").status_code == 200
            assert move(pid, "in_production", "2026-03-01").status_code == 200
        total = 24
        settings = Settings(database_url=db_url, **{**FAST, "webhook_batch_size": 3, "webhook_concurrency": 3})
        engines = [make_engine(db_url), make_engine(db_url)]  # two "processes": separate pools
        workers = [DeliveryWorker(make_sessionmaker(e), settings, name=f"worker-{i}") for i, e in enumerate(engines)]
        stop = threading.Event()
        threads = _pump(workers, stop)
        try:
            wait_for(lambda: all_settled(client, admin, hook["id"], total), timeout=15, what="every delivery")
        finally:
            stop.set()
            for t in threads:
                t.join(5)
            for w in workers:
                w.close()
            for e in engines:
                e.dispose()
        got = receiver.log()
        assert len(got) == total and all(r.delivered for r in got)
        assert max(Counter(r.webhook_id for r in got).values()) == 1
        rows = execute_sql("SELECT worker, count(*) FROM webhook_attempt GROUP BY worker")
        assert sum(n for _, n in rows) == total
        assert {w for w, _ in rows} == {"worker-0", "worker-1"}, rows  # both took part
        by_entity = defaultdict(list)
        for r in got:
            by_entity[r.entity_id].append(r.seq)
        assert all(seqs == sorted(seqs) for seqs in by_entity.values())
    finally:
        receiver.stop()


@pytest.mark.skipif(not IS_POSTGRES, reason="FOR UPDATE SKIP LOCKED is PostgreSQL's; SQLite's write lock serialises")
def test_claims_skip_rows_another_worker_holds(client, admin, reference, subscribe, new_project, sessions):
    from datetime import UTC, datetime, timedelta

    subscribe("http://10.0.0.1/h", ["project.created"])
    for i in range(4):
        new_project(name=f"P{i}")
    now = datetime.now(UTC)
    first = sessions()
    second = sessions()
    try:
        first.connection()
        held = Outbox(first).claim(now=now, worker="A", lease_until=now + timedelta(minutes=1), limit=2)
        second.execute(text("SET LOCAL lock_timeout = '2s'"))  # a blocked claim fails fast instead of hanging
        other = Outbox(second).claim(now=now, worker="B", lease_until=now + timedelta(minutes=1), limit=10)
        assert len(held) == 2 and len(other) == 2
        assert not {c.id for c in held} & {c.id for c in other}
    finally:
        first.rollback()
        second.rollback()
        first.close()
        second.close()


def test_the_worker_command_delivers_what_is_due(client, admin, reference, receiver, subscribe, new_project,
                                                 monkeypatch, db_url):
    from typer.testing import CliRunner

    from service.cli import app as cli
    from service.config import get_settings

    hook = subscribe(receiver.url, ["project.created"], receiver=receiver)
    new_project()
    monkeypatch.setenv("LEDGER_DATABASE_URL", db_url)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["worker", "--once"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert [d["status"] for d in deliveries(client, admin, hook["id"])] == ["delivered"]
    assert len(receiver.delivered()) == 1


def test_serve_runs_the_worker_unless_told_not_to(monkeypatch):
    import uvicorn
    from typer.testing import CliRunner

    from service import cli as cli_module
    from service.config import get_settings

    seen = {}
    monkeypatch.setattr(cli_module, "_migrate", lambda: None)
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: seen.update(worker=get_settings().webhook_worker, **k))
    monkeypatch.delenv("LEDGER_WEBHOOK_WORKER", raising=False)
    try:
        assert CliRunner().invoke(cli_module.app, ["serve"]).exit_code == 0
        assert seen.pop("worker") is True
        assert seen["loop"] == "asyncio"  # not uvloop: its tail latency under load (docs/performance.md)
        monkeypatch.setenv("LEDGER_WEBHOOK_WORKER", "false")
        assert CliRunner().invoke(cli_module.app, ["serve"]).exit_code == 0
        assert seen.pop("worker") is False
    finally:
        monkeypatch.delenv("LEDGER_WEBHOOK_WORKER", raising=False)
        get_settings.cache_clear()
