"""Syslog header parsing: real RFC 3164 and RFC 5424 lines, good and malformed."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from collector.syslog import (
    Facility,
    Severity,
    _split_structured_data,
    decode_pri,
    decode_text,
    parse_syslog,
    parse_text,
)

RECEIVED = datetime(2025, 11, 17, 8, 0, 5, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")


class TestDecodePri:
    """PRI = facility * 8 + severity."""

    @pytest.mark.parametrize(
        ("pri", "facility", "severity"),
        [
            (0, Facility.KERN, Severity.EMERG),
            (4, Facility.KERN, Severity.WARNING),
            (13, Facility.USER, Severity.NOTICE),
            (30, Facility.DAEMON, Severity.INFO),
            (86, Facility.AUTHPRIV, Severity.INFO),
            (191, Facility.LOCAL7, Severity.DEBUG),
        ],
    )
    def test_splits_facility_and_severity(self, pri: int, facility: Facility, severity: Severity) -> None:
        """Each PRI maps to its facility and severity."""
        assert decode_pri(pri) == (facility, severity)

    @pytest.mark.parametrize("pri", [-1, 192, 999])
    def test_rejects_out_of_range(self, pri: int) -> None:
        """A PRI above 191 names no facility and is refused with the value quoted."""
        with pytest.raises(ValueError, match=str(pri)):
            decode_pri(pri)


# (line, facility, severity, timestamp UTC, host, program, pid, message)
RFC3164_LINES = [
    (
        b"<4>Nov 17 08:00:00 router kernel: [1234567.905147] drop wan in: IN=eth0 OUT=",
        0, 4, datetime(2025, 11, 17, 8, 0), "router", "kernel", None,
        "[1234567.905147] drop wan in: IN=eth0 OUT=",
    ),
    (
        b"<13>Jun  3 12:08:33 sshd[14308]: Accepted publickey for root",
        1, 5, datetime(2025, 6, 3, 12, 8, 33), None, "sshd", "14308", "Accepted publickey for root",
    ),
    (
        b"<30>Nov  6 09:10:11 openwrt dnsmasq-dhcp[1]: DHCPACK(br-lan) 10.0.0.45 a0:82:22:44:c6:1a my-tv",
        3, 6, datetime(2025, 11, 6, 9, 10, 11), "openwrt", "dnsmasq-dhcp", "1",
        "DHCPACK(br-lan) 10.0.0.45 a0:82:22:44:c6:1a my-tv",
    ),
    (
        b"<86>2025-02-11T12:31:28+01:00 nas sshd[99]: session opened",
        10, 6, datetime(2025, 2, 11, 11, 31, 28), "nas", "sshd", "99", "session opened",
    ),
    (
        b"<14>Nov 17 08:00:00.123 router app: with milliseconds",
        1, 6, datetime(2025, 11, 17, 8, 0, 0, 123000), "router", "app", None, "with milliseconds",
    ),
    (
        b"<14>Nov 17 2024 08:00:00 router app: with a year",
        1, 6, datetime(2024, 11, 17, 8, 0), "router", "app", None, "with a year",
    ),
    (
        b"<14>Nov 17 08:00:00 router no tag here",
        1, 6, datetime(2025, 11, 17, 8, 0), "router", None, None, "no tag here",
    ),
    (
        b"no PRI at all, just text",
        1, 5, datetime(2025, 11, 17, 8, 0, 5), None, None, None, "no PRI at all, just text",
    ),
    (
        b"<999>Nov 17 08:00:00 router app: PRI out of range",
        1, 5, datetime(2025, 11, 17, 8, 0, 5), None, None, None,
        "<999>Nov 17 08:00:00 router app: PRI out of range",
    ),
    (
        b"<13>Nov 99 08:00:00 router app: impossible date",
        1, 5, datetime(2025, 11, 17, 8, 0, 5), "router", "app", None, "impossible date",
    ),
    (b"<13>", 1, 5, datetime(2025, 11, 17, 8, 0, 5), None, None, None, ""),
    (
        b"<13>Nov 17 08:00:00 router app: trailing newline\n",
        1, 5, datetime(2025, 11, 17, 8, 0), "router", "app", None, "trailing newline",
    ),
]  # fmt: skip


class TestParseRfc3164:
    """BSD syslog: optional host, tag with optional PID, stamps without year or zone."""

    @pytest.mark.parametrize(
        ("line", "facility", "severity", "timestamp", "host", "program", "pid", "message"), RFC3164_LINES
    )
    def test_parses_real_lines(
        self, line: bytes, facility: int, severity: int, timestamp: datetime,
        host: str | None, program: str | None, pid: str | None, message: str,
    ) -> None:  # fmt: skip
        """Every header field lands where it belongs; what cannot be parsed stays in the text."""
        parsed = parse_syslog(line, RECEIVED, UTC)
        assert (parsed.facility, parsed.severity, parsed.timestamp) == (facility, severity, timestamp)
        assert (parsed.host, parsed.program, parsed.pid, parsed.message) == (host, program, pid, message)

    def test_local_time_is_stored_as_utc(self) -> None:
        """A Berlin router's 09:00 in November is 08:00 UTC."""
        parsed = parse_syslog(b"<13>Nov 17 09:00:00 router app: x", RECEIVED, BERLIN)
        assert parsed.timestamp == datetime(2025, 11, 17, 8, 0)

    def test_summer_time_offset_applies(self) -> None:
        """In July Berlin is UTC+2."""
        received = datetime(2025, 7, 1, 12, 0, tzinfo=UTC)
        parsed = parse_syslog(b"<13>Jul  1 14:00:00 router app: x", received, BERLIN)
        assert parsed.timestamp == datetime(2025, 7, 1, 12, 0)

    def test_december_line_received_in_january_belongs_to_last_year(self) -> None:
        """The year is the one that puts the stamp closest to the receive time."""
        received = datetime(2026, 1, 1, 0, 0, 30, tzinfo=UTC)
        parsed = parse_syslog(b"<13>Dec 31 23:59:50 router app: x", received, UTC)
        assert parsed.timestamp == datetime(2025, 12, 31, 23, 59, 50)

    def test_january_line_received_in_december_belongs_to_next_year(self) -> None:
        """A sender whose clock runs ahead across New Year gets next year."""
        received = datetime(2025, 12, 31, 23, 59, 50, tzinfo=UTC)
        parsed = parse_syslog(b"<13>Jan  1 00:00:10 router app: x", received, UTC)
        assert parsed.timestamp == datetime(2026, 1, 1, 0, 0, 10)

    def test_feb_29_picks_the_leap_year(self) -> None:
        """Feb 29 exists only in a leap year, so a line received on 1 March 2029 is from 2028."""
        received = datetime(2029, 3, 1, tzinfo=UTC)
        parsed = parse_syslog(b"<13>Feb 29 12:00:00 router app: x", received, UTC)
        assert parsed.timestamp == datetime(2028, 2, 29, 12, 0)


