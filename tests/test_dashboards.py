"""Every dashboard query, expanded as Grafana expands it, runs as the read-only account on data the collector wrote."""

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pymysql
import pytest
import yaml

from collector.rankings import rank_hours
from siemctl import dashboards
from siemctl.macros import ALL, expand
from tests.conftest import API_TOKEN, empty_tables, grafana_reader, wait_for
from tests.grafana_types import grafana_fields
from tests.servers import ROOT, CollectorProcess, MariaDBServer, collector_env, lf_framed, send_tcp

GRAFANA = ROOT / "grafana"
END = datetime.now(UTC).replace(microsecond=0)
START = END - timedelta(hours=24)
NOW = END.replace(tzinfo=None) - timedelta(minutes=20)
LOADED = {path.stem: json.loads(path.read_text()) for path in sorted((GRAFANA / "dashboards").glob("*.json"))}


def stamp(minutes: int) -> str:
    """A BSD stamp some minutes before NOW."""
    return (NOW - timedelta(minutes=minutes)).strftime("%b %e %H:%M:%S")


def demo_lines() -> list[bytes]:
    """A small, real-looking day: firewall lines in several prefix styles, discoveries, logs."""
    tv, wan_mac = "a0:82:22:44:c6:1a", "3c:a6:2f:11:22:33"
    unix = int(NOW.replace(tzinfo=UTC).timestamp())
    lines = []
    for i in range(30):
        lines.append(
            f"<4>{stamp(i * 7)} router kernel: drop wan in: IN=eth0 OUT= MAC=00:0d:b9:4f:2a:10:{wan_mac}:08:00 "
            f"SRC=141.230.240.{i % 5} DST=198.51.100.23 LEN=44 TOS=0x00 PREC=0x00 TTL=61 ID={i} DF PROTO=TCP "
            f"SPT={40000 + i} DPT={(22, 23, 3389, 445, 8080)[i % 5]} WINDOW=1024 RES=0x00 SYN URGP=0".encode()
        )
    for i in range(8):
        lines.append(
            f"<4>{stamp(i * 11)} gw kernel: A=REJECT C=inet IN=br-lan OUT=eth0 MAC=00:0d:b9:4f:2a:10:{tv}:08:00 "
            f"SRC=10.0.0.45 DST=203.0.113.{i} LEN=60 TOS=0x00 PREC=0x00 TTL=63 ID=1 DF PROTO=UDP SPT=5000 DPT=53 "
            "LEN=40".encode()
        )
    macs = (wan_mac, tv)
    for i in range(40):  # one to three days back (before START), so rankings have whole days to add up
        lines.append(
            f"<4>{stamp(1560 + i * 67)} router kernel: drop wan in: IN=eth0 OUT= "
            f"MAC=00:0d:b9:4f:2a:10:{macs[i % 2]}:08:00 "
            f"SRC=198.18.0.{i % 3} DST=198.51.100.{23 + i % 2} LEN=44 TTL=50 ID={i} PROTO=TCP "
            f"SPT={50000 + i % 4} DPT=443 SYN URGP=0".encode()
        )
    lines += [
        f"<30>{stamp(200)} router dnsmasq-dhcp[1]: DHCPACK(br-lan) 10.0.0.45 {tv} my-tv".encode(),
        f"<30>{stamp(100)} router dnsmasq-dhcp[1]: DHCPACK(br-lan) 10.0.0.46 {tv} my-tv".encode(),
        f"<30>{stamp(90)} router addrwatch: {unix} br-lan 0 da:a1:19:00:00:01 10.0.0.99 ARP_REQ".encode(),
        f"<3>{stamp(5)} nas sshd[1]: error: too many authentication failures for it's-me".encode(),
        f"<12>{stamp(6)} nas kernel: warning: disk 2 is hot".encode(),
        *[f"<14>{stamp(i)} router app: informational {i}".encode() for i in range(20)],
    ]
    for i in range(12):  # a day and more back: whole days of the daily domain counts
        lines.append(
            f"<30>{stamp(1560 + i * 67)} router dnsmasq[9]: query[A] old{i % 3}.example from 10.0.0.46".encode()
        )
        lines.append(f"<30>{stamp(1560 + i * 67)} router dnsmasq[9]: cached old{i % 3}.example is 192.0.2.1".encode())
    for i in range(40):  # DNS queries over the last hours, from the TV (10.0.0.46 since its lease) and a guest
        client, domain = ("10.0.0.46", "api.netflix.com") if i % 3 else ("10.0.0.77", "ads.example")
        lines.append(f"<30>{stamp(i * 7)} router dnsmasq[9]: query[A] {domain} from {client}".encode())
        if i % 3:
            lines.append(f"<30>{stamp(i * 7)} router dnsmasq[9]: cached {domain} is 198.51.100.9".encode())
        else:
            lines.append(f"<30>{stamp(i * 7)} router dnsmasq[9]: config {domain} is 0.0.0.0".encode())
    return lines


