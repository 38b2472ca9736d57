"""mysql-init/ applied by `scripts/db-init`: the schema, and accounts that can do only their job."""

import os
import subprocess
from datetime import datetime

import pymysql
import pytest

from tests.conftest import TABLES, fetch
from tests.servers import ROOT, MariaDBServer

SEED_COLUMNS = {
    "messages": {"timestamp", "host", "program", "pid", "severity", "message"},
    "packetfilter": {
        "timestamp", "host", "in_interface", "mac", "src_ip", "src_port", "out_interface", "dst_ip",
        "dst_port", "protocol", "type", "action", "chain",
    },
    "addrwatch": {"timestamp", "vlan", "mac", "ip"},
}  # fmt: skip


INSERT = (
    "INSERT INTO messages (timestamp, received, host, facility, severity, message)"
    " VALUES (NOW(), NOW(), 'h', 1, 5, 'x')"
)
COLUMNS = (
    "SELECT LOWER(column_name) AS name FROM information_schema.columns WHERE table_schema = 'siem' AND table_name = %s"
)
TYPES = (
    "SELECT table_name AS t, LOWER(column_name) AS c, data_type AS d"
    " FROM information_schema.columns WHERE table_schema = 'siem'"
)
TIME_INDEXES = (
    "SELECT table_name AS t FROM information_schema.statistics"
    " WHERE table_schema = 'siem' AND seq_in_index = 1 AND column_name = 'timestamp'"
)


def run_db_init(db_env: dict[str, str], **overrides: str) -> subprocess.CompletedProcess:
    """Run `scripts/db-init` as a user would, with the deployment's environment."""
    env = {**os.environ, **db_env, **overrides}
    return subprocess.run([str(ROOT / "scripts" / "db-init")], env=env, capture_output=True, text=True, check=False)


def denied(connection: pymysql.connections.Connection, sql: str) -> bool:
    """True if MariaDB refuses the statement for lack of privilege."""
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql)
    except (pymysql.err.OperationalError, pymysql.err.ProgrammingError) as error:
        return error.args[0] in {1142, 1143, 1044, 1227}
    return False


class TestSchema:
    """The seed's tables and columns exist with real types."""

    def test_seed_columns_present(self, db: pymysql.connections.Connection) -> None:
        """Every column the original design had is there (names compared case-insensitively)."""
        for table, columns in SEED_COLUMNS.items():
            rows = fetch(
                db,
                COLUMNS,
                table,
            )
            assert columns <= {row["name"] for row in rows}, table

    def test_numbers_and_times_are_typed(self, db: pymysql.connections.Connection) -> None:
        """Ports, severity and VLAN are integers and times DATETIME, so they sort and sum correctly."""
        rows = fetch(
            db,
            TYPES,
        )
        types = {(row["t"], row["c"]): row["d"] for row in rows}
        for column in ("src_port", "dst_port"):
            assert types[("packetfilter", column)] == "smallint"
        assert types[("messages", "severity")] == "tinyint"
        assert types[("addrwatch", "vlan")] == "smallint"
        assert {types[(table, "timestamp")] for table in TABLES} == {"datetime"}

    def test_time_range_indexes(self, db: pymysql.connections.Connection) -> None:
        """Each table has an index leading with its timestamp, for the dashboards' time filters."""
        rows = fetch(
            db,
            TIME_INDEXES,
        )
        assert set(TABLES) <= {row["t"] for row in rows}


