"""DNS query-log lines from dnsmasq (OpenWrt, Pi-hole's FTL) and unbound, parsed to one record type; no I/O.

A line is a query, a hand-over to an upstream server, or an outcome (an answer,
a cached answer, a local or blocked name, NXDOMAIN...). `collector.dnsjoin` joins
a query's lines into one row.
"""

from dataclasses import dataclass
from functools import lru_cache

from common.addresses import normalise_ip
from common.store import DNS_OUTCOMES

QUERY = "query"
FORWARDED = "forwarded"
OUTCOME = "outcome"

# What became of a query (dns_queries.outcome, common.store's list): an upstream server answered;
# from the resolver's cache; a local name (/etc/hosts, a DHCP lease, an address= line); a block list
# answered (0.0.0.0, NXDOMAIN from a list; blocked_by says which); no such name; the name without a
# record of that type; SERVFAIL or REFUSED; sent upstream with no answer logged; the query alone.
ANSWERED, CACHED, LOCAL, BLOCKED, NXDOMAIN, NODATA, FAILED, FORWARDED_ONLY, UNKNOWN = DNS_OUTCOMES

MAX_DOMAIN = 253
_BLOCK_ANSWERS = frozenset({"0.0.0.0", "::", "NXDOMAIN", "blocked"})  # and any NODATA
# Pi-hole's words before the name, by the list that blocked it (FTL v5 and v6 spellings).
_PIHOLE = {
    ("gravity", "blocked"): "gravity",
    ("regex", "blacklisted"): "regex",
    ("regex", "denied"): "regex",
    ("exactly", "blacklisted"): "exact",
    ("exactly", "denied"): "exact",
    ("special", "domain"): "special",
}
_UNBOUND_BLOCKING = frozenset({"always_nxdomain", "always_refuse", "always_null", "deny", "refuse", "inform_deny"})
_UNBOUND_RCODES = {"NOERROR": ANSWERED, "NXDOMAIN": NXDOMAIN, "SERVFAIL": FAILED, "REFUSED": FAILED}


@dataclass(slots=True)
class DnsLine:
    """One query-log line: `kind` is QUERY, FORWARDED or OUTCOME; `serial` joins dnsmasq's `extra` lines exactly."""

    kind: str
    domain: str
    qtype: str | None = None
    client: str | None = None
    serial: int | None = None
    outcome: str | None = None
    blocked_by: str | None = None
    upstream: str | None = None
    answer: str | None = None


def is_dns_program(program: str | None) -> bool:
    """Whether a program's lines may be DNS query logs (dnsmasq's DHCP lines come as dnsmasq-dhcp)."""
    return program is not None and (program in ("dnsmasq", "unbound") or program.startswith("pihole"))


def parse_dns(program: str | None, message: str) -> DnsLine | None:
    """Route by program to the dnsmasq or unbound parser; None when the line is no query log."""
    if program == "unbound":
        return parse_unbound(message)
    return parse_dnsmasq(message)


@lru_cache(maxsize=4096)
def domain_name(text: str) -> str | None:
    """The name as stored: lower case, no trailing dot, at most 253 characters; None if it cannot be one.

    Cached: a home asks for the same few thousand names all day, each in three or four lines.
    """
    name = text.rstrip(".").lower()
    if not name:
        return "." if text in {".", "<root>"} else None
    if len(name) > MAX_DOMAIN or any(c in name for c in " \t\"'\\"):
        return None
    return name


def _outcome(source: str, answer: str) -> tuple[str, str | None]:
    """The outcome and the blocking list for an answer line's source word and answer."""
    if source == "reply":
        return _answer_outcome(answer, ANSWERED), None
    if source == "cached":
        return _answer_outcome(answer, CACHED), None
    blocked = answer in _BLOCK_ANSWERS or answer.startswith("NODATA")
    if source == "config":
        return (BLOCKED, "config") if blocked else (LOCAL, None)
    if source.startswith("/"):  # a hosts file: /etc/hosts, or a block list loaded as one (addn-hosts)
        return (BLOCKED, "hosts") if blocked else (LOCAL, None)
    return LOCAL, None  # DHCP, a lease name


