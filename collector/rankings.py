"""Hourly and daily rankings: each finished hour's most frequent addresses, ports and interfaces, kept small.

Source addresses and ports are too many to count per hour in full (a scan brings
thousands), so each hour keeps, for every field in RANKED_FIELDS, its top
TOP_PER_BUCKET values per host, action and chain, exactly, one row (REST) holding
the rest and one (NO_VALUE) the packets without a value. Once a day's hours are ranked, the day keeps the top of its
hours' sums the same way, and the sums of the writer's hourly port and MAC counts,
so a ranking over months reads days, not hours.

The writer tallies the values of the hours it stores (tallies.py); an hour whose tally
holds exactly its stored rows is ranked from the tally, without a scan of the table.

What the rankings cover is exact, not a guess from the clock: the writer marks in
`packetfilter_pending` every hour it writes rows for, in the same transaction as
the rows; ranking an hour removes its mark and marks its day, adding a day up
removes the day's. Readers count marked hours and days from finer tables or raw
rows, so late lines (a spool replay, a router with a wrong clock, an import of old
logs) are counted the moment they are stored, and ranked a round later.
"""

import logging
import threading
from datetime import UTC, datetime
from functools import lru_cache

import pymysql

from collector import db
from collector.settings import Settings
from collector.tallies import Tallies, ranked_rows
from common.store import DAY, HOUR, NO_VALUE, RANKED_FIELDS, REST, SETTLE, TOP_PER_BUCKET, floor_time

log = logging.getLogger(__name__)
ROUND_SECONDS = 60.0
HOURS_PER_ROUND = 24  # a backlog (first start, after an outage) is worked off a day per round

# Per field and per host, action and chain of the hour, the top 50 by name, the packets without a
# value in one row (NO_VALUE) and the rest in another (REST); the statements hold constants only.
# Each row is tagged with its host, action and chain's number in the hour's list of them (up to
# GROUPS_PER_SCAN at a time), and ranked by that number: grouping by the three text columns made
# temporary rows of four full-width columns, which spilled to disk and cost 3x the CPU.
GROUPS_PER_SCAN = 16
HOUR_GROUPS = (
    "SELECT host, action, chain, COUNT(*) FROM packetfilter WHERE timestamp >= %s AND timestamp < %s"
    " GROUP BY host, action, chain ORDER BY 1, 2, 3"
)
INSERT_TOP = (
    "INSERT INTO packetfilter_top (timestamp, field, host, action, chain, value, packets)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s)"
)
_HOUR_LABEL = (
    f"CASE WHEN value IS NULL THEN '{NO_VALUE}' WHEN position <= {TOP_PER_BUCKET} THEN value ELSE '{REST}' END"
)


@lru_cache
def rank_hour_sql(field: str, groups: int) -> str:
    """The statement ranking `field` for `groups` hosts, actions and chains, given as parameters."""
    tag = " ".join(f"WHEN host = %s AND action = %s AND chain = %s THEN {n}" for n in range(1, groups + 1))
    names = ", ".join(["%s"] * groups)
    return f"""
INSERT INTO packetfilter_top (timestamp, field, host, action, chain, value, packets)
SELECT %s, '{field}', ELT(g, {names}), ELT(g, {names}), ELT(g, {names}), {_HOUR_LABEL}, SUM(n)
FROM (
    SELECT g, value, COUNT(*) AS n,
           ROW_NUMBER() OVER (PARTITION BY g ORDER BY value IS NULL, COUNT(*) DESC, value) AS position
    FROM (
        SELECT CASE {tag} END AS g, {field} AS value FROM packetfilter WHERE timestamp >= %s AND timestamp < %s
    ) AS tagged
    WHERE g IS NOT NULL
    GROUP BY g, value
) AS ranked
GROUP BY g, {_HOUR_LABEL}
"""  # noqa: S608


