"""Webhook rules (SPEC §7): the event types a subscription may name, and the retry schedule. Pure."""

from __future__ import annotations

import random
import re
from collections.abc import Iterable

#: Every audited action, by the name the audit log and webhooks share (``<entity>.<verb>``, SPEC §6).
#: ``problem.overdue`` is not here: it is a state reached by the passing of time, not an audited write.
EVENT_TYPES: frozenset[str] = frozenset({
    "department.created", "district.created", "chain.created", "chain.updated",
    "calendar.created", "calendar.updated",
    "project.created", "project.updated", "project.transitioned", "project.reverted", "project.voided",
    "project.investment_recorded",
    "import.applied",
    "dispatch.created", "dispatch.updated", "dispatch.amended", "dispatch.submitted",
    "inspection.created", "inspection.updated",
    "problem.created", "problem.transitioned",
    "appraisal.weights_set", "appraisal.run", "appraisal.published",
    "plan.created", "plan.updated", "plan.revised", "plan.approved", "plan.task_updated",
    "plan_actual.created", "plan_actual.updated",
    "webhook.created", "webhook.deleted", "webhook.redelivered",
})
ENTITIES: frozenset[str] = frozenset(t.split(".", 1)[0] for t in EVENT_TYPES)
_PATTERN = re.compile(r"^(\*|[a-z_]+\.\*|[a-z_]+\.[a-z_]+)$")


def invalid_event_patterns(patterns: Iterable[str]) -> list[str]:
    """The patterns that name no event: each is an event type, ``<entity>.*`` or ``*``."""
    bad = []
    for p in patterns:
        if not _PATTERN.match(p) or p.endswith(".*") and p != "*" and p[:-2] not in ENTITIES or not p.endswith("*") and p not in EVENT_TYPES:
            bad.append(p)
    return bad


def message_id(event_seq: int) -> str:
    """The Standard Webhooks ``webhook-id`` of an audit event: the same on every attempt and subscription."""
    return f"msg_{event_seq}"


def matches(patterns: Iterable[str], action: str) -> bool:
    """Whether a subscription to ``patterns`` receives ``action``."""
    entity = action.split(".", 1)[0]
    return any(p == "*" or p == action or p == f"{entity}.*" for p in patterns)


def retry_delay(attempt: int, *, base: float, cap: float, rand: random.Random | None = None) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based): exponential from ``base``
    (base, 2·base, 4·base, …, at most ``cap``) with "equal jitter" — a random point in the upper half — so
    receivers coming back are not hit by every retry at the same instant."""
    exp = min(cap, base * 2 ** max(0, attempt - 1))
    r = (rand or random).random()
    return exp / 2 + r * exp / 2


def host_allowed(host: str, allowed: Iterable[str]) -> bool:
    """``host`` against LEDGER_WEBHOOK_ALLOWED_HOSTS: exact names or IPs, ``*.example.cn`` for any subdomain.
    An empty list allows every host."""
    allowed = list(allowed)
    if not allowed:
        return True
    host = host.lower().rstrip(".")
    return any(host == entry or (entry.startswith("*.") and host.endswith(entry[1:])) for entry in allowed)
