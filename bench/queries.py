"""Query benchmark: fill 30 days at a busy home's rate, then time every API endpoint and dashboard query.

Run with `make bench-queries` (BENCH_PF_ROWS, default 20,000,000 packet-filter rows; messages are a
quarter of that, DNS queries 30%: 200,000 a day at the default, from 40 devices over 20,000 domains).
Rows are bulk-loaded directly (LOAD DATA LOCAL INFILE), shaped like the collector's. Prints p95 per
query for the last 24 h and the last 30 days against the 250 ms target.
"""

import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import httpx
import pymysql

from bench import ACCOUNTS
from collector import db as collector_db
from collector import partitions
from collector.dnsrows import DNS_COLUMNS, dns_counts
from collector.rankings import rank_hours
from collector.retention import storage_sizes
from collector.rows import by_day, by_hour, count_messages, count_ports_and_macs, count_rows, pending_hours
from common.store import DAY, floor_time
from siemctl import dashboards
from siemctl.macros import expand
from tests.servers import ROOT, MariaDBServer, free_port

PF_ROWS = int(os.environ.get("BENCH_PF_ROWS", "20000000"))
DEVICES = 500
DNS_QUERIES = int(PF_ROWS * 0.3)
DNS_DOMAINS = 20000
DNS_DEVICES = 40  # of the inventory's devices, those that ask the resolver
OUTCOMES = ["cached"] * 55 + ["answered"] * 38 + ["nxdomain"] * 5 + ["local"] * 2  # of domains no list blocks
TARGET_MS = 250
QUERY_BUFFER_POOL = "128M"  # what MariaDB gets on a 1-2 GB NAS beside the other services
FILL_OPTIONS = ("--innodb-buffer-pool-size=4G", "--innodb-flush-log-at-trx-commit=0")
RESULTS = ROOT / "bench" / "results"
NOW = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
START = NOW - timedelta(days=30)


def _load_numbered(cursor: object, path: Path, table: str, columns: str) -> None:
    """LOAD DATA numbering the rows on from the table's row_ids counter, and moving the counter past them."""
    cursor.execute("SELECT next_id FROM row_ids WHERE log_table = %s", (table,))
    cursor.execute("SET @siem_id = %s", (cursor.fetchone()[0] - 1,))
    cursor.execute(
        f"LOAD DATA LOCAL INFILE '{path}' INTO TABLE {table} ({columns}) SET id = (@siem_id := @siem_id + 1)"
    )
    cursor.execute("UPDATE row_ids SET next_id = @siem_id + 1 WHERE log_table = %s", (table,))


def _tsv(rows: list[tuple]) -> bytes:
    return ("\n".join("\t".join("\\N" if v is None else str(v) for v in row) for row in rows) + "\n").encode()


def make_days(server: MariaDBServer) -> None:
    """The day partitions the collector keeps, made before loading 30 days (splitting them later copies every row)."""
    connection = server.connect("siem")
    for table in ("packetfilter", "messages", "addrwatch", "dns_queries"):
        partitions.maintain(connection, table, floor_time(NOW, DAY), None, first_day=floor_time(START, DAY))
    connection.close()


def _count(cursor: object, table: str, rows: list[tuple]) -> None:
    """The rollups the collector keeps with every batch; the fill keeps them with the same functions."""
    if table == "packetfilter":
        ports, by_mac = count_ports_and_macs(rows)
        counted = count_rows(rows)
        cursor.executemany(collector_db.PACKETFILTER_PENDING, pending_hours(counted))
        cursor.executemany(collector_db.PACKETFILTER_COUNTS, counted)
        cursor.executemany(collector_db.PACKETFILTER_PORTS, ports)
        cursor.executemany(collector_db.PACKETFILTER_MACS, by_mac)
        cursor.executemany(collector_db.PARSED_DAILY, by_day("packetfilter", counted))
    else:
        messages = count_messages(rows)
        cursor.executemany(collector_db.MESSAGES_COUNTS, messages)
        cursor.executemany(collector_db.MESSAGES_HOURLY, by_hour(messages))
        cursor.executemany(collector_db.MESSAGES_DAILY, by_day("messages", messages))


