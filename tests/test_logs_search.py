"""The Logs text filter searches the last SEARCH_HOURS of the time range and says when that cut it short."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pymysql
import pytest

from siemctl.dashboards import SEARCH_HOURS
from tests.conftest import empty_tables, grafana_reader, wait_for
from tests.servers import CollectorProcess, MariaDBServer, collector_env, lf_framed, send_tcp
from tests.test_dashboards import panel_sql

HOUR = timedelta(hours=1)
NOW = datetime.now(UTC).replace(second=0, microsecond=0, tzinfo=None) - timedelta(minutes=5)
FIRST = NOW - (SEARCH_HOURS + 3) * HOUR  # three hours more than a search reads
PER_HOUR = 600
NEEDLE = "needle-x'7"  # with a quote: the filter is SQL-escaped as Grafana does it


def lines() -> list[bytes]:
    """PER_HOUR messages an hour from FIRST to NOW; every 50th holds the needle."""
    out = []
    for number in range((SEARCH_HOURS + 3) * PER_HOUR):
        moment = FIRST + timedelta(seconds=number * 3600 // PER_HOUR)
        text = f"{NEEDLE} in message {number}" if number % 50 == 7 else f"daemon message {number}"
        out.append(f"<14>{moment.strftime('%b %e %H:%M:%S')} nas app: {text}".encode())
    return out


@pytest.fixture(scope="module")
def reader(mariadb: MariaDBServer, db_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """The read-only account over hours of messages the real collector stored."""
    root = mariadb.connect("siem")
    empty_tables(root)
    base = tmp_path_factory.mktemp("logs-search")
    collector = CollectorProcess(collector_env(db_env, base / "spool"), base / "collector.log").start()
    sent = lines()
    send_tcp(collector.port, lf_framed(*sent))
    assert wait_for(root, "SELECT COUNT(*) FROM messages", len(sent)) == len(sent)
    assert collector.stop() == 0
    root.close()
    connection = grafana_reader(mariadb, db_env)
    yield connection
    connection.close()


def run(connection: pymysql.connections.Connection, title: str, start: datetime, end: datetime, text: str) -> list:
    """A Logs panel's rows for the range and text filter, as Grafana would ask."""
    sql = panel_sql("logs", title, start.replace(tzinfo=UTC), end.replace(tzinfo=UTC), values={"filter": text})
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return list(cursor.fetchall())


def raw(connection: pymysql.connections.Connection, since: datetime, until: datetime) -> list[tuple]:
    """(time, message) of the needle messages in [since, until], newest first, counted from the raw rows."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT timestamp, message FROM messages WHERE timestamp BETWEEN %s AND %s AND message LIKE %s"
            " ORDER BY timestamp DESC, id DESC",
            (since, until, "%needle-x'7%"),
        )
        return list(cursor.fetchall())


WHOLE = (FIRST - HOUR, NOW + HOUR)
SEARCH_START = WHOLE[1] - SEARCH_HOURS * HOUR


def test_a_long_range_is_searched_from_its_last_hours(
    reader: pymysql.connections.Connection,
) -> None:
    """Messages: every match from the search's start on, newest first, then a row saying where it stopped."""
    rows = run(reader, "Messages", *WHOLE, NEEDLE)
    expected = raw(reader, SEARCH_START, WHOLE[1])
    assert 0 < len(expected) < 200
    assert [(row[0], row[4]) for row in rows[:-1]] == expected
    marker = rows[-1]
    assert marker[0] == SEARCH_START
    assert "not searched" in marker[4]
    assert SEARCH_START.strftime("%Y-%m-%d %H:%M") in marker[4]
    assert len(raw(reader, *WHOLE)) > len(expected), "the oldest hour held matches the search left out"


def test_charts_count_what_was_searched_and_name_where_it_started(reader: pymysql.connections.Connection) -> None:
    """Each series counts the matches from the search's start on, and its name says the range was cut."""
    rows = run(reader, "Messages by host", *WHOLE, NEEDLE)
    assert {row[1] for row in rows} == {f"nas (searched from {SEARCH_START:%Y-%m-%d %H:%M} UTC)"}
    assert sum(int(row[2]) for row in rows) == len(raw(reader, SEARCH_START, WHOLE[1]))


def test_a_range_within_the_budget_is_searched_whole(reader: pymysql.connections.Connection) -> None:
    """A range no longer than the search: every match, no cut, no marker."""
    start, end = NOW - (SEARCH_HOURS - 1) * HOUR, NOW + HOUR
    rows = run(reader, "Messages", start, end, NEEDLE)
    assert [(row[0], row[4]) for row in rows] == raw(reader, start, end)
    chart = run(reader, "Messages by host", start, end, NEEDLE)
    assert {row[1] for row in chart} == {"nas"}
    assert sum(int(row[2]) for row in chart) == len(raw(reader, start, end))


def test_without_a_filter_the_newest_messages_of_the_whole_range_show(reader: pymysql.connections.Connection) -> None:
    """No text filter: the newest 200 messages, nothing cut, no marker row."""
    rows = run(reader, "Messages", *WHOLE, "")
    with reader.cursor() as cursor:
        cursor.execute("SELECT timestamp, message FROM messages ORDER BY timestamp DESC, id DESC LIMIT 200")
        assert [(row[0], row[4]) for row in rows] == list(cursor.fetchall())
