"""Late data: old-dated days, spool replays and hours out of order are counted exactly at once, before any ranking."""

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pymysql
import pytest

from collector.rankings import rank_hours
from common.store import DAY, HOUR, floor_time
from siemctl.macros import expand
from tests.conftest import API_TOKEN, fetch, grafana_reader, wait_for
from tests.servers import CollectorProcess, free_port, octet_counted, send_tcp
from tests.test_dashboards import LOADED, run, variables_of

NOW = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
FIELDS = ("src_ip", "dst_ip", "dst_port", "src_port", "in_interface", "mac", "protocol")
MACS = ("3c:a6:2f:11:22:33", "a0:82:22:44:c6:1a", "b8:27:eb:12:34:56")


def packet(rng: random.Random, moment: datetime) -> bytes:
    """A firewall line stamped `moment` (RFC 5424, so the date travels with it), fields drawn from small sets.

    Fewer than 50 values per field: every day's and hour's top 50 holds them all, so the rankings
    are exact and any difference from the raw rows would be a bucket counted twice or not at all.
    """
    action = rng.choice(["drop wan in:", "reject lan out:", "ACCEPT"])
    return (
        f"<4>1 {moment.isoformat()}Z router kernel - - - {action} IN={rng.choice(['eth0', 'br-lan'])} OUT= "
        f"MAC=00:0d:b9:4f:2a:10:{rng.choice(MACS)}:08:00 SRC=203.0.113.{rng.randrange(40)} "
        f"DST=198.51.100.{rng.randrange(3)} LEN=44 TTL=61 ID=1 PROTO={rng.choice(['TCP', 'UDP'])} "
        f"SPT={40000 + rng.randrange(40)} DPT={rng.choice([22, 23, 443, 3389])} SYN URGP=0"
    ).encode()


def day_of(rng: random.Random, day: datetime, per_hour: int) -> list[bytes]:
    """A day of packets, `per_hour` in every hour, in time order."""
    return [packet(rng, day + timedelta(seconds=i * 3600 / per_hour)) for i in range(24 * per_hour)]


def api_top(api_url: str, field: str, since: datetime, until: datetime) -> dict:
    """`drops/top` for one field over the range, every value."""
    response = httpx.get(
        f"{api_url}/api/v1/drops/top",
        params={"by": field, "since": since.isoformat(), "until": until.isoformat(), "limit": 1000},
        headers={"Authorization": f"Bearer {API_TOKEN}"},
    )
    assert response.status_code == 200, response.text
    return {entry["value"]: entry["count"] for entry in response.json()["entries"]}


def raw_top(db: pymysql.connections.Connection, field: str, since: datetime, until: datetime) -> dict:
    """The same question asked of the raw rows."""
    rows = fetch(
        db,
        f"SELECT {field} AS value, COUNT(*) AS n FROM packetfilter WHERE timestamp >= %s AND timestamp < %s"
        f" AND {field} IS NOT NULL GROUP BY 1",
        since,
        until,
    )
    return {row["value"]: row["n"] for row in rows}


def panel(reader: pymysql.connections.Connection, title: str, since: datetime, until: datetime) -> dict:
    """A Firewall ranking panel's answer, expanded as Grafana sends it, as {label: count}."""
    board = LOADED["firewall"]
    sql = next(p["targets"][0]["rawSql"] for p in board["panels"] if p["title"] == title)
    _, rows = run(reader, expand(sql, since.replace(tzinfo=UTC), until.replace(tzinfo=UTC), interval=300,
                                 definitions=variables_of(board)))  # fmt: skip
    return (
        {row[0]: int(row[1]) for row in rows}
        if title != "Home devices whose traffic is blocked"
        else {row[2]: int(row[3]) for row in rows}
    )


def raw_panels(db: pymysql.connections.Connection, since: datetime, until: datetime) -> dict[str, dict]:
    """What the three ranking panels must show, counted from raw rows."""
    between = "timestamp >= %s AND timestamp <= %s"
    sources = fetch(db, f"SELECT src_ip AS k, COUNT(*) AS n FROM packetfilter WHERE {between} GROUP BY 1",
                    since, until)  # fmt: skip
    ports = fetch(db, f"SELECT CONCAT(protocol, '/', dst_port) AS k, COUNT(*) AS n FROM packetfilter WHERE {between}"
                      " AND dst_port IS NOT NULL GROUP BY 1", since, until)  # fmt: skip
    devices = fetch(db, f"SELECT p.mac AS k, COUNT(*) AS n FROM packetfilter AS p JOIN devices AS d ON d.mac = p.mac"
                        f" WHERE p.{between} AND p.action IN ('DROP', 'REJECT') GROUP BY 1", since, until)  # fmt: skip
    top = lambda rows: dict(sorted(((r["k"], r["n"]) for r in rows), key=lambda kv: (-kv[1], kv[0]))[:10])  # noqa: E731
    return {"Top source addresses": top(sources), "Top destination ports": top(ports),
            "Home devices whose traffic is blocked": {r["k"]: r["n"] for r in devices}}  # fmt: skip


