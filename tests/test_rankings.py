"""Rankings: each finished hour and day keeps its top 50 addresses, ports and interfaces, the rest in one row."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pymysql

from collector import db as collector_db
from collector.rankings import GROUPS_PER_SCAN, rank_hours
from collector.settings import Settings
from common.store import DAY, NO_VALUE, TOP_PER_BUCKET, floor_time
from siemctl import dashboards
from siemctl.macros import expand
from tests.conftest import API_TOKEN, fetch, wait_for
from tests.servers import CollectorProcess, collector_env, octet_counted, send_tcp

NOW = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
HOUR = NOW.replace(minute=0, second=0) - timedelta(hours=3)  # a finished hour, three hours back
SOURCES = "SELECT value, packets FROM packetfilter_top WHERE field = 'src_ip'"


def packet(
    moment: datetime,
    source: str,
    tail: str = "LEN=44 TTL=61 ID=1 PROTO=TCP SPT=40000 DPT=22 SYN URGP=0",
    host: str = "router",
    prefix: str = "drop wan in: ",
) -> bytes:
    """A dropped packet from `source` at `moment`, in RFC 5424 so the time carries its date."""
    stamp = moment.isoformat() + "Z"
    return (
        f"<4>1 {stamp} {host} kernel - - - {prefix}IN=eth0 OUT= MAC=00:0d:b9:4f:2a:10:3c:a6:2f:11:22:33:08:00 "
        f"SRC={source} DST=198.51.100.23 {tail}"
    ).encode()


def hour_of_sources(hour: datetime) -> list[bytes]:
    """60 sources in one hour: source i sends i + 1 packets, so the top 50 are 203.0.113.10 to .59."""
    return [packet(hour + timedelta(seconds=i * 50 + n), f"203.0.113.{i}") for i in range(60) for n in range(i + 1)]


def test_each_hour_keeps_its_top_sources_and_the_rest_in_one_row(
    start_collector: Callable[..., CollectorProcess],
    db: pymysql.connections.Connection,
    db_env: dict[str, str],
    tmp_path: Path,
) -> None:
    """Ranked as the collector's account: exact counts for the top 50, the rest summed, unfinished hours left."""
    lines = [*hour_of_sources(HOUR), packet(NOW - timedelta(minutes=1), "198.51.100.7")]
    collector = start_collector()
    send_tcp(collector.port, octet_counted(*lines))
    assert wait_for(db, "SELECT COUNT(*) FROM packetfilter", len(lines)) == len(lines)
    connection = collector_db.connect(Settings.from_env(collector_env(db_env, tmp_path)))
    try:
        assert rank_hours(connection, NOW) == 1, "one finished hour; the current one waits"
        assert rank_hours(connection, NOW) == 0, "an hour is ranked once"
    finally:
        connection.close()
    ranked = {row["value"]: row["packets"] for row in fetch(db, SOURCES)}
    top = {f"203.0.113.{i}": i + 1 for i in range(60 - TOP_PER_BUCKET, 60)}
    assert {ip: n for ip, n in ranked.items() if ip} == top
    assert ranked[""] == sum(range(1, 60 - TOP_PER_BUCKET + 1)), "the ten smallest sources, in one row"
    assert fetch(db, "SELECT timestamp FROM packetfilter_top GROUP BY 1") == [{"timestamp": HOUR}]
    by_field = "SELECT field, value, packets FROM packetfilter_top WHERE field <> 'src_ip' ORDER BY 1, 2"
    assert fetch(db, by_field) == [
        {"field": "dst_ip", "value": "198.51.100.23", "packets": sum(range(1, 61))},
        {"field": "in_interface", "value": "eth0", "packets": sum(range(1, 61))},
        {"field": "src_port", "value": "40000", "packets": sum(range(1, 61))},
    ], "the hour's other fields, each with one value"


