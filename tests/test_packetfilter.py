"""Packet-filter lines: every prefix style met in homes, IPv4/IPv6/ICMP, and look-alikes that are not."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collector.packetfilter import classify_prefix, parse_general, parse_packetfilter

FW4_TCP = (
    "[1234567.905147] drop wan in: IN=eth0 OUT= MAC=00:0d:b9:4f:2a:10:3c:a6:2f:11:22:33:08:00 "
    "SRC=141.230.240.75 DST=198.51.100.23 LEN=44 TOS=0x00 PREC=0x00 TTL=61 ID=6258 DF PROTO=TCP "
    "SPT=53052 DPT=5060 WINDOW=1024 RES=0x00 SYN URGP=0"
)
SEED_UDP = (
    "A=DROP C=inet IN=br-lan OUT=eth0 MAC=00:0d:b9:4f:2a:10:a0:82:22:44:c6:1a:08:00 SRC=192.168.1.50 "
    "DST=8.8.4.4 LEN=76 TOS=0x00 PREC=0x00 TTL=63 ID=40213 DF PROTO=UDP SPT=41000 DPT=123 LEN=56"
)
DDWRT_ACCEPT = (
    "ACCEPT IN=vlan2 OUT= MAC= SRC=203.0.113.9 DST=198.51.100.2 LEN=60 TOS=0x00 PREC=0x00 TTL=50 "
    "ID=1 PROTO=TCP SPT=40000 DPT=22 SEQ=123 ACK=0 WINDOW=5840 RES=0x00 SYN URGP=0"
)
UFW_BLOCK = (
    "[UFW BLOCK] IN=enp3s0 OUT= MAC=01:00:5e:00:00:fb:b8:27:eb:aa:bb:cc:08:00 SRC=192.168.1.20 "
    "DST=224.0.0.251 LEN=73 TOS=0x00 PREC=0x00 TTL=255 ID=0 DF PROTO=UDP SPT=5353 DPT=5353 LEN=53"
)
ICMP_ERROR = (
    "reject lan out: IN= OUT=eth0 SRC=198.51.100.23 DST=203.0.113.5 LEN=68 TOS=0x00 PREC=0xC0 TTL=64 "
    "ID=12 PROTO=ICMP TYPE=3 CODE=3 [SRC=203.0.113.5 DST=198.51.100.23 LEN=40 TOS=0x00 PREC=0x00 "
    "TTL=52 ID=7 PROTO=UDP SPT=53 DPT=33000 LEN=20 ] MARK=0x1"
)
ICMP_ECHO = (
    "DROP IN=eth0 OUT= MAC=00:0d:b9:4f:2a:10:3c:a6:2f:11:22:33:08:00 SRC=203.0.113.7 DST=198.51.100.23 "
    "LEN=84 TOS=0x00 PREC=0x00 TTL=53 ID=999 DF PROTO=ICMP TYPE=8 CODE=0 ID=31337 SEQ=1"
)
IPV6 = (
    "drop wan in: IN=eth0 OUT= MAC=00:0d:b9:4f:2a:10:3c:a6:2f:11:22:33:86:dd "
    "SRC=2001:0db8:0000:0000:0000:0000:0000:0001 DST=2001:0db8:0001:0000:0000:0000:0000:00ff LEN=104 "
    "TC=0 HOPLIMIT=57 FLOWLBL=0 PROTO=ICMPv6 TYPE=128 CODE=0 ID=1 SEQ=2"
)
FREE_TEXT = (
    "RULE 24 -- DROP IN=eth0 OUT=br-lan SRC=203.0.113.8 DST=192.168.1.10 LEN=40 TOS=0x00 PREC=0x00 "
    "TTL=240 ID=54321 PROTO=TCP SPT=4444 DPT=445 WINDOW=1024 RES=0x00 RST ACK URGP=0"
)
GLUED = (
    "IPTABLES-DROP:IN=eth0 OUT= MAC=00:0d:b9:4f:2a:10:3c:a6:2f:11:22:33:08:00 SRC=203.0.113.1 "
    "DST=198.51.100.23 LEN=40 TOS=0x00 PREC=0x00 TTL=240 ID=1 PROTO=TCP SPT=1 DPT=23 WINDOW=1 RES=0x00 SYN URGP=0"
)
BRIDGED_LONG_MAC = (
    "FORWARD DROP IN=br0 OUT=br0 PHYSIN=eth1 PHYSOUT=eth2 MAC=00:0d:b9:4f:2a:10:3c:a6:2f:11:22:33:81:00:00:0a:08:00 "
    "SRC=192.168.1.5 DST=192.168.1.6 LEN=40 TOS=0x00 PREC=0x00 TTL=64 ID=2 PROTO=47"
)

# (message, expected subset of the record)
LINES = [
    (FW4_TCP, dict(
        prefix="drop wan in:", action="DROP", chain="wan", direction="in", in_interface="eth0",
        out_interface=None, mac="3c:a6:2f:11:22:33", src_ip="141.230.240.75", dst_ip="198.51.100.23",
        protocol="TCP", src_port=53052, dst_port=5060, icmp_type=None, length=44, ttl=61, tcp_flags="SYN",
    )),
    (SEED_UDP, dict(
        prefix="A=DROP C=inet", action="DROP", chain="inet", direction="forward", in_interface="br-lan",
        out_interface="eth0", mac="a0:82:22:44:c6:1a", protocol="UDP", src_port=41000, dst_port=123, length=76,
    )),
    (DDWRT_ACCEPT, dict(
        action="ACCEPT", chain="input", direction="in", mac=None, dst_port=22, tcp_flags="SYN",
    )),
    (UFW_BLOCK, dict(
        prefix="[UFW BLOCK]", action="DROP", chain="input", mac="b8:27:eb:aa:bb:cc", dst_port=5353,
    )),
    (ICMP_ERROR, dict(
        action="REJECT", chain="lan", direction="out", in_interface=None, out_interface="eth0", mac=None,
        protocol="ICMP", icmp_type=3, icmp_code=3, src_port=None, dst_port=None, length=68,
    )),
    (ICMP_ECHO, dict(action="DROP", chain="input", protocol="ICMP", icmp_type=8, icmp_code=0, length=84)),
    (IPV6, dict(
        src_ip="2001:db8::1", dst_ip="2001:db8:1::ff", protocol="ICMPV6", icmp_type=128, ttl=57, chain="wan",
    )),
    (FREE_TEXT, dict(
        action="DROP", chain="forward", direction="forward", dst_port=445, tcp_flags="ACK,RST",
    )),
    (GLUED, dict(prefix="IPTABLES-DROP:", action="DROP", chain="input", dst_port=23)),
    (BRIDGED_LONG_MAC, dict(action="DROP", chain="forward", mac="3c:a6:2f:11:22:33", protocol="47")),
]  # fmt: skip


class TestParsePacketFilter:
    """Kernel LOG-target lines become typed records."""

    @pytest.mark.parametrize(("message", "expected"), LINES)
    def test_parses_real_lines(self, message: str, expected: dict) -> None:
        """Each field lands typed in its column; absent fields are None."""
        record = parse_packetfilter(message)
        assert record is not None
        assert {key: getattr(record, key) for key in expected} == expected

    def test_first_of_repeated_keys_wins(self) -> None:
        """UDP lines carry LEN twice (IP and UDP); the IP length is the packet's."""
        record = parse_packetfilter(SEED_UDP)
        assert record.length == 76

    def test_inner_packet_of_icmp_error_does_not_override_ports(self) -> None:
        """The bracketed copy of the offending packet has its own SPT/DPT; they are not the ICMP's."""
        record = parse_packetfilter(ICMP_ERROR)
        assert (record.src_ip, record.src_port, record.dst_port) == ("198.51.100.23", None, None)

    @pytest.mark.parametrize(
        "message",
        [
            "CMD (/usr/bin/run --LOGIN=admin --TIMEOUT=30)",
            "pam_unix(cron:session): session opened --LOGIN=root OUT=x",
            "user LOGIN=bob IN=office OUT=home",
            "IN=eth0 OUT= SRC=not-an-ip DST=1.2.3.4 LEN=1",
            "IN=eth0 OUT=",
            "",
        ],
    )
    def test_look_alikes_are_not_firewall_lines(self, message: str) -> None:
        """Text that merely contains IN= and OUT= is not a packet-filter line."""
        assert parse_packetfilter(message) is None

    def test_ubiquiti_rule_name_glued_before_in(self) -> None:
        """USG and EdgeRouter write the rule name straight before IN=, without a space."""
        record = parse_packetfilter(
            "[WAN_LOCAL-default-D]IN=eth0 OUT= MAC=00:0d:b9:4f:2a:10:3c:a6:2f:11:22:33:08:00 SRC=203.0.113.7 "
            "DST=198.51.100.23 LEN=40 TOS=0x00 PREC=0x00 TTL=240 ID=1 PROTO=TCP SPT=4444 DPT=22 WINDOW=1 RES=0x00 "
            "SYN URGP=0"
        )
        assert (record.prefix, record.action, record.chain, record.dst_port) == (
            "[WAN_LOCAL-default-D]", "DROP", "WAN_LOCAL", 22,
        )  # fmt: skip

    @pytest.mark.parametrize(
        ("tag", "prefix", "action"),
        [("DENY", "DENY:", "DROP"), ("ACCEPT", "ACCEPT:", "ACCEPT"), ("kernel", None, "LOG"), (None, None, "LOG")],
    )
    def test_tag_stands_in_for_a_missing_prefix(self, tag: str | None, prefix: str | None, action: str) -> None:
        """`DENY: IN=...` with no host puts the prefix where the tag goes; `kernel` is never a prefix."""
        record = parse_packetfilter("IN=eth0 OUT= SRC=203.0.113.7 DST=198.51.100.23 LEN=40 TTL=1 PROTO=TCP", tag)
        assert (record.prefix, record.action, record.chain) == (prefix, action, "input")

    def test_a_prefix_in_the_line_wins_over_the_tag(self) -> None:
        """When the line carries its own prefix, the tag is only the program."""
        record = parse_packetfilter("DROP IN=eth0 OUT= SRC=203.0.113.7 DST=198.51.100.23 LEN=40", "fw")
        assert (record.prefix, record.action) == ("DROP", "DROP")

    def test_out_of_range_numbers_become_null(self) -> None:
        """A port beyond 65535 cannot be a port: it is stored as NULL, not wrapped."""
        record = parse_packetfilter("DROP IN=eth0 OUT= SRC=1.2.3.4 DST=5.6.7.8 PROTO=TCP SPT=99999 DPT=abc TTL=300")
        assert (record.src_port, record.dst_port, record.ttl) == (None, None, None)


