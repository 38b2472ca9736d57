"""A realistic, reproducible day of router, NAS and addrwatch logs, ending now, and its replay into a collector."""

import random
import socket
import sys
from datetime import UTC, datetime, timedelta

ROUTER, GATEWAY_MAC, WAN_PEER_MAC = "openwrt", "00:0d:b9:4f:2a:10", "3c:a6:2f:11:22:33"
# (mac, ip, hostname) of a typical home; two phones with randomised MACs.
DEVICES = [
    ("a0:82:22:44:c6:1a", "192.168.1.45", "living-room-tv"),
    ("b8:27:eb:12:34:56", "192.168.1.20", "raspberrypi"),
    ("00:11:32:aa:bb:cc", "192.168.1.10", "nas"),
    ("44:65:0d:11:22:33", "192.168.1.31", "echo-kitchen"),
    ("7c:d9:5c:01:02:03", "192.168.1.60", "playstation"),
    ("ec:fa:bc:0a:0b:0c", "192.168.1.70", "smart-plug"),
    ("da:a1:19:5e:00:01", "192.168.1.101", "pixel-7"),
    ("5a:3c:11:22:90:02", "192.168.1.102", "iphone"),
    ("00:17:88:6a:7b:8c", "192.168.1.40", "hue-bridge"),
    ("d8:3a:dd:00:11:22", "192.168.1.50", "camera-door"),
]
SCANNED_PORTS = [22, 23, 80, 443, 445, 3389, 5060, 8080, 8443, 1433, 5900, 6379]
TRACKERS = ["203.0.113.10", "203.0.113.77", "198.51.100.200"]


def _stamp(moment: datetime) -> str:
    """The header stamp: RFC 3339 with its offset (as rsyslog writes it), so any collector TZ reads it right.

    A BSD stamp (`Nov 27 12:00:00`) carries no zone: the collector would read it in its
    own TZ, and a demo day written in UTC would land hours off in Berlin or New York.
    """
    return moment.replace(tzinfo=UTC).isoformat(timespec="seconds")


def _firewall(rng: random.Random, moment: datetime) -> str:
    """An internet scanner's packet dropped at the WAN (sources follow a power law, as in real logs)."""
    first, second = rng.choice([45, 80, 185, 193, 141]), int(rng.paretovariate(1.2)) % 255
    source = f"{first}.{second}.{rng.randrange(255)}.{rng.randrange(1, 255)}"
    proto = rng.choices(["TCP", "UDP", "ICMP"], [85, 12, 3])[0]
    tail = {
        "TCP": f"SPT={rng.randrange(1024, 65535)} DPT={rng.choice(SCANNED_PORTS)} WINDOW=1024 RES=0x00 SYN URGP=0",
        "UDP": f"SPT={rng.randrange(1024, 65535)} DPT={rng.choice([53, 123, 161, 1900, 5060])} LEN=40",
        "ICMP": f"TYPE=8 CODE=0 ID={rng.randrange(65535)} SEQ=1",
    }[proto]
    return (
        f"<4>{_stamp(moment)} {ROUTER} kernel: [{rng.randrange(10**6)}.{rng.randrange(10**6):06d}] drop wan in: "
        f"IN=eth1 OUT= MAC={GATEWAY_MAC}:{WAN_PEER_MAC}:08:00 SRC={source} DST=198.51.100.23 LEN=44 TOS=0x00 "
        f"PREC=0x00 TTL={rng.randrange(40, 250)} ID={rng.randrange(65535)} PROTO={proto} {tail}"
    )


def _blocked_device(rng: random.Random, moment: datetime) -> str:
    """The TV or the plug trying to reach a tracker that the LAN-out rule rejects."""
    mac, ip, _ = rng.choice([DEVICES[0], DEVICES[5], DEVICES[3]])
    return (
        f"<4>{_stamp(moment)} {ROUTER} kernel: reject lan out: IN=br-lan OUT=eth1 MAC={GATEWAY_MAC}:{mac}:08:00 "
        f"SRC={ip} DST={rng.choice(TRACKERS)} LEN=60 TOS=0x00 PREC=0x00 TTL=63 ID={rng.randrange(65535)} DF "
        f"PROTO=TCP SPT={rng.randrange(30000, 60000)} DPT=443 WINDOW=64240 RES=0x00 SYN URGP=0"
    )


