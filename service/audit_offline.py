"""An auditor's checks on their own machine (SPEC §6): no service, no database.

``verify_export``: an NDJSON export (``GET /audit/export``), a signed tree head and the service's public key →
the signature holds, every event's hash and link hold, and the export's first ``size`` events give the signed
root. ``prove_consistency``: two signed heads and a consistency proof fetched from the service → the newer tree
contains the older one unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from service.domain import audit_chain, merkle
from service.signing import head_signature_ok, key_id_of


@dataclass
class Check:
    ok: bool = True
    reason: str | None = None  # signature | tampered | missing | truncated | rewritten | inconsistent | input
    first_bad_seq: int | None = None
    lines: list[str] = field(default_factory=list)

    def fail(self, reason: str, message: str, seq: int | None = None) -> Check:
        self.ok, self.reason, self.first_bad_seq = False, reason, seq
        self.lines.append(f"FAILED ({reason}): {message}")
        return self


def check_signature(check: Check, head: dict[str, Any], public_key: Ed25519PublicKey, name: str = "tree head") -> bool:
    key_id = key_id_of(public_key)
    if head.get("key_id") != key_id:
        check.fail("signature", f"the {name} names key {head.get('key_id')!r}, not this public key ({key_id}): it "
                   "was signed by another key")
        return False
    if not head_signature_ok(head, public_key):
        check.fail("signature", f"the {name}'s signature does not verify: the head was altered after signing")
        return False
    check.lines.append(f"signature ok: {name} of size {head['size']}, root {head['root']}, signed "
                       f"{head['signed_at']} by key {key_id}")
    return True


def _data_text(line: str, event: dict[str, Any]) -> str:
    """``data`` exactly as exported (the service splices it in as stored), else re-encoded canonically."""
    start, end = line.find(',"data":'), line.rfind(',"prev_hash":"')
    if 0 < start < end:
        return line[start + len(',"data":'):end]
    return audit_chain.canonical_json(event["data"])


def verify_export(lines: Iterable[str], head: dict[str, Any], public_key: Ed25519PublicKey) -> Check:
    check = Check()
    if not check_signature(check, head, public_key):
        return check
    size, frontier, prev, expected = int(head["size"]), merkle.Frontier(), audit_chain.GENESIS, 1
    for number, line in enumerate(lines, start=1):
        line = line.strip()
        if not line:
            continue
        try:
            e = json.loads(line)
            event = audit_chain.ChainedEvent(
                seq=int(e["seq"]), at=e["at"], actor_name=e["actor"]["name"], actor_role=e["actor"]["role"],
                request_id=e["request_id"], action=e["action"], entity=e["entity"], entity_id=e["entity_id"],
                data=_data_text(line, e), prev_hash=e["prev_hash"])
            stored = e["hash"]
        except (ValueError, KeyError, TypeError) as exc:
            return check.fail("input", f"line {number} is not an exported event ({exc})")
        if event.seq > expected:
            return check.fail("missing", f"event {expected} is missing from the export (the next line is event "
                              f"{event.seq})", expected)
        if event.seq != expected:
            return check.fail("tampered", f"line {number} holds event {event.seq} where event {expected} belongs",
                              expected)
        if event.prev_hash != prev:
            return check.fail("tampered", f"event {event.seq} does not link to event {event.seq - 1} (prev_hash)",
                              event.seq)
        if audit_chain.link(event) != stored:
            return check.fail("tampered", f"event {event.seq} does not match its hash (a field was changed)",
                              event.seq)
        if frontier.size < size:
            frontier.append(merkle.leaf_hash(bytes.fromhex(stored)))
        prev, expected = stored, expected + 1
    events = expected - 1
    check.lines.append(f"chain ok: {events} events, every hash and link recomputed")
    if events < size:
        return check.fail("truncated", f"the export holds {events} events; the head signs {size}", events + 1)
    root = frontier.root().hex()
    if root != head["root"]:
        return check.fail("rewritten", f"the export's first {size} events give root {root}; the head signs "
                          f"{head['root']}: an event up to {size} was rewritten")
    check.lines.append(f"root ok: the export's first {size} events give the signed root")
    check.lines.append("OK")
    return check


def prove_consistency(old: dict[str, Any], new: dict[str, Any], public_key: Ed25519PublicKey,
                      fetch: Callable[[int, int], dict[str, Any]]) -> Check:
    """``fetch(first, second)`` is the service's ``/audit/proof/consistency`` answer."""
    check = Check()
    if not (check_signature(check, old, public_key, "old head") and check_signature(check, new, public_key,
                                                                                    "new head")):
        return check
    first, second = int(old["size"]), int(new["size"])
    if first > second:
        return check.fail("input", f"the old head ({first}) is larger than the new one ({second})")
    if first == 0:
        check.lines.append("an empty tree is a prefix of every tree")
        check.lines.append("OK")
        return check
    answer = fetch(first, second)
    proof = [bytes.fromhex(h) for h in answer.get("proof", [])]
    if not merkle.verify_consistency(first, second, bytes.fromhex(old["root"]), bytes.fromhex(new["root"]), proof):
        return check.fail("inconsistent", f"the service's proof does not show the tree of {first} events inside "
                          f"the tree of {second}: the log was rewritten or truncated in between")
    check.lines.append(f"consistent: the first {first} events are unchanged in the tree of {second} "
                       f"({len(proof)} proof hashes)")
    check.lines.append("OK")
    return check