class TestClassifyPrefix:
    """Every prefix style yields an action and, where it names one, a chain."""

    @pytest.mark.parametrize(
        ("prefix", "action", "chain"),
        [
            ("A=DROP C=inet", "DROP", "inet"),
            ("A=ACCEPT C=forward", "ACCEPT", "forward"),
            ("drop wan in:", "DROP", "wan"),
            ("reject lan out:", "REJECT", "lan"),
            ("accept guest forward:", "ACCEPT", "guest"),
            ("DROP(src wan)", "DROP", "wan"),
            ("REJECT(dest lan)", "REJECT", "lan"),
            ("DROP", "DROP", None),
            ("ACCEPT", "ACCEPT", None),
            ("[UFW BLOCK]", "DROP", None),
            ("[UFW ALLOW]", "ACCEPT", None),
            ("[UFW AUDIT]", "LOG", None),
            ("[UFW LIMIT BLOCK]", "DROP", None),
            ("RULE 24 -- DROP", "DROP", None),
            ("IPTABLES-DROP:", "DROP", None),
            ("INPUT-DENIED:", "DROP", "input"),
            ("fw: blocked", "DROP", None),
            ("", "LOG", None),
            ("my-custom-log", "LOG", None),
            # Ubiquiti USG / UniFi: [RULESET-RULE-VERDICT], the ruleset is the chain
            ("[WAN_OUT-2000-A]", "ACCEPT", "WAN_OUT"),
            ("[WAN_LOCAL-default-D]", "DROP", "WAN_LOCAL"),
            ("[LAN_IN-3001-R]", "REJECT", "LAN_IN"),
            ("[GUEST_IN-default-D]", "DROP", "GUEST_IN"),
            # EdgeRouter zone pairs and UniFi OS rule names
            ("[wan-lan-default-D]", "DROP", "wan-lan"),
            ("[lan-local-10-A]", "ACCEPT", "lan-local"),
            ('[LAN_LOCAL-RET-2147483647] DESCR="no rule description"', "RETURN", "LAN_LOCAL"),
            ("[WAN_LOCAL-D-4000]", "DROP", "WAN_LOCAL"),
            # near misses: brackets that are no rule name
            ("[WAN_OUT-2000-X]", "LOG", None),
            ("[drop]", "DROP", None),
        ],
    )
    def test_prefix_styles(self, prefix: str, action: str, chain: str | None) -> None:
        """Verdict words are normalised to DROP, REJECT, ACCEPT (LOG when none)."""
        assert classify_prefix(prefix) == (action, chain)


