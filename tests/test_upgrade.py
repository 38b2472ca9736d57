"""Upgrade: log tables of the layout before day partitions, filled by the collector, convert in place losslessly."""

from collections.abc import Callable, Iterator
from datetime import datetime

import pymysql
import pytest

from tests.conftest import TABLES, fetch, wait_for
from tests.servers import ROOT, CollectorProcess, MariaDBServer, octet_counted, send_tcp
from tests.test_retention import PACKET, day_name, lines_at, partitions_of

V1_TABLES = ROOT / "tests" / "data" / "log-tables-v1.sql"
LOG_TABLES = ("messages", "packetfilter", "addrwatch")  # an older release's; it had no DNS tables
PRIMARY_KEY = (
    "SELECT GROUP_CONCAT(column_name ORDER BY seq_in_index) AS k FROM information_schema.statistics"
    " WHERE table_schema = 'siem' AND table_name = %s AND index_name = 'PRIMARY'"
)
PLAIN_TABLES = (
    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'siem' AND table_type = 'BASE TABLE'"
    " AND COALESCE(LOWER(create_options), '') NOT LIKE '%%`page_compressed`=''1''%%'"
)
OPTIONS = "SELECT create_options AS o FROM information_schema.tables WHERE table_schema = 'siem' AND table_name = %s"


NUMBERED = "table_name IN ('messages', 'packetfilter', 'addrwatch', 'dns_queries') AND column_name = 'id'"
ID_INDEXES = (  # an index leading with id, or an AUTO_INCREMENT id, in a log table
    f"SELECT table_name, index_name FROM information_schema.statistics WHERE table_schema = 'siem' AND {NUMBERED}"
    f" AND seq_in_index = 1 UNION SELECT table_name, extra FROM information_schema.columns"
    f" WHERE table_schema = 'siem' AND {NUMBERED} AND extra LIKE '%%auto_increment%%'"
)

SECONDARY = (
    "SELECT DISTINCT index_name FROM information_schema.statistics WHERE table_schema = 'siem' AND table_name = %s"
    " AND index_name <> 'PRIMARY'"
)


def counters(db: pymysql.connections.Connection) -> dict[str, int]:
    """The next id of each log table as row_ids keeps it."""
    return {row["log_table"]: row["next_id"] for row in fetch(db, "SELECT log_table, next_id FROM row_ids")}


def passwords(db_env: dict[str, str]) -> dict[str, str]:
    """The deployment's account passwords, which db-init needs to run again."""
    return {name: value for name, value in db_env.items() if name.endswith("_PASSWORD") and "ROOT" not in name}


@pytest.fixture
def v1_tables(
    db: pymysql.connections.Connection, mariadb: MariaDBServer, db_env: dict[str, str]
) -> Iterator[pymysql.connections.Connection]:
    """The three log tables as an older release created them; whatever the test does, db-init converts them after."""
    with db.cursor() as cursor:
        for table in TABLES:
            cursor.execute(f"DROP TABLE {table}")
        cursor.execute("DROP TABLE row_ids")  # the tables numbered their rows themselves
        cursor.execute("ALTER TABLE devices PAGE_COMPRESSED = 0, PAGE_COMPRESSION_LEVEL = DEFAULT")  # as before
        for statement in V1_TABLES.read_text().split(";\n"):
            if "CREATE TABLE" in statement:
                cursor.execute(statement)
    yield db
    mariadb.init_database(**passwords(db_env))


def everything(db: pymysql.connections.Connection) -> dict[str, list[dict]]:
    """Every row of the three log tables, by id."""
    return {table: fetch(db, f"SELECT * FROM {table} ORDER BY id") for table in LOG_TABLES}


