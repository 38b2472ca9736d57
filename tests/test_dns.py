"""DNS query-log lines as dnsmasq, Pi-hole and unbound write them, and how a query's lines join into one row."""

from datetime import datetime, timedelta

import pytest

from collector.dns import (
    ANSWERED,
    BLOCKED,
    CACHED,
    FAILED,
    FORWARDED,
    LOCAL,
    NODATA,
    NXDOMAIN,
    OUTCOME,
    QUERY,
    DnsLine,
    is_dns_program,
    parse_dns,
)
from collector.dnsjoin import join

GOOD = [
    ("dnsmasq", "query[A] api.amazon.com from 192.168.1.45", DnsLine(QUERY, "api.amazon.com", "A", "192.168.1.45")),
    ("dnsmasq", "query[AAAA] Api.Amazon.COM. from fd00::45", DnsLine(QUERY, "api.amazon.com", "AAAA", "fd00::45")),
    ("dnsmasq", "query[HTTPS] example.com from 192.168.1.45", DnsLine(QUERY, "example.com", "HTTPS", "192.168.1.45")),
    (
        "dnsmasq",
        "query[PTR] 45.1.168.192.in-addr.arpa from 192.168.1.2",
        DnsLine(QUERY, "45.1.168.192.in-addr.arpa", "PTR", "192.168.1.2"),
    ),
    ("dnsmasq", "forwarded api.amazon.com to 1.1.1.1", DnsLine(FORWARDED, "api.amazon.com", upstream="1.1.1.1")),
    (
        "dnsmasq",
        "reply api.amazon.com is 52.94.236.248",
        DnsLine(OUTCOME, "api.amazon.com", outcome=ANSWERED, answer="52.94.236.248"),
    ),
    ("dnsmasq", "reply x.example is <CNAME>", DnsLine(OUTCOME, "x.example", outcome=ANSWERED)),
    ("dnsmasq", "reply x.example is NODATA-IPv6", DnsLine(OUTCOME, "x.example", outcome=NODATA)),
    ("dnsmasq", "reply x.example is NXDOMAIN", DnsLine(OUTCOME, "x.example", outcome=NXDOMAIN)),
    (
        "dnsmasq",
        "cached api.amazon.com is 52.94.236.248",
        DnsLine(OUTCOME, "api.amazon.com", outcome=CACHED, answer="52.94.236.248"),
    ),
    ("dnsmasq", "cached gone.example is NXDOMAIN", DnsLine(OUTCOME, "gone.example", outcome=NXDOMAIN)),
    (
        "dnsmasq",
        "config ads.example is 0.0.0.0",
        DnsLine(OUTCOME, "ads.example", outcome=BLOCKED, blocked_by="config", answer="0.0.0.0"),
    ),
    (
        "dnsmasq",
        "config ads.example is NXDOMAIN",
        DnsLine(OUTCOME, "ads.example", outcome=BLOCKED, blocked_by="config"),
    ),
    (
        "dnsmasq",
        "config nas.lan is 192.168.1.10",
        DnsLine(OUTCOME, "nas.lan", outcome=LOCAL, answer="192.168.1.10"),
    ),
    (
        "dnsmasq",
        "/etc/hosts router.lan is 192.168.1.1",
        DnsLine(OUTCOME, "router.lan", outcome=LOCAL, answer="192.168.1.1"),
    ),
    (
        "dnsmasq",
        "/tmp/adb_list.overall tracker.example is 0.0.0.0",  # noqa: S108  (the path as adblock logs it)
        DnsLine(OUTCOME, "tracker.example", outcome=BLOCKED, blocked_by="hosts", answer="0.0.0.0"),
    ),
    ("dnsmasq", "DHCP tv.lan is 192.168.1.45", DnsLine(OUTCOME, "tv.lan", outcome=LOCAL, answer="192.168.1.45")),
    (
        "pihole-FTL",
        "gravity blocked ads.example is 0.0.0.0",
        DnsLine(OUTCOME, "ads.example", outcome=BLOCKED, blocked_by="gravity", answer="0.0.0.0"),
    ),
    (
        "dnsmasq",
        "regex blacklisted track.example is 0.0.0.0",
        DnsLine(OUTCOME, "track.example", outcome=BLOCKED, blocked_by="regex", answer="0.0.0.0"),
    ),
    (
        "dnsmasq",
        "exactly denied bad.example is ::",
        DnsLine(OUTCOME, "bad.example", outcome=BLOCKED, blocked_by="exact", answer="::"),
    ),
    (
        "dnsmasq",
        "1234 192.168.1.45/52001 query[A] example.com from 192.168.1.45",
        DnsLine(QUERY, "example.com", "A", "192.168.1.45", serial=1234),
    ),
    (
        "dnsmasq",
        "1234 192.168.1.45/52001 reply example.com is 93.184.216.34",
        DnsLine(OUTCOME, "example.com", serial=1234, outcome=ANSWERED, answer="93.184.216.34"),
    ),
    ("unbound", "[1234:0] info: 192.168.1.45 example.com. A IN", DnsLine(QUERY, "example.com", "A", "192.168.1.45")),
    (
        "unbound",
        "[1234:0] info: 192.168.1.45 example.com. A IN NOERROR 0.000000 0 45",
        DnsLine(OUTCOME, "example.com", "A", "192.168.1.45", outcome=ANSWERED),
    ),
    (
        "unbound",
        "[1234:1] info: 192.168.1.45 example.com. AAAA IN NOERROR 0.000000 1 57",
        DnsLine(OUTCOME, "example.com", "AAAA", "192.168.1.45", outcome=CACHED),
    ),
    (
        "unbound",
        "[99:0] info: 192.168.1.45 nope.example. A IN NXDOMAIN 0.012000 0 104",
        DnsLine(OUTCOME, "nope.example", "A", "192.168.1.45", outcome=NXDOMAIN),
    ),
    (
        "unbound",
        "[99:0] info: 192.168.1.45 broken.example. A IN SERVFAIL 0.500000 0 33",
        DnsLine(OUTCOME, "broken.example", "A", "192.168.1.45", outcome=FAILED),
    ),
    (
        "unbound",
        "[99:0] info: ads.example. always_nxdomain 192.168.1.45@52001 ads.example. A IN",
        DnsLine(OUTCOME, "ads.example", "A", "192.168.1.45", outcome=BLOCKED, blocked_by="local-zone"),
    ),
]

