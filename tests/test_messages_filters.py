"""Messages filtered by host, program or severity: found through the 5-minute counts, however rare, page by page."""

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pymysql
import pytest

from tests.conftest import API_TOKEN, fetch, grafana_reader, wait_for
from tests.servers import CollectorProcess, lf_framed, send_tcp
from tests.test_dashboards import panel_sql

NOW = datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def message(moment: datetime, host: str, program: str, severity: int, text: str) -> bytes:
    """An RFC 5424 line (facility daemon), so its date travels with it."""
    return f"<{24 + severity}>1 {moment.isoformat()}Z {host} {program} 1 - - {text}".encode()


@pytest.fixture
def stored(start_collector: Callable[..., CollectorProcess], db: pymysql.connections.Connection) -> int:
    """Three days of a chatty router; a NAS, a disk daemon and errors now and then, the hours shuffled."""
    rng = random.Random(11)
    lines = []
    for number in range(3000):
        moment = NOW - timedelta(seconds=number * 86 + rng.randrange(60))
        rare = number % 97 == 5
        host, program = ("nas", "smartd") if rare else ("router", rng.choice(["dnsmasq", "dropbear", ""]))
        severity = 3 if number % 61 == 2 else 6
        lines.append(message(moment, host, program or "-", severity, f"line {number}"))
    rng.shuffle(lines)
    collector = start_collector()
    send_tcp(collector.port, lf_framed(*lines))
    return wait_for(db, "SELECT COUNT(*) FROM messages", len(lines))


def pages(api_url: str, **params: object) -> tuple[list[int], int]:
    """Every message id the API gives for the filters, page after page, and how many requests it took."""
    ids, cursor, requests = [], None, 0
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = httpx.get(
            f"{api_url}/api/v1/messages", params=query, headers={"Authorization": f"Bearer {API_TOKEN}"}
        )
        assert response.status_code == 200, response.text
        requests += 1
        body = response.json()
        assert len(body["items"]) <= params["limit"]
        ids += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            return ids, requests


@pytest.mark.parametrize(
    ("filters", "where"),
    [
        ({"host": "nas"}, "host = 'nas'"),
        ({"program": "smartd"}, "program = 'smartd'"),
        ({"severity": "err"}, "severity <= 3"),
        ({"host": "router", "severity": "err"}, "host = 'router' AND severity <= 3"),
    ],
)
def test_rare_messages_come_newest_first_and_whole_page_by_page(
    stored: int, api_url: str, db: pymysql.connections.Connection, filters: dict, where: str
) -> None:
    since = NOW - timedelta(days=4)
    expected = [
        row["id"] for row in fetch(db, f"SELECT id FROM messages WHERE {where} ORDER BY timestamp DESC, id DESC")
    ]
    assert 20 < len(expected) < 100, "rare: a few in every hundred"
    ids, requests = pages(api_url, since=since.isoformat(), limit=7, **filters)
    assert ids == expected
    assert requests <= len(expected) // 7 + 2, "full pages, not a trickle"
    first, _ = pages(api_url, since=(NOW - timedelta(hours=20)).isoformat(), limit=1000, **filters)
    recent = fetch(db, f"SELECT id FROM messages WHERE {where} AND timestamp >= %s ORDER BY timestamp DESC, id DESC",
                   NOW - timedelta(hours=20))  # fmt: skip
    assert first == [row["id"] for row in recent]


def test_a_filter_nothing_matches_is_an_empty_page(stored: int, api_url: str) -> None:
    assert pages(api_url, since="7d", limit=5, host="no-such-host") == ([], 1)


@pytest.mark.parametrize(("title", "where"), [("Messages", ""), ("Warnings and errors", " AND severity <= 4")])
@pytest.mark.parametrize("host", ["nas", "router"])
def test_the_logs_tables_show_the_newest_messages_of_a_rare_host_too(
    stored: int, db: pymysql.connections.Connection, reader: pymysql.connections.Connection, title: str, where: str,
    host: str,
) -> None:  # fmt: skip
    start, end = (NOW - timedelta(days=4)).replace(tzinfo=UTC), (NOW + timedelta(minutes=1)).replace(tzinfo=UTC)
    sql = panel_sql("logs", title, start, end, values={"host": [host], "filter": ""})
    limit = int(sql.rsplit("LIMIT", 1)[1])
    shown = [row[4] for row in fetch_rows(reader, sql)]
    newest = f"SELECT message FROM messages WHERE host = %s{where} ORDER BY timestamp DESC, id DESC LIMIT %s"
    assert shown == [row["message"] for row in fetch(db, newest, host, limit)]
    assert len(shown) > 0


def fetch_rows(connection: pymysql.connections.Connection, sql: str) -> list[tuple]:
    """A panel's rows as Grafana gets them."""
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return list(cursor.fetchall())


@pytest.fixture
def reader(mariadb, db_env):  # noqa: ANN001, ANN201
    """The read-only account, as Grafana uses it."""
    connection = grafana_reader(mariadb, db_env)
    yield connection
    connection.close()