# The header variants of real senders: (sender, line, timestamp UTC, host, program, pid, message). Received
# 2025-11-17 08:00:05 UTC, senders in Berlin (UTC+1 in winter, +2 in summer).
SENDER_VARIANTS = [
    ("a space after PRI (some embedded loggers)", b"<38> Nov 17 09:06:53 example tag: testmessage",
     datetime(2025, 11, 17, 8, 6, 53), "example", "tag", None, "testmessage"),
    ("a space after PRI and no header (OpenVPN)", b"<15> openvpn[2499]: PTHREAD support initialized",
     datetime(2025, 11, 17, 8, 0, 5), None, "openvpn", "2499", "PTHREAD support initialized"),
    ("Cisco IOS: year and a colon after the time", b"<167>Mar 7 2008 19:06:53: example tag: x",
     datetime(2008, 3, 7, 18, 6, 53), "example", "tag", None, "x"),
    ("Cisco PIX: year, colon, no host", b"<190>Apr 15 2007 21:28:13: %PIX-6-302014: Teardown TCP connection",
     datetime(2007, 4, 15, 19, 28, 13), None, "%PIX-6-302014", None, "Teardown TCP connection"),
    ("upper-case month (CMDLOGGER)", b"<190>NOV 16 23:00:33 192.168.33.8 CMDLOGGER[165319912]: cmd",
     datetime(2025, 11, 16, 22, 0, 33), "192.168.33.8", "CMDLOGGER", "165319912", "cmd"),
    ("Linksys firmware: year after the time", b"<190>Apr 15 21:28:13 2007 linksys app: msg",
     datetime(2007, 4, 15, 19, 28, 13), "linksys", "app", None, "msg"),
    ("header that ends after a BSD stamp", b"<14>Nov 16 23:00:05",
     datetime(2025, 11, 16, 22, 0, 5), None, None, None, ""),
    ("header that ends after an ISO stamp", b"<14>2010-08-30T23:00:05Z",
     datetime(2010, 8, 30, 23, 0, 5), None, None, None, ""),
    ("ISO stamp with a space for T", b"<7>2006-10-29 02:00:00.156+01:00",
     datetime(2006, 10, 29, 1, 0, 0, 156000), None, None, None, ""),
    ("ISO stamp with a space for T, then a header", b"<7>2006-10-29 02:00:00+01:00 nas app: up",
     datetime(2006, 10, 29, 1, 0), "nas", "app", None, "up"),
    ("IPv6 hostname ending in ::", b"<0>Nov 17 01:00:00 2001:db8:: prg0: msgtxt",
     datetime(2025, 11, 17, 0, 0), "2001:db8::", "prg0", None, "msgtxt"),
    ("IPv6 hostname in full", b"<0>Nov 17 01:00:00 2001:db8::1 prg0: msgtxt",
     datetime(2025, 11, 17, 0, 0), "2001:db8::1", "prg0", None, "msgtxt"),
    ("RFC 5424 stamp without an offset (sender's zone)", b"<14>1 2025-02-11T12:31:28 nas app - - - hi",
     datetime(2025, 2, 11, 11, 31, 28), "nas", "app", None, "hi"),
    ("RFC 3339 stamp without an offset in a BSD line", b"<14>2025-07-11T12:31:28 nas app: hi",
     datetime(2025, 7, 11, 10, 31, 28), "nas", "app", None, "hi"),
    ("verdict in the tag's place, no host (firewall scripts)", b"<12>Nov 17 03:37:09 DENY: IN=eth0 OUT=",
     datetime(2025, 11, 17, 2, 37, 9), None, "DENY", None, "IN=eth0 OUT="),
]  # fmt: skip

