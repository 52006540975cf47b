"""The audit hash chain (SPEC §6).

``hash = sha256(canonical JSON of every other field of the event, prev_hash included)``; the first event's
``prev_hash`` is 64 zeros. Canonical JSON: keys sorted, no whitespace, UTF-8 (no ASCII escaping), no NaN.
``data`` is stored already canonical, so hashing splices it in instead of re-encoding it; ``payload()``
gives exactly ``canonical_json`` of the whole event (a test holds the two together).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64

# The (C) string encoder behind json.dumps(ensure_ascii=False): a quoted JSON string, nothing else escaped.
_quote = getattr(json.encoder, "c_encode_basestring", None) or json.encoder.py_encode_basestring

_encode = json.JSONEncoder(
    ensure_ascii=False, allow_nan=False, sort_keys=True, separators=(",", ":")
).encode


def canonical_json(value: Any) -> str:
    return _encode(value)


@dataclass(frozen=True, slots=True)
class ChainedEvent:
    """The hashed fields of an audit event. ``at`` is RFC 3339 UTC text; ``data`` canonical JSON text."""

    seq: int
    at: str
    actor_name: str
    actor_role: str
    request_id: str | None
    action: str
    entity: str
    entity_id: str
    data: str
    prev_hash: str


def payload(event: ChainedEvent) -> str:
    """Canonical JSON of every field but ``hash`` (keys in sorted order)."""
    return (
        '{"action":' + _quote(event.action)
        + ',"actor":{"name":' + _quote(event.actor_name) + ',"role":' + _quote(event.actor_role)
        + '},"at":' + _quote(event.at)
        + ',"data":' + event.data
        + ',"entity":' + _quote(event.entity)
        + ',"entity_id":' + _quote(event.entity_id)
        + ',"prev_hash":' + _quote(event.prev_hash)
        + ',"request_id":' + ("null" if event.request_id is None else _quote(event.request_id))
        + ',"seq":' + str(int(event.seq))
        + "}"
    )


def link(event: ChainedEvent) -> str:
    """The hash of ``event`` (which already names its predecessor's hash in ``prev_hash``)."""
    return hashlib.sha256(payload(event).encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class VerifyResult:
    ok: bool
    events: int
    head: str
    first_bad_seq: int | None = None


def verify(
    rows: Iterable[tuple[ChainedEvent, str]], *, start_seq: int = 1, start_hash: str = GENESIS
) -> VerifyResult:
    """Walk ``(event, stored_hash)`` pairs in seq order; name the first event that breaks the chain.

    An event is bad when its seq is not the next one (a row deleted or reordered), its ``prev_hash`` is not
    its predecessor's hash, or its stored hash is not the hash of its fields (a row changed).
    """
    expected_seq, prev = start_seq, start_hash
    count = 0
    for event, stored in rows:
        if event.seq != expected_seq or event.prev_hash != prev or link(event) != stored:
            return VerifyResult(ok=False, events=count, head=prev, first_bad_seq=min(event.seq, expected_seq))
        prev = stored
        expected_seq += 1
        count += 1
    return VerifyResult(ok=True, events=count, head=prev)