_UNNAMED = f"value IN ('{REST}', '{NO_VALUE}')"
_DAY_LABEL = f"CASE WHEN {_UNNAMED} THEN value WHEN position <= {TOP_PER_BUCKET} THEN value ELSE '{REST}' END"
RANK_DAY = f"""
INSERT INTO packetfilter_top_daily (timestamp, field, host, action, chain, value, packets)
SELECT %s, field, host, action, chain, {_DAY_LABEL}, SUM(n) FROM (
    SELECT field, host, action, chain, value, SUM(packets) AS n,
           ROW_NUMBER() OVER (PARTITION BY field, host, action, chain ORDER BY {_UNNAMED}, SUM(packets) DESC, value)
               AS position
    FROM packetfilter_top WHERE timestamp >= %s AND timestamp < %s
    GROUP BY field, host, action, chain, value
) AS ranked
GROUP BY field, host, action, chain, {_DAY_LABEL}
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


_LOCK = "SELECT timestamp FROM packetfilter_pending WHERE kind = %s AND timestamp = %s FOR UPDATE"
_UNMARK = "DELETE FROM packetfilter_pending WHERE kind = %s AND timestamp = %s"


def rank_hours(
    connection: pymysql.connections.Connection,
    now: datetime,
    limit: int = HOURS_PER_ROUND,
    tallies: Tallies | None = None,
) -> int:
    """Rank up to `limit` finished hours marked pending, oldest first, then the days left whole; return hours.

    `tallies`, the writer's, spare scanning the hours they hold whole.
    """
    settled = floor_time(now - SETTLE, HOUR) - HOUR  # this hour and earlier ones are over
    with connection.cursor() as cursor:
        cursor.execute("SET time_zone = '+00:00'")  # hours are UTC, as stored
        cursor.execute(
            "SELECT timestamp FROM packetfilter_pending WHERE kind = 'hour' AND timestamp <= %s"
            " ORDER BY timestamp LIMIT %s",
            (settled, limit),
        )
        hours = [row[0] for row in cursor.fetchall()]
        connection.commit()
        for hour in hours:
            # The mark's row lock waits for a batch still writing this hour, and holds the next one back.
            cursor.execute(_LOCK, ("hour", hour))
            if cursor.fetchone() is not None:
                cursor.execute("DELETE FROM packetfilter_top WHERE timestamp = %s", (hour,))
                _rank_hour(cursor, hour, tallies)
                cursor.execute(_UNMARK, ("hour", hour))
                cursor.execute(db.PACKETFILTER_PENDING, ("day", floor_time(hour, DAY)))
            connection.commit()
        for day in _whole_days(cursor, settled + HOUR):
            cursor.execute(_LOCK, ("day", day))
            if cursor.fetchone() is not None and not _hours_pending(cursor, day):
                for table in DAILY_TABLES:
                    cursor.execute(f"DELETE FROM {table} WHERE timestamp = %s", (day,))  # noqa: S608  (constant names)
                for statement in (RANK_DAY, *ADD_UP_DAY):
                    cursor.execute(statement, (day, day, day + DAY))
                cursor.execute(_UNMARK, ("day", day))
            connection.commit()
    connection.commit()
    return len(hours)


def _rank_hour(cursor: pymysql.cursors.Cursor, hour: datetime, tallies: Tallies | None) -> None:
    """Rank every field of an hour: from its tallies if they hold its rows, else from the table.

    The table is ranked for GROUPS_PER_SCAN of the hour's hosts, actions and chains per scan.
    """
    cursor.execute(HOUR_GROUPS, (hour, hour + HOUR))
    stored = cursor.fetchall()
    rows = ranked_rows(tallies.take(hour), stored) if tallies is not None else None
    if rows is not None:
        if rows:
            cursor.executemany(INSERT_TOP, [(hour, *row) for row in rows])
        log.debug("ranked %s from the writer's tallies", hour)
        return
    log.debug("ranked %s from the table", hour)
    groups = [names[:3] for names in stored]
    for first in range(0, len(groups), GROUPS_PER_SCAN):
        chunk = groups[first : first + GROUPS_PER_SCAN]
        names = [name for column in zip(*chunk, strict=True) for name in column]  # hosts, then actions, chains
        tags = [value for group in chunk for value in group]
        for field in RANKED_FIELDS:
            cursor.execute(rank_hour_sql(field, len(chunk)), (hour, *names, *tags, hour, hour + HOUR))


def _whole_days(cursor: pymysql.cursors.Cursor, over_by: datetime) -> list[datetime]:
    """Marked days that ended by `over_by` and have no hour still marked."""
    cursor.execute(
        "SELECT d.timestamp FROM packetfilter_pending AS d WHERE d.kind = 'day' AND d.timestamp + INTERVAL 1 DAY <= %s"
        " AND NOT EXISTS (SELECT 1 FROM packetfilter_pending AS h WHERE h.kind = 'hour'"
        " AND h.timestamp >= d.timestamp AND h.timestamp < d.timestamp + INTERVAL 1 DAY) ORDER BY d.timestamp",
        (over_by,),
    )
    return [row[0] for row in cursor.fetchall()]


def _hours_pending(cursor: pymysql.cursors.Cursor, day: datetime) -> bool:
    """Whether rows arrived for the day since its hours were ranked."""
    cursor.execute(
        "SELECT 1 FROM packetfilter_pending WHERE kind = 'hour' AND timestamp >= %s AND timestamp < %s LIMIT 1",
        (day, day + DAY),
    )
    return cursor.fetchone() is not None


class Ranker(threading.Thread):
    """Ranks finished hours every minute, or when woken, with its own connection, beside ingest and retention."""

    def __init__(self, settings: Settings, tallies: Tallies | None = None) -> None:
        super().__init__(name="rankings", daemon=True)
        self._settings = settings
        self._tallies = tallies
        self._stop_event = threading.Event()
        self._wake = threading.Event()

    def stop(self) -> None:
        """Finish after the current hour."""
        self._stop_event.set()
        self._wake.set()

    def wake(self) -> None:
        """Rank the finished hours now rather than at the next round (SIGUSR1: after an import, say)."""
        self._wake.set()

    def run(self) -> None:
        """Rank, then sleep a round, until stopped; MariaDB away only skips a round."""
        connection = None
        while not self._stop_event.is_set():
            self._wake.clear()
            connection = self._round(connection)
            self._wake.wait(ROUND_SECONDS)
        db.close_quietly(connection)

    def _round(self, connection: pymysql.connections.Connection | None) -> pymysql.connections.Connection | None:
        """Rank what is due; return the connection to keep for the next round, None if MariaDB failed.

        The connection is kept from round to round: opening one costs more CPU than a
        round with nothing to rank (pymysql builds a TLS context for each). A kept one
        that fails may only have outlived a MariaDB restart, so a new one tries at once.
        """
        fresh = connection is None
        while True:
            try:
                if connection is None:
                    connection = db.connect(self._settings)
                while not self._stop_event.is_set():
                    now = datetime.now(UTC).replace(tzinfo=None)
                    if rank_hours(connection, now, tallies=self._tallies) < HOURS_PER_ROUND:
                        break
                connection.commit()  # no snapshot held while asleep: it would keep InnoDB from purging
                return connection
            except (db.DatabaseDown, pymysql.err.MySQLError, OSError) as error:
                db.close_quietly(connection)
                connection = None
                if fresh:
                    log.warning("ranking skipped this round: %s", error)
                    return None
                fresh = True
