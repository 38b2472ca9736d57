"""daily_totals, which /stats adds up: each day's rows of each big log table, whatever order days arrive in."""

import random
from collections import Counter
from collections.abc import Callable
from datetime import timedelta

import pymysql

from common.store import DNS_OUTCOMES
from tests.conftest import fetch, wait_for
from tests.servers import CollectorProcess, MariaDBServer, lf_framed, send_tcp
from tests.test_dns_store import NOW, line, lookup
from tests.test_retention import PACKET
from tests.test_upgrade import passwords

RAW = "SELECT DATE(timestamp) AS day, '{table}' AS log_table, COUNT(*) AS n FROM {table} GROUP BY 1"
LOGGED = ("messages", "packetfilter", "dns_queries")


def raw_days(db: pymysql.connections.Connection) -> dict[tuple, int]:
    """Rows per UTC day and table, counted from the raw rows."""
    rows = [row for table in LOGGED for row in fetch(db, RAW.format(table=table))]
    return {(f"{row['day']:%Y-%m-%d}", row["log_table"]): row["n"] for row in rows}


def totals(db: pymysql.connections.Connection) -> dict[tuple, int]:
    """The same from daily_totals (days with nothing stored left out)."""
    rows = fetch(db, "SELECT timestamp, log_table, total FROM daily_totals WHERE total > 0")
    return {(f"{row['timestamp']:%Y-%m-%d}", row["log_table"]): row["total"] for row in rows}


HOURLY_KEY = (
    "SELECT GROUP_CONCAT(column_name ORDER BY seq_in_index) AS k FROM information_schema.statistics"
    " WHERE table_schema = 'siem' AND table_name = 'dns_device_hourly' AND index_name = 'PRIMARY'"
)

DOMAIN_INDEX = (
    "SELECT GROUP_CONCAT(column_name ORDER BY seq_in_index) AS k FROM information_schema.statistics"
    " WHERE table_schema = 'siem' AND table_name = 'dns_hourly' AND index_name = 'dns_hourly_domain'"
)


def raw_hourly(db: pymysql.connections.Connection) -> Counter:
    """Queries per hour, router, device and outcome, counted from the raw rows."""
    rows = fetch(db, "SELECT DATE_FORMAT(timestamp, '%Y-%m-%d %H') AS h, host, device, outcome, COUNT(*) AS n"
                     " FROM dns_queries GROUP BY 1, 2, 3, 4")  # fmt: skip
    return Counter({(r["h"], r["host"], r["device"], r["outcome"]): r["n"] for r in rows})


def device_hours(db: pymysql.connections.Connection) -> Counter:
    """The same from dns_device_hourly."""
    rows = fetch(db, "SELECT timestamp, host, device, outcome, queries FROM dns_device_hourly")
    return Counter(
        {(f"{r['timestamp']:%Y-%m-%d %H}", r["host"], r["device"], r["outcome"]): r["queries"] for r in rows}
    )


def device_days_match(db: pymysql.connections.Connection) -> bool:
    """Whether dns_device_daily holds each day's queries per router, device and outcome, as the raw rows do."""
    raw = fetch(
        db, "SELECT DATE(timestamp) AS t, host, device, outcome, COUNT(*) AS n FROM dns_queries GROUP BY 1, 2, 3, 4"
    )
    stored = fetch(db, "SELECT DATE(timestamp) AS t, host, device, outcome, queries AS n FROM dns_device_daily")
    return sorted(map(tuple, map(dict.values, raw))) == sorted(map(tuple, map(dict.values, stored)))


OLD_DOMAIN_DAILY = (  # dns_domain_daily as a release before had it: a row per outcome
    "CREATE TABLE dns_domain_daily (timestamp DATETIME NOT NULL, host VARCHAR(255) NOT NULL,"
    " domain_id INT UNSIGNED NOT NULL, outcome VARCHAR(10) NOT NULL, queries INT UNSIGNED NOT NULL,"
    " PRIMARY KEY (timestamp, host, domain_id, outcome))"
)
OLD_DAY = (NOW - timedelta(days=40)).replace(hour=0, minute=0, second=0)
OLD_COUNTS = {(f"{OLD_DAY:%Y-%m-%d}", "router", 1, "cached"): 5, (f"{OLD_DAY:%Y-%m-%d}", "router", 1, "blocked"): 2}


def raw_domain_days(db: pymysql.connections.Connection) -> dict[tuple, int]:
    """Queries per UTC day, router, domain and outcome, counted from the raw rows."""
    rows = fetch(db, "SELECT DATE(timestamp) AS t, host, domain_id, outcome, COUNT(*) AS n FROM dns_queries"
                     " GROUP BY 1, 2, 3, 4")  # fmt: skip
    return {(f"{r['t']:%Y-%m-%d}", r["host"], r["domain_id"], r["outcome"]): r["n"] for r in rows}


