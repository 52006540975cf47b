"""Security regressions (pen test of 2026-12, severity medium): webhook destinations and what subscribers see.

Each finding is replayed against the API and the delivery worker:
- registration accepted cloud-metadata, link-local, multicast and unspecified addresses in many spellings, and
  malformed host names (NUL, a 300-character label, a lone ``xn--``): now 422 with a field-level problem, and
  nothing written (no subscription, no audit event, no outbox row);
- the address check ran only at registration, so DNS rebinding passed it: the worker now resolves and checks
  before every send, through a resolver these tests replace by a stub, and connects to the checked address;
- an ``integration`` subscriber to ``*`` received the before/after of every entity: now only of projects;
- the signing secret sat in plaintext in the stored idempotency response for 24 h: now stored without it.

No test traffic leaves 127.0.0.1 (``loopback_only`` fails a test that tries); refused addresses are only ever
named, by URLs and by the resolver stub.
"""

from __future__ import annotations

import json
import ssl

import pytest

import service.usecases.webhooks as webhook_usecases
from service.config import Settings
from service.worker import DeliveryWorker
from tests.api.conftest import API, assert_validation
from tests.security.conftest import StubResolver
from tests.support.live_server import wait_for

W = f"{API}/webhooks"
FAST = {"webhook_retry_base_seconds": 0.02, "webhook_retry_max_seconds": 0.05, "webhook_timeout_seconds": 2,
        "webhook_poll_seconds": 0.02}

#: Every spelling the pen test used, and more of the same addresses (each must be refused at registration).
REFUSED_URLS = [
    "http://169.254.169.254/latest/meta-data/",
    "http://[fd00:ec2::254]/",
    "http://[::ffff:169.254.169.254]/",
    "http://[::ffff:a9fe:a9fe]/",
    "http://[::169.254.169.254]/",
    "http://[64:ff9b::a9fe:a9fe]/",
    "http://[2002:a9fe:a9fe::]/",
    "http://0251.0376.0251.0376/",
    "http://0xa9.0xfe.0xa9.0xfe/",
    "http://0xa9fea9fe/",
    "http://2852039166/",
    "http://169.254.43518/",
    "http://169.254.169.254./",
    "http://１６９．２５４．１６９．２５４/",
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://METADATA.GOOGLE.INTERNAL./",
    "http://metadata.tencentyun.com/latest/meta-data/",
    "http://100.100.100.200/latest/meta-data/",
    "http://[fe80::1]/",
    "http://[fe80::1%25eth0]/",
    "http://224.0.0.1/",
    "http://[ff02::1]/",
    "http://0.0.0.0:8080/",
    "http://0/",
    "http://[::]/",
    "http://255.255.255.255/",
    # malformed host names
    "http://receiver\u0000.example.cn/h",
    "http://" + "a" * 300 + ".example.cn/h",
    "http://xn--/h",
    "http://xn--.example.cn/h",
    "http://receiver.exa\tmple.cn/h",
    "http://09.1.1.1/h",
    "http://evil.example\\@10.0.0.1/h",
]


@pytest.fixture
def subscriptions(execute_sql):
    return lambda: execute_sql("SELECT count(*) FROM webhook_subscription")[0][0]


def outbox(execute_sql):
    return execute_sql("SELECT count(*) FROM webhook_delivery")[0][0]


@pytest.mark.parametrize("url", REFUSED_URLS)
def test_refused_destinations_are_422_and_write_nothing(client, admin, make_token, reference, unchanged,
                                                        subscriptions, execute_sql, url):
    before = subscriptions(), outbox(execute_sql)
    for headers in (admin, make_token("integration")):
        with unchanged():
            body = assert_validation(client.post(W, json={"url": url, "events": ["*"]}, headers=headers),
                                     "body", "url")
        msg = body["errors"][0]["msg"]
        assert body["type"].endswith("validation-error") and len(msg) < 400, body
    assert (subscriptions(), outbox(execute_sql)) == before


@pytest.mark.parametrize(("url", "says"), [
    ("http://169.254.169.254/latest/meta-data/", "link-local"),
    ("http://0251.0376.0251.0376/", "169.254.169.254 is a link-local"),
    ("http://[::ffff:169.254.169.254]/", "reaches 169.254.169.254"),
    ("http://[fd00:ec2::254]/", "metadata"),
    ("http://metadata.google.internal/", "'metadata.google.internal' is a cloud metadata service"),
    ("http://" + "a" * 300 + ".example.cn/h", "a label is 300 characters long, at most 63"),
    ("http://receiver\u0000.example.cn/h", "control characters"),
    ("http://xn--/h", "'xn--' does not decode"),
    ("http://224.0.0.1/", "multicast"),
    ("http://[::]/", "unspecified"),
])
def test_the_problem_says_why(client, admin, reference, url, says):
    body = assert_validation(client.post(W, json={"url": url, "events": ["*"]}, headers=admin), "body", "url")
    assert says in body["errors"][0]["msg"], body


