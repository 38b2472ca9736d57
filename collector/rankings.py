"""Hourly top sources: each finished hour's most frequent source addresses, so rankings over months stay fast.

Source addresses are too many to count per hour in full (a scan brings thousands),
so each hour keeps its top TOP_PER_HOUR per host, action and chain, exactly, and
one row with src_ip '' holding the rest. Readers use these rows for hours that
ended at least READY_LAG ago and count raw rows for the newer minutes.

An hour is ranked once it has settled; if packets arrive for it later (a spool
replay, a sender's backlog), its total no longer matches packetfilter_counts,
which the writer keeps in the same transaction as the rows, and it is ranked again.
"""

import logging
import threading
from datetime import UTC, datetime, timedelta

import pymysql

from collector import db
from collector.rollups import FIVE_MINUTES, HOUR, SETTLE, TOP_PER_HOUR, floor_time
from collector.settings import Settings

log = logging.getLogger(__name__)
ROUND_SECONDS = 60.0
HOURS_PER_ROUND = 24  # a backlog (first start, after an outage) is worked off a day per round
RECHECK = timedelta(days=7)  # how far back late packets are looked for

# Top 50 per host, action and chain, the rest in one row; the query holds constants only.
RANK_HOUR = f"""
INSERT INTO packetfilter_sources (timestamp, host, action, chain, src_ip, packets)
SELECT %s, host, action, chain, IF(position <= {TOP_PER_HOUR} AND src_ip IS NOT NULL, src_ip, ''), SUM(n) FROM (
    SELECT host, action, chain, src_ip, COUNT(*) AS n,
           ROW_NUMBER() OVER (PARTITION BY host, action, chain ORDER BY COUNT(*) DESC, src_ip) AS position
    FROM packetfilter WHERE timestamp >= %s AND timestamp < %s
    GROUP BY host, action, chain, src_ip
) AS ranked
GROUP BY host, action, chain, IF(position <= {TOP_PER_HOUR} AND src_ip IS NOT NULL, src_ip, '')
"""  # noqa: S608


def rank_hours(connection: pymysql.connections.Connection, now: datetime, limit: int = HOURS_PER_ROUND) -> int:
    """Rank up to `limit` settled hours that are new or have changed, oldest first; return how many."""
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
        for hour in sorted(set(hours))[:limit]:
            cursor.execute("DELETE FROM packetfilter_sources WHERE timestamp = %s", (hour,))
            cursor.execute(RANK_HOUR, (hour, hour, hour + HOUR))
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
        "SELECT timestamp, SUM(packets) FROM packetfilter_sources WHERE timestamp >= %s AND timestamp < %s GROUP BY 1",
        (since, settled + HOUR),
    )
    ranked = dict(cursor.fetchall())
    return [hour for hour, packets in counted.items() if ranked.get(hour) != packets]


def _unranked(cursor: pymysql.cursors.Cursor, first: datetime, settled: datetime, limit: int) -> list[datetime]:
    """Settled hours with packets after the newest ranked one (a backlog older than the recheck window)."""
    cursor.execute("SELECT MAX(timestamp) FROM packetfilter_sources")
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
                log.warning("ranking sources skipped this round: %s", error)
            finally:
                db.close_quietly(connection)
            self._stop_event.wait(ROUND_SECONDS)