def domain_days(db: pymysql.connections.Connection) -> dict[tuple, int]:
    """The same from dns_domain_daily, whose outcomes are columns (each row's total checked against them)."""
    counts = {}
    for r in fetch(db, "SELECT * FROM dns_domain_daily"):
        assert r["queries"] == sum(r[outcome] for outcome in DNS_OUTCOMES)
        day = f"{r['timestamp']:%Y-%m-%d}"
        counts.update({(day, r["host"], r["domain_id"], o): r[o] for o in DNS_OUTCOMES if r[o]})
    return counts


def hour_of_lines(start: int, rng: random.Random) -> list[bytes]:
    """An hour's worth of a router's lines, `start` hours ago: messages, firewall drops, DNS lookups."""
    moment = NOW - timedelta(hours=start)
    lines = []
    for i in range(20):
        at = moment + timedelta(minutes=3 * i)
        lines.append(line(at, PACKET, program="kernel"))
        lines += lookup(at, f"192.168.1.{rng.randrange(2, 9)}", rng.choice(["a.example", "b.example"]))
    return lines


def send_hours(collector: CollectorProcess, hours: list[int], rng: random.Random) -> int:
    """Send each hour as its own connection's burst; return how many DNS lookups went."""
    for hour in hours:
        send_tcp(collector.port, lf_framed(*hour_of_lines(hour, rng)))
    return 20 * len(hours)


def test_each_days_totals_equal_the_raw_rows_when_days_arrive_out_of_order_and_twice(
    start_collector: Callable[..., CollectorProcess], db: pymysql.connections.Connection
) -> None:
    """Hours from four days across midnights, shuffled and some replayed: every day's total is its COUNT(*)."""
    rng = random.Random(7)
    collector = start_collector()
    hours = [1, 2, 23, 24, 25, 47, 48, 80]
    rng.shuffle(hours)
    queries = send_hours(collector, hours + hours[:3], rng)
    wait_for(db, "SELECT COUNT(*) FROM dns_queries", queries)
    days = raw_days(db)
    assert len({day for day, _ in days}) >= 4
    assert totals(db) == days


def test_an_upgrade_totals_the_days_stored_before_it_while_the_collector_runs(
    start_collector: Callable[..., CollectorProcess],
    db: pymysql.connections.Connection,
    mariadb: MariaDBServer,
    db_env: dict[str, str],
) -> None:
    """A database from before the daily tables: the collector stores on; db-init fills them; a rerun keeps them."""
    with db.cursor() as cursor:
        cursor.execute("DROP TABLE daily_totals")
        cursor.execute("DROP TABLE dns_device_daily")
        cursor.execute(
            "ALTER TABLE dns_device_hourly DROP PRIMARY KEY, ADD PRIMARY KEY (timestamp, host, device, outcome)"
        )
        cursor.execute("ALTER TABLE dns_hourly DROP INDEX dns_hourly_domain")
        cursor.execute("DROP TABLE dns_domain_daily")
        cursor.execute(OLD_DOMAIN_DAILY)
        cursor.execute(  # a day only the old table still holds (its queries and hours gone: shorter retention)
            "INSERT INTO dns_domain_daily VALUES (%s, 'router', 1, 'cached', 5), (%s, 'router', 1, 'blocked', 2)",
            (OLD_DAY, OLD_DAY),
        )
    rng = random.Random(8)
    collector = start_collector()
    queries = send_hours(collector, [50, 2, 30], rng)
    wait_for(db, "SELECT COUNT(*) FROM dns_queries", queries)
    mariadb.init_database(**passwords(db_env))
    assert domain_days(db) == {**raw_domain_days(db), **OLD_COUNTS}, "converted, and what was stored meanwhile"
    assert not fetch(db, "SHOW TABLES LIKE 'dns_domain_daily_v1'"), "the old table dropped"
    assert totals(db) == raw_days(db), "the days stored before the upgrade"
    assert device_days_match(db)
    assert fetch(db, HOURLY_KEY)[0]["k"] == "timestamp,outcome,host,device", "rekeyed for the outcomes chart"
    assert raw_hourly(db) == device_hours(db), "not a count lost in rekeying"
    assert fetch(db, DOMAIN_INDEX)[0]["k"] == "domain_id,timestamp", "the hourly counts gain their index by domain"
    queries += send_hours(collector, [1, 26], rng)
    wait_for(db, "SELECT COUNT(*) FROM dns_queries", queries)
    assert totals(db) == raw_days(db), "the collector adds to the table the upgrade made, without a restart"
    assert device_days_match(db)
    assert domain_days(db) == {**raw_domain_days(db), **OLD_COUNTS}
    mariadb.init_database(**passwords(db_env))
    assert totals(db) == raw_days(db), "running the upgrade again changes nothing"
    assert device_days_match(db)
    assert domain_days(db) == {**raw_domain_days(db), **OLD_COUNTS}
    assert "Traceback" not in collector.output()