def _discovery(rng: random.Random, moment: datetime) -> str:
    """A DHCP lease or an addrwatch ARP/ND sighting of one of the home's devices."""
    mac, ip, hostname = rng.choice(DEVICES)
    if rng.random() < 0.3:
        return f"<30>{_stamp(moment)} {ROUTER} dnsmasq-dhcp[1234]: DHCPACK(br-lan) {ip} {mac} {hostname}"
    unix = int(moment.replace(tzinfo=UTC).timestamp())
    if rng.random() < 0.3:
        v6 = f"fe80::{rng.randrange(0xFFFF):x}:{rng.randrange(0xFFFF):x}"
        return f"<30>{_stamp(moment)} {ROUTER} addrwatch: {unix} br-lan 0 {mac} {v6} ND_NA"
    return f"<30>{_stamp(moment)} {ROUTER} addrwatch: {unix} br-lan 0 {mac} {ip} {rng.choice(['ARP_REQ', 'ARP_REP'])}"


def _daemon(rng: random.Random, moment: datetime) -> str:
    """Everyday daemon lines from the router and the NAS (RFC 3164 and DSM's RFC 5424)."""
    stamp = moment.replace(tzinfo=UTC).isoformat(timespec="seconds")
    choice = rng.random()
    if choice < 0.35:
        pid = rng.randrange(2000, 9000)
        return f"<86>{_stamp(moment)} {ROUTER} dropbear[{pid}]: Exit before auth from <{_scanner(rng)}:22>"
    if choice < 0.55:
        return _dns(rng, moment)
    if choice < 0.75:
        user = rng.choice(["admin", "backup"])
        return (
            f'<14>1 {stamp} nas Connection - - [synolog@6574 synotype="Connection" luser="{user}"] '
            f"User [{user}] from [192.168.1.20] logged in via [SSH]."
        )
    if choice < 0.9:
        pid = rng.randrange(100, 999)
        return f"<78>{_stamp(moment)} nas crond[{pid}]: (root) CMD (/usr/syno/bin/synoschedtask --run id=3)"
    return f"<11>1 {stamp} nas kernel - - - ata2: SError: {{ RecovComm PHYRdyChg }} disk 2 needs attention"


DOMAINS = ("api.netflix.com", "time.apple.com", "pool.ntp.org", "device-metrics-us.amazon.com", "example.com")
BLOCKED_DOMAINS = ("ads.doubleclick.net", "tracking.smarttv.example")


def _dns(rng: random.Random, moment: datetime) -> str:
    """A device's DNS query with its outcome line: two lines, as dnsmasq logs them."""
    _, ip, _ = rng.choice(DEVICES)
    prefix = f"<30>{_stamp(moment)} {ROUTER} dnsmasq[1]:"
    if rng.random() < 0.15:
        name = rng.choice(BLOCKED_DOMAINS)
        return f"{prefix} query[A] {name} from {ip}\n{prefix} config {name} is 0.0.0.0"
    name = rng.choice(DOMAINS)
    source = rng.choice(["reply", "cached"])
    return f"{prefix} query[A] {name} from {ip}\n{prefix} {source} {name} is 198.51.100.{rng.randrange(1, 255)}"


def _scanner(rng: random.Random) -> str:
    return f"185.{rng.randrange(255)}.{rng.randrange(255)}.{rng.randrange(1, 255)}"


def day(count: int = 20000, seed: int = 7, end: datetime | None = None) -> list[bytes]:
    """`count` events spread over the 24 h before `end` (naive UTC, default now), oldest first; same seed, same day.

    An event is one line, or two for a DNS query and its answer.
    """
    rng = random.Random(seed)  # noqa: S311  (reproducible demo data, not a secret)
    end = end or datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    kinds = rng.choices([_firewall, _blocked_device, _discovery, _daemon], [65, 5, 5, 25], k=count)
    offsets = sorted(rng.uniform(0, 86400) for _ in range(count))
    start = end - timedelta(days=1)
    return [
        line.encode()
        for kind, offset in zip(kinds, offsets, strict=True)
        for line in kind(rng, start + timedelta(seconds=offset)).split("\n")
    ]


def _progress(done: int, total: int) -> str:
    """A one-line progress bar, redrawn in place."""
    width = 40
    filled = width * done // max(total, 1)
    return f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} messages"


def replay(lines: list[bytes], host: str, port: int, chunk: int = 500) -> None:
    """Send over one TCP connection, octet-counted, showing progress on stderr."""
    with socket.create_connection((host, port), timeout=30) as sock:
        for start in range(0, len(lines), chunk):
            part = lines[start : start + chunk]
            sock.sendall(b"".join(str(len(line)).encode() + b" " + line for line in part))
            sys.stderr.write(_progress(start + len(part), len(lines)))
            sys.stderr.flush()
    sys.stderr.write("\n")
