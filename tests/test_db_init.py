"""mysql-init/ applied by `scripts/db-init`: the schema, and accounts that can do only their job."""

import os
import pwd
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pymysql
import pytest
import yaml

from collector.rankings import rank_hours
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
    "INSERT INTO messages (id, timestamp, received, host, facility, severity, message)"
    " VALUES (UUID_SHORT(), NOW(), NOW(), 'h', 1, 5, 'x')"
)
COLUMNS = (
    "SELECT LOWER(column_name) AS name FROM information_schema.columns WHERE table_schema = 'siem' AND table_name = %s"
)
TYPES = (
    "SELECT table_name AS t, LOWER(column_name) AS c, data_type AS d"
    " FROM information_schema.columns WHERE table_schema = 'siem'"
)
TABLE_NAMES = "SELECT table_name FROM information_schema.tables WHERE table_schema = 'siem'"
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
        assert denied(connection, "ALTER TABLE messages DROP PARTITION p_future")
        assert denied(connection, "ALTER TABLE messages ADD COLUMN evil INT")
        assert denied(connection, "SELECT * FROM information_schema.innodb_sys_tablespaces")
        connection.close()

    @pytest.mark.parametrize(
        "call",
        [
            "CALL siem_drop_partitions('devices', 'p20261201')",
            "CALL siem_drop_partitions('messages', 'p_future')",
            "CALL siem_drop_partitions('messages', 'p20261201; DROP TABLE devices')",
            "CALL siem_split_partition('messages', 'p_future', '2026-12-01) ; DROP TABLE devices; --')",
            "CALL siem_split_partition('appliance', 'p_future', '2026-12-01')",
            "CALL siem_split_partition('messages', 'p_future`; DROP TABLE devices; --', '2026-12-01')",
        ],
    )
    def test_collector_partition_procedures_take_only_log_tables_and_day_names(
        self, mariadb: MariaDBServer, db_env: dict[str, str], call: str
    ) -> None:
        """The collector's one way to reshape the log tables refuses anything but a log table and plain days."""
        connection = mariadb.connect("siem", user="siem_collector", password=db_env["SIEM_COLLECTOR_PASSWORD"])
        with pytest.raises(pymysql.err.OperationalError, match="not a log table"), connection.cursor() as cursor:
            cursor.execute(call)
        connection.close()
        root = mariadb.connect("siem")
        assert {row["table_name"] for row in fetch(root, TABLE_NAMES)} >= {"devices", "appliance", *TABLES}
        root.close()

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
                "INSERT INTO packetfilter (id, timestamp, received, host, action, chain, direction, mac, src_ip,"
                " dst_port, protocol) VALUES (UUID_SHORT(), %s, %s, 'router', 'DROP', 'wan', 'in', '3c:a6:2f:11:22:33',"
                " '203.0.113.9', 22, 'TCP')",
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


@pytest.fixture
def init_copy() -> Iterator[Path]:
    """A copy of scripts/db-init and mysql-init/ that any user can read, as a NAS folder would hold them."""
    base = Path(tempfile.mkdtemp(prefix="siem-init-"))
    base.chmod(0o755)
    shutil.copytree(ROOT / "mysql-init", base / "mysql-init")
    shutil.copy2(ROOT / "scripts" / "db-init", base / "db-init")
    marks = base / "data"
    marks.mkdir()
    marks.chmod(0o777)
    yield base
    shutil.rmtree(base)


def first_start(db_env: dict[str, str], base: Path, *, user: str | None = None, **overrides: str) -> tuple:
    """Apply the copied mysql-init/ as the image does on first start; return (result, whether it was marked)."""
    marker = base / "data" / "siem-init-complete"
    env = {**os.environ, **db_env, "SIEM_INIT_DIR": str(base / "mysql-init"), "SIEM_INIT_MARKER": str(marker)}
    command = [str(base / "db-init")]
    if user is not None:
        account = pwd.getpwnam(user)
        command = ["setpriv", f"--reuid={account.pw_uid}", f"--regid={account.pw_gid}", "--clear-groups", *command]
    result = subprocess.run(command, env={**env, **overrides}, capture_output=True, text=True, check=False)
    return result, marker.exists()


