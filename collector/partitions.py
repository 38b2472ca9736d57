"""Day partitions of the log tables: created ahead, split when old-dated rows share one, dropped whole.

Each table is partitioned by RANGE COLUMNS (timestamp): partition pYYYYMMDD holds the
rows before the next day, from wherever the partition before it ends, and p_future
everything later. So every row has a place (an old-dated import lands in the first
partition, a router clock in 2038 in p_future) and nothing is ever rejected.
"""

from dataclasses import dataclass
from datetime import datetime

import pymysql

from common.store import DAY, FUTURE_PARTITION, day_partition, floor_time

AHEAD_DAYS = 7  # partitions exist this many days ahead, so a day never starts in p_future
HORIZON_DAYS = 400  # no partition is created for rows older than this; they share the first one
LOCK_WAIT_SECONDS = 5  # a partition change waits this long behind a long query, then tries next round


@dataclass(frozen=True)
class Partition:
    """One partition: its name and the time its rows come before (None: MAXVALUE)."""

    name: str
    bound: datetime | None


def name_for(bound: datetime) -> str:
    """The partition ending at `bound` is named for the day it holds: p20261201 for rows before 2026-12-02."""
    return day_partition(bound - DAY)


def parse_bound(description: str) -> datetime | None:
    """information_schema's PARTITION_DESCRIPTION ('2026-12-02' or '2026-12-02 00:00:00', MAXVALUE) as a time."""
    text = description.strip().strip("'")
    if text.upper() == "MAXVALUE":
        return None
    return datetime.fromisoformat(text)


def future_bounds(partitions: list[Partition], oldest_future: datetime | None, today: datetime) -> list[datetime]:
    """Where to split p_future: a day at a time from where the dated partitions end up to AHEAD_DAYS ahead.

    A table with no dated partition yet (just created or upgraded) starts at the
    day of the oldest row p_future holds, or today, and no more than HORIZON_DAYS back.
    """
    dated = [part.bound for part in partitions if part.bound is not None]
    end = today + AHEAD_DAYS * DAY + DAY
    if dated:
        start = max(dated) + DAY
    else:
        start = min(today, floor_time(oldest_future, DAY)) + DAY if oldest_future is not None else today + DAY
    start = max(start, today - HORIZON_DAYS * DAY + DAY)
    bounds = []
    while start <= end:
        bounds.append(start)
        start += DAY
    return bounds


def expired(partitions: list[Partition], cutoff: datetime) -> list[Partition]:
    """Dated partitions whose every row is older than cutoff: retention drops them whole."""
    return [part for part in partitions if part.bound is not None and part.bound <= cutoff]


def read(connection: pymysql.connections.Connection, table: str) -> list[Partition]:
    """The table's partitions in order; empty when it is not partitioned (a database not yet upgraded)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT partition_name, partition_description FROM information_schema.partitions"
            " WHERE table_schema = DATABASE() AND table_name = %s AND partition_name IS NOT NULL"
            " ORDER BY partition_ordinal_position",
            (table,),
        )
        rows = cursor.fetchall()
    connection.commit()
    return [Partition(name, parse_bound(description)) for name, description in rows]


def _change(connection: pymysql.connections.Connection, procedure: str, *args: str) -> None:
    """Call a partition procedure of 02-storage.sql; it gives up after LOCK_WAIT_SECONDS behind a running query."""
    with connection.cursor() as cursor:
        cursor.execute(f"SET SESSION lock_wait_timeout = {LOCK_WAIT_SECONDS}")
        cursor.execute(f"CALL {procedure}({', '.join(['%s'] * len(args))})", args)
    connection.commit()


def _split(connection: pymysql.connections.Connection, table: str, part: str, bounds: list[datetime]) -> None:
    """Split a partition into day partitions ending at each bound (p_future stays above them)."""
    _change(connection, "siem_split_partition", table, part, ",".join(f"{bound:%Y-%m-%d}" for bound in bounds))


def _first_day_from(
    connection: pymysql.connections.Connection, table: str, part: str, since: datetime
) -> datetime | None:
    """The oldest row's day in a partition at or after `since` (one seek on the time-ordered key)."""
    sql = f"SELECT MIN(timestamp) FROM `{table}` PARTITION (`{part}`) WHERE timestamp >= %s"  # noqa: S608  (names from information_schema)
    with connection.cursor() as cursor:
        cursor.execute(sql, (since,))
        (oldest,) = cursor.fetchone()
    connection.commit()
    return None if oldest is None else floor_time(oldest, DAY)


def split_bounds(
    connection: pymysql.connections.Connection, table: str, part: Partition, low: datetime | None, floor: datetime
) -> list[datetime]:
    """Where to split a partition spanning several days: after each day it holds rows of, other than its last.

    `low` is where the partition starts (None for the first). Rows older than
    `floor` are left together below a bound at `floor`, for retention to drop whole.
    """
    if part.bound is None or (low is not None and part.bound - low <= DAY):
        return []
    bounds: list[datetime] = []
    day = _first_day_from(connection, table, part.name, low or datetime.min)
    if day is not None and day < floor:
        if floor < part.bound and low is None:
            bounds.append(floor)
        day = _first_day_from(connection, table, part.name, floor)
    while day is not None and day + DAY < part.bound:
        bounds.append(day + DAY)
        day = _first_day_from(connection, table, part.name, day + DAY)
    return bounds


def maintain(
    connection: pymysql.connections.Connection,
    table: str,
    today: datetime,
    retention_cutoff: datetime | None,
    first_day: datetime | None = None,
) -> bool:
    """Create the days ahead and split old-dated rows into their days; False if the table is not partitioned.

    Rows older than the retention cutoff (a day's start), or than HORIZON_DAYS, stay together in the first.
    `first_day` makes a table without day partitions start there (before loading old rows in bulk).
    """
    partitions = read(connection, table)
    if not partitions:
        return False
    if partitions[-1].name == FUTURE_PARTITION:
        oldest = _first_day_from(connection, table, FUTURE_PARTITION, datetime.min)
        if first_day is not None:
            oldest = first_day if oldest is None else min(oldest, first_day)
        bounds = future_bounds(partitions, oldest, today)
        if bounds:
            _split(connection, table, FUTURE_PARTITION, bounds)
            partitions = read(connection, table)
    horizon = today - HORIZON_DAYS * DAY
    floor = horizon if retention_cutoff is None else max(retention_cutoff, horizon)
    low = None
    for part in partitions:
        bounds = split_bounds(connection, table, part, low, floor)
        if bounds and part.bound is not None:
            _split(connection, table, part.name, [*bounds, part.bound])
        low = part.bound
    return True


def drop(connection: pymysql.connections.Connection, table: str, partitions: list[Partition]) -> int:
    """Drop whole partitions (instant, whatever they hold); return how many rows they held."""
    if not partitions:
        return 0
    names = ", ".join(f"`{part.name}`" for part in partitions)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(id) FROM `{table}` PARTITION ({names})")  # noqa: S608  (names from information_schema)
        (rows,) = cursor.fetchone()
    connection.commit()
    _change(connection, "siem_drop_partitions", table, ",".join(part.name for part in partitions))
    return int(rows)