MALFORMED = [
    ("dnsmasq", ""),
    ("dnsmasq", "query[A]"),
    ("dnsmasq", "query[A] example.com from"),
    ("dnsmasq", "query[A] example.com from not-an-address"),
    ("dnsmasq", "query[A] example.com to 192.168.1.45"),
    ("dnsmasq", "reply example.com"),
    ("dnsmasq", "started, version 2.90 cachesize 150"),
    ("dnsmasq", "using nameserver 1.1.1.1#53"),
    ("dnsmasq", "read /etc/hosts - 4 names"),
    ("dnsmasq", f"query[A] {'a' * 300}.example from 192.168.1.45"),
    ("dnsmasq", "query[A] ex'ample.com from 192.168.1.45"),
    ("dnsmasq", "99999999999999999999999 192.168.1.45/1 query[A] x.example from 192.168.1.45"),
    ("unbound", "[1234:0] info: start of service (unbound 1.19.0)."),
    ("unbound", "[1234:0] info: 192.168.1.45 example.com. A CH"),
    ("unbound", "[1234:0] info: nonsense example.com. A IN"),
    ("unbound", "[1234:0] debug: 192.168.1.45 example.com. A IN"),
]


@pytest.mark.parametrize(("program", "text", "expected"), GOOD, ids=[text[:50] for _, text, _ in GOOD])
def test_query_log_lines_parse_to_their_fields(program: str, text: str, expected: DnsLine) -> None:
    assert parse_dns(program, text) == expected