class TestFirstStart:
    """A first start either completes and is marked, or fails visibly: never a healthy half-initialised server."""

    def test_a_complete_start_is_marked(self, db_env: dict[str, str], init_copy: Path) -> None:
        """Every file ran: the mark the healthcheck requires is there."""
        result, marked = first_start(db_env, init_copy)
        assert result.returncode == 0, result.stderr
        assert marked

    @pytest.mark.parametrize(
        ("case", "file", "mode", "user", "env", "named"),
        [
            ("a placeholder editor password", None, None, None, {"SIEM_EDITOR_PASSWORD": "changeme"},
             "SIEM_EDITOR_PASSWORD"),
            ("an init file the server's user cannot read (a NAS file manager's copy)", "03-devices.sql", 0o600,
             "nobody", {}, "03-devices.sql"),
            ("a placeholder refused by 90-users.sh run as a program", "90-users.sh", 0o755, None,
             {"SIEM_READER_PASSWORD": "changeme"}, "SIEM_READER_PASSWORD"),
        ],
        ids=["placeholder", "unreadable", "executable"],
    )  # fmt: skip
    def test_a_failing_file_stops_init_before_the_mark(
        self, db_env: dict[str, str], init_copy: Path, case: str, file: str | None, mode: int | None,
        user: str | None, env: dict[str, str], named: str,
    ) -> None:  # fmt: skip
        """Init fails naming the cause, and the start is not marked complete."""
        if file is not None and mode is not None:
            (init_copy / "mysql-init" / file).chmod(mode)
        result, marked = first_start(db_env, init_copy, user=user, **env)
        assert result.returncode != 0, case
        assert named in result.stderr, case
        assert not marked, case

    def test_executable_users_script_still_creates_every_account(
        self, mariadb: MariaDBServer, db_env: dict[str, str], init_copy: Path
    ) -> None:
        """Made executable, 90-users.sh is run as a program, as the image does; the accounts still work."""
        (init_copy / "mysql-init" / "90-users.sh").chmod(0o755)
        fresh = {name: f"fresh-{name.lower()}" for name in ("SIEM_COLLECTOR_PASSWORD", "SIEM_READER_PASSWORD",
                                                             "SIEM_EDITOR_PASSWORD")}  # fmt: skip
        try:
            result, marked = first_start(db_env, init_copy, **fresh)
            assert result.returncode == 0, result.stderr
            assert "running 90-users.sh" in result.stdout
            assert marked
            for variable, password in fresh.items():
                user = "siem_" + variable.split("_")[1].lower()  # SIEM_READER_PASSWORD: siem_reader
                mariadb.connect("siem", user=user, password=password).close()
        finally:
            assert run_db_init(db_env).returncode == 0

    def test_executed_by_the_image_it_reaches_the_init_server_by_its_socket(
        self, mariadb: MariaDBServer, db_env: dict[str, str]
    ) -> None:
        """The image's entrypoint runs an executable init file with the container's environment: no host, a socket."""
        env = {
            key: value for key, value in {**os.environ, **db_env}.items() if key not in {"SIEM_DB_HOST", "SIEM_DB_PORT"}
        }
        env.update(MARIADB_DATABASE="siem", SIEM_INIT_SOCKET=str(mariadb.base / "mariadb.sock"),
                   SIEM_READER_PASSWORD="socket-reader")  # fmt: skip
        try:
            result = subprocess.run(
                [shutil.which("bash") or "/bin/bash", str(ROOT / "mysql-init" / "90-users.sh")],
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            assert result.returncode == 0, result.stderr
            mariadb.connect("siem", user="siem_reader", password="socket-reader").close()
        finally:
            assert run_db_init(db_env).returncode == 0


def test_healthcheck_requires_the_mark_that_init_and_upgrade_db_write() -> None:
    """The compose healthcheck tests the file 99-complete.sh writes by default and `make upgrade-db` asks for."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    check = " ".join(compose["services"]["mariadb"]["healthcheck"]["test"])
    default = re.search(r"SIEM_INIT_MARKER-([^}]+)\}", (ROOT / "mysql-init" / "99-complete.sh").read_text()).group(1)
    assert f"test -f {default} ||" in check
    assert "healthcheck.sh --connect --innodb_initialized" in check
    assert f"SIEM_INIT_MARKER={default}" in (ROOT / "Makefile").read_text()
    assert sorted(path.name for path in (ROOT / "mysql-init").iterdir())[-1] == "99-complete.sh", "the mark runs last"


def test_upgrade_marks_what_the_rankings_do_not_cover(
    db_env: dict[str, str], db: pymysql.connections.Connection
) -> None:
    """Rows an older collector stored without marks (and never ranked) are marked pending by db-init, then ranked."""
    with db.cursor() as cursor:
        cursor.execute("SET time_zone = '+00:00'")
        for hour, sources in ((8, 3), (9, 2), (13, 1)):
            for i in range(sources):
                cursor.execute(
                    "INSERT INTO packetfilter (id, timestamp, received, host, action, chain, direction, src_ip,"
                    " protocol) VALUES (UUID_SHORT(), %s, %s, 'router', 'DROP', 'wan', 'in', %s, 'TCP')",
                    (f"2026-01-01 {hour:02}:10:00", f"2026-01-01 {hour:02}:10:00", f"203.0.113.{i}"),
                )
    for _ in range(2):
        assert run_db_init(db_env).returncode == 0
        assert fetch(db, "SELECT kind, timestamp FROM packetfilter_pending ORDER BY 1, 2") == [
            {"kind": "hour", "timestamp": datetime(2026, 1, 1, hour)} for hour in (8, 9, 13)
        ], "run again, it marks the same and no more"
    rank_hours(db, datetime(2026, 1, 3))
    assert fetch(db, "SELECT COUNT(*) AS n FROM packetfilter_pending")[0]["n"] == 0
    assert fetch(
        db, "SELECT value, SUM(packets) AS n FROM packetfilter_top_daily WHERE field = 'src_ip' GROUP BY 1 ORDER BY 1"
    ) == [
        {"value": "203.0.113.0", "n": 3},
        {"value": "203.0.113.1", "n": 2},
        {"value": "203.0.113.2", "n": 1},
    ]
    assert run_db_init(db_env).returncode == 0
    assert fetch(db, "SELECT COUNT(*) AS n FROM packetfilter_pending")[0]["n"] == 0, "ranked hours are not marked again"
