"""Seeded load of a busy home's hour: firewall lines in every prefix style, DNS query logs, discoveries, daemons.

By default 40% of the lines are dnsmasq query logs (a query with its forwarded, reply,
cached or block lines: about as many lines as the firewall's in a home making 200,000
queries a day); the rest are 70% packet-filter lines (IPv4, IPv6, ICMP), 5% addrwatch,
25% daemon lines.
BENCH_DNS_SHARE=0 gives the load without DNS (70% firewall, 25% daemons) of earlier runs.
"""

import os
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
    dns_lines: int = 0
    dns_queries: int = 0


DNS_SHARE = float(os.environ.get("BENCH_DNS_SHARE", "0.40"))  # of the lines
DNS_LINES = 2.55  # lines per query, on average, in the mix below
# A few domains asked all the time, a long tail asked rarely: what a home's devices look up.
DOMAINS = [f"{name}.example.com" for name in ("api", "cdn", "time", "metrics", "push", "img", "video", "auth")] + [
    f"host{i}.tail{i % 97}.example.net" for i in range(3000)
]
BLOCKED = [f"ads{i}.tracker.example" for i in range(200)]


def dns(rng: random.Random, stamp: str) -> list[str]:
    """One query and what dnsmasq logs after it: cached, forwarded and answered (maybe a CNAME), NODATA, blocked."""
    head = f"<30>{stamp} router dnsmasq[1]:"
    client = f"192.168.1.{rng.randrange(2, 40)}"
    kind = rng.choices(["cached", "forwarded", "cname", "nodata", "blocked"], [45, 25, 10, 10, 10])[0]
    if kind == "blocked":
        name = rng.choice(BLOCKED)
        return [f"{head} query[A] {name} from {client}", f"{head} config {name} is 0.0.0.0"]
    name = (
        DOMAINS[min(int(rng.paretovariate(1.1)) - 1, len(DOMAINS) - 1)] if rng.random() < 0.7 else rng.choice(DOMAINS)
    )
    address = f"{_ip(rng)}"
    if kind == "cached":
        return [f"{head} query[A] {name} from {client}", f"{head} cached {name} is {address}"]
    if kind == "nodata":
        return [
            f"{head} query[AAAA] {name} from {client}",
            f"{head} forwarded {name} to 1.1.1.1",
            f"{head} reply {name} is NODATA-IPv6",
        ]
    lines = [f"{head} query[A] {name} from {client}", f"{head} forwarded {name} to 1.1.1.1"]
    if kind == "cname":
        lines.append(f"{head} reply {name} is <CNAME>")
        name = f"edge{rng.randrange(50)}.cdn.example.org"
    return [*lines, f"{head} reply {name} is {address}"]


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
    if choice < 0.6:
        return f"<86>{stamp} router dropbear[{rng.randrange(9999)}]: Exit before auth from <{_ip(rng)}:22>", False
    return (
        f'<14>1 {iso} nas Connection - - [synolog@6574 synotype="Connection" luser="admin"] '
        "User [admin] from [192.168.1.20] logged in via [SSH].",
        False,
    )


# The load is stamped over an hour that ended this long ago: its clock hours are over and settled,
# so the collector's ranker takes them at once when woken after a run, as it would an hour after each.
ENDED_AGO = timedelta(minutes=70)


def generate(count: int, seed: int = 1, dns_share: float = DNS_SHARE) -> Load:
    """About `count` lines (a DNS query's lines stay together) over the hour ended ENDED_AGO; same seed, same lines."""
    rng = random.Random(seed)  # noqa: S311  (reproducible load, not a secret)
    start = datetime.now(UTC).replace(microsecond=0) - ENDED_AGO - timedelta(hours=1)
    groups = dns_share / (DNS_LINES - dns_share * (DNS_LINES - 1))  # the share of draws that makes that of lines
    firewall = 0.70 * (1 - groups)
    lines, pf, aw, lookalikes, dns_lines, queries = [], 0, 0, 0, 0, 0
    while len(lines) < count:
        moment = start + timedelta(seconds=3600 * len(lines) / count)
        stamp, iso = moment.strftime("%b %e %H:%M:%S"), moment.isoformat(timespec="seconds")
        roll = rng.random()
        if roll < firewall:
            lines.append(packet(rng, stamp))
            pf += 1
        elif roll < firewall + groups:
            group = dns(rng, stamp)
            lines += group
            dns_lines += len(group)
            queries += 1
        elif roll < firewall + groups + 0.05 * (1 - groups):
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
    return Load([line.encode() for line in lines], pf, aw, lookalikes, dns_lines, queries)