def test_private_loopback_and_unresolvable_names_stay_allowed(client, admin, reference, monkeypatch):
    monkeypatch.setattr(webhook_usecases, "resolve_host", StubResolver({"intranet.gov.example": [["10.2.3.4"]]}))
    for url in ("http://10.1.2.3:9000/h", "http://192.168.1.20/h", "http://127.0.0.1:9/h", "http://[::1]:9000/h",
                "http://0x7f.1:9/h", "http://intranet.gov.example/h", "https://not-yet-in-dns.example.cn/h",
                "http://政务.example/h"):
        r = client.post(W, json={"url": url, "events": ["*"]}, headers=admin)
        assert r.status_code == 201, (url, r.text)


def test_a_name_that_resolves_to_a_refused_address_is_422(client, admin, reference, unchanged, monkeypatch):
    monkeypatch.setattr(webhook_usecases, "resolve_host", StubResolver({
        "imds.attacker.example": [["169.254.169.254"]],
        "half.attacker.example": [["10.0.0.7", "fd00:ec2::254"]],
    }))
    for host, says in (("imds.attacker.example", "resolves to 169.254.169.254, a link-local"),
                       ("half.attacker.example", "resolves to fd00:ec2::254, a cloud metadata")):
        with unchanged():
            body = assert_validation(client.post(W, json={"url": f"http://{host}/", "events": ["*"]},
                                                 headers=admin), "body", "url")
        assert says in body["errors"][0]["msg"], body


# ---------------------------------------------------------------- at every delivery


def _worker(sessions, db_url: str, resolver: StubResolver, **options) -> DeliveryWorker:
    """A delivery worker on the test's database that looks names up only through ``resolver``."""
    return DeliveryWorker(sessions, Settings(database_url=db_url, **{**FAST, **options}), resolver=resolver,
                          name="security-test")


def _attempts(client, admin, hook_id: str) -> list[dict]:
    items = client.get(f"{W}/{hook_id}/deliveries", headers=admin).json()["items"]
    return items


def test_dns_rebinding_is_refused_at_delivery_and_nothing_is_sent(
        client, admin, reference, new_project, sessions, db_url, capture, loopback_only, monkeypatch):
    """The name answers the receiver's address at registration, then 169.254.169.254 at delivery (a
    rebinding attacker's TTL-0 answer): the attempt fails with the reason, no request is sent, the delivery is
    retried — and when the name answers an allowed address again, that address is the one connected to."""
    host = "rebind.attacker.example"
    registration = StubResolver({host: [["127.0.0.1"]]})
    monkeypatch.setattr(webhook_usecases, "resolve_host", registration)
    url = f"http://{host}:{capture.port}/hooks"
    hook = client.post(W, json={"url": url, "events": ["project.created"]}, headers=admin)
    assert hook.status_code == 201, hook.text
    assert registration.calls == [host]
    hook_id = hook.json()["id"]
    new_project()

    delivery = StubResolver({host: [["169.254.169.254"], ["10.0.0.9", "169.254.169.254"], ["127.0.0.1"]]})
    worker = _worker(sessions, db_url, delivery, webhook_max_attempts=5)
    try:
        assert worker.run_once() == 1
        [item] = _attempts(client, admin, hook_id)
        [attempt] = item["attempts"]
        assert attempt["outcome"] == "failed" and attempt["status_code"] is None
        assert attempt["error"].startswith("destination refused, nothing sent:")
        assert "'rebind.attacker.example' resolves to 169.254.169.254, a link-local address" in attempt["error"]
        assert item["status"] == "pending" and item["last_error"] == attempt["error"]  # retried like any failure
        assert capture.hits == [] and loopback_only == []  # no connection at all

        wait_for(lambda: worker.run_once(), what="the second attempt")  # one refused address among allowed ones
        [item] = _attempts(client, admin, hook_id)
        assert "169.254.169.254" in item["attempts"][1]["error"] and capture.hits == [] and loopback_only == []

        wait_for(lambda: worker.run_once(), what="the third attempt")
        [item] = _attempts(client, admin, hook_id)
        assert [a["outcome"] for a in item["attempts"]] == ["failed", "failed", "delivered"]
    finally:
        worker.close()
    assert delivery.calls == [host] * 3  # one resolution per attempt, never a second one to connect
    assert loopback_only == [("127.0.0.1", capture.port)]  # the checked address, not a new DNS answer
    [hit] = capture.hits
    assert hit.host == f"{host}:{capture.port}" and hit.body["type"] == "project.created"  # Host keeps the name


