"""Webhook rules: event patterns, what a subscriber sees, the destination policy (URLs, host names, every
spelling of a refused address), allowed hosts, the retry schedule (pure, no database, no network)."""

from __future__ import annotations

import ipaddress
import random
import socket

import pytest

from service.domain.webhooks import (
    EVENT_TYPES,
    RefusedDestination,
    address_refusal,
    checked_addresses,
    embedded_ipv4,
    host_allowed,
    host_refusal,
    invalid_event_patterns,
    matches,
    message_id,
    parse_destination,
    parse_ipv4,
    retry_delay,
    sees_event_data,
    visible_payload,
)


@pytest.mark.parametrize(("patterns", "action", "expected"), [
    (["*"], "project.created", True),
    (["project.*"], "project.transitioned", True),
    (["project.*"], "problem.created", False),
    (["project.created"], "project.created", True),
    (["project.created"], "project.updated", False),
    (["dispatch.submitted", "appraisal.published"], "appraisal.published", True),
])
def test_matches(patterns, action, expected):
    assert matches(patterns, action) is expected


def test_event_patterns():
    assert invalid_event_patterns(["*", "project.*", "project.created", "dispatch.submitted"]) == []
    assert invalid_event_patterns(["project.create", "nope.*", "Project.created", "x", "*.created"]) == [
        "project.create", "nope.*", "Project.created", "x", "*.created"]
    assert "problem.overdue" not in EVENT_TYPES  # a state reached by time, not an audited write
    assert {"project.created", "project.transitioned", "dispatch.submitted", "appraisal.published"} <= EVENT_TYPES


@pytest.mark.parametrize(("host", "allowed", "expected"), [
    ("anything.cn", [], True),
    ("receiver.example.cn", ["receiver.example.cn"], True),
    ("RECEIVER.example.cn.", ["receiver.example.cn"], True),
    ("other.example.cn", ["receiver.example.cn"], False),
    ("a.gov.example", ["*.gov.example"], True),
    ("b.a.gov.example", ["*.gov.example"], True),
    ("gov.example", ["*.gov.example"], False),
    ("evilgov.example", ["*.gov.example"], False),
    ("10.0.0.5", ["10.0.0.5"], True),
])
def test_host_allowed(host, allowed, expected):
    assert host_allowed(host, allowed) is expected


def test_retry_delay_doubles_with_jitter_and_a_cap():
    rand = random.Random(7)
    for attempt, full in [(1, 5), (2, 10), (3, 20), (4, 40), (10, 2560), (12, 3600), (30, 3600)]:
        for _ in range(50):
            delay = retry_delay(attempt, base=5, cap=3600, rand=rand)
            assert full / 2 <= delay <= full, (attempt, delay)


def test_message_id_is_the_audit_seq():
    assert message_id(42) == "msg_42"


# ---------------------------------------------------------------- what a subscriber sees

EVENT = {"type": "appraisal.weights_set", "timestamp": "2026-12-04T10:00:00Z",
         "data": {"before": {"indicators": 0.4}, "after": {"indicators": 0.5}, "seq": 7, "entity": "appraisal",
                  "entity_id": "2026", "actor": {"name": "admin", "role": "admin"}, "request_id": "r1"}}
PROJECT_EVENT = {**EVENT, "type": "project.updated", "data": {**EVENT["data"], "entity": "project", "entity_id": "P1"}}


@pytest.mark.parametrize(("role", "entity", "expected"), [
    ("admin", "appraisal", True),
    ("admin", "project", True),
    ("auditor", "dispatch", True),
    ("integration", "project", True),  # GET /projects/{id}/history shows the same
    ("integration", "appraisal", False),
    ("integration", "dispatch", False),
    ("integration", "webhook", False),
    ("integration", "import", False),
    ("viewer", "chain", False),
])
def test_sees_event_data(role, entity, expected):
    assert sees_event_data(role, entity) is expected


def test_visible_payload_keeps_only_identifiers_for_a_narrower_role():
    assert visible_payload(EVENT, role="admin") == EVENT
    assert visible_payload(PROJECT_EVENT, role="integration") == PROJECT_EVENT
    cut = visible_payload(EVENT, role="integration")
    assert cut == {"type": "appraisal.weights_set", "timestamp": "2026-12-04T10:00:00Z",
                   "data": {"seq": 7, "entity": "appraisal", "entity_id": "2026", "redacted": True}}
    assert EVENT["data"]["before"] == {"indicators": 0.4}  # the input is not changed


# ---------------------------------------------------------------- destinations: parsing

META = "link-local"