# Pieces of kernel lines, real and broken, that the one-match reading and the general one must read alike.
_PIECES = {
    "uptime": st.sampled_from(["", "[1234567.905147] ", "[   12.5]", "[1.2] x"]),
    "prefix": st.sampled_from(
        [
            "",
            "drop wan in: ",
            "A=DROP C=inet ",
            "[UFW BLOCK] ",
            "IN=x ",
            "x" * 70,
            "DROP(",
            "IN=a OUT= SRC=1.1.1.1 DST=2.2.2.2 ",
        ]
    ),
    "interfaces": st.sampled_from(["IN=eth0 OUT= ", "IN= OUT=eth0 ", "IN=br-lan OUT=eth1 PHYSIN=p1 ", "IN=eth0 "]),
    "mac": st.sampled_from(["", "MAC=00:0d:b9:4f:2a:10:3c:a6:2f:11:22:33:08:00 ", "MAC= ", "MAC=zz "]),
    "source": st.sampled_from(["SRC=203.0.113.9 ", "SRC=2001:0db8:0000:0000:0000:0000:0000:0001 ", "SRC=999.1.1.1 "]),
    "destination": st.sampled_from(["DST=198.51.100.23", "DST=198.51.100.23 ", "DST=::1 ", "DST=1.2.3.4x "]),
    "length": st.sampled_from(["LEN=44 ", "LEN=99999 ", "LEN=x ", ""]),
    "gap": st.sampled_from(["TOS=0x00 PREC=0x00 ", "", "[SRC=1.1.1.1 ] ", "TC=0 ", "[TTL=9 PROTO=UDP ] "]),
    "ttl": st.sampled_from(["TTL=61 ", "HOPLIMIT=57 ", "TTL=300 ", "TTL=x ", ""]),
    "middle": st.sampled_from(["ID=6258 DF ", "FLOWLBL=0 ", "[x] ", ""]),
    "protocol": st.sampled_from(
        ["PROTO=TCP", "PROTO=UDP", "PROTO=ICMP", "PROTO=ICMPv6", "PROTO=tcp", "PROTO=47", "PROTO=[x", "PROTO=TCP[x"]
    ),
    "ports": st.sampled_from(
        [
            " SPT=53052 DPT=5060",
            " SPT=1 DPT=70000",
            " TYPE=3 CODE=3",
            " TYPE=300 CODE=1",
            " SPT=1 DPT=x",
            " SPT=5",
            "",
        ]
    ),
    "rest": st.sampled_from(
        [
            " WINDOW=1024 RES=0x00 SYN URGP=0",
            " LEN=56",
            " [SRC=1.1.1.1 DST=2.2.2.2 PROTO=UDP SPT=1 DPT=2 ] MARK=0x1",
            " RST ACK URGP=0",
            "",
            "x SYN",
            " SEQ=1",
        ]
    ),
}