@pytest.fixture(scope="module")
def reader(mariadb: MariaDBServer, db_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """The read-only account, over data the real collector stored from the demo lines."""
    root = mariadb.connect("siem")
    empty_tables(root)
    base = tmp_path_factory.mktemp("dashboards")
    env = collector_env(db_env, base / "spool", SIEM_FLUSH_SECONDS="0.1")
    collector = CollectorProcess(env, base / "collector.log").start()
    lines = demo_lines()
    send_tcp(collector.port, lf_framed(*lines))
    assert wait_for(root, "SELECT COUNT(*) FROM dns_queries", 52) == 52
    dns_lines = sum(1 for line in lines if b" dnsmasq[9]: " in line)  # stored as their queries' rows
    assert wait_for(root, "SELECT COUNT(*) FROM messages", len(lines) - dns_lines) == len(lines) - dns_lines
    assert collector.stop() == 0
    rank_hours(root, datetime.now(UTC).replace(tzinfo=None), limit=1000)  # what the collector does each hour
    with root.cursor() as cursor:
        for table in ("packetfilter_top_daily", "packetfilter_ports_daily", "packetfilter_macs_daily"):
            cursor.execute(f"SELECT COUNT(DISTINCT timestamp) FROM {table}")
            assert cursor.fetchone()[0] >= 1, f"the packets of days ago fill whole days of {table}"
    root.close()
    connection = grafana_reader(mariadb, db_env)
    yield connection
    connection.close()


def run(connection: pymysql.connections.Connection, sql: str) -> tuple[list[str], list[tuple]]:
    """Column names and rows (no parameter substitution: Grafana sends the text as is)."""
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return [column[0] for column in cursor.description], list(cursor.fetchall())


def grafana_kinds(connection: pymysql.connections.Connection, sql: str) -> list[tuple[str, str, str]]:
    """Each result column as Grafana's MySQL data source sees it: (name, driver type, field kind)."""
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return grafana_fields(cursor)


def panels() -> list[tuple[str, dict]]:
    """(dashboard, panel) for every panel of every dashboard."""
    return [(name, panel) for name, board in LOADED.items() for panel in board["panels"]]


def variables_of(board: dict) -> dict[str, dict]:
    """The dashboard's variables by name."""
    return {variable["name"]: variable for variable in board["templating"]["list"]}


@pytest.mark.parametrize(("board", "panel"), panels(), ids=[f"{b}:{p['title']}" for b, p in panels()])
class TestPanelQueries:
    """Each panel's SQL, as Grafana would send it, succeeds and has the shape its panel type needs."""

    def test_runs_with_all_selected(self, reader: pymysql.connections.Connection, board: str, panel: dict) -> None:
        """With every variable at All, the query returns rows for the demo data, in the panel's shape."""
        definitions = variables_of(LOADED[board])
        for target in panel["targets"]:
            columns, rows = run(reader, expand(target["rawSql"], START, END, interval=300, definitions=definitions))
            assert rows, f"no rows for {target['rawSql']}"
            if panel["type"] == "timeseries":
                assert columns[0] == "time"
                assert all(isinstance(row[0], int) for row in rows), "time must be epoch seconds"
                assert columns[1:] == ["metric", "value"]
            elif panel["type"] == "stat":
                assert len(rows) == 1
                assert len(columns) == 1
            elif panel["type"] == "barchart":
                assert len(columns) == 2
                assert all(isinstance(row[1], int) for row in rows)

    def test_every_column_has_a_type_grafana_converts(
        self, reader: pymysql.connections.Connection, board: str, panel: dict
    ) -> None:
        """No unsigned or unnamed types: Grafana's converter list turns each column into a number, time or text."""
        definitions = variables_of(LOADED[board])
        for target in panel["targets"]:
            sql = expand(target["rawSql"], START, END, interval=300, definitions=definitions)
            failing = [column for column in grafana_kinds(reader, sql) if column[2] in {"fails", "fallback"}]
            assert not failing, f"Grafana cannot convert {failing}"

    def test_a_stat_has_a_field_it_displays(
        self, reader: pymysql.connections.Connection, board: str, panel: dict
    ) -> None:
        """A stat shows numeric fields only unless reduceOptions.fields selects others by name."""
        if panel["type"] != "stat":
            return
        selection = panel["options"]["reduceOptions"].get("fields", "")
        sql = expand(panel["targets"][0]["rawSql"], START, END, interval=300, definitions=variables_of(LOADED[board]))
        columns = grafana_kinds(reader, sql)
        if selection:
            pattern = re.fullmatch(r"/(.*)/", selection)
            shown = [c for c in columns if (re.search(pattern.group(1), c[0]) if pattern else c[0] == selection)]
        else:
            shown = [c for c in columns if c[2] == "number"]
        assert shown, f"the stat shows nothing of {columns} with fields={selection!r}"

    def test_runs_with_one_value_and_a_quote_in_the_filter(
        self, reader: pymysql.connections.Connection, board: str, panel: dict
    ) -> None:
        """A concrete selection (and a text filter with a quote) still yields valid SQL."""
        definitions = variables_of(LOADED[board])
        values: dict[str, object] = {}
        for name, variable in definitions.items():
            if variable["type"] == "query":
                _, options = run(reader, expand(variable["query"], START, END, interval=300))
                values[name] = [str(options[0][0])]
            else:
                values[name] = "it's"
        for target in panel["targets"]:
            run(reader, expand(target["rawSql"], START, END, interval=60, values=values, definitions=definitions))


@pytest.mark.parametrize("board", sorted(LOADED))
def test_variable_and_annotation_queries(reader: pymysql.connections.Connection, board: str) -> None:
    """Variable queries list values from the demo data; annotation queries return time, text and tags."""
    dashboard = LOADED[board]
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            _, options = run(reader, expand(variable["query"], START, END))
            assert options, variable["name"]
            kinds = {kind for *_, kind in grafana_kinds(reader, expand(variable["query"], START, END))}
            assert not kinds & {"fails", "fallback"}, variable["name"]
    for annotation in dashboard["annotations"]["list"]:
        sql = expand(annotation["target"]["rawSql"], START, END)
        columns, rows = run(reader, sql)
        assert columns == ["time", "text", "tags"]
        assert rows
        assert not {kind for *_, kind in grafana_kinds(reader, sql)} & {"fails", "fallback"}


@pytest.mark.parametrize(
    ("sql", "kind"),
    [
        ("SELECT CAST(SUM(packets) AS UNSIGNED) FROM packetfilter_counts", "fails"),
        ("SELECT CAST(SUM(packets) AS SIGNED) FROM packetfilter_counts", "number"),
        ("SELECT SUM(packets) FROM packetfilter_counts", "number"),
        ("SELECT MIN(timestamp) FROM messages", "time"),
        ("SELECT DATE_FORMAT(MIN(timestamp), '%Y') FROM messages", "string"),
        ("SELECT COUNT(*) FROM messages", "number"),
        ("SELECT CAST(1 AS UNSIGNED)", "fallback"),
        ("SELECT src_port FROM packetfilter", "fallback"),
    ],
)
def test_the_type_model_tells_what_grafana_rejects(reader: pymysql.connections.Connection, sql: str, kind: str) -> None:
    """The model names MariaDB's result types as the Go driver does; an unsigned BIGINT is the known failure."""
    assert grafana_kinds(reader, sql)[0][2] == kind


class TestStructure:
    """What Grafana needs to load the dashboards without clicking."""

    def test_committed_json_is_what_the_code_generates(self) -> None:
        """grafana/dashboards is regenerated by `make dashboards`; an edit by hand would be lost."""
        for name, build in dashboards.DASHBOARDS.items():
            assert (GRAFANA / "dashboards" / f"{name}.json").read_text() == dashboards.render(build), name

    def test_uids_ids_and_datasource(self) -> None:
        """Stable unique uids, no numeric dashboard id, every query on the provisioned data source."""
        provisioned = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "siem.yaml").read_text())
        source = provisioned["datasources"][0]
        assert provisioned["apiVersion"] == 1
        uids = [board["uid"] for board in LOADED.values()]
        assert len(set(uids)) == len(uids) == 5
        for board in LOADED.values():
            assert "id" not in board
            assert board["schemaVersion"] == 41
            ids = [panel["id"] for panel in board["panels"]]
            assert len(set(ids)) == len(ids)
            titles = [panel["title"] for panel in board["panels"]]
            assert len(set(titles)) == len(titles), "two panels with one title confuse readers"
            for panel in board["panels"]:
                assert panel["type"] in {"timeseries", "stat", "table", "barchart"}
                assert panel["datasource"] == {"type": "mysql", "uid": source["uid"]}
                assert all(target["datasource"]["uid"] == source["uid"] for target in panel["targets"])

    def test_time_filtering_only_through_macros(self) -> None:
        """No query hard-codes a time; time series group with $__timeGroupAlias."""
        for board in LOADED.values():
            for panel in board["panels"]:
                sql = panel["targets"][0]["rawSql"]
                assert "NOW()" not in sql.upper()
                assert re.search(r"\bINTERVAL\s+\d", sql, re.IGNORECASE) is None
                if panel["type"] == "timeseries":
                    assert "$__timeGroupAlias(" in sql
                    assert "$__timeFilter(" in sql

    def test_provisioning_reads_secrets_from_the_environment(self) -> None:
        """The data source's password is ${SIEM_READER_PASSWORD}, never a literal; the folder is our own."""
        source = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "siem.yaml").read_text())["datasources"][0]
        assert source["secureJsonData"]["password"] == "${SIEM_READER_PASSWORD}"
        assert source["user"] == "${SIEM_READER_USER}"
        assert source["jsonData"]["timezone"] == "+00:00"
        provider = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "siem.yaml").read_text())["providers"][0]
        assert provider["type"] == "file"
        assert provider["folder"] == "SIEM@Home"
        assert provider["options"]["path"] == "/etc/grafana/dashboards"


