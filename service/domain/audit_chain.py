"""The audit hash chain (SPEC §6).

``hash = sha256(canonical JSON of every other field of the event, prev_hash included)``; the first event's
``prev_hash`` is 64 zeros. Canonical JSON: keys sorted, no whitespace, UTF-8 (no ASCII escaping), no NaN.
``data`` is stored already canonical, so hashing splices it in instead of re-encoding it; ``payload()``
gives exactly ``canonical_json`` of the whole event (a test holds the two together).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from hashlib import sha256
from typing import Any, NamedTuple

GENESIS = "0" * 64

# The (C) string encoder behind json.dumps(ensure_ascii=False): a quoted JSON string, nothing else escaped.
_quote = getattr(json.encoder, "c_encode_basestring", None) or json.encoder.py_encode_basestring

_encode = json.JSONEncoder(
    ensure_ascii=False, allow_nan=False, sort_keys=True, separators=(",", ":")
).encode


def canonical_json(value: Any) -> str:
    return _encode(value)


class ChainedEvent(NamedTuple):
    """The hashed fields of an audit event, in storage order. ``at`` is RFC 3339 UTC text; ``data``
    canonical JSON text. A tuple, so rows read from the database are events without copying."""

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


def _payload(seq, at, actor_name, actor_role, request_id, action, entity, entity_id, data, prev_hash) -> str:  # noqa: ANN001
    return (
        '{"action":' + _quote(action)
        + ',"actor":{"name":' + _quote(actor_name) + ',"role":' + _quote(actor_role)
        + '},"at":' + _quote(at)
        + ',"data":' + data
        + ',"entity":' + _quote(entity)
        + ',"entity_id":' + _quote(entity_id)
        + ',"prev_hash":' + _quote(prev_hash)
        + ',"request_id":' + ("null" if request_id is None else _quote(request_id))
        + ',"seq":' + str(int(seq))
        + "}"
    )


def payload(event: ChainedEvent) -> str:
    """Canonical JSON of every field but ``hash`` (keys in sorted order)."""
    return _payload(*event)


def link(event: ChainedEvent) -> str:
    """The hash of ``event`` (which already names its predecessor's hash in ``prev_hash``)."""
    return sha256(_payload(*event).encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class VerifyResult:
    ok: bool
    events: int
    head: str | None
    first_bad_seq: int | None = None
    reason: str | None = None  # tampered | truncated | rewritten (SPEC §6)
    tree_head_size: int | None = None  # the signed tree head the chain fails, or that fails its signature


def verify(rows: Iterable[Sequence[Any]], *, start_seq: int = 1, start_hash: str = GENESIS) -> VerifyResult:
    """Walk rows ``(*ChainedEvent fields, stored_hash)`` in seq order; name the first event that breaks the chain.

    An event is bad when its seq is not the next one (a row deleted or reordered), its ``prev_hash`` is not
    its predecessor's hash, or its stored hash is not the hash of its fields (a row changed).
    """
    expected_seq, prev = start_seq, start_hash
    count = 0
    for row in rows:
        fields, stored = row[:10], row[10]
        seq, prev_hash = fields[0], fields[9]
        if seq != expected_seq or prev_hash != prev or sha256(_payload(*fields).encode()).hexdigest() != stored:
            return VerifyResult(ok=False, events=count, head=prev, first_bad_seq=min(seq, expected_seq))
        prev = stored
        expected_seq += 1
        count += 1
    return VerifyResult(ok=True, events=count, head=prev)
