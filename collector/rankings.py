"""Hourly and daily rankings: each finished hour's most frequent addresses, ports and interfaces, kept small.

Source addresses and ports are too many to count per hour in full (a scan brings
thousands), so each hour keeps, for every field in RANKED_FIELDS, its top
TOP_PER_BUCKET values per host, action and chain, exactly, and one row with value
'' holding the rest. Once a day's last hour is ranked, the day keeps the top of
its hours' sums the same way, and the sums of the writer's hourly port and MAC
counts, so a ranking over months reads days, not hours.
Readers use these rows for hours and days that ended at least READY_LAG ago and
count raw rows for the newer minutes.

An hour is ranked once it has settled; if packets arrive for it later (a spool
replay, a sender's backlog), its total no longer matches packetfilter_counts,
which the writer keeps in the same transaction as the rows, and it is ranked
again, and its day after it.
"""

import logging
import threading
from datetime import UTC, datetime, timedelta

import pymysql

from collector import db
from collector.rollups import DAY, FIVE_MINUTES, HOUR, RANKED_FIELDS, SETTLE, TOP_PER_BUCKET, floor_time
from collector.settings import Settings

log = logging.getLogger(__name__)
ROUND_SECONDS = 60.0
HOURS_PER_ROUND = 24  # a backlog (first start, after an outage) is worked off a day per round
RECHECK = timedelta(days=7)  # how far back late packets are looked for
CHECKED_FIELD = RANKED_FIELDS[0]  # every field's rows add up to the same total; one is compared

# Per field, the top 50 per host, action and chain and the rest (and rows without a value) in one
# row; the statements hold constants only.
RANK_HOUR = {
    field: f"""
INSERT INTO packetfilter_top (timestamp, field, host, action, chain, value, packets)
SELECT %s, '{field}', host, action, chain, IF(position <= {TOP_PER_BUCKET} AND value IS NOT NULL, value, ''), SUM(n)
FROM (
    SELECT host, action, chain, {field} AS value, COUNT(*) AS n,
           ROW_NUMBER() OVER (PARTITION BY host, action, chain ORDER BY {field} IS NULL, COUNT(*) DESC, {field})
               AS position
    FROM packetfilter WHERE timestamp >= %s AND timestamp < %s
    GROUP BY host, action, chain, {field}
) AS ranked
GROUP BY host, action, chain, IF(position <= {TOP_PER_BUCKET} AND value IS NOT NULL, value, '')
"""  # noqa: S608
    for field in RANKED_FIELDS
}
RANK_DAY = f"""
INSERT INTO packetfilter_top_daily (timestamp, field, host, action, chain, value, packets)
SELECT %s, field, host, action, chain, IF(position <= {TOP_PER_BUCKET} AND value <> '', value, ''), SUM(n) FROM (
    SELECT field, host, action, chain, value, SUM(packets) AS n,
           ROW_NUMBER() OVER (PARTITION BY field, host, action, chain ORDER BY value = '', SUM(packets) DESC, value)
               AS position
    FROM packetfilter_top WHERE timestamp >= %s AND timestamp < %s
    GROUP BY field, host, action, chain, value
) AS ranked
GROUP BY field, host, action, chain, IF(position <= {TOP_PER_BUCKET} AND value <> '', value, '')
"""  # noqa: S608
# Ports and MACs are counted in full per hour by the writer; a day is their sum.
ADD_UP_DAY = (
    """
INSERT INTO packetfilter_ports_daily (timestamp, host, action, chain, protocol, dst_port, packets)
SELECT %s, host, action, chain, protocol, dst_port, SUM(packets) FROM packetfilter_ports
WHERE timestamp >= %s AND timestamp < %s GROUP BY host, action, chain, protocol, dst_port
""",
    """
INSERT INTO packetfilter_macs_daily (timestamp, host, action, chain, mac, packets, last_seen)
SELECT %s, host, action, chain, mac, SUM(packets), MAX(last_seen) FROM packetfilter_macs
WHERE timestamp >= %s AND timestamp < %s GROUP BY host, action, chain, mac
""",
)
DAILY_TABLES = ("packetfilter_top_daily", "packetfilter_ports_daily", "packetfilter_macs_daily")
_BY_DAY = "CAST(DATE(timestamp) AS DATETIME)"