def test_macro_expansion_matches_grafana() -> None:
    """The expansion used above follows Grafana's MySQL macros to the letter."""
    start, end = datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 1, 2, tzinfo=UTC)
    sql = (
        "SELECT $__timeGroupAlias(t, $__interval), $__timeGroup(t, '5m')"
        " WHERE $__timeFilter(t) AND $__unixEpochFilter(e)"
    )
    assert expand(sql, start, end, interval=60) == (
        'SELECT UNIX_TIMESTAMP(t) DIV 60 * 60 AS "time", UNIX_TIMESTAMP(t) DIV 300 * 300'
        " WHERE t BETWEEN FROM_UNIXTIME(1735689600) AND FROM_UNIXTIME(1735776000)"
        " AND e >= 1735689600 AND e <= 1735776000"
    )
    definitions = {"host": {"allValue": "'__all'"}}
    assert expand("IN ($host)", start, end, values={"host": ALL}, definitions=definitions) == "IN ('__all')"
    assert expand("IN ($host)", start, end, values={"host": ["a", "o'b"]}, definitions=definitions) == "IN ('a','o''b')"
    assert expand("LIKE ${f:sqlstring}", start, end, values={"f": "x'y"}) == "LIKE 'x''y'"


def panel_sql(board: str, title: str, start: datetime, end: datetime, values: dict[str, object] | None = None) -> str:
    """One panel's query as Grafana sends it for this range, every variable at All unless given in `values`."""
    panel = next(panel for panel in LOADED[board]["panels"] if panel["title"] == title)
    return expand(
        panel["targets"][0]["rawSql"], start, end, interval=300, values=values, definitions=variables_of(LOADED[board])
    )