def test_each_router_action_and_chain_of_an_hour_has_a_top_of_its_own(
    start_collector: Callable[..., CollectorProcess], db: pymysql.connections.Connection
) -> None:
    """Twenty routers, two chains, drops and rejects in one hour: each keeps its own top 50, as raw rows rank.

    More hosts, actions and chains than one scan ranks (GROUPS_PER_SCAN) take several scans.
    """
    lines = [
        *hour_of_sources(HOUR),
        *[packet(HOUR + timedelta(seconds=i), f"198.51.100.{i % 70}", host="ap") for i in range(300)],
        *[
            packet(
                HOUR + timedelta(seconds=i), f"192.0.2.{i % 7}", f"PROTO=UDP SPT={i % 55} DPT=53", prefix="REJECT lan "
            )
            for i in range(400)
        ],
        *[packet(HOUR + timedelta(seconds=i), f"192.0.2.{i % 3}", host=f"ap{i % 18}") for i in range(90)],
    ]
    collector = start_collector()
    send_tcp(collector.port, octet_counted(*lines))
    assert wait_for(db, "SELECT COUNT(*) FROM packetfilter", len(lines)) == len(lines)
    assert rank_hours(db, NOW) == 1
    groups = fetch(db, "SELECT DISTINCT host, action, chain FROM packetfilter ORDER BY 1, 2, 3")
    assert len(groups) == 21 > GROUPS_PER_SCAN
    group = "host = %s AND action = %s AND chain = %s"
    for field in ("src_ip", "src_port"):
        for key in (tuple(row.values()) for row in groups):
            raw_top = fetch(
                db,
                f"SELECT CAST({field} AS CHAR) AS value, COUNT(*) AS n FROM packetfilter"
                f" WHERE {group} AND {field} IS NOT NULL GROUP BY {field} ORDER BY n DESC, {field} LIMIT %s",
                *key, TOP_PER_BUCKET,
            )  # fmt: skip
            ranked = fetch(
                db, f"SELECT value, packets AS n FROM packetfilter_top WHERE field = %s AND {group}", field, *key
            )
            named = sorted((row["value"], row["n"]) for row in ranked if row["value"] not in ("", NO_VALUE))
            assert named == sorted((row["value"], row["n"]) for row in raw_top), (field, key)
            (raw_total,) = fetch(db, f"SELECT COUNT(*) AS n FROM packetfilter WHERE {group}", *key)
            assert sum(row["n"] for row in ranked) == raw_total["n"], (field, key)


def test_the_collector_ranks_finished_hours_by_itself(
    start_collector: Callable[..., CollectorProcess], db: pymysql.connections.Connection
) -> None:
    """A backlog of finished hours is ranked when the collector starts, a day's worth per step."""
    lines = [packet(HOUR - timedelta(hours=h), f"192.0.2.{h}") for h in range(30)]
    collector = start_collector()
    send_tcp(collector.port, octet_counted(*lines))
    assert wait_for(db, "SELECT COUNT(*) FROM packetfilter", len(lines)) == len(lines)
    collector.stop()
    start_collector()
    assert wait_for(db, "SELECT COUNT(*) FROM packetfilter_top WHERE field = 'src_ip'", 30) == 30
    assert wait_for(db, "SELECT SUM(packets) FROM packetfilter_top WHERE field = 'src_ip'", 30) == 30


def test_packets_arriving_after_their_hour_was_ranked_are_ranked_again(
    start_collector: Callable[..., CollectorProcess], db: pymysql.connections.Connection
) -> None:
    """A late packet (spool replay, a sender's backlog) makes its hour's ranking stale; the next round fixes it."""
    collector = start_collector()
    send_tcp(collector.port, octet_counted(packet(HOUR, "203.0.113.1")))
    assert wait_for(db, "SELECT COUNT(*) FROM packetfilter", 1) == 1
    assert rank_hours(db, NOW) == 1
    send_tcp(collector.port, octet_counted(packet(HOUR + timedelta(minutes=30), "203.0.113.1")))
    assert wait_for(db, "SELECT COUNT(*) FROM packetfilter", 2) == 2
    assert rank_hours(db, NOW) == 1
    assert fetch(db, SOURCES) == [{"value": "203.0.113.1", "packets": 2}]