@pytest.mark.parametrize(("url", "host", "ip", "port", "target"), [
    ("https://receiver.example.cn/hooks?x=1", "receiver.example.cn", None, 443, "/hooks?x=1"),
    ("http://Receiver.Example.CN./h", "receiver.example.cn", None, 80, "/h"),
    ("HTTP://receiver.example.cn:8080", "receiver.example.cn", None, 8080, "/"),
    ("http://bücher.example/h", "xn--bcher-kva.example", None, 80, "/h"),
    ("http://xn--bcher-kva.example/h", "xn--bcher-kva.example", None, 80, "/h"),
    ("http://政府.中国/h", "xn--mxtq1m.xn--fiqs8s", None, 80, "/h"),
    ("http://a_b.intranet/h", "a_b.intranet", None, 80, "/h"),
    ("http://" + "a" * 63 + ".cn/", "a" * 63 + ".cn", None, 80, "/"),
    ("http://127.0.0.1:9000/h", "127.0.0.1", "127.0.0.1", 9000, "/h"),
    ("http://10.1.2.3/h", "10.1.2.3", "10.1.2.3", 80, "/h"),
    ("http://0x7f.1:9000/h", "127.0.0.1", "127.0.0.1", 9000, "/h"),  # loopback, in another spelling: allowed
    ("http://[::1]:9000/h", "::1", "::1", 9000, "/h"),
    ("http://[::ffff:10.0.0.1]/h", "::ffff:a00:1", "::ffff:a00:1", 80, "/h"),
    ("http://localhost:8080/h", "localhost", None, 8080, "/h"),
])
def test_parse_destination_accepts(url, host, ip, port, target):
    dest = parse_destination(url)
    assert (dest.host, str(dest.ip) if dest.ip else None, dest.port, dest.target) == (
        host, str(ipaddress.ip_address(ip)) if ip else None, port, target)
    assert host_refusal(dest) is None


@pytest.mark.parametrize(("url", "fragment"), [
    ("ftp://receiver.example.cn/h", "http or https"),
    ("receiver.example.cn/h", "http or https"),
    ("http:///no-host", "no host"),
    ("http://user:pw@receiver.example.cn/h", "Credentials"),
    ("http://@receiver.example.cn/h", "Credentials"),
    ("http://receiver.example.cn:99999/h", "port"),
    ("http://receiver.example.cn:0/h", "port"),
    ("http://receiver.example.cn:8o/h", "port"),
    ("http://receiver.example.cn:" + "9" * 1500 + "/h", "port"),
    ("http://a\x00b.example.cn/h", "control"),
    ("http://receiver.example.cn\x00/h", "control"),
    ("http://receiver.exa\tmple.cn/h", "control"),  # urllib would silently drop the tab
    ("http://receiver.example.cn /h", "spaces"),
    ("http://evil.example\\@10.0.0.1/h", "backslash"),
    ("http://receiver.example.cn/\u202eh", "bidirectional"),
    ("http://" + "a" * 300 + ".example.cn/h", "300 characters long"),
    ("http://" + "a" * 64 + ".cn/", "64 characters long"),
    ("http://" + ".".join(["a" * 60] * 5) + "/h", "at most 253"),
    ("http://xn--/h", "does not decode"),
    ("http://xn--.example.cn/h", "does not decode"),
    ("http://xn--abc-/h", "does not decode"),
    ("http://-lead.example.cn/h", "letters, digits"),
    ("http://trail-.example.cn/h", "letters, digits"),
    ("http://a..b.cn/h", "empty label"),
    ("http://%31%36%39.254.169.254/h", "IPv4"),
    ("http://exa%6dple.cn/h", "letters, digits"),
    ("http://a!b.cn/h", "letters, digits"),
    ("http://09.1.1.1/h", "not a valid IPv4"),
    ("http://1.2.3.4.5/h", "not a valid IPv4"),
    ("http://256.1.1.1/h", "not a valid IPv4"),
    ("http://1.2.3.1000/h", "not a valid IPv4"),
    ("http://example.0x10/h", "not a valid IPv4"),
    ("http://example.1/h", "not a valid IPv4"),
    ("http://[::1/h", "Not a valid URL"),
    ("http://[::1]x/h", "after the IPv6"),
    ("http://[fe80::1%25eth0]/h", "zone"),
    ("http://[v1.abc]/h", "IPv6"),
    ("http://::1/h", "brackets"),
    ("http://receiver.example.cn:80:80/h", "more than one ':'"),
])
def test_parse_destination_refuses(url, fragment):
    with pytest.raises(RefusedDestination) as exc:
        parse_destination(url)
    assert fragment in str(exc.value), str(exc.value)
    assert len(str(exc.value)) < 400  # a readable sentence, not the 300-character label back