@settings(max_examples=400)
@given(pieces=st.fixed_dictionaries(_PIECES), tag=st.sampled_from([None, "kernel", "DENY"]))
def test_the_one_match_reading_reads_what_the_general_reading_reads(pieces: dict[str, str], tag: str | None) -> None:
    """Whatever the line holds (inner packets, missing or broken fields), both readings give the same record."""
    line = "".join(pieces.values())
    assert parse_packetfilter(line, tag) == parse_general(line, tag)


_MAC = "MAC=00:0d:b9:4f:2a:10:3c:a6:2f:11:22:33:08:00"


@pytest.mark.parametrize(
    "line",
    [
        "IN=a OUT= SRC=1.1.1.1 DST=2.2.2.2 IN=eth0 OUT= SRC=203.0.113.9 DST=198.51.100.23 LEN=44 TTL=61 PROTO=TCP",
        f"IN=eth0 OUT= {_MAC} SRC=203.0.113.9 DST=198.51.100.23 LEN=44 [TTL=9 ] TTL=61 PROTO=TCP SPT=1 DPT=2 SYN",
        f"IN=eth0 OUT= {_MAC} SRC=203.0.113.9 DST=198.51.100.23 LEN=44 TTL=61 [PROTO=UDP ] PROTO=TCP SPT=1 DPT=2",
        f"IN=eth0 OUT= {_MAC} SRC=203.0.113.9 DST=198.51.100.23 LEN=44 TTL=61 PROTO=TCP[x SPT=1 DPT=2",
    ],
    ids=[
        "a second header after a first without its tail",
        "a TTL inside brackets",
        "a PROTO inside brackets",
        "a bracket in the protocol",
    ],
)
def test_lines_one_match_would_misread_are_read_as_the_general_reading_reads(line: str) -> None:
    """An inner packet's fields, a bracket in a field, a header repeated: never taken for the packet's own."""
    assert parse_packetfilter(line) == parse_general(line)


_KERNEL_LINE = f"IN=eth0 OUT= {_MAC} SRC=203.0.113.9 DST=198.51.100.23 LEN={{}} TOS=0x00 TTL={{}} ID=1 PROTO={{}}"


@pytest.mark.parametrize(
    ("line", "nones"),
    [
        (_KERNEL_LINE.format(99999, 61, "TCP SPT=70000 DPT=22 SYN"), {"length", "src_port"}),
        (_KERNEL_LINE.format(44, 300, "UDP SPT=53 DPT=65536"), {"ttl", "dst_port"}),
        (_KERNEL_LINE.format(84, 64, "ICMP TYPE=256 CODE=300"), {"icmp_type", "icmp_code"}),
    ],
)
def test_numbers_too_big_for_their_columns_are_left_out(line: str, nones: set[str]) -> None:
    """A length, TTL, port or ICMP code beyond its column's range is stored as none, not as a wrong number."""
    record = parse_packetfilter(line)
    assert record == parse_general(line)
    assert {name for name in nones if getattr(record, name) is None} == nones