class TestAccounts:
    """Least privilege: the collector only inserts, the reader only reads."""

    def test_collector_may_only_insert_and_expire(self, mariadb: MariaDBServer, db_env: dict[str, str]) -> None:
        """The collector's account inserts and expires rows by time; it cannot read, change or drop them."""
        connection = mariadb.connect("siem", user="siem_collector", password=db_env["SIEM_COLLECTOR_PASSWORD"])
        with connection.cursor() as cursor:
            cursor.execute(INSERT)
            cursor.execute("DELETE FROM messages WHERE timestamp < '2000-01-01'")
        assert denied(connection, "SELECT * FROM messages")
        assert denied(connection, "SELECT message FROM messages")
        assert denied(connection, "SELECT mac, prefix FROM packetfilter")
        assert denied(connection, "DELETE FROM messages WHERE host = 'h'")
        assert denied(connection, "UPDATE messages SET host = 'y'")
        assert denied(connection, "UPDATE devices SET name = 'mine'")
        assert denied(connection, "DROP TABLE packetfilter")
        assert denied(connection, "CREATE TABLE evil (id INT)")
        connection.close()

    def test_reader_may_only_read(self, mariadb: MariaDBServer, db_env: dict[str, str]) -> None:
        """The API and Grafana account can SELECT every table and change nothing."""
        connection = mariadb.connect("siem", user="siem_reader", password=db_env["SIEM_READER_PASSWORD"])
        for table in TABLES:
            fetch(connection, f"SELECT COUNT(*) FROM {table}")
        assert denied(
            connection,
            INSERT,
        )
        assert denied(connection, "DELETE FROM messages")
        assert denied(connection, "DROP TABLE messages")
        connection.close()

    @pytest.mark.parametrize("variable", ["SIEM_COLLECTOR_PASSWORD", "SIEM_READER_PASSWORD"])
    @pytest.mark.parametrize("value", ["", "changeme"])
    def test_placeholder_password_is_refused(self, db_env: dict[str, str], variable: str, value: str) -> None:
        """db-init fails, naming the variable, rather than create an account anyone can guess."""
        result = run_db_init(db_env, **{variable: value})
        assert result.returncode != 0
        assert variable in result.stderr

    def test_rerun_keeps_data_and_updates_password(
        self, mariadb: MariaDBServer, db_env: dict[str, str], db: pymysql.connections.Connection
    ) -> None:
        """Running db-init again is safe: rows stay, and a changed password takes effect."""
        with db.cursor() as cursor:
            cursor.execute(INSERT.replace("'x'", "'kept'"))
        tricky = "new'pass\\word$1"
        assert run_db_init(db_env, SIEM_READER_PASSWORD=tricky).returncode == 0
        try:
            connection = mariadb.connect("siem", user="siem_reader", password=tricky)
            assert fetch(connection, "SELECT message FROM messages") == [{"message": "kept"}]
            connection.close()
        finally:
            assert run_db_init(db_env).returncode == 0


def test_upgrade_counts_rows_stored_before_the_counts_existed(
    db_env: dict[str, str], db: pymysql.connections.Connection
) -> None:
    """Rows from before an upgrade are counted once by db-init; running it again adds nothing."""
    with db.cursor() as cursor:
        cursor.execute("SET time_zone = '+00:00'")
        for moment in ("08:01:30", "08:02:30", "08:07:30", "09:04:30"):
            cursor.execute(
                "INSERT INTO packetfilter (timestamp, received, host, action, chain, direction, mac, src_ip, dst_port,"
                " protocol) VALUES (%s, %s, 'router', 'DROP', 'wan', 'in', '3c:a6:2f:11:22:33', '203.0.113.9', 22,"
                " 'TCP')",
                (f"2026-01-01 {moment}", f"2026-01-01 {moment}"),
            )
            cursor.execute(INSERT.replace("'x'", f"'old {moment}'"))
    for _ in range(2):
        assert run_db_init(db_env).returncode == 0
        assert fetch(db, "SELECT timestamp, packets FROM packetfilter_counts ORDER BY 1") == [
            {"timestamp": datetime(2026, 1, 1, 8, 0), "packets": 2},
            {"timestamp": datetime(2026, 1, 1, 8, 5), "packets": 1},
            {"timestamp": datetime(2026, 1, 1, 9, 0), "packets": 1},
        ]
        assert fetch(db, "SELECT timestamp, packets FROM packetfilter_ports ORDER BY 1") == [
            {"timestamp": datetime(2026, 1, 1, 8, 0), "packets": 3},
            {"timestamp": datetime(2026, 1, 1, 9, 0), "packets": 1},
        ]
        assert fetch(db, "SELECT SUM(packets) AS n FROM packetfilter_macs")[0]["n"] == 4
        assert fetch(db, "SELECT SUM(messages) AS n FROM messages_counts")[0]["n"] == 4
        assert fetch(db, "SELECT SUM(messages) AS n FROM messages_hourly")[0]["n"] == 4
