"""Turn received messages into rows for the three tables: routing and column fitting, no I/O."""

import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from functools import partial
from operator import itemgetter

from collector.buffer import Received
from collector.discovery import parse_discovery
from collector.dns import DnsLine, is_dns_program, parse_dns
from collector.inventory import Sighting, is_local_network
from collector.memo import Memo
from collector.packetfilter import PacketFilterRecord, parse_packetfilter
from collector.syslog import parse_syslog
from common.store import DAY, FIVE_MINUTES, HOUR, floor_time

MESSAGE_COLUMNS = (
    "timestamp", "received", "host", "sender", "facility", "severity",
    "program", "pid", "msgid", "structured_data", "message", "truncated",
)  # fmt: skip
PACKETFILTER_COLUMNS = (
    "timestamp", "received", "host", "prefix", "action", "chain", "direction",
    "in_interface", "out_interface", "mac", "src_ip", "src_port", "dst_ip", "dst_port",
    "protocol", "type", "code", "length", "ttl", "tcp_flags",
)  # fmt: skip
ADDRWATCH_COLUMNS = (
    "timestamp", "received", "host", "source", "event", "interface", "vlan",
    "mac", "ip", "old_mac", "hostname",
)  # fmt: skip
UNKNOWN_HOST = "unknown"
_SD_CHARS = 16000  # a TEXT column holds 65535 bytes, 4 per character at worst


@dataclass(slots=True)
class Rows:
    """Row tuples per table, in the column order above."""

    messages: list[tuple] = field(default_factory=list)
    packetfilter: list[tuple] = field(default_factory=list)
    addrwatch: list[tuple] = field(default_factory=list)
    sightings: list[Sighting] = field(default_factory=list)
    dns: list[tuple[int, datetime, float, str, DnsLine]] = field(default_factory=list)  # for dnsjoin.join


def _clip(text: str | None, length: int) -> str | None:
    """Fit text to a VARCHAR(length) so strict mode never rejects a row."""
    return text if text is None or len(text) <= length else text[:length]


def lan_sighting(packet: PacketFilterRecord, lan_interfaces: frozenset[str]) -> bool:
    """Whether a packet's source MAC and IP describe a device on the home network.

    With SIEM_LAN_INTERFACES set, the packet must have come in on one of them;
    otherwise its source address must be private or link-local (a WAN packet's
    source MAC is the ISP's gateway, with a public address).
    """
    if packet.mac is None or packet.src_ip is None:
        return False
    if lan_interfaces:
        return packet.in_interface in lan_interfaces
    return is_local_network(packet.src_ip)


def received_text(seconds: float, known: dict[int, str]) -> str:
    """A receive time as DATETIME(3) text, the second's part formatted once (`known`) for the lines within it."""
    whole = int(seconds)
    micro = round((seconds - whole) * 1e6)  # as datetime.fromtimestamp rounds
    if micro >= 1_000_000:
        whole, micro = whole + 1, 0
    second = known.get(whole)
    if second is None:
        second = known[whole] = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(whole))
    return f"{second}.{micro // 1000:03d}"


def build_rows(batch: list[Received], zone: tzinfo, lan_interfaces: frozenset[str] = frozenset()) -> Rows:
    """Parse each message; every one becomes a `messages` row, some also a packet-filter, discovery or DNS line."""
    rows = Rows()
    messages, packetfilter, sightings = rows.messages, rows.packetfilter, rows.sightings
    seconds: dict[int, str] = {}
    last = aware = received = None
    for position, item in enumerate(batch):
        if item.received != last:  # the frames of one TCP read follow each other with one receive time
            last = item.received
            aware, received = datetime.fromtimestamp(last, UTC), received_text(last, seconds)
        message = parse_syslog(item.data, aware, zone)
        host = message.host
        host = (host if len(host) <= 255 else host[:255]) if host else item.sender or UNKNOWN_HOST
        program, text, pid, msgid, data = (
            message.program, message.message, message.pid, message.msgid, message.structured_data
        )  # fmt: skip
        if msgid is not None or data is not None or (pid is not None and len(pid) > 128):  # RFC 5424's, or long
            pid, msgid, data = _clip(pid, 128), _clip(msgid, 32), _clip(data, _SD_CHARS)
        messages.append((
            message.timestamp, received, host, item.sender, _INTS[message.facility], _INTS[message.severity],
            program if program is None or len(program) <= 64 else program[:64], pid, msgid, data, text,
            item.truncated,
        ))  # fmt: skip
        if "IN=" in text:
            packet = parse_packetfilter(text, program)
            if packet is not None:
                packetfilter.append((
                    message.timestamp, received, host, _clip(packet.prefix, 64), packet.action[:16],
                    packet.chain[:32], packet.direction, _clip(packet.in_interface, 16),
                    _clip(packet.out_interface, 16), packet.mac, packet.src_ip, packet.src_port,
                    packet.dst_ip, packet.dst_port, _clip(packet.protocol, 8), packet.icmp_type,
                    packet.icmp_code, packet.length, packet.ttl, packet.tcp_flags,
                ))  # fmt: skip
                if lan_sighting(packet, lan_interfaces):
                    sightings.append(
                        Sighting(
                            message.timestamp, packet.mac, packet.src_ip, "packetfilter", _clip(packet.in_interface, 16)
                        )
                    )
                continue
        if program is None:
            continue
        if is_dns_program(program) and (line := parse_dns(program, text)) is not None:
            rows.dns.append((position, message.timestamp, item.received, host, line))
            continue
        seen = parse_discovery(program, text)
        if seen is not None:
            rows.addrwatch.append((
                seen.timestamp or message.timestamp, received, host, seen.source, seen.event[:32],
                _clip(seen.interface, 16), seen.vlan, seen.mac, seen.ip, seen.old_mac,
                _clip(seen.hostname, 255),
            ))  # fmt: skip
            sightings.append(Sighting(
                seen.timestamp or message.timestamp, seen.mac, seen.ip, seen.source,
                _clip(seen.interface, 16), seen.vlan, _clip(seen.hostname, 255), seen.old_mac,
            ))  # fmt: skip
    return rows