@pytest.mark.parametrize(("program", "text"), MALFORMED, ids=[text[:40] or "empty" for _, text in MALFORMED])
def test_lines_that_are_no_query_log_are_not_taken_for_one(program: str, text: str) -> None:
    line = parse_dns(program, text)
    assert line is None or line.serial is None  # a serial too long to be one is never trusted
    if "9999" not in text:
        assert line is None


def test_only_resolver_programs_are_read_for_queries() -> None:
    assert [is_dns_program(p) for p in ("dnsmasq", "unbound", "pihole-FTL", "dnsmasq-dhcp", "kernel", None)] == [
        True, True, True, False, False, False,
    ]  # fmt: skip


T0 = datetime(2026, 12, 1, 8, 0, 0)


def _lines(*texts: str, program: str = "dnsmasq", host: str = "router") -> list:
    """Parse lines as one router sent them, a millisecond apart."""
    out = []
    for position, text in enumerate(texts):
        line = parse_dns(program, text)
        assert line is not None, text
        out.append((position, T0 + timedelta(milliseconds=position), float(position), host, line))
    return out


def _summary(lines: list, hold_after: float | None = None) -> list[tuple]:
    joined = join(lines, hold_after)
    return [(q.client, q.qtype, q.domain, q.outcome, q.blocked_by, q.upstream, q.answer) for q in joined.queries]


def test_a_forwarded_query_and_its_reply_are_one_row_with_the_upstream_and_answer() -> None:
    lines = _lines(
        "query[A] api.amazon.com from 192.168.1.45",
        "forwarded api.amazon.com to 1.1.1.1",
        "reply api.amazon.com is 52.94.236.248",
        "reply api.amazon.com is 52.94.236.249",
    )
    joined = join(lines)
    assert _summary(lines) == [("192.168.1.45", "A", "api.amazon.com", ANSWERED, None, "1.1.1.1", "52.94.236.248")]
    assert joined.queries[0].lines == [0, 1, 2, 3]
    assert joined.unjoined == 0
    assert joined.queries[0].timestamp == T0


def test_a_cname_chain_gives_the_query_its_final_address_and_no_extra_rows() -> None:
    lines = _lines(
        "query[A] www.example.com from 192.168.1.45",
        "forwarded www.example.com to 9.9.9.9",
        "reply www.example.com is <CNAME>",
        "reply cdn.example.net is 203.0.113.7",
    )
    assert _summary(lines) == [("192.168.1.45", "A", "www.example.com", ANSWERED, None, "9.9.9.9", "203.0.113.7")]
    assert join(lines).unjoined == 0


def test_a_and_aaaa_queries_for_one_name_each_get_their_own_answer() -> None:
    lines = _lines(
        "query[A] example.com from 192.168.1.45",
        "query[AAAA] example.com from 192.168.1.45",
        "reply example.com is 2606:2800:220:1::248",
        "reply example.com is 93.184.216.34",
        "reply example.com is 93.184.216.35",
    )
    assert _summary(lines) == [
        ("192.168.1.45", "A", "example.com", ANSWERED, None, None, "93.184.216.34"),
        ("192.168.1.45", "AAAA", "example.com", ANSWERED, None, None, "2606:2800:220:1::248"),
    ]


def test_cached_blocked_and_local_answers_are_outcomes_of_their_queries() -> None:
    lines = _lines(
        "query[A] api.amazon.com from 192.168.1.45",
        "cached api.amazon.com is 52.94.236.248",
        "query[A] ads.example from 192.168.1.46",
        "gravity blocked ads.example is 0.0.0.0",
        "query[A] router.lan from 192.168.1.47",
        "/etc/hosts router.lan is 192.168.1.1",
        "query[AAAA] v4only.example from 192.168.1.45",
        "forwarded v4only.example to 1.1.1.1",
        "reply v4only.example is NODATA-IPv6",
        program="pihole-FTL",
    )
    assert [(row[2], row[3], row[4]) for row in _summary(lines)] == [
        ("api.amazon.com", CACHED, None),
        ("ads.example", BLOCKED, "gravity"),
        ("router.lan", LOCAL, None),
        ("v4only.example", NODATA, None),
    ]


