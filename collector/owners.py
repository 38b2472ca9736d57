"""Which device held an address at a given time, and a batch's DNS queries as rows and counts; no I/O.

The spans come from `device_addresses` (first and last time each MAC was seen with
each address), loaded when the writer connects and widened after every committed
batch, so naming a DNS client costs no query, and a query replayed from the spool or
dated by a wrong router clock is named after the device that held the address then.
"""

from bisect import insort
from collections import Counter
from datetime import datetime, timedelta
from typing import NamedTuple

from collector.dns import BLOCKED
from collector.dnsjoin import DnsQuery
from common.store import DAY, HOUR, floor_time

KEEP = timedelta(days=32)  # spans older than this name no query the DNS retention keeps


class AddressOwners:
    """Per address, the (first seen, last seen, MAC) spans of the devices that used it, oldest first."""

    def __init__(self) -> None:
        self._spans: dict[str, list[list]] = {}

    def __len__(self) -> int:
        return len(self._spans)

    def load(self, rows: list[tuple[str, str, datetime, datetime]]) -> None:
        """Adopt `device_addresses` rows (mac, ip, first_seen, last_seen)."""
        self._spans = {}
        self.add(rows)

    def add(self, rows: list[tuple[str, str, datetime, datetime]]) -> None:
        """Widen or add spans by committed (mac, ip, first, last) rows."""
        for mac, ip, first, last in rows:
            spans = self._spans.setdefault(ip, [])
            for span in spans:
                if span[2] == mac:
                    if first < span[0]:
                        spans.remove(span)
                        insort(spans, [first, max(last, span[1]), mac])
                    else:
                        span[1] = max(span[1], last)
                    break
            else:
                insort(spans, [first, last, mac])

    def owner(self, ip: str, moment: datetime) -> str | None:
        """The MAC that held `ip` at `moment`; None if no device is known with it.

        Of the spans begun by then: the newest still running then, else the one that
        ended last; an address asked about before any sighting goes to its first holder.
        """
        spans = self._spans.get(ip)
        if not spans:
            return None
        running = ended = None
        for span in spans:
            if span[0] > moment:
                break
            if span[1] >= moment:
                running = span
            elif ended is None or span[1] > ended[1]:
                ended = span
        return (running or ended or spans[0])[2]


DNS_COLUMNS = (
    "timestamp", "host", "client", "device", "qtype", "domain_id", "outcome", "blocked_by", "upstream", "answer",
)  # fmt: skip


def dns_rows(queries: list[DnsQuery], owners: AddressOwners, domain_ids: dict[str, int]) -> list[tuple]:
    """`dns_queries` rows: each query with the device that held its client address then, its domain as an id.

    A query whose domain has no id is left out (the writer counts it as a rejected row).
    """
    rows = []
    for q in queries:
        domain_id = domain_ids.get(q.domain)
        if domain_id is None:  # a name the dictionary could not take
            continue
        device = owners.owner(q.client, q.timestamp) or q.client
        rows.append((
            q.timestamp, q.host, q.client, device, q.qtype, domain_id, q.outcome,
            q.blocked_by, q.upstream, q.answer,
        ))  # fmt: skip
    return rows


class DnsCounts(NamedTuple):
    """A batch's DNS queries folded into each derived table's rows."""

    hourly: list[tuple]  # (hour, host, device, domain_id, outcome, queries)
    device_hourly: list[tuple]  # (hour, host, device, outcome, queries)
    domain_daily: list[tuple]  # (day, host, domain_id, outcome, queries)
    spans: list[tuple]  # (device, domain_id, first_seen, last_seen, queries, blocked)


def dns_counts(rows: list[tuple]) -> DnsCounts:
    """Fold `dns_queries` rows into the hourly and daily counts and the per-device domain spans."""
    hourly: Counter[tuple] = Counter()
    spans: dict[tuple, list] = {}
    for moment, host, _client, device, _qtype, domain_id, outcome, *_ in rows:
        hourly[(floor_time(moment, HOUR), host, device, domain_id, outcome)] += 1
        blocked = 1 if outcome == BLOCKED else 0
        span = spans.get(key := (device, domain_id))
        if span is None:
            spans[key] = [moment, moment, 1, blocked]
        else:
            span[0], span[1] = min(span[0], moment), max(span[1], moment)
            span[2] += 1
            span[3] += blocked
    devices: Counter[tuple] = Counter()
    domains: Counter[tuple] = Counter()
    for (hour, host, device, domain_id, outcome), n in hourly.items():
        devices[(hour, host, device, outcome)] += n
        domains[(floor_time(hour, DAY), host, domain_id, outcome)] += n
    return DnsCounts(
        [(*key, n) for key, n in hourly.items()],
        [(*key, n) for key, n in devices.items()],
        [(*key, n) for key, n in domains.items()],
        [(*key, *span) for key, span in spans.items()],
    )