def _answer_outcome(answer: str, found: str) -> str:
    """What an upstream or cached answer says: the name was found, or not."""
    if answer == "NXDOMAIN":
        return NXDOMAIN
    if answer.startswith("NODATA"):
        return NODATA
    if answer in ("SERVFAIL", "REFUSED"):
        return FAILED
    return found


def parse_dnsmasq(message: str) -> DnsLine | None:
    """Parse dnsmasq's `log-queries` lines, with or without `extra`'s leading serial and client."""
    parts = message.split()
    serial = None
    if len(parts) >= 3 and parts[0].isdigit() and "/" in parts[1]:  # log-queries=extra: "1234 ip/port ..."
        serial = int(parts[0]) if len(parts[0]) <= 18 else None
        parts = parts[2:]
    if len(parts) < 4:
        return None
    word = parts[0]
    if word.startswith("query[") and word.endswith("]") and parts[2] == "from":
        domain, client = domain_name(parts[1]), normalise_ip(parts[3])
        if domain is None or client is None:
            return None
        return DnsLine(QUERY, domain, word[6:-1][:10].upper() or None, client, serial)
    if word == "forwarded" and parts[2] == "to":
        domain = domain_name(parts[1])
        return None if domain is None else DnsLine(FORWARDED, domain, serial=serial, upstream=parts[3][:45])
    return _dnsmasq_outcome(parts, serial)


def _dnsmasq_outcome(parts: list[str], serial: int | None) -> DnsLine | None:
    """An answer line: `reply|cached|config|DHCP|/hosts/file name is answer`, or Pi-hole's `gravity blocked name is`."""
    blocker = _PIHOLE.get((parts[0], parts[1])) if len(parts) >= 5 and parts[3] == "is" else None
    if blocker is not None:
        domain = domain_name(parts[2])
        return (
            None
            if domain is None
            else DnsLine(OUTCOME, domain, serial=serial, outcome=BLOCKED, blocked_by=blocker, answer=parts[4][:45])
        )
    word = parts[0]
    if parts[2] != "is" or not (word in ("reply", "cached", "config", "DHCP") or word[0] == "/"):
        return None
    domain = domain_name(parts[1])
    if domain is None:
        return None
    outcome, blocker = _outcome(word, parts[3])
    answer = parts[3] if normalise_ip(parts[3]) else None
    return DnsLine(OUTCOME, domain, serial=serial, outcome=outcome, blocked_by=blocker, answer=answer)


def parse_unbound(message: str) -> DnsLine | None:
    """Parse unbound's `log-queries`, `log-replies` and `log-local-actions` lines (after `[pid:thread] info: `)."""
    text = message.partition("] ")[2] if message.startswith("[") else message
    if not text.startswith("info: "):
        return None
    parts = text[6:].split()
    local_action = len(parts) == 6 and "@" in parts[2]  # "zone. always_nxdomain 192.168.1.45@52001 name. A IN"
    if local_action:
        client, domain, qtype = normalise_ip(parts[2].rpartition("@")[0]), domain_name(parts[3]), parts[4]
    elif len(parts) in (4, 8) and parts[3] == "IN":
        client, domain, qtype = normalise_ip(parts[0]), domain_name(parts[1]), parts[2]
    else:
        return None
    if client is None or domain is None:
        return None
    qtype = qtype[:10].upper()
    if local_action:
        outcome, blocker = (BLOCKED, "local-zone") if parts[1] in _UNBOUND_BLOCKING else (LOCAL, None)
        return DnsLine(OUTCOME, domain, qtype, client, outcome=outcome, blocked_by=blocker)
    if len(parts) == 4:
        return DnsLine(QUERY, domain, qtype, client)
    outcome = _UNBOUND_RCODES.get(parts[4], FAILED)
    if outcome == ANSWERED and parts[6] == "1":
        outcome = CACHED
    return DnsLine(OUTCOME, domain, qtype, client, outcome=outcome)
