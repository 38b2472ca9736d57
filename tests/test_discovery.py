"""Device-discovery lines (addrwatch, arpwatch, dnsmasq) and the MAC/IP normalisation they share."""

import ipaddress
from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collector.discovery import parse_discovery
from common.addresses import mac_from_link_header, normalise_ip, normalise_mac

# Address spellings: the kernel's eight full groups, pieces that make dotted tails, zones and junk, and noise.
_ADDRESS_TEXTS = (
    st.lists(st.integers(0, 0xFFFF), min_size=8, max_size=8).map(lambda g: ":".join(f"{x:04x}" for x in g))
    | st.lists(st.sampled_from(["0", "1", "ffff", "db8", "0000", "a", "", "1.2.3.4", "%eth0", "g"]), max_size=9).map(
        ":".join
    )
    | st.text(alphabet="0123456789abcdefABCDEF:.%", max_size=40)
)

# (program, message, expected subset of the record)
LINES = [
    ("addrwatch", "1329486485 eth0 0 00:aa:bb:cc:dd:ee 192.168.1.1 ARP_REQ", dict(
        source="addrwatch", event="ARP_REQ", interface="eth0", vlan=0, mac="00:aa:bb:cc:dd:ee",
        ip="192.168.1.1", timestamp=datetime(2012, 2, 17, 13, 48, 5),
    )),
    ("addrwatch", "1700000000 br-lan 20 A0:82:22:44:C6:1A fe80::a282:22ff:fe44:c61a ND_NA", dict(
        vlan=20, mac="a0:82:22:44:c6:1a", ip="fe80::a282:22ff:fe44:c61a", event="ND_NA",
    )),
    ("addrwatch", "daemon 1329486485 eth0 0 00:aa:bb:cc:dd:ee 192.168.1.1 ARP_REP", dict(
        interface="eth0", vlan=0, event="ARP_REP", timestamp=datetime(2012, 2, 17, 13, 48, 5),
    )),
    ("arpwatch", "new station 10.0.0.7 0:d0:b7:23:72:45 eth0", dict(
        source="arpwatch", event="new station", ip="10.0.0.7", mac="00:d0:b7:23:72:45", interface="eth0",
        old_mac=None,
    )),
    ("arpwatch", "changed ethernet address 10.0.0.7 0:d0:b7:23:72:46 (0:d0:b7:23:72:45) eth0", dict(
        event="changed ethernet address", mac="00:d0:b7:23:72:46", old_mac="00:d0:b7:23:72:45",
    )),
    ("arpwatch", "flip flop 10.0.0.7 0:d0:b7:23:72:45 (0:d0:b7:23:72:46) eth0", dict(
        event="flip flop", mac="00:d0:b7:23:72:45", old_mac="00:d0:b7:23:72:46",
    )),
    ("dnsmasq-dhcp", "DHCPACK(br-lan) 10.0.0.45 a0:82:22:44:c6:1a my-tv", dict(
        source="dnsmasq", event="DHCPACK", interface="br-lan", ip="10.0.0.45", mac="a0:82:22:44:c6:1a",
        hostname="my-tv",
    )),
    ("dnsmasq-dhcp", "2957145281 DHCPACK(br-lan) 10.0.0.46 a0:82:22:44:c6:1b", dict(
        event="DHCPACK", ip="10.0.0.46", hostname=None,
    )),
    ("dnsmasq-dhcp", "DHCPREQUEST(br-lan) 10.0.0.45 a0:82:22:44:c6:1a", dict(event="DHCPREQUEST")),
]  # fmt: skip


