"""Device-discovery lines from addrwatch, arpwatch and dnsmasq DHCP, parsed to one record type."""

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from common.addresses import normalise_ip, normalise_mac


@dataclass(slots=True)
class DiscoveryRecord:
    """A device seen with an address; `timestamp` is set only when the line carries its own."""

    source: str
    event: str
    mac: str
    ip: str | None
    interface: str | None = None
    vlan: int | None = None
    hostname: str | None = None
    old_mac: str | None = None
    timestamp: datetime | None = None


ADDRWATCH_EVENTS = frozenset({"ARP_REQ", "ARP_REP", "ARP_ACD", "ND_NS", "ND_NA", "ND_DAD"})
_ARPWATCH = re.compile(
    r"(?:(?P<iface0>\S+): )?(?P<event>new station|changed ethernet address|flip flop|"
    r"reused old ethernet address|new activity) (?P<ip>\S+) (?P<mac>\S+)"
    r"(?: \((?P<old>[^)]*)\))?(?: (?P<iface>\S+))?"
)
_DNSMASQ = re.compile(
    r"(?:\d+ )?(?P<event>DHCPACK|DHCPREQUEST|DHCPOFFER|DHCPRELEASE|DHCPINFORM|DHCPDECLINE)"
    r"\((?P<iface>[^)]*)\) (?P<ip>\S+) (?P<mac>\S+)(?: (?P<host>\S+))?\s*$"
)


def parse_discovery(program: str | None, message: str) -> DiscoveryRecord | None:
    """Route by program name to the matching parser; None when the line is no discovery."""
    if not program:
        return None
    name = program.lower()
    if name.startswith("addrwatch"):
        return parse_addrwatch(message)
    if name == "arpwatch":
        return parse_arpwatch(message)
    if name.startswith("dnsmasq"):
        return parse_dnsmasq(message)
    return None


def parse_addrwatch(message: str) -> DiscoveryRecord | None:
    """Parse `ts iface vlan mac ip type` by shape, so older layouts with extra columns also work.

    The MAC anchors the line: the IP follows it, the event type follows the IP,
    the VLAN and interface precede it, and a unix time comes first.
    """
    words = message.split()
    mac_at = next((i for i, word in enumerate(words) if normalise_mac(word)), None)
    if mac_at is None or mac_at + 1 >= len(words):
        return None
    ip = normalise_ip(words[mac_at + 1])
    if ip is None:
        return None
    event = words[mac_at + 2] if mac_at + 2 < len(words) else "UNKNOWN"
    before = words[:mac_at]
    vlan = int(before[-1]) if before and before[-1].isdigit() and int(before[-1]) < 4096 else None
    names = [word for word in before if not word.isdigit()]
    stamps = [int(word) for word in before if word.isdigit() and len(word) >= 9]
    timestamp = None
    if stamps and stamps[0] < 32503680000:  # before the year 3000
        timestamp = datetime.fromtimestamp(stamps[0], UTC).replace(tzinfo=None)
    return DiscoveryRecord(
        source="addrwatch",
        event=event[:16],
        mac=normalise_mac(words[mac_at]) or "",
        ip=ip,
        interface=names[-1] if names else None,
        vlan=vlan,
        timestamp=timestamp,
    )


def parse_arpwatch(message: str) -> DiscoveryRecord | None:
    """Parse arpwatch's `new station`, `changed ethernet address` and `flip flop` reports."""
    match = _ARPWATCH.match(message)
    if match is None:
        return None
    mac, ip = normalise_mac(match.group("mac")), normalise_ip(match.group("ip"))
    if mac is None or ip is None:
        return None
    return DiscoveryRecord(
        source="arpwatch",
        event=match.group("event"),
        mac=mac,
        ip=ip,
        interface=match.group("iface") or match.group("iface0"),
        old_mac=normalise_mac(match.group("old") or ""),
    )


def parse_dnsmasq(message: str) -> DiscoveryRecord | None:
    """Parse dnsmasq-dhcp lease lines (`DHCPACK(br-lan) ip mac [hostname]`)."""
    match = _DNSMASQ.match(message)
    if match is None:
        return None
    mac, ip = normalise_mac(match.group("mac")), normalise_ip(match.group("ip"))
    if mac is None or ip is None:
        return None
    return DiscoveryRecord(
        source="dnsmasq",
        event=match.group("event"),
        mac=mac,
        ip=ip,
        interface=match.group("iface") or None,
        hostname=match.group("host"),
    )