def ranges() -> list[tuple[datetime, datetime]]:
    """Ranges over whole days, whole hours and ragged edges, from five minutes to 390 days."""
    return [
        (NOW - timedelta(days=390), NOW + timedelta(minutes=1)),
        (floor_time(NOW, DAY) - 5 * DAY, floor_time(NOW, DAY) - DAY),
        (floor_time(NOW, DAY) - 4 * DAY + timedelta(hours=5, minutes=17), NOW - timedelta(hours=30, minutes=3)),
        (NOW - timedelta(hours=24), NOW),
        (floor_time(NOW, HOUR) - 3 * HOUR, floor_time(NOW, HOUR) - timedelta(hours=2, minutes=55)),
    ]


def assert_exact(db: pymysql.connections.Connection, reader: pymysql.connections.Connection, api_url: str) -> None:
    """Every API ranking and every ranking panel over every range equals the raw rows' answer."""
    for since, until in ranges():
        for field in FIELDS:
            raw = {
                str(k) if field in {"dst_port", "src_port"} else k: v
                for k, v in raw_top(db, field, since, until).items()
            }
            got = {str(k): v for k, v in api_top(api_url, field, since, until).items()}
            assert got == {str(k): v for k, v in raw.items()}, (field, since, until)
        expected = raw_panels(db, since, until)
        for title, counts in expected.items():
            got = panel(reader, title, since, until)
            if title == "Home devices whose traffic is blocked":
                assert got == counts, (title, since, until)
            else:  # top 10: ties at the tenth place may be ordered either way
                assert sorted(got.values(), reverse=True) == sorted(counts.values(), reverse=True), (title, since)
                assert all(raw_value == got[key] for key, raw_value in counts.items() if key in got), (title, since)


def assert_marked_buckets_read_by_key(reader: pymysql.connections.Connection) -> None:
    """No firewall panel joins the marked hours and days to a whole table (on a month of rows: 0.4-23 s, not ms)."""
    marks = fetch(reader, "SELECT COUNT(*) AS n FROM packetfilter_pending WHERE timestamp < %s", NOW - 2 * HOUR)
    assert marks[0]["n"] > 0, "the late day is marked, not yet ranked"
    board = LOADED["firewall"]
    for panel in board["panels"]:
        sql = expand(panel["targets"][0]["rawSql"], NOW - 10 * DAY, NOW, interval=3600, definitions=variables_of(board))
        plan = fetch(reader, f"EXPLAIN {sql}")
        joined = [
            row for row in plan if row["table"].startswith("packetfilter") and "join buffer" in (row["Extra"] or "")
        ]
        assert joined == [], (panel["title"], joined)


def deliver(collector: CollectorProcess, db: pymysql.connections.Connection, lines: list[bytes]) -> None:
    """Send lines over TCP and wait until the firewall table holds them too."""
    before = fetch(db, "SELECT COUNT(*) AS n FROM packetfilter")[0]["n"]
    send_tcp(collector.port, octet_counted(*lines))
    total = before + len(lines)
    assert wait_for(db, "SELECT COUNT(*) FROM packetfilter", total) == total


@pytest.fixture
def reader(mariadb, db_env):  # noqa: ANN001, ANN201
    """The read-only account, as Grafana uses it."""
    connection = grafana_reader(mariadb, db_env)
    yield connection
    connection.close()


