"""Webhook rules (SPEC §7): the event types a subscription may name, what a subscriber may see of an event,
the retry schedule, and the destination policy (which URLs and addresses may receive webhooks). Pure."""

from __future__ import annotations

import encodings.idna
import ipaddress
import random
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

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
    "token.created", "token.revoked",
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
    Both sides are compared in canonical form (lower case, no trailing dot, IDNA as ASCII, IPs as IPs, so
    ``012.0.0.5`` is ``10.0.0.5``). An empty list allows every host."""
    entries = [_allowed_entry(a) for a in allowed]
    if not entries:
        return True
    host = _canonical_host(host)
    return any(host == entry or (entry.startswith("*.") and host.endswith(entry[1:])) for entry in entries)


def _allowed_entry(entry: str) -> str:
    entry = entry.strip()
    return "*." + _canonical_host(entry[2:]) if entry.startswith("*.") else _canonical_host(entry)


def _canonical_host(text: str) -> str:
    text = text.strip()
    try:
        if text.startswith("[") and text.endswith("]"):
            return _ipv6_literal(text[1:-1]).compressed
        if ":" in text:
            return _ipv6_literal(text).compressed
        return normalize_host(text)[0]
    except RefusedDestination:
        return text.lower().rstrip(".")


# ---------------------------------------------------------------- what a subscriber sees (SPEC §7)

#: Roles that read the audit log (SPEC §1), and with it every event's ``before``/``after``.
AUDIT_READERS: frozenset[str] = frozenset({"admin", "auditor"})
#: Entities whose every change any token may read through the API (``GET /projects/{id}/history``).
OPEN_HISTORY_ENTITIES: frozenset[str] = frozenset({"project"})
#: What every subscriber sees of an event whatever its role: which entity changed, and the event's ``seq``.
IDENTIFYING_FIELDS = ("seq", "entity", "entity_id")


def sees_event_data(role: str, entity: str) -> bool:
    """Whether a subscription created by (or a delivery read by) ``role`` gets the event's data — ``before``,
    ``after``, extras, actor — for an ``entity``: only when that role could read the same through the API."""
    return role in AUDIT_READERS or entity in OPEN_HISTORY_ENTITIES


def visible_payload(payload: Mapping[str, Any], *, role: str) -> dict[str, Any]:
    """A webhook body ``{type, timestamp, data}`` as ``role`` may see it: whole, or with ``data`` cut down to
    the identifying fields plus ``"redacted": true`` (the subscriber reads the entity through the API)."""
    data = payload.get("data") or {}
    if sees_event_data(role, str(data.get("entity", ""))):
        return dict(payload)
    kept = {k: data[k] for k in IDENTIFYING_FIELDS if k in data}
    return {**payload, "data": {**kept, "redacted": True}}


# ---------------------------------------------------------------- destinations (SPEC §7)
#
# A webhook URL is parsed once, here, the same way at registration and at every delivery; the worker then
# connects to an address this module accepted. Hosts are read the way browsers (the WHATWG URL standard) and
# the C library (inet_aton) read them, so that no spelling of a refused address slips through as a "name":
# IDNA first (full-width digits and dots become ASCII), then a host whose last label is a number is an IPv4
# address in the WHATWG notation (octal ``0251``, hex ``0xa9``, integer ``2852039166``, shortened
# ``169.254.43518``) or invalid. IPv6 literals are judged by the IPv4 address they embed, too.


class RefusedDestination(ValueError):
    """A webhook destination the policy refuses; ``str(exc)`` is one readable sentence saying why."""


Address = ipaddress.IPv4Address | ipaddress.IPv6Address

#: Host names of cloud metadata services, refused whatever they resolve to (any case, with or without a
#: trailing dot). Their usual addresses are refused below as well.
METADATA_HOSTS: frozenset[str] = frozenset({"metadata.google.internal", "metadata.tencentyun.com"})
_LINK_LOCAL_V4 = ipaddress.ip_network("169.254.0.0/16")  # AWS, Azure, GCP, Oracle, Huawei, Tencent metadata
_THIS_NETWORK_V4 = ipaddress.ip_network("0.0.0.0/8")
_METADATA_ADDRESSES: frozenset[Address] = frozenset({
    ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud
    ipaddress.ip_address("fd00:ec2::254"),  # AWS, over IPv6
})
#: IPv6 prefixes (/96) whose last 32 bits are an IPv4 address the packet ends up at: IPv4-mapped,
#: IPv4-translated (SIIT), NAT64's well-known prefix. IPv4-compatible (``::a.b.c.d``) and 6to4 are handled apart.
_EMBEDDING_V6 = tuple(ipaddress.ip_network(n) for n in ("::ffff:0:0/96", "::ffff:0:0:0/96", "64:ff9b::/96"))
_IDNA_DOTS = re.compile("[.\u3002\uff0e\uff61]")
_LABEL = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?$")
#: Never in a URL we accept: C0 and C1 controls, space, DEL, backslash (read as "/" by browsers but not by
#: urllib), and the bidirectional overrides (SPEC §1 text hygiene).
_FORBIDDEN_IN_URL = re.compile("[\x00-\x20\x7f-\x9f\\\\\u202a-\u202e\u2066-\u2069]")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_RADIX_DIGITS = {8: frozenset("01234567"), 10: frozenset("0123456789"), 16: frozenset("0123456789abcdefABCDEF")}


@dataclass(frozen=True, slots=True)
class Destination:
    """A parsed webhook URL: what to connect to (``host``/``ip``, ``port``) and what to ask for (``target``)."""

    scheme: str  # http | https
    host: str  # ASCII, lower case, no trailing dot; an IP literal in its canonical form, without brackets
    port: int
    target: str  # path and query, as given ("/" when empty)
    ip: Address | None  # the address when the host is an IP literal, in whatever spelling it was written

    @property
    def host_header(self) -> str:
        """The ``Host`` header: the host as registered (canonical), with the port unless it is the default."""
        host = f"[{self.host}]" if isinstance(self.ip, ipaddress.IPv6Address) else self.host
        return host if self.port == _DEFAULT_PORTS[self.scheme] else f"{host}:{self.port}"

    def url_for(self, address: Address) -> str:
        """The URL that reaches this destination at ``address`` (a checked one), port always explicit."""
        where = f"[{address.compressed}]" if address.version == 6 else address.compressed
        return f"{self.scheme}://{where}:{self.port}{self.target}"


def parse_destination(url: str) -> Destination:
    """Parse a webhook URL: http(s), a valid host name or IP literal, an optional port, no credentials.
    Raises RefusedDestination with the reason."""
    if _FORBIDDEN_IN_URL.search(url):
        raise RefusedDestination("The URL may not contain spaces, control characters, backslashes or "
                                 "bidirectional overrides.")
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise RefusedDestination(f"Not a valid URL: {exc}.") from exc
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise RefusedDestination("The URL must use http or https.")
    netloc = parts.netloc
    if not netloc:
        raise RefusedDestination("The URL has no host.")
    if "@" in netloc:
        raise RefusedDestination("Credentials in the URL are not accepted (every admin and integration token can "
                                 "read the URL); verify the signature instead.")
    if netloc.startswith("["):
        end = netloc.find("]")
        if end < 0:
            raise RefusedDestination("Not a valid URL: an IPv6 literal lacks its closing ']'.")
        host_text, rest = netloc[1:end], netloc[end + 1:]
        if rest and not rest.startswith(":"):
            raise RefusedDestination("Not a valid URL: unexpected text after the IPv6 literal.")
        port_text = rest[1:] if rest else ""
        ip: Address | None = _ipv6_literal(host_text)
        host = ip.compressed
    else:
        host_text, _, port_text = netloc.partition(":")
        if ":" in port_text:
            raise RefusedDestination("Not a valid URL: more than one ':' after the host (an IPv6 address goes in "
                                     "brackets: http://[2001:db8::1]:8080/).")
        host, ip = normalize_host(host_text)
    if port_text and not (port_text.isascii() and port_text.isdigit() and 1 <= int(port_text) <= 65535):
        raise RefusedDestination(
            f"Not a valid URL: the port must be a number from 1 to 65535, not '{_shown(port_text, 20)}'.")
    port = int(port_text) if port_text else _DEFAULT_PORTS[scheme]
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Destination(scheme=scheme, host=host, port=port, target=target, ip=ip)


def _ipv6_literal(text: str) -> ipaddress.IPv6Address:
    if "%" in text:
        raise RefusedDestination("IPv6 zone identifiers (%…) are not accepted: they name link-local addresses.")
    try:
        return ipaddress.IPv6Address(text)
    except ValueError as exc:
        raise RefusedDestination(f"'[{_shown(text)}]' is not a valid IPv6 address.") from exc


def normalize_host(text: str) -> tuple[str, Address | None]:
    """A host as written (no brackets, no port) → its canonical ASCII form, and the IPv4 address when it is one.

    IDNA (``encodings.idna``, nameprep + punycode) turns each label into ASCII; then, as in the WHATWG URL
    standard, a host whose last label is a number must be an IPv4 address (any spelling inet_aton accepts),
    anything else is a host name: labels of 1–63 letters, digits, ``-`` or ``_`` (no leading or trailing
    ``-``), an ``xn--`` label must decode, at most 253 characters in all. Raises RefusedDestination."""
    if not text:
        raise RefusedDestination("The URL has no host.")
    if _FORBIDDEN_IN_URL.search(text):
        raise RefusedDestination("A host may not contain spaces or control characters.")
    labels = _IDNA_DOTS.split(text)
    if len(labels) > 1 and labels[-1] == "":
        labels.pop()  # one trailing dot: the fully qualified form of the same name
    ascii_labels = []
    for label in labels:
        if not label:
            raise RefusedDestination(f"'{_shown(text)}' is not a valid host name: it has an empty label.")
        if label.isascii():
            ascii_labels.append(label.lower())
            continue
        try:
            ascii_labels.append(encodings.idna.ToASCII(label).decode("ascii").lower())
        except UnicodeError as exc:
            raise RefusedDestination(
                f"'{_shown(label)}' is not a valid internationalised (IDNA) label: {exc}.") from exc
    name = ".".join(ascii_labels)
    if _ends_in_a_number(ascii_labels):
        address = parse_ipv4(name)
        if address is None:
            raise RefusedDestination(f"'{_shown(text)}' ends in a number but is not a valid IPv4 address.")
        return address.compressed, address
    shown = _shown(text)
    for label in ascii_labels:
        if len(label) > 63:
            raise RefusedDestination(f"'{shown}' is not a valid host name: a label is {len(label)} characters long, "
                                     "at most 63 are allowed.")
        if label.startswith("xn--"):
            try:
                encodings.idna.ToUnicode(label)
            except UnicodeError:
                raise RefusedDestination(
                    f"'{shown}' is not a valid host name: the IDNA label '{_shown(label)}' does not decode.") from None
        if not _LABEL.match(label):
            raise RefusedDestination(f"'{shown}' is not a valid host name: a label may hold only letters, digits, "
                                     "'-' (not first or last) and '_'.")
    if len(name) > 253:
        raise RefusedDestination(f"The host name is {len(name)} characters long; at most 253 are allowed.")
    return name, None


def _shown(text: str, limit: int = 80) -> str:
    """``text`` cut for an error message."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _ipv4_number(part: str) -> int | None:
    """One part of a WHATWG IPv4 address: decimal, ``0x`` hex or leading-zero octal; None when it is not."""
    if not part:
        return None
    digits, radix = part, 10
    if part[:2] in ("0x", "0X"):
        digits, radix = part[2:], 16
    elif len(part) > 1 and part[0] == "0":
        digits, radix = part[1:], 8
    if not digits:
        return 0
    if not all(c in _RADIX_DIGITS[radix] for c in digits):
        return None
    return int(digits, radix)