def test_extra_serials_join_exactly_even_when_queries_for_one_name_interleave() -> None:
    lines = _lines(
        "7 192.168.1.45/5000 query[A] example.com from 192.168.1.45",
        "8 192.168.1.46/5001 query[A] example.com from 192.168.1.46",
        "8 192.168.1.46/5001 config example.com is 0.0.0.0",
        "7 192.168.1.45/5000 forwarded example.com to 1.1.1.1",
        "7 192.168.1.45/5000 reply example.com is <CNAME>",
        "7 192.168.1.45/5000 reply edge.example.net is 198.51.100.1",
    )
    assert _summary(lines) == [
        ("192.168.1.45", "A", "example.com", ANSWERED, None, "1.1.1.1", "198.51.100.1"),
        ("192.168.1.46", "A", "example.com", BLOCKED, "config", None, "0.0.0.0"),
    ]


def test_routers_are_joined_separately() -> None:
    lines = _lines("query[A] example.com from 192.168.1.45", host="a") + _lines(
        "reply example.com is 93.184.216.34", host="b"
    )
    joined = join(lines)
    assert [(q.host, q.outcome) for q in joined.queries] == [("a", "unknown")]
    assert joined.unjoined == 1


def test_a_query_without_outcome_still_counts_and_a_lone_reply_counts_as_unjoined() -> None:
    lines = _lines(
        "reply lost.example is 192.0.2.1",
        "query[A] quiet.example from 192.168.1.45",
        "query[A] slow.example from 192.168.1.45",
        "forwarded slow.example to 1.1.1.1",
    )
    joined = join(lines)
    assert [(q.domain, q.outcome) for q in joined.queries] == [
        ("quiet.example", "unknown"),
        ("slow.example", "forwarded"),
    ]
    assert joined.unjoined == 1


def test_open_queries_that_just_arrived_are_held_with_their_lines_for_the_next_batch() -> None:
    lines = _lines(
        "query[A] old.example from 192.168.1.45",
        "query[A] done.example from 192.168.1.45",
        "cached done.example is 192.0.2.1",
        "query[A] new.example from 192.168.1.45",
        "forwarded new.example to 1.1.1.1",
    )
    joined = join(lines, hold_after=2.0)  # arrivals are 0.0, 1.0, ...: the first query is too old to wait
    assert [(q.domain, q.outcome) for q in joined.queries] == [("old.example", "unknown"), ("done.example", CACHED)]
    assert joined.held == [3, 4]


def test_unbound_queries_and_replies_join_on_client_name_and_type() -> None:
    lines = _lines(
        "[1:0] info: 192.168.1.45 example.com. A IN",
        "[1:0] info: 192.168.1.46 example.com. A IN",
        "[1:0] info: 192.168.1.45 example.com. AAAA IN",
        "[1:0] info: 192.168.1.46 example.com. A IN NOERROR 0.000000 1 45",
        "[1:0] info: 192.168.1.45 example.com. AAAA IN NOERROR 0.010000 0 57",
        "[1:0] info: 192.168.1.47 replies.only. A IN NXDOMAIN 0.010000 0 57",
        program="unbound",
    )
    assert [(q.client, q.qtype, q.domain, q.outcome) for q in join(lines).queries] == [
        ("192.168.1.45", "A", "example.com", "unknown"),
        ("192.168.1.46", "A", "example.com", CACHED),
        ("192.168.1.45", "AAAA", "example.com", ANSWERED),
        ("192.168.1.47", "A", "replies.only", NXDOMAIN),
    ]


def test_a_reply_after_another_line_is_no_further_record_of_the_answer_before_it() -> None:
    lines = _lines("query[A] a.example from 192.168.1.45", "cached a.example is 192.0.2.1")
    stray = parse_dns("dnsmasq", "reply nobody-asked.example is 192.0.2.9")
    lines.append((5, T0, 5.0, "router", stray))  # positions 2-4: lines that are no query log
    joined = join(lines)
    assert [(q.domain, q.lines) for q in joined.queries] == [("a.example", [0, 1])]
    assert joined.unjoined == 1
