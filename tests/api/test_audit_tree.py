"""Signed tree heads and Merkle proofs over the audit events (SPEC §6), through the API."""

from __future__ import annotations

import base64
import json
import re

import pytest
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from sqlalchemy.exc import DBAPIError

from service.domain import merkle
from service.domain.audit_chain import ChainedEvent, canonical_json, link
from service.signing import head_signature_ok, key_id_of
from tests.api.conftest import API, IS_POSTGRES, assert_problem
from tests.api.test_audit import history as _history
from tests.api.test_audit import tamper as _tamper

history = _history  # the fixtures of test_audit.py: 13 events; an attacker's SQL
tamper = _tamper

HEX = re.compile(r"^[0-9a-f]{64}$")


def _leaves(events) -> list[bytes]:
    return [merkle.leaf_hash(bytes.fromhex(e["hash"])) for e in events]


def _public_key(client, headers):
    r = client.get(f"{API}/audit/public-key", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def test_public_key_and_a_signed_head_of_the_whole_log(client, make_token, history, events):
    auditor = make_token("auditor")
    pk = _public_key(client, auditor)
    key = load_pem_public_key(pk["public_key_pem"].encode())
    assert set(pk) == {"key_id", "public_key_pem"} and pk["key_id"] == key_id_of(key)
    r = client.get(f"{API}/audit/tree-head", headers=auditor)
    assert r.status_code == 200, r.text
    head = r.json()
    assert set(head) == {"size", "root", "signed_at", "key_id", "signature"}
    everything = events()
    assert head["size"] == len(everything) and HEX.match(head["root"]) and head["key_id"] == pk["key_id"]
    assert head["root"] == merkle.root_of(_leaves(everything)).hex()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", head["signed_at"])
    message = json.dumps({k: head[k] for k in ("size", "root", "signed_at", "key_id")}, sort_keys=True,
                         separators=(",", ":")).encode()
    key.verify(base64.b64decode(head["signature"]), message)  # raises when it does not verify
    assert head_signature_ok(head, key)
    listed = client.get(f"{API}/audit/tree-heads", headers=auditor).json()
    assert listed == {"items": [head], "next_cursor": None}


def test_tree_heads_are_cursor_paginated(client, admin, history):
    heads = [client.get(f"{API}/audit/tree-head", headers=admin).json() for _ in range(5)]
    seen, cursor = [], None
    while True:
        r = client.get(f"{API}/audit/tree-heads", params={"limit": 2, **({"cursor": cursor} if cursor else {})},
                       headers=admin)
        assert r.status_code == 200, r.text
        seen += r.json()["items"]
        cursor = r.json()["next_cursor"]
        if not cursor:
            break
    assert seen == heads


def test_viewers_and_departments_may_not_sign_or_prove(client, make_token, history):
    for role in ("viewer", "department", "integration"):
        h = make_token(role, chains=["OPTICS"] if role == "department" else None)
        for path in ("/audit/public-key", "/audit/tree-head", "/audit/tree-heads",
                     "/audit/proof/inclusion?seq=1&size=1", "/audit/proof/consistency?first=1&second=1"):
            assert client.get(API + path, headers=h).status_code == 403, (role, path)


def test_every_inclusion_and_consistency_proof_verifies(client, admin, history, events):
    everything = events()
    leaves = _leaves(everything)
    n = len(leaves)
    for size in range(1, n + 1):
        root = merkle.root_of(leaves[:size])
        for seq in range(1, size + 1):
            r = client.get(f"{API}/audit/proof/inclusion", params={"seq": seq, "size": size}, headers=admin)
            assert r.status_code == 200, r.text
            p = r.json()
            assert p["seq"] == seq and p["size"] == size and p["leaf_index"] == seq - 1
            path = [bytes.fromhex(h) for h in p["audit_path"]]
            assert merkle.verify_inclusion(leaves[seq - 1], seq - 1, size, path, root)
        for first in range(1, size + 1):
            r = client.get(f"{API}/audit/proof/consistency", params={"first": first, "second": size}, headers=admin)
            assert r.status_code == 200, r.text
            c = r.json()
            assert (c["first"], c["second"]) == (first, size)
            proof = [bytes.fromhex(h) for h in c["proof"]]
            assert merkle.verify_consistency(first, size, merkle.root_of(leaves[:first]), root, proof)


@pytest.mark.parametrize(("path", "params", "loc"), [
    ("inclusion", {"seq": 0, "size": 1}, "seq"),
    ("inclusion", {"seq": 5, "size": 4}, "seq"),
    ("inclusion", {"seq": 1, "size": 10_000}, "size"),
    ("inclusion", {"seq": "x", "size": 1}, "seq"),
    ("inclusion", {"size": 1}, "seq"),
    ("consistency", {"first": 0, "second": 1}, "first"),
    ("consistency", {"first": 5, "second": 4}, "first"),
    ("consistency", {"first": 1, "second": 10_000}, "second"),
    ("consistency", {"first": 1, "second": 2**40}, "second"),
])
def test_bad_proof_queries_are_422_problems(client, admin, history, path, params, loc):
    r = client.get(f"{API}/audit/proof/{path}", params=params, headers=admin)
    assert_problem(r, 422)
    assert any(e["loc"][-1] == loc for e in r.json()["errors"]), r.json()


# ---------------------------------------------------------------- tamper scenarios: /audit/verify holds the signed heads


@pytest.fixture
def attack(execute_sql):
    """attack(sql): a statement on an audit table as an attacker with database access would run it; on PostgreSQL
    the append-only triggers refuse it first (asserted), so the attacker disables them."""

    def run(sql: str, **params):
        table = re.search(r"(?:UPDATE|FROM|INTO)\s+(\w+)", sql).group(1)
        if IS_POSTGRES and table != "audit_head":
            with pytest.raises(DBAPIError, match="append-only"):
                execute_sql(sql, **params)
            execute_sql(f"ALTER TABLE {table} DISABLE TRIGGER USER")
            try:
                return execute_sql(sql, **params)
            finally:
                execute_sql(f"ALTER TABLE {table} ENABLE TRIGGER USER")
        return execute_sql(sql, **params)

    return run


def _sign(client, headers) -> dict:
    r = client.get(f"{API}/audit/tree-head", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def _verify(client, headers) -> dict:
    r = client.get(f"{API}/audit/verify", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def _failure(events: int, first_bad_seq, reason: str, tree_head_size=None) -> dict:
    return {"ok": False, "events": events, "head": None, "first_bad_seq": first_bad_seq, "reason": reason,
            "tree_head_size": tree_head_size}


def _rewrite_from(events, attack, seq: int, data: str) -> None:
    """Change event ``seq``'s data and recompute its hash and every later one (and the head row)."""
    prev = None
    for e in events:
        if e["seq"] < seq:
            continue
        forged = ChainedEvent(seq=e["seq"], at=e["at"], actor_name=e["actor"]["name"], actor_role=e["actor"]["role"],
                              request_id=e["request_id"], action=e["action"], entity=e["entity"],
                              entity_id=e["entity_id"], data=data if e["seq"] == seq else canonical_json(e["data"]),
                              prev_hash=prev or e["prev_hash"])
        prev = link(forged)
        attack("UPDATE audit_event SET data = :d, prev_hash = :p, hash = :h WHERE seq = :s", d=forged.data,
               p=forged.prev_hash, h=prev, s=e["seq"])
    attack("UPDATE audit_head SET hash = :h WHERE id = 1", h=prev)


def _rebuild_tree(attack, execute_sql) -> None:
    """The thorough attacker: the stored tree rebuilt from the rewritten events."""
    attack("DELETE FROM audit_tree_node")
    f = merkle.Frontier()
    for (h,) in execute_sql("SELECT hash FROM audit_event ORDER BY seq"):
        f.append(merkle.leaf_hash(bytes.fromhex(h)))
        for level, idx, node in f.completed:
            execute_sql("INSERT INTO audit_tree_node (level, idx, hash) VALUES (:l, :i, :h)", l=level, i=idx,
                        h=node.hex())


def test_a_clean_log_holds_its_signed_heads(client, admin, history, new_project, events):
    _sign(client, admin)
    new_project(name="丙")
    _sign(client, admin)
    everything = events()
    assert _verify(client, admin) == {"ok": True, "events": len(everything), "head": everything[-1]["hash"],
                                      "first_bad_seq": None, "reason": None, "tree_head_size": None}


def test_tail_truncated_with_the_head_reset(client, admin, history, events, attack):
    """The issue's attack: the last six events deleted and audit_head reset; the chain alone still verifies."""
    everything = events()
    assert len(everything) == 13
    _sign(client, admin)
    attack("DELETE FROM audit_event WHERE seq > 7")
    attack("UPDATE audit_head SET seq = 7, hash = :h WHERE id = 1", h=everything[6]["hash"])
    assert _verify(client, admin) == _failure(7, 8, "truncated", 13)


def test_one_event_rewritten_with_every_later_hash_recomputed(client, admin, history, events, attack):
    _sign(client, admin)
    _rewrite_from(events(), attack, 5, '{"after":{"name":"篡改"},"before":null}')
    assert _verify(client, admin) == _failure(13, 5, "rewritten", 13)


def test_a_rewrite_with_the_stored_tree_rebuilt_is_placed_after_the_last_head_that_holds(
        client, admin, history, events, attack, execute_sql):
    first = _sign(client, admin)  # size 13
    client.post(f"{API}/departments", json={"code": "SWJ", "name": "市商务局"}, headers=admin)
    _sign(client, admin)  # size 14
    assert first["size"] == 13
    _rewrite_from(events(), attack, 14, '{"after":{"code":"SWJ","name":"篡改"},"before":null}')
    _rebuild_tree(attack, execute_sql)
    assert _verify(client, admin) == _failure(14, 14, "rewritten", 14)


def test_one_event_edited_without_recomputing(client, admin, history, attack):
    _sign(client, admin)
    attack("UPDATE audit_event SET data = :d WHERE seq = 6", d='{"after":{"name":"篡改"},"before":null}')
    assert _verify(client, admin) == _failure(5, 6, "tampered")


def test_a_stored_head_altered(client, admin, history, events, attack):
    """The attacker rewrites event 5 and makes the stored head's root match: the head's signature gives it away."""
    _sign(client, admin)
    _rewrite_from(events(), attack, 5, '{"after":{"name":"篡改"},"before":null}')
    forged_root = merkle.root_of([merkle.leaf_hash(bytes.fromhex(e["hash"])) for e in events()]).hex()
    attack("UPDATE audit_tree_head SET root = :r", r=forged_root)
    assert _verify(client, admin) == _failure(13, None, "tampered", 13)


def test_a_stored_head_signed_by_another_key(client, admin, history, events, attack, execute_sql):
    """A head that is well formed and properly signed, but not by the service's key, holds nothing."""
    from datetime import datetime

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    head = _sign(client, admin)
    other = Ed25519PrivateKey.generate()
    forged = {**head, "key_id": key_id_of(other.public_key())}
    forged["signature"] = base64.b64encode(other.sign(merkle.tree_head_message(
        size=forged["size"], root=forged["root"], signed_at=forged["signed_at"], key_id=forged["key_id"]))).decode()
    assert head_signature_ok(forged, other.public_key())
    execute_sql("INSERT INTO audit_tree_head (size, root, signed_at, key_id, signature) VALUES (:s, :r, :t, :k, :g)",
                s=forged["size"], r=forged["root"], k=forged["key_id"], g=forged["signature"],
                t=datetime.fromisoformat(forged["signed_at"].replace("Z", "+00:00")))
    assert _verify(client, admin) == _failure(13, None, "tampered", 13)


# ---------------------------------------------------------------- the worker signs at least hourly while events come


def test_the_worker_signs_a_head_each_hour_in_which_events_were_written(client, admin, history, sessions, settings,
                                                                        new_project):
    from datetime import UTC, datetime, timedelta

    from service.worker import DeliveryWorker

    worker = DeliveryWorker(sessions, settings)
    try:
        t0 = datetime.now(UTC) + timedelta(seconds=1)
        first = worker.sign_tree_head_if_due(t0)
        assert first is not None and first["size"] == 13  # events and no head yet: signed at once
        assert worker.sign_tree_head_if_due(t0 + timedelta(hours=2)) is None  # no event since
        new_project(name="丙")
        assert worker.sign_tree_head_if_due(t0 + timedelta(minutes=30)) is None  # not an hour yet
        second = worker.sign_tree_head_if_due(t0 + timedelta(minutes=61))
        assert second is not None and second["size"] == 14
        heads = client.get(f"{API}/audit/tree-heads", headers=admin).json()["items"]
        assert heads == [first, second]
    finally:
        worker.close()


# ---------------------------------------------------------------- offline: chain-ledger audit verify-export / prove-consistency


@pytest.fixture
def auditor_files(client, admin, history, tmp_path):
    """What an auditor keeps: the public key, a signed head, and an export (as files)."""
    pk = _public_key(client, admin)
    head = _sign(client, admin)
    export = client.get(f"{API}/audit/export", headers=admin)
    assert export.status_code == 200
    files = {"key": tmp_path / "key.pem", "head": tmp_path / "head.json", "export": tmp_path / "export.ndjson"}
    files["key"].write_text(pk["public_key_pem"])
    files["head"].write_text(json.dumps(head))
    files["export"].write_bytes(export.content)
    return files


def _offline(files, head=None, lines=None):
    from typer.testing import CliRunner

    from service.cli import app

    if head is not None:
        files["head"].write_text(json.dumps(head))
    if lines is not None:
        files["export"].write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    r = CliRunner().invoke(app, ["audit", "verify-export", str(files["export"]), "--tree-head", str(files["head"]),
                                 "--public-key", str(files["key"])])
    return r.exit_code, r.output


def _lines(files) -> list[str]:
    return files["export"].read_text(encoding="utf-8").splitlines()


def test_verify_export_offline_ok(auditor_files):
    code, out = _offline(auditor_files)
    assert code == 0, out
    assert "chain ok: 13 events" in out and "root ok" in out and out.rstrip().endswith("OK")


def test_verify_export_a_signed_head_altered(auditor_files):
    head = json.loads(auditor_files["head"].read_text())
    code, out = _offline(auditor_files, head={**head, "size": head["size"] - 1})
    assert code == 1 and "FAILED (signature)" in out and "altered" in out, out


def test_verify_export_a_head_signed_by_another_key(auditor_files):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    head = json.loads(auditor_files["head"].read_text())
    other = Ed25519PrivateKey.generate()
    forged = {**head, "key_id": key_id_of(other.public_key())}
    forged["signature"] = base64.b64encode(other.sign(merkle.tree_head_message(
        size=forged["size"], root=forged["root"], signed_at=forged["signed_at"], key_id=forged["key_id"]))).decode()
    code, out = _offline(auditor_files, head=forged)
    assert code == 1 and "FAILED (signature)" in out and "signed by another key" in out, out


def test_verify_export_missing_one_event(auditor_files):
    lines = _lines(auditor_files)
    code, out = _offline(auditor_files, lines=lines[:6] + lines[7:])
    assert code == 1 and "FAILED (missing): event 7 is missing from the export" in out, out


def test_verify_export_the_tail_missing(auditor_files):
    code, out = _offline(auditor_files, lines=_lines(auditor_files)[:10])
    assert code == 1 and "FAILED (truncated): the export holds 10 events; the head signs 13" in out, out


def test_verify_export_one_event_edited_without_recomputing(auditor_files):
    lines = _lines(auditor_files)
    e = json.loads(lines[4])
    lines[4] = lines[4].replace(json.dumps(e["entity_id"], ensure_ascii=False), '"OTHER"', 1)
    code, out = _offline(auditor_files, lines=lines)
    assert code == 1 and "FAILED (tampered): event 5 does not match its hash" in out, out


def test_verify_export_one_event_rewritten_with_every_later_hash_recomputed(auditor_files):
    lines, prev, out_lines = _lines(auditor_files), None, []
    for line in lines:
        e = json.loads(line)
        data = canonical_json(e["data"])
        if e["seq"] == 5:
            data = '{"after":{"name":"篡改"},"before":null}'
        ev = ChainedEvent(seq=e["seq"], at=e["at"], actor_name=e["actor"]["name"], actor_role=e["actor"]["role"],
                          request_id=e["request_id"], action=e["action"], entity=e["entity"],
                          entity_id=e["entity_id"], data=data, prev_hash=prev or e["prev_hash"])
        prev = link(ev)
        out_lines.append(json.dumps({**e, "data": json.loads(data), "prev_hash": ev.prev_hash, "hash": prev},
                                    ensure_ascii=False, separators=(",", ":")))
    code, out = _offline(auditor_files, lines=out_lines)
    assert code == 1 and "chain ok: 13 events" in out and "FAILED (rewritten)" in out, out


def test_prove_consistency_between_two_signed_heads(client, admin, history, new_project):
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    from service.audit_offline import prove_consistency

    key = load_pem_public_key(_public_key(client, admin)["public_key_pem"].encode())
    old = _sign(client, admin)
    new_project(name="丙")
    new = _sign(client, admin)

    def fetch(first, second):
        return client.get(f"{API}/audit/proof/consistency", params={"first": first, "second": second},
                          headers=admin).json()

    check = prove_consistency(old, new, key, fetch)
    assert check.ok and check.lines[-1] == "OK", check.lines
    forged_old = {**old, "root": "00" * 32}
    assert prove_consistency(forged_old, new, key, fetch).reason == "signature"
    assert prove_consistency(old, new, key, lambda f, s: {**fetch(f, s), "proof": ["00" * 32]}).reason == \
        "inconsistent"