def fill(server: MariaDBServer, work: Path) -> dict[str, int]:
    """30 days of packet-filter rows, messages, 500 devices with their events, spread evenly in time."""
    rng = random.Random(5)  # noqa: S311  (reproducible data)
    macs = [f"02:00:00:00:{i >> 8:02x}:{i & 255:02x}" for i in range(DEVICES)]
    connection = server.connect("siem", local_infile=True, autocommit=True)
    counts = {"packetfilter": PF_ROWS, "messages": PF_ROWS // 4, "devices": DEVICES}
    step = 30 * 86400 / PF_ROWS
    chunk = 500_000
    for table, total in (("packetfilter", PF_ROWS), ("messages", PF_ROWS // 4)):
        for start in range(0, total, chunk):
            rows = []
            for i in range(start, min(total, start + chunk)):
                moment = START + timedelta(seconds=i * step * (PF_ROWS / total))
                if table == "packetfilter":
                    lan = rng.random() < 0.05
                    if lan:
                        source = (
                            "reject lan out:",
                            "REJECT",
                            "lan",
                            "forward",
                            "br-lan",
                            "eth1",
                            rng.choice(macs),
                            f"192.168.1.{rng.randrange(2, 250)}",
                        )
                    else:
                        octets = (
                            rng.choice([45, 80, 185]),
                            rng.randrange(256),
                            rng.randrange(256),
                            rng.randrange(1, 255),
                        )
                        scanner = ".".join(map(str, octets))
                        source = ("drop wan in:", "DROP", "wan", "in", "eth1", None, "3c:a6:2f:11:22:33", scanner)
                    rows.append(
                        (
                            moment,
                            moment,
                            rng.choice(["openwrt", "nas"]),
                            *source,
                            rng.randrange(1024, 65535),
                            "198.51.100.23",
                            rng.choice([22, 23, 443, 445, 3389, 8080]),
                            rng.choice(["TCP", "TCP", "TCP", "UDP"]),
                            None,
                            None,
                            44,
                            rng.randrange(30, 250),
                            "SYN",
                        )
                    )
                else:
                    rows.append((moment, moment, rng.choice(["openwrt", "nas"]), "127.0.0.1", 3, rng.randrange(8),
                                 rng.choice(["dropbear", "dnsmasq", "crond", "sshd"]), "1", None, None,
                                 f"bench message {i}", 0))  # fmt: skip
            path = work / f"{table}.tsv"
            path.write_bytes(_tsv(rows))
            columns = {"packetfilter": "timestamp, received, host, prefix, action, chain, direction, in_interface,"
                       " out_interface, mac, src_ip, src_port, dst_ip, dst_port, protocol, type, code, length, ttl,"
                       " tcp_flags", "messages": "timestamp, received, host, sender, facility, severity, program, pid,"
                       " msgid, structured_data, message, truncated"}[table]  # fmt: skip
            with connection.cursor() as cursor:
                _load_numbered(cursor, path, table, columns)
                _count(cursor, table, rows)
            print(f"\r{table}: {min(total, start + chunk)}/{total}", end="", file=sys.stderr, flush=True)
        print(file=sys.stderr)
    counts["dns_queries"], began = fill_dns(connection, work, rng, macs[:DNS_DEVICES]), time.monotonic()
    hours = rank_hours(connection, NOW, limit=10**6)  # what the collector does an hour at a time
    ranking = time.monotonic() - began
    print(f"ranked {hours} hours and their days in {ranking:.0f} s", file=sys.stderr)
    counts["ranking ms per hour"] = round(ranking * 1000 / max(hours, 1))
    with connection.cursor() as cursor:
        for i, mac in enumerate(macs):
            seen = START + timedelta(hours=i)
            cursor.execute(
                "INSERT INTO devices (mac, first_seen, last_seen, last_ipv4, randomised, last_source, hostname)"
                " VALUES (%s, %s, %s, %s, TRUE, 'addrwatch', %s)",
                (mac, seen, NOW, f"192.168.{i >> 8}.{i & 255}", f"device-{i}"),
            )
            cursor.execute(
                "INSERT INTO device_events (timestamp, mac, event) VALUES (%s, %s, 'new device')", (seen, mac)
            )
        for table in ("packetfilter", "messages", "devices", "device_events", "dns_queries", "dns_hourly",
                      "dns_device_domains", "dns_domains"):  # fmt: skip
            cursor.execute(f"ANALYZE TABLE {table}")
            cursor.fetchall()
    connection.close()
    return counts


def fill_dns(connection: pymysql.connections.Connection, work: Path, rng: random.Random, macs: list[str]) -> int:
    """30 days of DNS queries: a few domains asked all the time, a long tail; counts kept as the collector does."""
    with connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO dns_domains (name) VALUES (%s)",
            [(f"host{i}.site{i % 997}.example",) for i in range(DNS_DOMAINS)],
        )
    step = 30 * 86400 / DNS_QUERIES
    chunk = 500_000
    names = ", ".join(DNS_COLUMNS)
    for start in range(0, DNS_QUERIES, chunk):
        rows = []
        for i in range(start, min(DNS_QUERIES, start + chunk)):
            moment = START + timedelta(seconds=i * step)
            device = rng.randrange(len(macs))
            if rng.random() < 0.8:  # mostly the few hundred domains the device always asks for
                domain = 1 + (device * 53 + min(int(rng.paretovariate(1.0)), 300) - 1) % DNS_DOMAINS
            else:
                domain = min(int(rng.paretovariate(0.8)), DNS_DOMAINS)
            qtype = rng.choice(["A", "A", "AAAA", "HTTPS"])
            if domain % 12 == 0:
                outcome = "blocked"
            elif qtype == "AAAA" and domain % 3 == 0:
                outcome = "nodata"
            else:
                outcome = rng.choice(OUTCOMES)
            rows.append((
                moment, "openwrt", f"192.168.1.{device + 2}", macs[device], qtype, domain, outcome,
                "config" if outcome == "blocked" else None, "1.1.1.1" if outcome == "answered" else None,
                f"203.0.113.{domain % 250}",
            ))  # fmt: skip
        path = work / "dns.tsv"
        path.write_bytes(_tsv(rows))
        counts = dns_counts(rows)
        with connection.cursor() as cursor:
            _load_numbered(cursor, path, "dns_queries", names)
            cursor.executemany(collector_db.DNS_HOURLY, counts.hourly)
            cursor.executemany(collector_db.DNS_DEVICE_HOURLY, counts.device_hourly)
            cursor.executemany(collector_db.DNS_DEVICE_DAILY, counts.device_daily)
            cursor.executemany(collector_db.DNS_DOMAIN_DAILY, counts.domain_daily)
            cursor.executemany(collector_db.DNS_DEVICE_DOMAINS, counts.spans)
            cursor.executemany(collector_db.PARSED_DAILY, by_day("dns_queries", counts.device_daily))
        print(f"\rdns_queries: {min(DNS_QUERIES, start + chunk)}/{DNS_QUERIES}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return DNS_QUERIES


def storage(server: MariaDBServer) -> list[str]:
    """Bytes on disk per raw row, and what the rollups add: the files' allocated size after every change is written."""
    connection = server.connect("siem")
    with connection.cursor() as cursor:
        cursor.execute("FLUSH TABLES messages, packetfilter, addrwatch, dns_queries FOR EXPORT")
        cursor.execute("UNLOCK TABLES")
        cursor.execute("SELECT table_name, data_length + index_length FROM information_schema.tables"
                       " WHERE table_schema = 'siem' AND table_type = 'BASE TABLE'")  # fmt: skip
        logical = {name: int(size or 0) for name, size in cursor.fetchall()}
        sizes: dict[str, int] = {}
        for size in storage_sizes(connection):
            sizes[size.table] = sizes.get(size.table, 0) + size.allocated
        rows = {}
        for table in ("packetfilter", "messages", "dns_queries"):
            cursor.execute(f"SELECT COUNT(*) FROM {table}")
            rows[table] = cursor.fetchone()[0]
    connection.close()
    lines = [
        "| table | rows | on disk MB | pages before compression MB | bytes/row on disk |",
        "|---|---|---|---|---|",
    ]
    for name, allocated in sorted(sizes.items(), key=lambda item: -item[1]):
        per_row = f"{allocated / rows[name]:.0f}" if rows.get(name) else ""
        before = logical.get(name, 0) / 2**20
        lines.append(f"| {name} | {rows.get(name, '')} | {allocated / 2**20:.1f} | {before:.1f} | {per_row} |")
    total = sum(sizes.values())
    per_packet = total / max(rows["packetfilter"], 1)
    lines.append(f"| all tables | | {total / 2**20:.1f} | | {per_packet:.0f} per firewall row |")
    dns = sum(size for name, size in sizes.items() if name.startswith("dns_"))
    lines.append(f"| DNS tables | | {dns / 2**20:.1f} | | {dns / max(rows['dns_queries'], 1):.0f} per query |")
    return lines


SLOW_MS = 2000  # a query this slow is timed once: repeating it only makes the run longer


def timed(call: object, repeat: int = 5) -> float:
    """p95 in ms over `repeat` runs (with five runs or fewer, the slowest); one run if the first is very slow."""
    samples = []
    for _ in range(repeat):
        began = time.perf_counter()
        call()
        samples.append((time.perf_counter() - began) * 1000)
        if samples[0] > SLOW_MS:
            break
    return p95(samples)


def p95(samples: list[float]) -> float:
    """The 95th percentile by nearest rank: with up to ten samples, the slowest."""
    ordered = sorted(samples)
    return ordered[max(0, round(0.95 * len(ordered)) - 1)]


def api_queries(url: str, token: str) -> list[tuple[str, float]]:
    """Every data endpoint, for 24 h and 30 days."""
    headers = {"Authorization": f"Bearer {token}"}
    client = httpx.Client(base_url=url, headers=headers, timeout=600)
    paths = [
        "/api/v1/stats",
        "/api/v1/devices",
        "/api/v1/devices/new?since=30d",
        "/api/v1/devices/02:00:00:00:00:01",
    ]
    for since in ("24h", "30d"):
        paths += [
            f"/api/v1/drops/summary?since={since}",
            f"/api/v1/drops/timeseries?since={since}",
            f"/api/v1/drops/summary?src_ip=192.168.1.7&since={since}",  # one address: the index by source
            f"/api/v1/messages?since={since}",
        ]
        paths += [f"/api/v1/drops/top?by={field}&since={since}" for field in
                  ("src_ip", "dst_ip", "dst_port", "src_port", "protocol", "in_interface", "mac")]  # fmt: skip
        paths += [
            f"/api/v1/dns/top?by=domain&since={since}",
            f"/api/v1/dns/top?by=device&since={since}",
            f"/api/v1/dns/top?by=domain&outcome=blocked&device=02:00:00:00:00:01&since={since}",
            f"/api/v1/dns/new?since={since}",
            f"/api/v1/devices/02:00:00:00:00:01/domains?since={since}",
        ]
    results = []
    for path in paths:
        statuses: list[int] = []
        ms = timed(lambda path=path, statuses=statuses: statuses.append(_status(client, path)))
        failed = sorted({status for status in statuses if status != 200})
        results.append((f"API {path}" + (f" (HTTP {failed})" if failed else ""), ms))
    for since in ("24h", "30d"):
        results.append(search(client, f"/api/v1/messages?since={since}&q=message%2042&severity=warning"))
        results.append(search(client, f"/api/v1/messages?since={since}&q=no%20such%20text"))
    client.close()
    return results


def search(client: httpx.Client, path: str) -> tuple[str, float]:
    """A text search followed page by page to the start of its range: p95 over the pages' requests."""
    samples, found, cursor, began = [], 0, None, time.monotonic()
    while True:
        started = time.perf_counter()
        response = client.get(path + (f"&cursor={quote(cursor)}" if cursor else ""))
        samples.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            return f"API {path} (HTTP {response.status_code})", max(samples)
        found += len(response.json()["items"])
        cursor = response.json()["next_cursor"]
        if cursor is None:
            break
    whole = time.monotonic() - began
    return f"API {path}, each of {len(samples)} pages ({found} found, whole range {whole:.1f} s)", p95(samples)


def _status(client: httpx.Client, path: str) -> int:
    """The response's status, or 0 when the connection failed (the API timed out or restarted)."""
    try:
        return client.get(path).status_code
    except httpx.TransportError:
        return 0


PLANS: dict[str, list[tuple]] = {}  # the slow panels' query plans, for the report


def explain(connection: pymysql.connections.Connection, sql: str) -> list[tuple]:
    """MariaDB's plan for a query: which index each part reads, and how many rows it expects."""
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {sql}")
        return [(row[0], row[1], row[2], row[4], row[5], row[6], row[8], row[9]) for row in cursor.fetchall()]


def panel_queries(connection: pymysql.connections.Connection) -> list[tuple[str, float]]:
    """Every dashboard panel as Grafana would send it, for 24 h and 30 days, all variables at All."""
    results = []
    end = NOW.replace(tzinfo=UTC)
    for name, build in dashboards.DASHBOARDS.items():
        board = build()
        definitions = {v["name"]: v for v in board["templating"]["list"]}
        for panel in board["panels"]:
            for label, span, interval in (("24h", timedelta(hours=24), 300), ("30d", timedelta(days=30), 3600)):
                sql = expand(panel["targets"][0]["rawSql"], end - span, end, interval=interval, definitions=definitions)

                def run(sql: str = sql) -> None:
                    with connection.cursor() as cursor:
                        cursor.execute(sql)
                        cursor.fetchall()

                ms = timed(run, repeat=3)
                results.append((f"{name}: {panel['title']} ({label})", ms))
                if ms > TARGET_MS:
                    PLANS[f"{name}: {panel['title']} ({label})"] = explain(connection, sql)
                if "${filter" in panel["targets"][0]["rawSql"]:
                    filtered = expand(panel["targets"][0]["rawSql"], end - span, end, interval=interval,
                                      values={"filter": "message 42"}, definitions=definitions)  # fmt: skip
                    ms = timed(lambda sql=filtered: run(sql), repeat=3)
                    results.append((f"{name}: {panel['title']}, text filter 'message 42' ({label})", ms))
    return results


def main() -> int:
    """Fill, start the API, time everything, report."""
    with tempfile.TemporaryDirectory(prefix="siem-queries-") as temp:
        work = Path(temp)
        # The fill is only set-up: it gets a large buffer pool and lazy log flushes. The queries are
        # then timed after a restart with a NAS-sized buffer pool.
        server = MariaDBServer(work, "--local-infile=1", "--innodb-log-file-size=512M", *FILL_OPTIONS)
        server.install()
        server.start()
        token = "bench-token-" + str(os.getpid())
        env = server.init_database(**ACCOUNTS)
        began = time.monotonic()
        make_days(server)
        counts = fill(server, work)
        fill_seconds = time.monotonic() - began
        disk = storage(server)
        server.stop()
        server.options = (*server.options[:2], f"--innodb-buffer-pool-size={QUERY_BUFFER_POOL}")
        server.start()
        port = free_port()
        api_env = {
            **os.environ, **env, "SIEM_DB_USER": "siem_reader", "SIEM_DB_PASSWORD": env["SIEM_READER_PASSWORD"],
            "SIEM_API_TOKEN": token, "SIEM_API_HOST": "127.0.0.1", "SIEM_API_PORT": str(port),
        }  # fmt: skip
        api = subprocess.Popen([sys.executable, "-m", "api"], cwd=ROOT, env=api_env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)  # fmt: skip
        try:
            for _ in range(600):
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.1)
            results = api_queries(f"http://127.0.0.1:{port}", token)
            reader = server.connect("siem", user="siem_reader", password=env["SIEM_READER_PASSWORD"],
                                    init_command="SET time_zone = '+00:00'")  # fmt: skip
            results += panel_queries(reader)
            reader.close()
        finally:
            api.terminate()
            api.wait(timeout=20)
            server.stop()
    slow = [name for name, ms in results if ms > TARGET_MS]
    lines = [f"# Query benchmark {NOW:%Y-%m-%d %H:%M} UTC", "",
             f"Filled {counts} over 30 days in {fill_seconds:.0f} s. Queries timed with a {QUERY_BUFFER_POOL}"
             f" buffer pool. Target: p95 <= {TARGET_MS} ms.", "",
             f"{len(results) - len(slow)} of {len(results)} queries meet the target "
             f"(overall median {statistics.median(ms for _, ms in results):.0f} ms).", "",
             "| query | p95 ms | target |", "|---|---|---|"]  # fmt: skip
    lines += [f"| {name} | {ms:.0f} | {'ok' if ms <= TARGET_MS else 'SLOW'} |" for name, ms in results]
    lines += ["", "Storage after the fill (InnoDB statistics):", "", *disk]
    for title, plan in PLANS.items():  # (id, select_type, table, type, possible_keys, key, rows, Extra)
        head = ["", f"Plan of {title}:", "", "| id | select | table | type | possible keys | key | rows | extra |"]
        lines += [*head, "|---|---|---|---|---|---|---|---|", *("| " + " | ".join(map(str, r)) + " |" for r in plan)]
    report = "\n".join(lines) + "\n"
    print(report)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"queries-{NOW:%Y%m%d-%H%M}.md").write_text(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