# Ranges that start and end inside an hour, span several whole hours or days, or fit inside one hour.
RANGES = [(200, 10), (95, 61), (30, 0), (213, 0), (150, 149), (4500, 10), (4300, 1500), (2900, 200)]


@pytest.mark.parametrize(("first", "last"), RANGES)
def test_hourly_rankings_equal_counting_raw_rows(
    reader: pymysql.connections.Connection, api_url: str, first: int, last: int
) -> None:
    """Top ports, sources and blocked devices (panels and API), from days, hours and raw edges, match raw rows."""
    start = NOW.replace(tzinfo=UTC) - timedelta(minutes=first, seconds=30)
    end = NOW.replace(tzinfo=UTC) - timedelta(minutes=last, seconds=-30)
    between = f"timestamp BETWEEN FROM_UNIXTIME({int(start.timestamp())}) AND FROM_UNIXTIME({int(end.timestamp())})"
    _, ports = run(reader, panel_sql("firewall", "Top destination ports", start, end))
    _, raw_ports = run(
        reader,
        f"SELECT CONCAT(protocol, '/', dst_port), COUNT(*) FROM packetfilter WHERE {between}"
        " AND dst_port IS NOT NULL GROUP BY 1",
    )
    assert dict(ports) == dict(raw_ports)
    assert ports or first - last < 30, "a long range holds packets"
    _, sources = run(reader, panel_sql("firewall", "Top source addresses", start, end))
    _, raw_sources = run(reader, f"SELECT src_ip, COUNT(*) FROM packetfilter WHERE {between} GROUP BY 1")
    assert dict(sources) == dict(raw_sources), "fewer than 50 sources an hour: every count exact"
    _, devices = run(reader, panel_sql("firewall", "Home devices whose traffic is blocked", start, end))
    _, raw_devices = run(
        reader,
        f"SELECT p.mac, COUNT(*), MAX(p.timestamp) FROM packetfilter AS p JOIN devices AS d ON d.mac = p.mac"
        f" WHERE p.{between} AND p.action IN ('DROP', 'REJECT') GROUP BY 1",
    )
    assert {row[2]: (row[3], row[4]) for row in devices} == {row[0]: (row[1], row[2]) for row in raw_devices}

    span = {"since": start.replace(tzinfo=None).isoformat(), "until": end.replace(tzinfo=None).isoformat()}
    headers = {"Authorization": f"Bearer {API_TOKEN}"}
    for field in ("dst_port", "mac", "src_ip", "dst_ip", "src_port", "in_interface"):
        response = httpx.get(
            f"{api_url}/api/v1/drops/top", params={**span, "by": field, "limit": 1000}, headers=headers
        )
        assert response.status_code == 200, response.text
        _, raw = run(
            reader, f"SELECT {field}, COUNT(*) FROM packetfilter WHERE {between} AND {field} IS NOT NULL GROUP BY 1"
        )
        assert {entry["value"]: entry["count"] for entry in response.json()["entries"]} == dict(raw), field