# ---------------------------------------------------------------- destinations: every spelling of a refused address


@pytest.mark.parametrize(("host", "address"), [
    ("169.254.169.254", "169.254.169.254"),
    ("0251.0376.0251.0376", "169.254.169.254"),  # octal
    ("0xa9.0xfe.0xa9.0xfe", "169.254.169.254"),  # hex per part
    ("0XA9.0XFE.0XA9.0XFE", "169.254.169.254"),
    ("0xa9fea9fe", "169.254.169.254"),  # one hex number
    ("2852039166", "169.254.169.254"),  # one decimal number
    ("169.254.43518", "169.254.169.254"),  # a.b.c: c fills 16 bits
    ("169.16689662", "169.254.169.254"),  # a.b: b fills 24 bits
    ("0251.0xfe.43518", "169.254.169.254"),  # mixed
    ("169.254.169.254.", "169.254.169.254"),  # trailing dot
    ("00000000000251.0376.0251.0376", "169.254.169.254"),
    ("１６９．２５４．１６９．２５４", "169.254.169.254"),  # full-width digits and dots (IDNA maps them)
    ("169。254。169。254", "169.254.169.254"),  # ideographic full stops
    ("0", "0.0.0.0"),
    ("0x", "0.0.0.0"),
    ("100.100.100.200", "100.100.100.200"),
    ("1684301000", "100.100.100.200"),
    ("0x64646464", "100.100.100.100"),
    ("127.1", "127.0.0.1"),
    ("0x7f000001", "127.0.0.1"),
    ("4294967295", "255.255.255.255"),
])
def test_ipv4_spellings_are_read_like_browsers_and_inet_aton(host, address):
    assert parse_destination(f"http://{host}/").ip == ipaddress.ip_address(address)
    if host.isascii():
        assert str(parse_ipv4(host)) == address
        if not host.endswith(".") and not host.startswith("00000000000") and host != "0x":
            assert socket.inet_aton(host) == ipaddress.ip_address(address).packed  # the C library agrees


@pytest.mark.parametrize("host", ["", "1.2.3.4.5", "256.0.0.1", "1.256.0.1", "1.2.65536", "1.16777216",
                                  "4294967296", "09", "0x1g", "1..2", "1.2.3.-4", "1_0.0.0.1", " 1.2.3.4", "+1.2.3.4"])
def test_parse_ipv4_refuses(host):
    assert parse_ipv4(host) is None


REFUSED_HOSTS = [
    # (host as written in the URL, a word the reason holds)
    ("169.254.169.254", META),
    ("169.254.0.1", META),
    ("169.254.170.2", META),  # AWS ECS task metadata
    ("0251.0376.0251.0376", META),
    ("0xa9.0xfe.0xa9.0xfe", META),
    ("0xa9fea9fe", META),
    ("2852039166", META),
    ("169.254.43518", META),
    ("１６９．２５４．１６９．２５４", META),
    ("[::ffff:169.254.169.254]", META),  # IPv4-mapped
    ("[::ffff:a9fe:a9fe]", META),
    ("[0:0:0:0:0:ffff:a9fe:a9fe]", META),
    ("[::169.254.169.254]", META),  # IPv4-compatible
    ("[::ffff:0:a9fe:a9fe]", META),  # IPv4-translated
    ("[64:ff9b::169.254.169.254]", META),  # NAT64
    ("[2002:a9fe:a9fe::1]", META),  # 6to4
    ("[fe80::1]", "link-local"),
    ("[FE80::a9fe:a9fe]", "link-local"),
    ("[febf::1]", "link-local"),
    ("[fd00:ec2::254]", "metadata"),
    ("[fd00:ec2:0:0:0:0:0:254]", "metadata"),
    ("100.100.100.200", "metadata"),
    ("0x64.0x64.0x64.0xc8", "metadata"),
    ("[::ffff:100.100.100.200]", "metadata"),
    ("metadata.google.internal", "metadata"),
    ("METADATA.Google.Internal", "metadata"),
    ("metadata.google.internal.", "metadata"),
    ("metadata.tencentyun.com", "metadata"),
    ("224.0.0.1", "multicast"),
    ("239.255.255.250", "multicast"),
    ("[ff02::1]", "multicast"),
    ("[::ffff:224.0.0.1]", "multicast"),
    ("0.0.0.0", "unspecified"),
    ("0", "unspecified"),
    ("0.1.2.3", "unspecified"),
    ("[::]", "unspecified"),
    ("[::ffff:0.0.0.0]", "unspecified"),
    ("255.255.255.255", "broadcast"),
]