class TestParseDiscovery:
    """Each source's lines become one kind of record."""

    @pytest.mark.parametrize(("program", "message", "expected"), LINES)
    def test_parses_real_lines(self, program: str, message: str, expected: dict) -> None:
        """MAC, IP, interface or VLAN, event and hostname are extracted and normalised."""
        record = parse_discovery(program, message)
        assert record is not None
        assert {key: getattr(record, key) for key in expected} == expected

    @pytest.mark.parametrize(
        ("program", "message"),
        [
            ("addrwatch", "starting addrwatch on eth0"),
            ("addrwatch", "1329486485 eth0 0 00:aa:bb:cc:dd:ee not-an-ip ARP_REQ"),
            ("arpwatch", "listening on eth0"),
            ("arpwatch", "new station 10.0.0.999 0:d0:b7:23:72:45 eth0"),
            ("dnsmasq", "query[A] example.com from 192.168.1.169"),
            ("dnsmasq-dhcp", "DHCPDISCOVER(br-lan) a0:82:22:44:c6:1a"),
            ("sshd", "1329486485 eth0 0 00:aa:bb:cc:dd:ee 192.168.1.1 ARP_REQ"),
            (None, "new station 10.0.0.7 0:d0:b7:23:72:45 eth0"),
        ],
    )
    def test_other_lines_are_not_discoveries(self, program: str | None, message: str) -> None:
        """Status lines, DNS queries, and the right shape from the wrong program are skipped."""
        assert parse_discovery(program, message) is None


class TestNormalise:
    """One spelling per MAC and per IP, so tables join."""

    @pytest.mark.parametrize(
        ("text", "mac"),
        [
            ("00:AA:BB:CC:DD:EE", "00:aa:bb:cc:dd:ee"),
            ("0:d0:b7:23:72:5", "00:d0:b7:23:72:05"),
            ("00-aa-bb-cc-dd-ee", "00:aa:bb:cc:dd:ee"),
            ("00aa.bbcc.ddee", "00:aa:bb:cc:dd:ee"),
            ("00aabbccddee", "00:aa:bb:cc:dd:ee"),
            ("00:aa:bb:cc:dd", None),
            ("00:aa-bb:cc:dd:ee", None),
            ("zz:aa:bb:cc:dd:ee", None),
            ("", None),
        ],
    )
    def test_mac(self, text: str, mac: str | None) -> None:
        """Upper case, missing zeros, dashes and dotted quads all become aa:bb:cc:dd:ee:ff."""
        assert normalise_mac(text) == mac

    @pytest.mark.parametrize(
        ("text", "ip"),
        [
            ("192.168.1.1", "192.168.1.1"),
            ("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
            ("::ffff:192.168.1.1", "192.168.1.1"),
            ("FE80::1", "fe80::1"),
            ("256.1.1.1", None),
            ("example.com", None),
        ],
    )
    def test_ip(self, text: str, ip: str | None) -> None:
        """IPv6 is compressed and lower case; IPv4-mapped becomes IPv4; junk is None."""
        assert normalise_ip(text) == ip

    @settings(max_examples=500)
    @given(text=_ADDRESS_TEXTS)
    def test_ipv6_reads_as_the_standard_library_reads_it(self, text: str) -> None:
        """Every spelling, good or broken, gives what ipaddress gives: the fast path only shortens the way."""
        normalise_ip.cache_clear()
        try:
            address = ipaddress.ip_address(text)
            expected = str(address.ipv4_mapped or address) if address.version == 6 else str(address)
        except ValueError:
            expected = None
        assert normalise_ip(text) == expected

    @pytest.mark.parametrize(
        ("field", "mac"),
        [
            ("00:0d:b9:4f:2a:10:3c:a6:2f:11:22:33:08:00", "3c:a6:2f:11:22:33"),
            ("00:0d:b9:4f:2a:10:3c:a6:2f:11:22:33:81:00:00:0a:08:00", "3c:a6:2f:11:22:33"),
            ("00:0d:b9:4f:2a:10", None),
            ("", None),
        ],
    )
    def test_source_mac_from_link_header(self, field: str, mac: str | None) -> None:
        """The kernel's MAC= is dst(6) src(6) type; the device is the source."""
        assert mac_from_link_header(field) == mac
