"""Intervals of the rollup tables, rankings' markers, day partitions, DNS outcomes: one definition for all."""

from datetime import datetime, timedelta

FIVE_MINUTES = timedelta(minutes=5)  # the counts tables' interval
HOUR = timedelta(hours=1)  # the hourly tables' interval
DAY = timedelta(days=1)  # the daily rankings' interval
TOP_PER_BUCKET = 50  # values each hour (and day) ranks by name; the rest share one row
REST = ""  # a ranking's value for the packets outside its top 50: counts beside it are lower bounds
NO_VALUE = "-"  # a ranking's value for the packets without one (no source port in ICMP, no interface)
RANKED_FIELDS = ("src_ip", "dst_ip", "src_port", "in_interface")  # packetfilter columns with rankings
SETTLE = timedelta(minutes=5)  # an hour is ranked once it ended this long ago: late lines come in first


def floor_time(moment: datetime, interval: timedelta) -> datetime:
    """The start of the interval holding `moment`; intervals count from midnight UTC, as the tables do."""
    return datetime.min + (moment - datetime.min) // interval * interval


FUTURE_PARTITION = "p_future"  # a log table's partition for rows dated after the days created ahead


def day_partition(day: datetime) -> str:
    """The name of the log tables' partition holding a UTC day: p20261201 for rows of 2026-12-01."""
    return f"p{day:%Y%m%d}"


# What became of a DNS query (dns_queries.outcome), which the collector writes and the API and panels filter by.
DNS_OUTCOMES = ("answered", "cached", "local", "blocked", "nxdomain", "nodata", "failed", "forwarded", "unknown")
DNS_RAW_TABLE = "dns_queries"
# dns_domain_daily keeps one row per day, router and domain: every query (`queries`), then each outcome's
# share in a column named as the outcome (a row per outcome was 2.5 times the rows to add up for a month).
DNS_DAY_TABLE = "dns_domain_daily"


def dns_count(table: str, outcome: str | None = None) -> str:
    """Queries (n) and blocked queries (b) of a group of `table`'s rows, of one outcome's column if given.

    The raw dns_queries are counted, the counts tables summed; `outcome` is for dns_domain_daily,
    whose outcomes are columns (the other tables take it as a condition on their `outcome`).
    """
    if table == DNS_RAW_TABLE:
        return "COUNT(*) AS n, SUM(outcome = 'blocked') AS b"
    if table != DNS_DAY_TABLE:
        return "SUM(queries) AS n, SUM(IF(outcome = 'blocked', queries, 0)) AS b"
    if outcome is None:
        return "SUM(queries) AS n, SUM(blocked) AS b"
    if outcome not in DNS_OUTCOMES:
        raise ValueError(f"not an outcome: {outcome!r}")
    return f"SUM(`{outcome}`) AS n, {'SUM(blocked)' if outcome == 'blocked' else '0'} AS b"
