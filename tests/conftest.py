"""Fixtures: a private real MariaDB initialised by `scripts/db-init`, and the real collector process."""

import os
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pymysql
import pytest

from tests.servers import ROOT, CollectorProcess, MariaDBServer, Receiver, collector_env, free_port

MIDNIGHT_MARGIN = timedelta(minutes=2)  # longer than any one test runs
TABLES = ("messages", "packetfilter", "addrwatch", "dns_queries")
FRESH_PARTITIONS = "PARTITION BY RANGE COLUMNS (timestamp) (PARTITION p_future VALUES LESS THAN (MAXVALUE))"
DERIVED_TABLES = (
    "devices", "device_addresses", "device_events",
    "packetfilter_counts", "messages_counts", "messages_hourly",
    "packetfilter_ports", "packetfilter_macs", "packetfilter_top", "packetfilter_top_daily",
    "packetfilter_ports_daily", "packetfilter_macs_daily", "packetfilter_pending",
    "dns_domains", "dns_hourly", "dns_device_hourly", "dns_device_daily", "dns_domain_daily", "dns_device_domains",
    "daily_totals",
)  # fmt: skip


@pytest.fixture(scope="session")
def mariadb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MariaDBServer]:
    """A MariaDB server owned by the test session."""
    server = MariaDBServer(tmp_path_factory.mktemp("mariadb"))
    server.install()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def db_env(mariadb: MariaDBServer) -> dict[str, str]:
    """The environment a deployment has, with the schema and users applied by `scripts/db-init`."""
    return mariadb.init_database(
        SIEM_COLLECTOR_PASSWORD="c-" + secrets.token_urlsafe(16),
        SIEM_READER_PASSWORD="r-" + secrets.token_urlsafe(16),
        SIEM_EDITOR_PASSWORD="e-" + secrets.token_urlsafe(16),
    )


def empty_tables(connection: pymysql.connections.Connection) -> None:
    """Empty the log tables and everything derived from them."""
    with connection.cursor() as cursor:
        for table in TABLES + DERIVED_TABLES:
            cursor.execute(f"TRUNCATE TABLE {table}")


def grafana_reader(mariadb: MariaDBServer, db_env: dict[str, str]) -> pymysql.connections.Connection:
    """The read-only account, connected as Grafana's data source connects (UTC)."""
    return mariadb.connect(
        "siem", user="siem_reader", password=db_env["SIEM_READER_PASSWORD"], init_command="SET time_zone = '+00:00'"
    )


def wait_out_midnight() -> None:
    """Sleep past a UTC midnight that is too close: a test's day names must be the collector's day names."""
    now = datetime.now(UTC)
    left = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), UTC) - now
    if left < MIDNIGHT_MARGIN:
        time.sleep(left.total_seconds() + 1)


@pytest.fixture
def now(db: pymysql.connections.Connection) -> datetime:
    """This second in UTC, taken after `db` has made sure the day lasts the test (module constants are minutes old)."""
    return datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def db(mariadb: MariaDBServer, db_env: dict[str, str]) -> Iterator[pymysql.connections.Connection]:
    """A root connection to the emptied siem database, on a UTC day that lasts the whole test."""
    wait_out_midnight()
    connection = mariadb.connect("siem")
    empty_tables(connection)
    with connection.cursor() as cursor:
        # days split off or dropped by an earlier test start over as on a fresh install
        cursor.execute(
            "SELECT DISTINCT table_name FROM information_schema.partitions WHERE table_schema = 'siem'"
            " AND partition_name <> 'p_future' AND (partition_name NOT REGEXP '^p[0-9]{8}$' OR partition_name < %s)",
            ("p" + f"{datetime.now(UTC):%Y%m%d}",),
        )
        for (table,) in cursor.fetchall():
            cursor.execute(f"ALTER TABLE {table} {FRESH_PARTITIONS}")
    yield connection
    if connection.open:
        connection.close()


@pytest.fixture
def start_collector(
    db_env: dict[str, str], tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Callable[..., CollectorProcess]]:
    """Start `python -m collector` with the deployment's environment plus overrides; stopped at teardown."""
    started: list[CollectorProcess] = []

    def start(
        wait_for: str = "listening for syslog", open_files: int | None = None, **overrides: str
    ) -> CollectorProcess:
        settings = {"SIEM_FLUSH_SECONDS": "0.1", "SIEM_DB_RETRY_SECONDS": "0.5", **overrides}
        env = collector_env(db_env, tmp_path / "spool", **settings)
        collector = CollectorProcess(env, tmp_path / f"collector-{len(started)}.log", open_files)
        started.append(collector)
        return collector.start(wait_for)

    yield start
    for collector in started:
        code = collector.stop()
        failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
        if failed:
            print(f"--- collector log ---\n{collector.output()}")
        assert code == 0, collector.output()


API_TOKEN = "test-" + secrets.token_urlsafe(24)
SEARCH_ROWS = 10  # small, so text searches over the few test messages take several pages


@pytest.fixture(scope="session")
def api_url(db_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`python -m api` (uvicorn) on loopback with the read-only and editor accounts."""
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "SIEM_DB_HOST": db_env["SIEM_DB_HOST"],
        "SIEM_DB_PORT": db_env["SIEM_DB_PORT"],
        "SIEM_DB_NAME": db_env["SIEM_DB_NAME"],
        "SIEM_DB_USER": "siem_reader",
        "SIEM_DB_PASSWORD": db_env["SIEM_READER_PASSWORD"],
        "SIEM_EDITOR_PASSWORD": db_env["SIEM_EDITOR_PASSWORD"],
        "SIEM_API_TOKEN": API_TOKEN,
        "SIEM_API_HOST": "127.0.0.1",
        "SIEM_API_PORT": str(port),
        "SIEM_API_SEARCH_ROWS": str(SEARCH_ROWS),
    }
    log = tmp_path_factory.mktemp("api") / "api.log"
    with log.open("wb") as output:
        process = subprocess.Popen([sys.executable, "-m", "api"], cwd=ROOT, env=env, stdout=output, stderr=output)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{url}/health", timeout=1)
                break
            except httpx.TransportError:
                if process.poll() is not None:
                    break
                time.sleep(0.1)
        else:
            process.kill()
        if process.poll() is not None:
            raise RuntimeError(f"API did not start: {log.read_text()}")
        yield url
        process.terminate()
        process.wait(timeout=20)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    """Keep each phase's report on the test item so fixtures can dump logs after a failure."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def wait_for(connection: pymysql.connections.Connection, sql: str, expected: object, timeout: float = 30) -> object:
    """Poll a one-value query until it returns `expected`; return the last value either way."""
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(sql)
            row = cursor.fetchone()
            value = row[0] if row else None
        if value == expected:
            return value
        time.sleep(0.1)
    return value


def fetch(connection: pymysql.connections.Connection, sql: str, *args: object) -> list[dict]:
    """Run a query and return rows as dicts."""
    with connection.cursor(pymysql.cursors.DictCursor) as cursor:
        cursor.execute(sql, args or None)
        return list(cursor.fetchall())


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A notification receiver, running for the test."""
    server = Receiver()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()