@pytest.mark.parametrize(("board", "title"), [("logs", "Messages by host"), ("home", "Messages over time")])
def test_message_charts_add_up_at_every_interval(
    reader: pymysql.connections.Connection, board: str, title: str
) -> None:
    """At 5-minute and hourly intervals (different counts tables), the chart holds every message of the range."""
    panel = next(panel for panel in LOADED[board]["panels"] if panel["title"] == title)
    since = f"FROM_UNIXTIME({int(START.timestamp())})"
    _, raw = run(reader, f"SELECT host, COUNT(*) FROM messages WHERE timestamp >= {since} GROUP BY 1")
    for interval in (300, 3600, 86400):
        sql = expand(
            panel["targets"][0]["rawSql"], START, END, interval=interval, definitions=variables_of(LOADED[board])
        )
        _, rows = run(reader, sql)
        totals: dict[str, int] = {}
        for _, host, value in rows:
            totals[host] = totals.get(host, 0) + int(value)
        assert totals == dict(raw), interval


@pytest.mark.parametrize(("first", "last"), RANGES)
def test_message_totals_equal_counting_raw_rows(reader: pymysql.connections.Connection, first: int, last: int) -> None:
    """The home page's message and warning totals, from hourly counts plus 5-minute edges, match the raw rows."""
    start = NOW.replace(tzinfo=UTC) - timedelta(minutes=first, seconds=30)
    end = NOW.replace(tzinfo=UTC) - timedelta(minutes=last, seconds=-30)
    # the counts hold 5-minute buckets, and a bucket counts when it starts inside the range
    since, until = (int(moment.timestamp()) for moment in (start, end))
    first, after = since + (-since) % 300, until - until % 300 + 300
    between = f"timestamp >= FROM_UNIXTIME({first}) AND timestamp < FROM_UNIXTIME({after})"
    for title, condition in (("Messages", "TRUE"), ("Warnings and errors", "severity <= 4")):
        _, rows = run(reader, panel_sql("home", title, start, end))
        _, raw = run(reader, f"SELECT COUNT(*) FROM messages WHERE {between} AND {condition}")
        assert int(rows[0][0]) == raw[0][0], title