# Lines that look like one of the variants but are not; (line, host, program, message).
NOT_VARIANTS = [
    (b"<14>Nov 17 09:00:00 router 2007 was a year", "router", None, "2007 was a year"),
    (b"<14>Nov 17 09:00:00 router tag: 2007 x", "router", "tag", "2007 x"),
    (b"<14>Nov 17 09:00:00 face: x", None, "face", "x"),
    (b"<14>2025-13-45 25:61:61 app: impossible stamp", None, "app", "impossible stamp"),
    (b"<14>NOVEMBER 17 09:00:00 x", None, None, "NOVEMBER 17 09:00:00 x"),
]  # fmt: skip


class TestSenderVariants:
    """Header variants that rsyslog and syslog-ng accept, one root cause each, plus near misses."""

    @pytest.mark.parametrize(
        ("sender", "line", "timestamp", "host", "program", "pid", "message"),
        SENDER_VARIANTS,
        ids=[variant[0] for variant in SENDER_VARIANTS],
    )
    def test_sender_variant(
        self, sender: str, line: bytes, timestamp: datetime, host: str | None, program: str | None,
        pid: str | None, message: str,
    ) -> None:  # fmt: skip
        """Stamp, host, program and pid are found; the message is what follows them."""
        parsed = parse_syslog(line, RECEIVED, BERLIN)
        assert (parsed.timestamp, parsed.host, parsed.program, parsed.pid, parsed.message) == (
            timestamp, host, program, pid, message,
        )  # fmt: skip

    @pytest.mark.parametrize(("line", "host", "program", "message"), NOT_VARIANTS)
    def test_near_misses(self, line: bytes, host: str | None, program: str | None, message: str) -> None:
        """A number after the host is no year, a tag that is no IPv6 address is a tag, a bad stamp is skipped."""
        parsed = parse_syslog(line, RECEIVED, BERLIN)
        assert (parsed.host, parsed.program, parsed.message) == (host, program, message)

    def test_rfc5424_and_rfc3164_read_a_bare_stamp_alike(self) -> None:
        """The same stamp without an offset means the same instant in both formats."""
        bsd = parse_syslog(b"<14>2025-11-17T09:00:00 nas app: x", RECEIVED, ZoneInfo("America/New_York"))
        ietf = parse_syslog(b"<14>1 2025-11-17T09:00:00 nas app - - - x", RECEIVED, ZoneInfo("America/New_York"))
        assert bsd.timestamp == ietf.timestamp == datetime(2025, 11, 17, 14, 0)