@pytest.mark.parametrize(("host", "word"), REFUSED_HOSTS)
def test_refused_hosts_in_every_spelling(host, word):
    dest = parse_destination(f"http://{host}:8080/latest/meta-data/")
    reason = host_refusal(dest)
    assert reason is not None and word in reason, reason
    with pytest.raises(RefusedDestination, match=word):
        checked_addresses(dest, [])


@pytest.mark.parametrize("address", ["10.0.0.1", "172.16.5.4", "192.168.1.20", "127.0.0.1", "127.8.9.10", "::1",
                                     "fd12:3456::1", "100.64.0.1", "8.8.8.8", "2400:3200::1", "::ffff:192.168.1.1",
                                     "64:ff9b::808:808", "2002:0a00:0001::1", "fec0::1"])
def test_private_loopback_and_public_addresses_are_allowed(address):
    assert address_refusal(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(("address", "inner"), [
    ("::ffff:169.254.169.254", "169.254.169.254"),
    ("::169.254.169.254", "169.254.169.254"),
    ("64:ff9b::a9fe:a9fe", "169.254.169.254"),
    ("2002:a9fe:a9fe::", "169.254.169.254"),
    ("::ffff:0:a9fe:a9fe", "169.254.169.254"),
    ("::1", None),
    ("::", None),
    ("2400:3200::1", None),
    ("10.0.0.1", None),
])
def test_embedded_ipv4(address, inner):
    got = embedded_ipv4(ipaddress.ip_address(address))
    assert (str(got) if got else None) == inner


# ---------------------------------------------------------------- destinations: what a name resolves to


@pytest.mark.parametrize(("resolved", "word"), [
    (["169.254.169.254"], "169.254.169.254, a link-local"),
    (["10.0.0.1", "169.254.169.254"], "169.254.169.254"),  # one refused address refuses the name
    (["fe80::1%eth0"], "link-local"),
    (["::ffff:169.254.169.254"], "reaches 169.254.169.254"),
    (["fd00:ec2::254"], "metadata"),
    (["100.100.100.200"], "metadata"),
    (["224.0.0.251"], "multicast"),
    (["0.0.0.0"], "unspecified"),
    (["not-an-address"], "not an IP address"),
    ([], "does not resolve"),
])
def test_a_name_is_refused_when_any_address_is(resolved, word):
    dest = parse_destination("https://rebind.example.cn/h")
    with pytest.raises(RefusedDestination, match=word):
        checked_addresses(dest, resolved)


def test_the_checked_addresses_of_a_name_in_order_without_repeats():
    dest = parse_destination("https://receiver.example.cn/h")
    assert checked_addresses(dest, ["10.0.0.2", "::1", "10.0.0.2"]) == [
        ipaddress.ip_address("10.0.0.2"), ipaddress.ip_address("::1")]
    ip_dest = parse_destination("http://10.0.0.9/h")
    assert checked_addresses(ip_dest, ["169.254.169.254"]) == [ipaddress.ip_address("10.0.0.9")]  # never resolved


@pytest.mark.parametrize(("url", "address", "request_url", "host_header"), [
    ("https://receiver.example.cn/h?x=1", "10.0.0.2", "https://10.0.0.2:443/h?x=1", "receiver.example.cn"),
    ("http://receiver.example.cn:8080/h", "::1", "http://[::1]:8080/h", "receiver.example.cn:8080"),
    ("http://bücher.example/", "10.0.0.3", "http://10.0.0.3:80/", "xn--bcher-kva.example"),
    ("http://[::1]:9000/h", "::1", "http://[::1]:9000/h", "[::1]:9000"),
    ("http://0x7f.1/h", "127.0.0.1", "http://127.0.0.1:80/h", "127.0.0.1"),
])
def test_the_request_goes_to_the_checked_address_with_the_host_name(url, address, request_url, host_header):
    dest = parse_destination(url)
    assert dest.url_for(ipaddress.ip_address(address)) == request_url
    assert dest.host_header == host_header


@pytest.mark.parametrize(("host", "allowed", "expected"), [
    ("xn--bcher-kva.example", ["bücher.example"], True),
    ("10.0.0.5", ["012.0.0.5"], True),
    ("::1", ["[::1]"], True),
    ("::1", ["0:0:0:0:0:0:0:1"], True),
    ("a.xn--bcher-kva.example", ["*.Bücher.example."], True),
    ("10.0.0.6", ["10.0.0.5"], False),
])
def test_host_allowed_compares_canonical_forms(host, allowed, expected):
    assert host_allowed(host, allowed) is expected