def test_an_old_dated_day_counts_at_once_and_after_ranking(
    start_collector: Callable[..., CollectorProcess],
    db: pymysql.connections.Connection,
    reader: pymysql.connections.Connection,
    api_url: str,
) -> None:
    """Ranked recent days, then a day of lines dated four days back (a router clock, an import): exact throughout."""
    rng = random.Random(16)
    collector = start_collector()
    deliver(collector, db, [packet(rng, NOW - timedelta(minutes=7 * i)) for i in range(400)])
    rank_hours(db, NOW, limit=1000)
    deliver(collector, db, day_of(rng, floor_time(NOW, DAY) - 4 * DAY, per_hour=15))
    assert_exact(db, reader, api_url)  # nothing ranked yet: pending hours come from raw rows
    assert_marked_buckets_read_by_key(reader)
    rank_hours(db, NOW, limit=1000)
    left = "SELECT COUNT(*) AS n FROM packetfilter_pending WHERE kind = %s AND timestamp < %s"
    assert fetch(db, left, "hour", NOW - 2 * HOUR)[0]["n"] == 0, "every finished hour ranked"
    assert fetch(db, left, "day", floor_time(NOW, DAY) - DAY)[0]["n"] == 0, "and every finished day"
    assert_exact(db, reader, api_url)  # ranked: days and hours from the rankings


def test_hours_out_of_order_and_a_late_packet_in_a_ranked_hour(
    start_collector: Callable[..., CollectorProcess],
    db: pymysql.connections.Connection,
    reader: pymysql.connections.Connection,
    api_url: str,
) -> None:
    """Hours sent shuffled, ranked, then one more packet into a ranked hour: the answers move with it at once."""
    rng = random.Random(7)
    collector = start_collector()
    hours = [floor_time(NOW, DAY) - 2 * DAY + h * HOUR for h in range(30)]
    rng.shuffle(hours)
    deliver(collector, db, [packet(rng, hour + timedelta(minutes=m)) for hour in hours for m in range(0, 60, 6)])
    rank_hours(db, NOW, limit=1000)
    assert_exact(db, reader, api_url)
    deliver(collector, db, [packet(rng, hours[0] + timedelta(minutes=59)) for _ in range(5)])
    assert_exact(db, reader, api_url)


def test_a_spool_replayed_after_an_outage_counts_at_once(
    start_collector: Callable[..., CollectorProcess],
    db: pymysql.connections.Connection,
    reader: pymysql.connections.Connection,
    api_url: str,
) -> None:
    """Lines spooled while MariaDB was away, replayed after ranked hours moved on, are in every answer."""
    rng = random.Random(3)
    collector = start_collector()
    before = [packet(rng, NOW - timedelta(hours=30) + timedelta(minutes=5 * i)) for i in range(200)]
    deliver(collector, db, before)
    rank_hours(db, NOW, limit=1000)
    collector.stop()
    away = start_collector(wait_for="listening for syslog", SIEM_DB_PORT=str(free_port()))
    during = [packet(rng, NOW - timedelta(hours=28) + timedelta(minutes=3 * i)) for i in range(300)]
    send_tcp(away.port, octet_counted(*during))
    away.stop()
    start_collector()
    total = len(before) + len(during)
    assert wait_for(db, "SELECT COUNT(*) FROM packetfilter", total) == total, "the spool is replayed"
    assert_exact(db, reader, api_url)


def test_a_devices_drops_of_the_last_day_equal_the_raw_rows(
    start_collector: Callable[..., CollectorProcess], db: pymysql.connections.Connection, api_url: str, now: datetime
) -> None:
    """`drops_24h` (whole hours from the hourly counts, part hours from the rows) counts what the rows hold."""
    rng = random.Random(24)
    collector = start_collector()
    stamp = now.strftime("%b %e %H:%M:%S")
    send_tcp(
        collector.port,
        octet_counted(
            *[
                f"<30>{stamp} router dnsmasq-dhcp[1]: DHCPACK(br-lan) 10.0.0.{40 + i} {mac} host{i}".encode()
                for i, mac in enumerate(MACS)
            ]
        ),
    )
    assert wait_for(db, "SELECT COUNT(*) FROM devices", len(MACS)) == len(MACS)
    boundary = now - DAY
    moments = [now - timedelta(minutes=7 * i) for i in range(270)]  # 31.5 hours back, out of order
    moments = [moment for moment in moments if abs(moment - boundary) > timedelta(minutes=10)]
    rng.shuffle(moments)
    deliver(collector, db, [packet(rng, moment) for moment in moments])
    for mac in MACS:
        response = httpx.get(f"{api_url}/api/v1/devices/{mac}", headers={"Authorization": f"Bearer {API_TOKEN}"})
        assert response.status_code == 200, response.text
        raw = fetch(
            db,
            "SELECT COUNT(*) AS n FROM packetfilter WHERE mac = %s AND action IN ('DROP', 'REJECT')"
            " AND timestamp >= UTC_TIMESTAMP() - INTERVAL 1 DAY",
            mac,
        )[0]["n"]
        assert 0 < raw < len(moments)
        assert response.json()["drops_24h"] == raw, mac