class TestParseRfc5424:
    """RFC 5424: nil fields, structured data with escapes, BOM before MSG."""

    def test_synology_dsm_line(self) -> None:
        """DSM's Log Center format keeps host, app, structured data and the message apart."""
        line = (
            b'<14>1 2025-02-11T12:31:28+01:00 synology Connection - - [synolog@6574 synotype="Connection" '
            b'luser="u" event="User [u\\] from [192.168.0.10\\] logged in via [SSH\\]."][meta sequenceId="7"] '
            b"User [u] from [192.168.0.10] logged in via [SSH]."
        )
        parsed = parse_syslog(line, RECEIVED, BERLIN)
        assert parsed.timestamp == datetime(2025, 2, 11, 11, 31, 28)
        assert (parsed.host, parsed.program, parsed.pid, parsed.msgid) == ("synology", "Connection", None, None)
        assert parsed.structured_data.startswith("[synolog@6574 ")
        assert parsed.structured_data.endswith('[meta sequenceId="7"]')
        assert parsed.message == "User [u] from [192.168.0.10] logged in via [SSH]."
        assert (parsed.facility, parsed.severity) == (Facility.USER, Severity.INFO)

    def test_nil_structured_data_and_bom(self) -> None:
        """`-` means absent; the UTF-8 BOM before MSG is not part of the message."""
        line = "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog 42 ID47 - \ufeffÄpfel".encode()
        parsed = parse_syslog(line, RECEIVED, UTC)
        assert parsed.timestamp == datetime(2003, 10, 11, 22, 14, 15, 3000)
        assert (parsed.host, parsed.program, parsed.pid, parsed.msgid) == (
            "mymachine.example.com",
            "evntslog",
            "42",
            "ID47",
        )
        assert parsed.structured_data is None
        assert parsed.message == "Äpfel"

    def test_nil_timestamp_uses_receive_time(self) -> None:
        """A sender without a clock gets the receive time."""
        parsed = parse_syslog(b"<13>1 - host app - - - hello", RECEIVED, UTC)
        assert parsed.timestamp == RECEIVED.replace(tzinfo=None)
        assert parsed.message == "hello"

    def test_quoted_bracket_does_not_end_structured_data(self) -> None:
        """A `]` inside a quoted value belongs to the value."""
        parsed = parse_syslog(b'<13>1 - h a - - [x@1 k="a]b"] msg', RECEIVED, UTC)
        assert parsed.structured_data == '[x@1 k="a]b"]'
        assert parsed.message == "msg"

    def test_unterminated_structured_data_stays_in_message(self) -> None:
        """Broken structured data is kept as text rather than lost."""
        parsed = parse_syslog(b'<13>1 - h a - - [x@1 k="v" msg', RECEIVED, UTC)
        assert parsed.structured_data is None
        assert parsed.message == '[x@1 k="v" msg'

    def test_version_one_without_rfc5424_fields_falls_back_to_bsd(self) -> None:
        """`<13>1 apples` is a BSD message that happens to start with 1."""
        parsed = parse_syslog(b"<13>1 apples are red and very tasty", RECEIVED, UTC)
        assert parsed.message == "1 apples are red and very tasty"