def test_a_destination_refused_at_every_attempt_dies_like_other_failures(
        client, admin, reference, new_project, sessions, db_url, loopback_only, monkeypatch):
    host = "imds.attacker.example"
    monkeypatch.setattr(webhook_usecases, "resolve_host", StubResolver())  # not in DNS at registration
    hook = client.post(W, json={"url": f"http://{host}/latest/meta-data/", "events": ["project.created"]},
                       headers=admin).json()
    new_project()
    worker = _worker(sessions, db_url, StubResolver({host: [["169.254.169.254"]]}), webhook_max_attempts=3)
    try:
        wait_for(lambda: (worker.run_once(), _attempts(client, admin, hook["id"])[0]["status"] == "dead")[1],
                 what="a dead delivery", timeout=30)
    finally:
        worker.close()
    [item] = _attempts(client, admin, hook["id"])
    assert len(item["attempts"]) == 3 and all("destination refused" in a["error"] for a in item["attempts"])
    assert all(a["response_excerpt"] is None for a in item["attempts"])  # nothing was read from anywhere
    assert loopback_only == []


@pytest.mark.parametrize(("stored_url", "says"), [
    ("http://0251.0376.0251.0376/latest/meta-data/", "169.254.169.254 is a link-local"),
    ("http://metadata.google.internal/", "cloud metadata service"),
    ("http://[::ffff:169.254.169.254]/", "reaches 169.254.169.254"),
    ("http://unresolvable.example/", "does not resolve"),
])
def test_the_worker_refuses_what_registration_would(client, admin, reference, new_project, sessions, db_url,
                                                    execute_sql, loopback_only, stored_url, says):
    """A subscription stored before this policy existed (written straight into the table here) is checked by
    the same rules at delivery."""
    hook = client.post(W, json={"url": "http://10.0.0.1/h", "events": ["project.created"]}, headers=admin).json()
    execute_sql("UPDATE webhook_subscription SET url = :url WHERE id = :id", url=stored_url, id=hook["id"])
    new_project()
    worker = _worker(sessions, db_url, StubResolver())
    try:
        assert worker.run_once() == 1
    finally:
        worker.close()
    [attempt] = _attempts(client, admin, hook["id"])[0]["attempts"]
    assert says in attempt["error"] and loopback_only == []


def test_allowed_hosts_are_checked_again_at_delivery(client, admin, reference, new_project, sessions, db_url,
                                                     capture, loopback_only):
    hook = client.post(W, json={"url": f"http://127.0.0.1:{capture.port}/h", "events": ["project.created"]},
                       headers=admin).json()
    new_project()
    worker = _worker(sessions, db_url, StubResolver(), webhook_allowed_hosts="receiver.gov.example")
    try:
        assert worker.run_once() == 1
    finally:
        worker.close()
    [attempt] = _attempts(client, admin, hook["id"])[0]["attempts"]
    assert "not in LEDGER_WEBHOOK_ALLOWED_HOSTS" in attempt["error"] and capture.hits == [] and loopback_only == []


def test_https_goes_to_the_checked_address_with_sni_and_verification_for_the_name(
        client, admin, reference, new_project, sessions, db_url, tls_capture, tls_material, loopback_only,
        monkeypatch):
    monkeypatch.setattr(webhook_usecases, "resolve_host", StubResolver())
    good = client.post(W, json={"url": f"https://hooks.example.test:{tls_capture.port}/h",
                                "events": ["project.created"]}, headers=admin).json()
    other = client.post(W, json={"url": f"https://other.example.test:{tls_capture.port}/h",
                                 "events": ["project.created"]}, headers=admin).json()
    new_project()
    trust = ssl.create_default_context(cafile=str(tls_material["cert"]))
    resolver = StubResolver({"hooks.example.test": [["127.0.0.1"]], "other.example.test": [["127.0.0.1"]]})
    worker = DeliveryWorker(sessions, Settings(database_url=db_url, **FAST), resolver=resolver, verify=trust)
    try:
        assert worker.run_once() == 2
    finally:
        worker.close()
    [ok] = _attempts(client, admin, good["id"])[0]["attempts"]
    [bad] = _attempts(client, admin, other["id"])[0]["attempts"]
    assert ok["outcome"] == "delivered", ok
    assert bad["outcome"] == "failed" and "certificate" in bad["error"].lower(), bad  # verified for the name
    [hit] = tls_capture.hits
    assert hit.sni == "hooks.example.test" and hit.host == f"hooks.example.test:{tls_capture.port}"
    assert set(loopback_only) == {("127.0.0.1", tls_capture.port)}


