"""Seeded load: 70% packet-filter lines in every prefix style (IPv4, IPv6, ICMP), 5% addrwatch, 25% daemon lines."""

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

MACS = "00:0d:b9:4f:2a:10:3c:a6:2f:11:22:33:08:00"


@dataclass
class Load:
    """The lines and how many rows each table should end up with."""

    lines: list[bytes]
    packetfilter: int
    addrwatch: int
    lookalikes: int


def _ip(rng: random.Random) -> str:
    return f"{rng.choice([45, 80, 141, 185, 193])}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"


def _v6(rng: random.Random) -> str:
    return ":".join(f"{rng.randrange(0x10000):04x}" for _ in range(8))


def packet(rng: random.Random, stamp: str) -> str:
    """One kernel LOG line in one of the prefix styles homes use."""
    prefix = rng.choice(
        [
            "drop wan in: ",
            "reject wan in: ",
            "A=DROP C=inet ",
            "DROP ",
            "[UFW BLOCK] ",
            "RULE 24 -- DROP ",
            "IPTABLES-DROP: ",
        ]
    )
    kind = rng.choices(["tcp", "udp", "icmp", "v6"], [70, 15, 8, 7])[0]
    uptime = f"[{rng.randrange(10**7)}.{rng.randrange(10**6):06d}]"
    head = f"<4>{stamp} router kernel: {uptime} {prefix}IN=eth0 OUT= MAC={MACS} "
    if kind == "v6":
        return (
            head + f"SRC={_v6(rng)} DST=2001:0db8:0000:0000:0000:0000:0000:0001 LEN=104 TC=0 HOPLIMIT=57 "
            f"FLOWLBL=0 PROTO=ICMPv6 TYPE=128 CODE=0 ID={rng.randrange(65535)} SEQ=1"
        )
    ttl, ident = rng.randrange(30, 250), rng.randrange(65535)
    ip = f"SRC={_ip(rng)} DST=198.51.100.23 LEN=44 TOS=0x00 PREC=0x00 TTL={ttl} ID={ident} "
    if kind == "icmp":
        return head + ip + "PROTO=ICMP TYPE=8 CODE=0 ID=1 SEQ=2"
    if kind == "udp":
        return head + ip + f"PROTO=UDP SPT={rng.randrange(1024, 65535)} DPT={rng.choice([53, 123, 1900])} LEN=24"
    dport = rng.choice([22, 23, 80, 443, 445, 3389, 5060, 8080])
    return head + ip + f"DF PROTO=TCP SPT={rng.randrange(1024, 65535)} DPT={dport} WINDOW=1024 RES=0x00 SYN URGP=0"


def daemon(rng: random.Random, stamp: str, iso: str) -> tuple[str, bool]:
    """A daemon line (RFC 3164 or the NAS's RFC 5424); True for the cron look-alike of a firewall line."""
    choice = rng.random()
    if choice < 0.04:
        return f"<78>{stamp} router crond[99]: CMD (/usr/bin/sync --LOGIN=admin --TIMEOUT=30)", True
    if choice < 0.5:
        return f"<86>{stamp} router dropbear[{rng.randrange(9999)}]: Exit before auth from <{_ip(rng)}:22>", False
    if choice < 0.8:
        return (
            f'<14>1 {iso} nas Connection - - [synolog@6574 synotype="Connection" luser="admin"] '
            "User [admin] from [192.168.1.20] logged in via [SSH].",
            False,
        )
    return f"<30>{stamp} router dnsmasq[1]: query[A] example.com from 192.168.1.{rng.randrange(2, 250)}", False


def generate(count: int, seed: int = 1) -> Load:
    """`count` lines stamped over the last hour; the same seed gives the same lines."""
    rng = random.Random(seed)  # noqa: S311  (reproducible load, not a secret)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    lines, pf, aw, lookalikes = [], 0, 0, 0
    for i in range(count):
        moment = start + timedelta(seconds=3600 * i / count)
        stamp, iso = moment.strftime("%b %e %H:%M:%S"), moment.isoformat(timespec="seconds")
        roll = rng.random()
        if roll < 0.70:
            lines.append(packet(rng, stamp))
            pf += 1
        elif roll < 0.75:
            mac = f"00:11:22:{rng.randrange(256):02x}:{rng.randrange(256):02x}:{rng.randrange(256):02x}"
            unix = int(moment.timestamp())
            lines.append(
                f"<30>{stamp} router addrwatch: {unix} br-lan 0 {mac} 192.168.1.{rng.randrange(2, 250)} ARP_REQ"
            )
            aw += 1
        else:
            line, lookalike = daemon(rng, stamp, iso)
            lines.append(line)
            lookalikes += lookalike
    return Load([line.encode() for line in lines], pf, aw, lookalikes)