def _ends_in_a_number(labels: list[str]) -> bool:
    last = labels[-1]
    return (last.isascii() and last.isdigit()) or _ipv4_number(last) is not None


def parse_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """The WHATWG URL standard's IPv4 parser (what browsers and, near enough, inet_aton accept): one to four
    parts, each decimal, octal (leading 0) or hex (0x); the last part fills the remaining bytes.
    ``0251.0376.0251.0376``, ``0xa9fea9fe``, ``2852039166`` and ``169.254.43518`` are all 169.254.169.254."""
    parts = host.split(".")
    if len(parts) > 1 and parts[-1] == "":
        parts.pop()
    if not 1 <= len(parts) <= 4:
        return None
    numbers = [_ipv4_number(p) for p in parts]
    if any(n is None for n in numbers):
        return None
    *head, last = numbers
    if any(n > 255 for n in head) or last >= 256 ** (5 - len(numbers)):
        return None
    value = last + sum(n * 256 ** (3 - i) for i, n in enumerate(head))
    return ipaddress.IPv4Address(value)


def embedded_ipv4(ip: Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries to: IPv4-mapped (``::ffff:a.b.c.d``), -translated, -compatible
    (``::a.b.c.d``), NAT64 (``64:ff9b::a.b.c.d``) or 6to4 (``2002:AABB:CCDD::``); None for others."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if any(ip in net for net in _EMBEDDING_V6):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if int(ip) >> 32 == 0 and int(ip) > 1:  # IPv4-compatible (deprecated), not :: or ::1
        return ipaddress.IPv4Address(int(ip))
    return ip.sixtofour


def address_refusal(ip: Address) -> str | None:
    """Why ``ip`` may never receive a webhook, or None. Private and loopback addresses are allowed (receivers
    on government networks); link-local, cloud metadata, multicast, unspecified and broadcast never are."""
    inner = embedded_ipv4(ip)
    if inner is not None:
        reason = address_refusal(inner)
        if reason:
            return f"an address that reaches {inner}, {reason}"
    if ip in _METADATA_ADDRESSES:
        return "a cloud metadata service's address"
    if isinstance(ip, ipaddress.IPv4Address):
        if ip in _LINK_LOCAL_V4:
            return "a link-local address (169.254.0.0/16), where cloud metadata services answer"
        if ip in _THIS_NETWORK_V4:
            return "an unspecified address ('this network', 0.0.0.0/8)"
        if ip == ipaddress.IPv4Address("255.255.255.255"):
            return "the broadcast address"
    else:
        if ip.is_unspecified:
            return "the unspecified address (::)"
        if ip.is_link_local:
            return "a link-local address (fe80::/10)"
    if ip.is_multicast:
        return "a multicast address"
    return None


def host_refusal(dest: Destination) -> str | None:
    """Why the destination's host itself is refused (a metadata host name, a refused IP literal), or None."""
    if dest.host in METADATA_HOSTS:
        return f"'{dest.host}' is a cloud metadata service."
    if dest.ip is not None:
        reason = address_refusal(dest.ip)
        if reason:
            return f"{dest.ip.compressed} is {reason}."
    return None


def checked_addresses(dest: Destination, resolved: Iterable[str]) -> list[Address]:
    """The addresses to connect to: the IP literal itself, or every address the host name resolved to, each
    allowed by the policy. Raises RefusedDestination when the host or any resolved address is refused (a name
    that points at a metadata service even once is not a receiver), or when nothing was resolved."""
    reason = host_refusal(dest)
    if reason:
        raise RefusedDestination(reason)
    if dest.ip is not None:
        return [dest.ip]
    out: list[Address] = []
    for text in resolved:
        try:
            ip = ipaddress.ip_address(text.split("%", 1)[0])
        except ValueError:
            raise RefusedDestination(f"'{dest.host}' resolved to '{text}', which is not an IP address.") from None
        reason = address_refusal(ip)
        if reason:
            raise RefusedDestination(f"'{dest.host}' resolves to {ip.compressed}, {reason}.")
        if ip not in out:
            out.append(ip)
    if not out:
        raise RefusedDestination(f"'{dest.host}' does not resolve to any address.")
    return out