class TestBadBytes:
    """Junk is stored as faithfully as text columns allow, never raising."""

    def test_invalid_utf8_is_escaped_not_dropped(self) -> None:
        r"""Bytes that are not UTF-8 stay visible as \xNN."""
        parsed = parse_syslog(b"<13>Nov 17 08:00:00 h app: caf\xe9 \xff", RECEIVED, UTC)
        assert parsed.message == "caf\\xe9 \\xff"

    def test_nul_bytes_are_made_visible(self) -> None:
        """A NUL inside a message cannot cut it short in any client."""
        parsed = parse_syslog(b"<13>Nov 17 08:00:00 h app: a\x00b", RECEIVED, UTC)
        assert parsed.message == "a\\x00b"

    @given(st.binary(max_size=300))
    def test_any_bytes_parse(self, data: bytes) -> None:
        """Whatever arrives, parsing returns a record with a valid severity and encodable text."""
        parsed = parse_syslog(data, RECEIVED, BERLIN)
        assert 0 <= parsed.severity <= 7
        assert 0 <= parsed.facility <= 23
        parsed.message.encode("utf-8")
        assert "\x00" not in parsed.message


_HOSTS = ["router", "nas.lan", "192.168.1.1", "2025", "1999", "fe80::1", "kernel:", "a[1]", "-", "", "h\tx"]
_TAGS = ["kernel", "dnsmasq", "su", "x" * 64, "x" * 65, "a:b", "[x]", "", "-"]


@settings(max_examples=400)
@given(
    pri=st.integers(0, 191) | st.integers(192, 999),
    month=st.sampled_from(["Jan", "Feb", "Nov", "Dec", "DEC", "nov"]),
    day=st.sampled_from(["1", " 1", "17", "31", "30", "01"]),
    clock=st.sampled_from(["08:00:04", "23:59:59", "8:00:04", "08:00:04.123", "08:00:04:"]),
    gap=st.sampled_from([" ", " ", "  ", ":", ""]),
    host=st.sampled_from(_HOSTS),
    tag=st.sampled_from(_TAGS),
    pid=st.sampled_from(["", "", "[7]", "[]", "[a b]", "[" + "9" * 129 + "]"]),
    colon=st.sampled_from([": ", ": ", ":", " ", ":  "]),
    rest=st.text(max_size=20),
)
def test_the_common_header_reads_as_the_general_parser_reads_it(
    pri: int, month: str, day: str, clock: str, gap: str, host: str, tag: str, pid: str, colon: str, rest: str
) -> None:
    """The one-match reading of `<PRI>Mmm dd hh:mm:ss host tag[pid]: ` gives what the general reading gives."""
    line = f"<{pri}>{month} {day} {clock}{gap}{host} {tag}{pid}{colon}{rest}"
    data = line.encode()
    general = parse_text(decode_text(data.rstrip(b"\r\n\0")), RECEIVED, BERLIN)
    assert parse_syslog(data, RECEIVED, BERLIN) == general


def test_the_routers_usual_line_takes_the_common_reading() -> None:
    """A plain OpenWrt kernel line: host, tag, stamp in the sender's zone, message after `: `."""
    message = parse_syslog(b"<4>Nov 17 09:00:04 router kernel: IN=eth0 OUT=", RECEIVED, BERLIN)
    assert (message.host, message.program, message.pid, message.message) == ("router", "kernel", None, "IN=eth0 OUT=")
    assert message.timestamp == datetime(2025, 11, 17, 8, 0, 4)


def _split_by_walking(rest: str) -> tuple[str | None, str]:
    """Structured data as RFC 5424 reads: a character at a time (the reference for the collector's one match)."""
    if rest == "-" or rest.startswith("- "):
        return None, rest[2:]
    if not rest.startswith("["):
        return None, rest
    i, quoted = 0, False
    while i < len(rest):
        char = rest[i]
        if char == "\\":
            i += 2
            continue
        if char == '"':
            quoted = not quoted
        elif char == "]" and not quoted and (i + 1 == len(rest) or rest[i + 1] != "["):
            return rest[: i + 1], rest[i + 2 :]
        i += 1
    return None, rest


@settings(max_examples=500)
@given(rest=st.text(st.sampled_from('[]"\\ a=\n-'), max_size=24))
@example(rest='[a k="x\\\n]"\\\n] message')
def test_structured_data_ends_where_reading_it_a_character_at_a_time_ends(rest: str) -> None:
    """Quotes, escapes, brackets back to back, broken elements: split where RFC 5424's grammar splits."""
    assert _split_structured_data(rest) == _split_by_walking(rest)