_INTS = list(range(24))  # facility and severity enums as the plain ints the columns take


_HOST, _ACTION, _CHAIN, _DIRECTION, _PROTOCOL, _DST_PORT, _MAC = (
    PACKETFILTER_COLUMNS.index(name) for name in ("host", "action", "chain", "direction", "protocol", "dst_port", "mac")
)
# The counting below runs once per batch over columns (zip), so the per-row work is done in C by Counter and map.


def _floors(moments: tuple, interval: timedelta) -> map:
    """Each time's interval start, worked out once per distinct time."""
    return map(Memo(partial(floor_time, interval=interval)).__getitem__, moments)


def columns_of(rows: list[tuple], *positions: int) -> dict[int, list]:
    """The named columns of the rows, each as a list."""
    return {position: list(map(itemgetter(position), rows)) for position in positions}


def count_rows(packetfilter: list[tuple]) -> list[tuple]:
    """Fold a batch's packet-filter rows into (5-minute bucket, host, action, chain, direction, protocol, packets)."""
    if not packetfilter:
        return []
    columns = columns_of(packetfilter, 0, _HOST, _ACTION, _CHAIN, _DIRECTION, _PROTOCOL)
    protocols = [protocol or "" for protocol in columns[_PROTOCOL]]
    counts = Counter(zip(
        _floors(columns[0], FIVE_MINUTES), columns[_HOST], columns[_ACTION], columns[_CHAIN], columns[_DIRECTION],
        protocols, strict=True,
    ))  # fmt: skip
    return [(*key, packets) for key, packets in counts.items()]


def count_ports_and_macs(packetfilter: list[tuple]) -> tuple[list[tuple], list[tuple]]:
    """Fold a batch's packet-filter rows into hourly rows per destination port and per sending MAC.

    Ports: (hour, host, action, chain, protocol, dst_port, packets); MACs:
    (hour, host, action, chain, mac, packets, newest time).
    """
    if not packetfilter:
        return [], []
    columns = columns_of(packetfilter, 0, _HOST, _ACTION, _CHAIN, _PROTOCOL, _DST_PORT, _MAC)
    moments = columns[0]
    hours = list(_floors(moments, HOUR))
    ranked = (hours, columns[_HOST], columns[_ACTION], columns[_CHAIN])
    protocols = [protocol or "" for protocol in columns[_PROTOCOL]]
    ports = Counter(zip(*ranked, protocols, columns[_DST_PORT], strict=True))
    keys = list(zip(*ranked, columns[_MAC], strict=True))
    macs = Counter(keys)
    newest = dict(sorted(zip(keys, moments, strict=True), key=itemgetter(1)))  # the latest time wins
    return (
        [(*key, n) for key, n in ports.items() if key[-1] is not None],
        [(*key, n, newest[key]) for key, n in macs.items() if key[-1] is not None],
    )


def pending_hours(counts: list[tuple]) -> list[tuple]:
    """Marks for the hours of a batch's 5-minute counts (`count_rows`), oldest first: no ranking covers them now."""
    return [("hour", hour) for hour in sorted({row[0].replace(minute=0) for row in counts})]


_SEVERITY, _PROGRAM = (MESSAGE_COLUMNS.index(name) for name in ("severity", "program"))
_MESSAGE_HOST = MESSAGE_COLUMNS.index("host")


def count_messages(messages: list[tuple]) -> list[tuple]:
    """Fold a batch's messages into (5-minute bucket, host, severity, program, messages)."""
    if not messages:
        return []
    columns = columns_of(messages, 0, _MESSAGE_HOST, _SEVERITY, _PROGRAM)
    programs = [program or "" for program in columns[_PROGRAM]]
    buckets = _floors(columns[0], FIVE_MINUTES)
    counts = Counter(zip(buckets, columns[_MESSAGE_HOST], columns[_SEVERITY], programs, strict=True))
    return [(*key, number) for key, number in counts.items()]


def by_day(table: str, counts: list[tuple]) -> list[tuple]:
    """Fold rows of (time, key..., number) into (day, table, total): what daily_totals adds for a batch."""
    days: Counter[datetime] = Counter()
    floors = Memo(partial(floor_time, interval=DAY))
    for moment, *_, number in counts:
        days[floors[moment]] += number
    return [(day, table, total) for day, total in days.items()]


def rows_by_day(table: str, rows: list[tuple]) -> list[tuple]:
    """A batch's rows of a log table with no counts of its own (time first), as daily_totals adds them."""
    return by_day(table, [(row[0], 1) for row in rows])


def by_hour(counts: list[tuple]) -> list[tuple]:
    """Fold rows of (time, key..., number) into the same rows per hour."""
    hours: Counter[tuple] = Counter()
    floors = Memo(partial(floor_time, interval=HOUR))
    for moment, *key, number in counts:
        hours[(floors[moment], *key)] += number
    return [(*key, number) for key, number in hours.items()]