def test_upgrade_converts_a_collector_filled_database_in_place_and_again_changes_nothing(
    v1_tables: pymysql.connections.Connection,
    mariadb: MariaDBServer,
    db_env: dict[str, str],
    start_collector: Callable[..., CollectorProcess],
    now: datetime,
) -> None:
    """Rows the collector stored before the upgrade are all there after it, same ids; days get partitions; ids go on."""
    db = v1_tables
    collector = start_collector(SIEM_RETENTION_CHECK_SECONDS="0.5")
    collector.wait_for_log("messages is not partitioned by day (a database from before): run `make upgrade-db`")
    future = ("<4>1 2038-01-19T03:14:07Z router kernel - - - " + PACKET).encode()
    days = [line for days_ago in (40, 5, 0) for line in lines_at(now, days_ago, 300)]
    send_tcp(collector.port, octet_counted(*days, future))
    assert wait_for(db, "SELECT COUNT(*) FROM messages", 907) == 907
    collector.stop()
    before = everything(db)
    assert len(before["packetfilter"]) == 4
    assert len(before["addrwatch"]) == 3

    assert "the DNS tables are missing" in collector.output(), "an old database still takes everything else"
    mariadb.init_database(**passwords(db_env))
    assert everything(db) == before, "not a row lost or changed"
    for table in LOG_TABLES:
        assert fetch(db, PRIMARY_KEY, table)[0]["k"] == "timestamp,id"
        assert "page_compressed" in fetch(db, OPTIONS, table)[0]["o"].lower()
        assert partitions_of(db, table) == [day_name(now, 40), day_name(now, 5), day_name(now, 0), "p_future"]
    assert fetch(db, "SELECT COUNT(*) AS n FROM packetfilter PARTITION (p_future)")[0]["n"] == 1
    plain = fetch(db, PLAIN_TABLES)
    assert plain == [], "every table is page-compressed, the inventory and counts too"
    assert fetch(db, ID_INDEXES) == [], "no index on id beside the primary key, no AUTO_INCREMENT"
    assert fetch(db, SECONDARY, "messages") == [], "no index on host or severity: the counts find those"
    assert counters(db) == {table: max(row["id"] for row in before[table]) + 1 for table in LOG_TABLES} | {
        "dns_queries": 1
    }

    mariadb.init_database(**passwords(db_env))
    assert everything(db) == before, "running it again changes nothing"
    assert partitions_of(db, "messages") == [day_name(now, 40), day_name(now, 5), day_name(now, 0), "p_future"]

    collector = start_collector(SIEM_RETENTION_CHECK_SECONDS="0.5")
    send_tcp(collector.port, octet_counted(*lines_at(now, 0, 10)))
    assert wait_for(db, "SELECT COUNT(*) FROM messages", 919) == 919
    highest = max(row["id"] for row in before["messages"])
    after = fetch(db, "SELECT id FROM messages WHERE id > %s", highest)
    assert len(after) == 12, "new rows are numbered after the old ones"
    assert "not partitioned" not in collector.output()
    assert "DNS tables are missing" not in collector.output()
    assert partitions_of(db, "dns_queries")[-1] == "p_future", "the upgrade adds the DNS tables"


def test_upgrade_counts_ids_of_tables_that_numbered_their_rows_and_drops_their_id_index(
    db: pymysql.connections.Connection,
    mariadb: MariaDBServer,
    db_env: dict[str, str],
    start_collector: Callable[..., CollectorProcess],
    now: datetime,
) -> None:
    """Tables of the release before row_ids (AUTO_INCREMENT, an index on id) lose both; ids go on after the highest."""
    with db.cursor() as cursor:
        for table in (*LOG_TABLES, "dns_queries"):
            cursor.execute(f"TRUNCATE TABLE {table}")
            cursor.execute(
                f"ALTER TABLE {table} MODIFY id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT, ADD KEY {table}_id (id)"
            )
        cursor.execute("DROP TABLE row_ids")
    db.commit()
    try:
        collector = start_collector()
        send_tcp(collector.port, octet_counted(*lines_at(now, 0, 50)))
        assert wait_for(db, "SELECT COUNT(*) FROM messages", 52) == 52
        collector.stop()
        assert "row_ids" not in collector.output(), "a database from before still takes every row"
        before = {table: fetch(db, f"SELECT * FROM {table} ORDER BY id") for table in (*LOG_TABLES, "dns_queries")}
        with db.cursor() as cursor:  # rows the old table numbered itself, above the collector's
            cursor.execute(
                "INSERT INTO messages (id, timestamp, received, host, facility, severity, message)"
                " VALUES (1000, NOW(), NOW(), 'nas', 1, 6, 'imported')"
            )
        db.commit()
        mariadb.init_database(**passwords(db_env))
        assert fetch(db, ID_INDEXES) == []
        assert counters(db)["messages"] == 1001
        for table in LOG_TABLES:
            assert len(fetch(db, f"SELECT id FROM {table}")) == len(before[table]) + (table == "messages")
        collector = start_collector()
        send_tcp(collector.port, octet_counted(*lines_at(now, 0, 10)))
        assert wait_for(db, "SELECT COUNT(*) FROM messages WHERE id > 1000", 12) == 12, "numbered after every id"
        collector.stop()
        assert counters(db)["messages"] == 1013, "the counter moves with the rows"
    finally:
        mariadb.init_database(**passwords(db_env))