def test_each_day_keeps_the_top_of_its_hours_and_follows_late_packets(
    start_collector: Callable[..., CollectorProcess], db: pymysql.connections.Connection
) -> None:
    """A finished day ranks the sums of its hours: the same top 50, the rest in one row; a late packet re-ranks it."""
    day = floor_time(NOW, DAY) - 3 * DAY
    collector = start_collector()
    lines = [*hour_of_sources(day + timedelta(hours=2)), *hour_of_sources(day + timedelta(hours=20))]
    send_tcp(collector.port, octet_counted(*lines))
    assert wait_for(db, "SELECT COUNT(*) FROM packetfilter", len(lines)) == len(lines)
    assert rank_hours(db, NOW) == 2
    daily = "SELECT timestamp, value, packets FROM packetfilter_top_daily WHERE field = 'src_ip'"
    rows = fetch(db, daily)
    assert {row["timestamp"] for row in rows} == {day}
    ranked = {row["value"]: row["packets"] for row in rows}
    assert {ip: n for ip, n in ranked.items() if ip} == {f"203.0.113.{i}": 2 * (i + 1) for i in range(10, 60)}
    assert ranked[""] == 2 * sum(range(1, 11)), "both hours' rest, in one row"

    send_tcp(collector.port, octet_counted(packet(day + timedelta(hours=2, minutes=59), "203.0.113.59")))
    assert wait_for(db, "SELECT COUNT(*) FROM packetfilter", len(lines) + 1) == len(lines) + 1
    assert rank_hours(db, NOW) == 1, "the late packet's hour"
    ranked = {row["value"]: row["packets"] for row in fetch(db, daily)}
    assert ranked["203.0.113.59"] == 121, "and then its day"


def icmp(moment: datetime, source: str) -> bytes:
    """A dropped ping: no ports, so src_port has no value."""
    return packet(moment, source, "LEN=84 TTL=61 ID=1 PROTO=ICMP TYPE=8 CODE=0 ID=7 SEQ=1")


def test_counts_outside_a_top_50_are_said_to_be_lower_bounds(
    start_collector: Callable[..., CollectorProcess], db: pymysql.connections.Connection, api_url: str
) -> None:
    """60 sources in a ranked hour: the API says the ranking is not exact and how much it could not name."""
    lines = [*hour_of_sources(HOUR), *(icmp(HOUR + timedelta(minutes=m), "198.51.100.99") for m in range(3))]
    collector = start_collector()
    send_tcp(collector.port, octet_counted(*lines))
    assert wait_for(db, "SELECT COUNT(*) FROM packetfilter", len(lines)) == len(lines)
    rank_hours(db, NOW)
    headers = {"Authorization": f"Bearer {API_TOKEN}"}
    span = {"since": (HOUR - timedelta(hours=1)).isoformat(), "until": (HOUR + timedelta(hours=2)).isoformat()}
    sources = httpx.get(f"{api_url}/api/v1/drops/top", params={**span, "by": "src_ip", "limit": 100}, headers=headers)
    body = sources.json()
    assert (body["exact"], body["outside_top"]) == (False, sum(range(1, 11)) + 3), "the 11 smallest sources"
    ports = httpx.get(f"{api_url}/api/v1/drops/top", params={**span, "by": "src_port"}, headers=headers).json()
    assert ports["exact"] is True, "pings have no port: that is no value, not a value outside the top 50"
    assert ports["entries"] == [{"value": 40000, "count": sum(range(1, 61))}]
    pings = fetch(db, "SELECT value, packets FROM packetfilter_top WHERE field = 'src_port' AND value = %s", NO_VALUE)
    assert pings == [{"value": NO_VALUE, "packets": 3}]


def test_the_sources_panel_shows_what_no_top_50_holds(
    start_collector: Callable[..., CollectorProcess], db: pymysql.connections.Connection
) -> None:
    """The Firewall panel gives the rankings' rest a bar of its own, so a short count is visible as such."""
    collector = start_collector()
    send_tcp(collector.port, octet_counted(*hour_of_sources(HOUR)))
    assert wait_for(db, "SELECT COUNT(*) FROM packetfilter", sum(range(1, 61))) == sum(range(1, 61))
    rank_hours(db, NOW)
    board = dashboards.firewall()
    sql = next(p["targets"][0]["rawSql"] for p in board["panels"] if p["title"] == "Top source addresses")
    definitions = {variable["name"]: variable for variable in board["templating"]["list"]}
    start, end = (HOUR - timedelta(hours=1)).replace(tzinfo=UTC), (HOUR + timedelta(hours=2)).replace(tzinfo=UTC)
    rows = dict(fetch(db, expand(sql, start, end, interval=300, definitions=definitions))[i].values()
                for i in range(10))  # fmt: skip
    assert rows[dashboards.OUTSIDE_TOP] == sum(range(1, 11))
    assert rows["203.0.113.59"] == 60
