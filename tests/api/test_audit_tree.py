"""Signed tree heads and Merkle proofs over the audit events (SPEC §6), through the API."""

from __future__ import annotations

import base64
import json
import re

import pytest
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from service.domain import merkle
from service.signing import head_signature_ok, key_id_of
from tests.api.conftest import API, assert_problem
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