def rank_hours(connection: pymysql.connections.Connection, now: datetime, limit: int = HOURS_PER_ROUND) -> int:
    """Rank up to `limit` settled hours that are new or have changed, oldest first, then their days; return hours."""
    with connection.cursor() as cursor:
        cursor.execute("SET time_zone = '+00:00'")  # hours are UTC, as stored
        cursor.execute("SELECT MIN(timestamp) FROM packetfilter")
        (first,) = cursor.fetchone()
        if first is None:
            connection.commit()
            return 0
        settled = floor_time(now - SETTLE, HOUR) - HOUR  # this hour and earlier ones have settled
        # Counts outlive raw rows: an hour whose raw rows retention has begun to delete is left as ranked.
        cursor.execute("SELECT MIN(timestamp) FROM packetfilter_counts")
        (counted_from,) = cursor.fetchone()
        trimmed = counted_from is None or counted_from < floor_time(first, FIVE_MINUTES)
        complete_from = floor_time(first, HOUR) + (HOUR if trimmed else timedelta(0))
        hours = _changed(cursor, max(complete_from, floor_time(now - RECHECK, HOUR)), settled)
        hours += _unranked(cursor, first, settled, limit)
        todo = sorted(set(hours))
        for hour in todo[:limit]:
            cursor.execute("DELETE FROM packetfilter_top WHERE timestamp = %s", (hour,))
            for statement in RANK_HOUR.values():
                cursor.execute(statement, (hour, hour, hour + HOUR))
            connection.commit()
        ranked_to = todo[limit - 1] + HOUR if len(todo) > limit else settled + HOUR  # every hour before is ranked
        for day in _days_to_rank(cursor, floor_time(now - RECHECK, DAY), ranked_to):
            for table in DAILY_TABLES:
                cursor.execute(f"DELETE FROM {table} WHERE timestamp = %s", (day,))  # noqa: S608  (constant names)
            for statement in (RANK_DAY, *ADD_UP_DAY):
                cursor.execute(statement, (day, day, day + DAY))
            connection.commit()
    connection.commit()
    return min(len(set(hours)), limit)


def _changed(cursor: pymysql.cursors.Cursor, since: datetime, settled: datetime) -> list[datetime]:
    """Recent settled hours whose ranking does not add up to their packet count (never ranked, or late packets)."""
    cursor.execute(
        "SELECT FROM_UNIXTIME(UNIX_TIMESTAMP(timestamp) DIV 3600 * 3600), SUM(packets) FROM packetfilter_counts"
        " WHERE timestamp >= %s AND timestamp < %s GROUP BY 1",
        (since, settled + HOUR),
    )
    counted = dict(cursor.fetchall())
    cursor.execute(
        "SELECT timestamp, SUM(packets) FROM packetfilter_top"
        " WHERE timestamp >= %s AND timestamp < %s AND field = %s GROUP BY 1",
        (since, settled + HOUR, CHECKED_FIELD),
    )
    ranked = dict(cursor.fetchall())
    return [hour for hour, packets in counted.items() if ranked.get(hour) != packets]


def _unranked(cursor: pymysql.cursors.Cursor, first: datetime, settled: datetime, limit: int) -> list[datetime]:
    """Settled hours with packets after the newest ranked one (a backlog older than the recheck window)."""
    cursor.execute("SELECT MAX(timestamp) FROM packetfilter_top")
    (last,) = cursor.fetchone()
    start = first if last is None else last + HOUR
    hours: list[datetime] = []
    while len(hours) < limit:
        # Skip hours without packets through the time index, instead of visiting each.
        cursor.execute("SELECT MIN(timestamp) FROM packetfilter WHERE timestamp >= %s", (start,))
        (moment,) = cursor.fetchone()
        if moment is None or floor_time(moment, HOUR) > settled:
            break
        hours.append(floor_time(moment, HOUR))
        start = floor_time(moment, HOUR) + HOUR
    return hours


def _days_to_rank(cursor: pymysql.cursors.Cursor, recheck_from: datetime, ranked_to: datetime) -> list[datetime]:
    """Days before ranked_to's day whose daily ranking is missing or adds up differently from their hours."""
    ready = floor_time(ranked_to, DAY)
    cursor.execute("SELECT MAX(timestamp) FROM packetfilter_top_daily")
    (last_day,) = cursor.fetchone()
    if last_day is None:
        cursor.execute("SELECT MIN(timestamp) FROM packetfilter_top")
        (first_hour,) = cursor.fetchone()
        if first_hour is None:
            return []
        since = floor_time(first_hour, DAY)
    else:
        since = min(recheck_from, last_day + DAY)
    totals = []
    for table in ("packetfilter_top", "packetfilter_top_daily"):
        cursor.execute(
            f"SELECT {_BY_DAY}, SUM(packets) FROM {table}"  # noqa: S608  (constant names)
            " WHERE timestamp >= %s AND timestamp < %s AND field = %s GROUP BY 1",
            (since, ready, CHECKED_FIELD),
        )
        totals.append(dict(cursor.fetchall()))
    hourly, daily = totals
    return sorted(day for day, packets in hourly.items() if daily.get(day) != packets)


class Ranker(threading.Thread):
    """Ranks finished hours every minute, with its own connection, beside ingest and retention."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(name="rankings", daemon=True)
        self._settings = settings
        self._stop_event = threading.Event()

    def stop(self) -> None:
        """Finish after the current hour."""
        self._stop_event.set()

    def run(self) -> None:
        """Rank, then sleep a round, until stopped; MariaDB away only skips a round."""
        while not self._stop_event.is_set():
            connection = None
            try:
                connection = db.connect(self._settings)
                while not self._stop_event.is_set():
                    if rank_hours(connection, datetime.now(UTC).replace(tzinfo=None)) < HOURS_PER_ROUND:
                        break
            except (db.DatabaseDown, pymysql.err.MySQLError, OSError) as error:
                log.warning("ranking skipped this round: %s", error)
            finally:
                db.close_quietly(connection)
            self._stop_event.wait(ROUND_SECONDS)