def test_stats_rows_equal_counting_raw_rows(reader: pymysql.connections.Connection, api_url: str) -> None:
    """/stats adds up counts and daily totals over three days of logs: what COUNT(*), MIN and MAX give."""
    response = httpx.get(f"{api_url}/api/v1/stats", headers={"Authorization": f"Bearer {API_TOKEN}"})
    assert response.status_code == 200, response.text
    for table in ("messages", "packetfilter", "addrwatch", "dns_queries"):
        _, raw = run(reader, f"SELECT COUNT(*), MIN(timestamp), MAX(timestamp) FROM {table}")
        answer = response.json()["tables"][table]
        assert answer["rows"] == raw[0][0] > 0, table
        span = [datetime.fromisoformat(answer[end]).replace(tzinfo=None) for end in ("oldest", "newest")]
        assert span == list(raw[0][1:]), table


@pytest.mark.parametrize(("first", "last"), [(24 * 60, 0), (137, 13), (50, 20), (3 * 24 * 60 + 7, 0)])
def test_dns_panels_equal_counting_raw_rows(reader: pymysql.connections.Connection, first: int, last: int) -> None:
    """Queries, blocked share, devices and top domains, from daily and hourly counts plus raw edges, match raw rows."""
    start = (NOW - timedelta(minutes=first)).replace(tzinfo=UTC)
    end = (NOW - timedelta(minutes=last)).replace(tzinfo=UTC)
    span = (start.replace(tzinfo=None), end.replace(tzinfo=None))
    board = LOADED["dns"]

    def answer(title: str, values: dict | None = None, on: dict = board) -> list[tuple]:
        sql = next(p["targets"][0]["rawSql"] for p in on["panels"] if p["title"] == title)
        return run(reader, expand(sql, start, end, interval=300, values=values, definitions=variables_of(on)))[1]

    with reader.cursor() as cursor:
        cursor.execute(
            "SELECT d.name, COUNT(*), SUM(q.outcome = 'blocked') FROM dns_queries q JOIN dns_domains d"
            " ON d.id = q.domain_id WHERE q.timestamp >= %s AND q.timestamp <= %s GROUP BY 1",
            span,
        )
        raw = {name: (n, int(blocked)) for name, n, blocked in cursor.fetchall()}
    total = sum(n for n, _ in raw.values())
    assert total > 0
    assert answer("Queries")[0][0] == total
    assert answer("DNS queries", on=LOADED["home"])[0][0] == total
    assert answer("DNS queries blocked", on=LOADED["home"])[0][0] == sum(b for _, b in raw.values())
    blocked = sum(b for _, b in raw.values())
    assert answer("Blocked share")[0][0] == round(100 * blocked / total)
    assert dict(answer("Top domains")) == {name: n for name, (n, _) in raw.items()}
    assert dict(answer("Most blocked domains")) == {name: b for name, (_, b) in raw.items() if b}
    with reader.cursor() as cursor:
        cursor.execute(
            "SELECT d.name, COUNT(*) FROM dns_queries q JOIN dns_domains d ON d.id = q.domain_id"
            " WHERE q.timestamp >= %s AND q.timestamp <= %s AND q.device = 'a0:82:22:44:c6:1a' GROUP BY 1",
            span,
        )
        tv = dict(cursor.fetchall())
    chosen = answer("Top domains of the chosen devices", {"device": ["a0:82:22:44:c6:1a"]}, LOADED["devices"])
    assert dict(chosen) == tv
    assert "ads.example" not in tv, "the guest's queries are not the TV's"