# ---------------------------------------------------------------- what a subscriber sees


WEIGHTS = {"indicators": 0.5, "tasks": 0.125, "dispatch": 0.125, "problems": 0.125, "inspection": 0.125}


def _payloads(client, headers, hook_id: str) -> dict[str, dict]:
    r = client.get(f"{W}/{hook_id}/deliveries", params={"limit": 500}, headers=headers)
    assert r.status_code == 200, r.text
    return {d["event_type"]: d["payload"] for d in r.json()["items"]}


def test_an_integration_subscriber_gets_no_before_after_of_other_entities(
        client, admin, make_token, reference, new_project, sessions, db_url, capture):
    integration = make_token("integration")
    scoped = client.post(W, json={"url": f"http://127.0.0.1:{capture.port}/i", "events": ["*"]},
                         headers=integration)
    full = client.post(W, json={"url": f"http://127.0.0.1:{capture.port}/admin", "events": ["*"]}, headers=admin)
    assert scoped.status_code == full.status_code == 201
    assert scoped.json()["created_by_role"] == "integration" and full.json()["created_by_role"] == "admin"
    r = client.put(f"{API}/appraisals/2026/weights", json=WEIGHTS, headers=admin)
    assert r.status_code in (200, 201), r.text
    project = new_project()

    mine = _payloads(client, integration, scoped.json()["id"])
    weights = mine["appraisal.weights_set"]
    assert weights["data"] == {"seq": weights["data"]["seq"], "entity": "appraisal", "entity_id": "2026",
                               "redacted": True}
    # (the data only: the timestamp may well hold "0.5", as in 22:55:40.512)
    assert "before" not in json.dumps(weights) and "0.5" not in json.dumps(weights["data"])
    assert mine["project.created"]["data"]["after"]["name"] == project["name"]  # projects: readable, whole

    # The admin's subscription gets the whole event ...
    admins = _payloads(client, admin, full.json()["id"])
    assert admins["appraisal.weights_set"]["data"]["after"]["weights"]["indicators"] == 0.5
    # ... but an integration token reading that subscription's deliveries sees them cut the same way.
    seen = _payloads(client, integration, full.json()["id"])
    assert seen["appraisal.weights_set"]["data"]["redacted"] is True
    assert "after" not in seen["appraisal.weights_set"]["data"]
    assert seen["project.created"]["data"]["after"]["name"] == project["name"]

    # And what reaches the integration's receiver is the cut body (the admin's receiver gets it whole).
    worker = _worker(sessions, db_url, StubResolver())
    try:
        wait_for(lambda: (worker.run_once(), len(capture.hits) >= 7)[1], what="four deliveries and three")
    finally:
        worker.close()
    assert {h.body["type"]: h.body for h in capture.hits if h.path == "/admin"}["appraisal.weights_set"][
        "data"]["after"]["weights"]["indicators"] == 0.5
    sent = {h.body["type"]: h.body for h in capture.hits if h.path == "/i"}
    assert sent["appraisal.weights_set"]["data"] == mine["appraisal.weights_set"]["data"]  # cut: no after
    assert sent["webhook.created"]["data"].get("redacted") is True  # a webhook is not a project either
    assert sent["project.created"]["data"]["after"]["name"] == project["name"]


# ---------------------------------------------------------------- the secret and the idempotency record


def test_the_stored_idempotency_response_holds_no_secret(client, admin, reference, execute_sql, subscriptions):
    headers = {**admin, "Idempotency-Key": "hook-1"}
    body = {"url": "http://10.0.0.1/h", "events": ["project.created"]}
    first = client.post(W, json=body, headers=headers)
    assert first.status_code == 201, first.text
    secret = first.json()["secret"]
    assert secret.startswith("whsec_")
    [(stored,)] = execute_sql("SELECT response_body FROM idempotency_record WHERE key = 'hook-1'")
    assert secret not in stored and secret[6:] not in stored
    assert json.loads(stored)["secret"] is None and json.loads(stored)["id"] == first.json()["id"]

    replay = client.post(W, json=body, headers=headers)
    assert replay.status_code == 201 and replay.headers["idempotent-replayed"] == "true"
    assert replay.json() == {**first.json(), "secret": None}  # the same answer, without the secret
    assert replay.headers["etag"] == first.headers["etag"]
    assert subscriptions() == 1
