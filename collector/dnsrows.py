"""A batch's DNS queries as `dns_queries` rows and as rows of each derived table; no I/O."""

from collections import Counter
from functools import partial
from typing import NamedTuple

from collector.dns import BLOCKED
from collector.dnsjoin import DnsQuery
from collector.memo import Memo
from collector.owners import AddressOwners
from common.store import DAY, DNS_OUTCOMES, HOUR, floor_time

DNS_COLUMNS = (
    "timestamp", "host", "client", "device", "qtype", "domain_id", "outcome", "blocked_by", "upstream", "answer",
)  # fmt: skip


def dns_rows(queries: list[DnsQuery], owners: AddressOwners, domain_ids: dict[str, int]) -> list[tuple]:
    """`dns_queries` rows: each query with the device that held its client address then, its domain as an id."""
    rows = []
    for q in queries:
        device = owners.owner(q.client, q.timestamp) or q.client
        rows.append((
            q.timestamp, q.host, q.client, device, q.qtype, domain_ids[q.domain], q.outcome,
            q.blocked_by, q.upstream, q.answer,
        ))  # fmt: skip
    return rows


_OUTCOME_COLUMN = {outcome: 1 + i for i, outcome in enumerate(DNS_OUTCOMES)}  # after the total


class DnsCounts(NamedTuple):
    """A batch's DNS queries folded into each derived table's rows."""

    hourly: list[tuple]  # (hour, host, device, domain_id, outcome, queries)
    device_hourly: list[tuple]  # (hour, host, device, outcome, queries)
    device_daily: list[tuple]  # (day, host, device, outcome, queries)
    domain_daily: list[tuple]  # (day, host, domain_id, queries, then the queries of each of DNS_OUTCOMES)
    spans: list[tuple]  # (device, domain_id, first_seen, last_seen, queries, blocked)


def dns_counts(rows: list[tuple]) -> DnsCounts:
    """Fold `dns_queries` rows into the hourly and daily counts and the per-device domain spans."""
    hourly: Counter[tuple] = Counter()
    spans: dict[tuple, list] = {}
    hours = Memo(partial(floor_time, interval=HOUR))
    for moment, host, _client, device, _qtype, domain_id, outcome, *_ in rows:
        hourly[(hours[moment], host, device, domain_id, outcome)] += 1
        blocked = 1 if outcome == BLOCKED else 0
        span = spans.get(key := (device, domain_id))
        if span is None:
            spans[key] = [moment, moment, 1, blocked]
        else:
            span[0], span[1] = min(span[0], moment), max(span[1], moment)
            span[2] += 1
            span[3] += blocked
    devices: Counter[tuple] = Counter()
    domains: dict[tuple, list[int]] = {}
    for (hour, host, device, domain_id, outcome), n in hourly.items():
        devices[(hour, host, device, outcome)] += n
        counts = domains.get(key := (floor_time(hour, DAY), host, domain_id))
        if counts is None:
            counts = domains[key] = [0] * (1 + len(DNS_OUTCOMES))
        counts[0] += n
        counts[_OUTCOME_COLUMN[outcome]] += n  # the parser gives only these
    days: Counter[tuple] = Counter()
    for (hour, *key), n in devices.items():
        days[(floor_time(hour, DAY), *key)] += n
    return DnsCounts(
        [(*key, n) for key, n in hourly.items()],
        [(*key, n) for key, n in devices.items()],
        [(*key, n) for key, n in days.items()],
        [(*key, *counts) for key, counts in domains.items()],
        [(*key, *span) for key, span in spans.items()],
    )
