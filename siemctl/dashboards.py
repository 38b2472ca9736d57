"""The provisioned dashboards, as code; `python -m siemctl dashboards` writes grafana/dashboards/*.json."""

import json
from pathlib import Path
from typing import Any

from common.store import DNS_DAY_TABLE, DNS_RAW_TABLE, NO_VALUE, REST, dns_count
from siemctl.panels import (
    ALL,
    DATASOURCE,
    barchart,
    dashboard,
    query_variable,
    stat,
    table,
    text_variable,
    timeseries,
    var_in,
)  # fmt: skip

OUTPUT = Path(__file__).resolve().parent.parent / "grafana" / "dashboards"
BLOCKED = "action IN ('DROP', 'REJECT')"
OUTSIDE_TOP = "(others, each outside a top 50)"  # the rankings' rest, shown as a bar of its own
SOURCE = f"IF(value = '{REST}', '{OUTSIDE_TOP}', value) AS src_ip"
PORT = "CONCAT(NULLIF(protocol, ''), '/', dst_port) AS dst_port"
DEVICE = "mac, SUM(packets) AS packets, MAX(last_seen) AS last_seen"
COUNTS = "packetfilter_counts"  # 5-minute rollup the collector keeps; charts over weeks read it
MESSAGE_COUNTS = "messages_counts"  # the same for messages, by host, severity and program
MESSAGE_HOURLY = "messages_hourly"  # and per hour, for charts over weeks
# Whole hours of the range, for the hourly rollups (packetfilter_ports, packetfilter_macs); the
# minutes before the first and after the last whole hour are counted from raw rows.
HOUR_FROM = "FROM_UNIXTIME(CEIL($__unixEpochFrom() / 3600) * 3600)"
HOUR_TO = "FROM_UNIXTIME(FLOOR($__unixEpochTo() / 3600) * 3600)"
# The rankings (packetfilter_top, packetfilter_top_daily) and the daily port and MAC sums are filled
# by the collector's ranker after the rows arrive; what it has not covered yet is marked in
# packetfilter_pending (collector/rankings.py). Whole days come from the daily tables unless marked
# (or holding a marked hour), the other whole hours from the hourly ones unless marked, and marked
# hours and the minutes at either edge from raw rows: exact at once, whatever order rows arrive in.
DAY_FROM = "FROM_UNIXTIME(CEIL($__unixEpochFrom() / 86400) * 86400)"
DAY_TO = "FROM_UNIXTIME(FLOOR($__unixEpochTo() / 86400) * 86400)"
PENDING_HOURS = "SELECT timestamp FROM packetfilter_pending WHERE kind = 'hour'"
PENDING_DAYS = (
    "SELECT timestamp FROM packetfilter_pending WHERE kind = 'day'"
    " UNION SELECT CAST(DATE(timestamp) AS DATETIME) FROM packetfilter_pending WHERE kind = 'hour'"
)
RANKED_DAYS = f"timestamp >= {DAY_FROM} AND timestamp < {DAY_TO} AND timestamp NOT IN ({PENDING_DAYS})"
# Whole hours before and after the whole days, as two ranges an index reads; with no whole day the two
# meet at DAY_FROM.
HOURS_BESIDE_DAYS = (
    f"((timestamp >= {HOUR_FROM} AND timestamp < LEAST({DAY_FROM}, {HOUR_TO}))"
    f" OR (timestamp >= GREATEST({DAY_FROM}, {DAY_TO}) AND timestamp < {HOUR_TO}))"
)


def minutes_outside(hours_to: str) -> str:
    """The range's minutes before HOUR_FROM and from `hours_to` on: what raw rows must count."""
    return f"$__timeFilter(timestamp) AND (timestamp < {HOUR_FROM} OR timestamp >= {hours_to})"


def pending_hours_raw(columns: str, where: str) -> str:
    """Raw rows of the marked whole hours of the range, ungrouped: what no ranking covers yet.

    The marks are read first and each one's hour by the time key (left to itself, MariaDB joins a
    month of rows to the marks: 23 s for one marked hour of a 20M-row table).
    """
    return (
        f"SELECT {columns} FROM packetfilter_pending AS pending STRAIGHT_JOIN packetfilter FORCE INDEX (PRIMARY)"
        " ON pending.kind = 'hour'"
        " AND packetfilter.timestamp >= pending.timestamp"
        " AND packetfilter.timestamp < FROM_UNIXTIME(UNIX_TIMESTAMP(pending.timestamp) + 3600)"
        f" WHERE pending.timestamp >= {HOUR_FROM} AND pending.timestamp < {HOUR_TO} AND {where}"
    )


HOURS_OF_DAY = f"JSON_TABLE('[{','.join(map(str, range(24)))}]', '$[*]' COLUMNS (h INT PATH '$')) AS hours"


def hourly_parts(select: str, table: str, where: str, *, ranked: bool) -> list[str]:
    """An hourly table's SELECTs for the whole hours no ready day covers, each grouped by its first column.

    The hours beside the whole days, and the hours of marked whole days (a join on the marks, so only
    those days' rows are read: each of the 24 hours by key; a join on the day's range reads the whole
    table, 0.3-0.4 s for a month); a ranking table also skips its marked hours, which raw rows count.
    """
    skip = f" AND {table}.timestamp NOT IN ({PENDING_HOURS})" if ranked else ""
    return [
        f"{select} FROM {table} WHERE {HOURS_BESIDE_DAYS} AND {where}{skip} GROUP BY 1",
        f"{select} FROM ({PENDING_DAYS}) AS pending_day STRAIGHT_JOIN {HOURS_OF_DAY} STRAIGHT_JOIN {table}"
        f" ON {table}.timestamp = pending_day.timestamp + INTERVAL hours.h HOUR"
        f" WHERE pending_day.timestamp >= {DAY_FROM} AND pending_day.timestamp < {DAY_TO} AND {where}{skip} GROUP BY 1",
    ]


EDGE_MINUTES = minutes_outside(HOUR_TO)  # raw rows beside the whole hours
COUNTS_RESOLUTION = "5m"


def counted_messages(metric: str, where: str) -> str:
    """Messages per interval from the hourly counts at intervals of an hour or more, else the 5-minute ones.

    Both branches are in the query; the one whose constant condition is false is never executed.
    """
    return " UNION ALL ".join(
        f"SELECT $__timeGroupAlias(timestamp, $__interval), {metric} AS metric, SUM(messages) AS value"
        f" FROM {table} WHERE $__interval_ms {test} 3600000 AND {where} GROUP BY 1, 2"
        for table, test in ((MESSAGE_HOURLY, ">="), (MESSAGE_COUNTS, "<"))
    )


def counted_total(alias: str, where: str) -> str:
    """Messages in the range: whole hours from the hourly counts, the 5-minute counts for the edges."""
    return (
        f"SELECT COALESCE(SUM(n), 0) AS {alias} FROM ("
        f"SELECT SUM(messages) AS n FROM {MESSAGE_HOURLY} WHERE timestamp >= {HOUR_FROM} AND timestamp < {HOUR_TO}"
        f" AND {where} UNION ALL SELECT SUM(messages) FROM {MESSAGE_COUNTS} WHERE $__timeFilter(timestamp)"
        f" AND (timestamp < {HOUR_FROM} OR timestamp >= {HOUR_TO}) AND {where}) AS counted"
    )


DNS_NAME = "COALESCE(v.name, v.hostname, x.device)"  # a device's label: its name, DHCP hostname, else MAC or address
DNS_LABEL = f"CONCAT({DNS_NAME}, COALESCE(CONCAT(' (', v.vendor, ')'), ''))"  # the same with the vendor, for bars


def dns_union(keys: list[tuple[str, str, str]], where: str, levels: list[tuple[str, str]]) -> str:
    """One SELECT per (table, time condition) of `levels`, each giving the keys, queries (n) and blocked (b).

    `keys` are (expression on the counts tables, the same on dns_queries, alias); the raw
    queries are counted, the counts tables summed.
    """
    group = ", ".join(str(i) for i in range(1, len(keys) + 1))
    parts = []
    for source, span in levels:
        raw = source == DNS_RAW_TABLE
        columns = ", ".join(f"{r if raw else h} AS {alias}" for h, r, alias in keys)
        parts.append(f"SELECT {columns}, {dns_count(source)} FROM {source} WHERE {span} AND {where} GROUP BY {group}")
    return " UNION ALL ".join(parts)


def dns_counted(keys: list[tuple[str, str, str]], where: str, levels: list[tuple[str, str]] | None = None) -> str:
    """Queries (n) and blocked queries (b) per key, from the counts for whole hours (or days) and raw edges.

    The collector writes the counts in the same transaction as the queries, so the sum is the raw
    rows' answer at once. The default levels are per device and day, then hour: totals and devices.
    """
    aliases = ", ".join(alias for *_, alias in keys)
    union = dns_union(keys, where, levels or DEVICE_LEVELS)
    return f"SELECT {aliases}, SUM(n) AS n, SUM(b) AS b FROM ({union}) AS parts GROUP BY {aliases}"


WHOLE_HOURS = f"timestamp >= {HOUR_FROM} AND timestamp < {HOUR_TO}"
WHOLE_DAYS = f"timestamp >= {DAY_FROM} AND timestamp < {DAY_TO}"
# Totals and devices: whole days per device, the hours beside them, raw minutes at the edges; per hour for charts.
DEVICE_LEVELS = [
    ("dns_device_daily", WHOLE_DAYS),
    ("dns_device_hourly", HOURS_BESIDE_DAYS),
    ("dns_queries", EDGE_MINUTES),
]
DEVICE_HOUR_LEVELS = [("dns_device_hourly", WHOLE_HOURS), ("dns_queries", EDGE_MINUTES)]
# Top domains of every device: whole days per domain, hours beside them, raw minutes at the edges; of some
# devices (the daily counts have no device column): whole hours per device and domain, raw edges.
DOMAIN_LEVELS = [(DNS_DAY_TABLE, WHOLE_DAYS), ("dns_hourly", HOURS_BESIDE_DAYS), ("dns_queries", EDGE_MINUTES)]
DEVICE_DOMAIN_LEVELS = [("dns_hourly", WHOLE_HOURS), ("dns_queries", EDGE_MINUTES)]


def dns_domains_counted(where: str) -> str:
    """(domain_id, n, b) for the range: from the daily counts with every device selected, else the hourly ones."""
    everyone = f"({ALL} IN ($device))"
    union = (
        dns_union([DNS_DOMAIN], f"{everyone} AND {where}", DOMAIN_LEVELS) + " UNION ALL "
        + dns_union([DNS_DOMAIN], f"NOT {everyone} AND device IN ($device) AND {where}", DEVICE_DOMAIN_LEVELS)
    )  # fmt: skip
    return f"SELECT domain_id, SUM(n) AS n, SUM(b) AS b FROM ({union}) AS parts GROUP BY domain_id"


DNS_HOUR = ("timestamp", "FROM_UNIXTIME(UNIX_TIMESTAMP(timestamp) DIV 3600 * 3600)", "hour")
DNS_DOMAIN = ("domain_id", "domain_id", "domain_id")
DNS_DEVICE = ("device", "device", "device")
DNS_OUTCOME = ("outcome", "outcome", "outcome")


def dns_top_domains(title: str, where: str, description: str, *, blocked: bool = False, width: int = 8) -> dict:
    """A bar per domain: the most queried (or most blocked) in the range, of the devices selected."""
    measure = "b" if blocked else "n"
    return barchart(
        title,
        f"SELECT d.name AS domain, CAST(r.{measure} AS SIGNED) AS queries FROM ({dns_domains_counted(where)})"
        f" AS r JOIN dns_domains AS d ON d.id = r.domain_id WHERE r.{measure} > 0 ORDER BY r.{measure} DESC, d.name"
        " LIMIT 15",
        description,
        width=width,
    )


def dns() -> dict[str, Any]:
    """What every device asks the resolver: queries by outcome, top domains and devices, blocked share, new domains."""
    hosts = var_in("host", "host")
    where = f"{hosts} AND {var_in('device', 'device')}"
    variables = [
        query_variable(
            "host", "Resolver", "SELECT DISTINCT host FROM dns_device_hourly WHERE $__timeFilter(timestamp) ORDER BY 1"
        ),
        device_variable(),
    ]
    total = dns_counted([("'all'", "'all'", "everything")], where)
    panels = [
        stat("Queries", f"SELECT CAST(COALESCE(SUM(n), 0) AS SIGNED) AS queries FROM ({total}) AS t"),
        stat(
            "Blocked share",
            f"SELECT CAST(ROUND(100 * COALESCE(SUM(b), 0) / GREATEST(COALESCE(SUM(n), 0), 1)) AS SIGNED)"
            f" AS blocked_percent FROM ({total}) AS t",
            "Percent of the queries a block list answered (dnsmasq config or hosts lists, Pi-hole, unbound).",
        ),
        stat(
            "Devices asking",
            f"SELECT COUNT(*) AS devices FROM ({dns_counted([DNS_DEVICE], where)}) AS t",
            "Devices (or addresses no inventory entry names) that sent a query in the range.",
        ),
        stat(
            "New domains",
            "SELECT COUNT(*) AS new_domains FROM dns_device_domains WHERE $__timeFilter(first_seen)"
            f" AND {var_in('device', 'device')}",
            "Device and domain pairs seen for the first time in the range.",
        ),
        timeseries(
            "Queries by outcome",
            "SELECT $__timeGroupAlias(hour, '1h'), outcome AS metric, CAST(SUM(n) AS SIGNED) AS value"
            f" FROM ({dns_counted([DNS_HOUR, DNS_OUTCOME], where, DEVICE_HOUR_LEVELS)}) AS t GROUP BY 1, 2 ORDER BY 1",
            "Queries per hour: answered upstream, from the cache, local names, blocked, no such name, ...",
            width=24,
            height=7,
        ),
        dns_top_domains("Top domains", hosts, "The most queried domains in the range."),
        barchart(
            "Top devices",
            f"SELECT {DNS_LABEL} AS device, CAST(x.n AS SIGNED) AS queries FROM ({dns_counted([DNS_DEVICE], where)})"
            " AS x LEFT JOIN devices AS v ON v.mac = x.device ORDER BY x.n DESC, x.device LIMIT 15",
            "The devices sending most queries, by name where the inventory has one.",
        ),
        dns_top_domains("Most blocked domains", hosts, "Domains a block list answered most often.", blocked=True),
        table(
            "Newest domains",
            f"SELECT x.first_seen AS time, {DNS_NAME} AS device, v.vendor, d.name AS domain,"
            " CAST(x.queries AS SIGNED) AS queries, CAST(x.blocked AS SIGNED) AS blocked,"
            " x.last_seen FROM dns_device_domains AS x JOIN dns_domains AS d ON d.id = x.domain_id"
            " LEFT JOIN devices AS v ON v.mac = x.device"
            f" WHERE $__timeFilter(x.first_seen) AND {var_in('x.device', 'device')}"
            " ORDER BY x.first_seen DESC LIMIT 200",
            "Domains each device asked for the first time in the range (its list reaches back a year).",
            width=24,
        ),
        table(
            "Latest queries",
            f"SELECT x.timestamp AS time, {DNS_NAME} AS device, x.client, x.qtype, d.name AS domain, x.outcome,"
            " x.blocked_by, x.answer FROM dns_queries AS x JOIN dns_domains AS d ON d.id = x.domain_id"
            " LEFT JOIN devices AS v ON v.mac = x.device"
            f" WHERE $__timeFilter(x.timestamp) AND {var_in('x.host', 'host')} AND {var_in('x.device', 'device')}"
            " ORDER BY x.timestamp DESC LIMIT 200",
            "The newest queries with what became of them.",
            width=24,
        ),
    ]
    return dashboard("siem-dns", "DNS", panels, variables)


def device_variable() -> dict[str, Any]:
    """Devices that asked something in the range, shown by name, valued by MAC (or address)."""
    return query_variable(
        "device",
        "Device",
        f"SELECT x.device AS __value, {DNS_NAME} AS __text FROM (SELECT DISTINCT device FROM dns_device_hourly"
        " WHERE $__timeFilter(timestamp)) AS x LEFT JOIN devices AS v ON v.mac = x.device ORDER BY 2",
    )


def firewall() -> dict[str, Any]:
    """Drops and rejects: over time, by direction, top talkers, and the home devices being blocked."""
    filters = f"{var_in('host', 'host')} AND {var_in('action', 'action')} AND {var_in('chain', 'chain')}"
    ranked_sources = f"field = 'src_ip' AND {filters} AND value <> '{NO_VALUE}'"
    blocked_here = f"{BLOCKED} AND {var_in('host', 'host')}"
    where = f"$__timeFilter(timestamp) AND {filters}"
    variables = [
        query_variable(name, label, f"SELECT DISTINCT {name} FROM {COUNTS} WHERE $__timeFilter(timestamp) ORDER BY 1")
        for name, label in (("host", "Router"), ("action", "Action"), ("chain", "Chain / zone"))
    ]

    def over_time(title: str, metric: str, description: str) -> dict:
        sql = (
            f"SELECT $__timeGroupAlias(timestamp, $__interval), {metric} AS metric, SUM(packets) AS value"
            f" FROM {COUNTS} WHERE {where} GROUP BY 1, 2 ORDER BY 1"
        )
        return timeseries(title, sql, description, width=8, min_interval=COUNTS_RESOLUTION)

    panels = [
        over_time("Packets by action", "action", "Logged packets per interval, one colour per verdict."),
        over_time("By chain or zone", "chain", "The zone (fw4) or chain (A=/C= prefix) that logged them."),
        over_time("Inbound, outbound, forwarded", "direction", "From IN=/OUT=: in = to the router, out = from it."),
        barchart(
            "Top source addresses",
            "SELECT src_ip, CAST(SUM(packets) AS SIGNED) AS packets FROM ("
            + " UNION ALL ".join(
                [
                    f"SELECT {SOURCE}, SUM(packets) AS packets FROM packetfilter_top_daily"
                    f" WHERE {RANKED_DAYS} AND {ranked_sources} GROUP BY 1",
                    *hourly_parts(
                        f"SELECT {SOURCE}, SUM(packets) AS packets", "packetfilter_top", ranked_sources, ranked=True
                    ),
                ]
            )
            # raw rows (edge minutes, marked hours: mostly distinct addresses) go ungrouped into the outer GROUP BY
            + " UNION ALL SELECT src_ip, 1 FROM packetfilter"
            f" WHERE {EDGE_MINUTES} AND {filters} AND src_ip IS NOT NULL"
            + " UNION ALL "
            + pending_hours_raw("src_ip, 1", f"{filters} AND src_ip IS NOT NULL")
            + ") AS ranked GROUP BY 1 ORDER BY packets DESC LIMIT 10",
            "Who sends the most logged packets. Each finished day and hour keeps its 50 most frequent"
            f" sources; the bar '{OUTSIDE_TOP}' holds the packets of all the others, and while it shows, a"
            " source's count may be short by what it sent in days or hours where it was not in the top 50.",
        ),
        barchart(
            "Top destination ports",
            "SELECT dst_port, CAST(SUM(packets) AS SIGNED) AS packets FROM ("
            + " UNION ALL ".join(
                [
                    f"SELECT {PORT}, SUM(packets) AS packets FROM packetfilter_ports_daily"
                    f" WHERE {RANKED_DAYS} AND {filters} GROUP BY 1",
                    *hourly_parts(
                        f"SELECT {PORT}, SUM(packets) AS packets", "packetfilter_ports", filters, ranked=False
                    ),
                ]
            )
            + " UNION ALL SELECT CONCAT(protocol, '/', dst_port), COUNT(*) FROM packetfilter"
            f" WHERE {EDGE_MINUTES} AND {filters} AND dst_port IS NOT NULL GROUP BY 1"
            ") AS ranked GROUP BY 1 ORDER BY packets DESC LIMIT 10",
            "What they are trying to reach.",
        ),
        barchart(
            "Protocols",
            f"SELECT protocol, CAST(SUM(packets) AS SIGNED) AS packets FROM {COUNTS} WHERE {where} AND protocol <> ''"
            " GROUP BY 1 ORDER BY packets DESC LIMIT 10",
            "Logged packets per protocol.",
        ),
        table(
            "Home devices whose traffic is blocked",
            "SELECT COALESCE(d.name, d.hostname, t.mac) AS device, d.vendor, t.mac,"
            " CAST(SUM(t.packets) AS SIGNED) AS blocked,"
            " MAX(t.last_seen) AS last_blocked FROM ("
            + " UNION ALL ".join(
                [
                    f"SELECT {DEVICE} FROM packetfilter_macs_daily WHERE {RANKED_DAYS} AND {blocked_here} GROUP BY 1",
                    *hourly_parts(f"SELECT {DEVICE}", "packetfilter_macs", blocked_here, ranked=False),
                ]
            )
            + " UNION ALL SELECT mac, COUNT(*), MAX(timestamp) FROM packetfilter"
            f" WHERE {EDGE_MINUTES} AND {BLOCKED} AND {var_in('host', 'host')} AND mac IS NOT NULL GROUP BY mac"
            ") AS t JOIN devices AS d ON d.mac = t.mac"
            " GROUP BY t.mac, d.name, d.hostname, d.vendor ORDER BY blocked DESC LIMIT 20",
            "Devices from the inventory (by MAC) whose packets were dropped or rejected.",
            width=24,
            height=8,
        ),
        table(
            "Latest drops and rejects",
            "SELECT timestamp AS time, host, action, chain, direction, src_ip, CAST(src_port AS SIGNED) AS src_port,"
            " dst_ip, CAST(dst_port AS SIGNED) AS dst_port,"
            f" protocol, in_interface, mac FROM packetfilter WHERE {where} AND {BLOCKED}"
            " ORDER BY timestamp DESC LIMIT 100",
            "The newest dropped or rejected packets matching the filters.",
            width=24,
        ),
    ]
    return dashboard("siem-firewall", "Firewall", panels, variables)


def devices() -> dict[str, Any]:
    """The inventory, new devices over time (also as annotations), and recent device events."""
    new_events = "event = 'new device' AND $__timeFilter(timestamp)"
    annotation_sql = (
        "SELECT UNIX_TIMESTAMP(timestamp) AS time, CONCAT('New device ', mac, COALESCE(CONCAT(' at ', ip), ''))"
        f" AS text, 'new device' AS tags FROM device_events WHERE {new_events}"
    )
    annotation = {
        "datasource": DATASOURCE,
        "enable": True,
        "iconColor": "orange",
        "name": "New devices",
        "rawQuery": annotation_sql,
        "target": {"format": "table", "rawQuery": True, "rawSql": annotation_sql, "refId": "Anno"},
    }
    panels = [
        stat("Devices", "SELECT COUNT(*) AS devices FROM devices", "Every MAC ever seen."),
        stat("New in this range", "SELECT COUNT(*) AS new_devices FROM devices WHERE $__timeFilter(first_seen)"),
        stat(
            "Not marked known",
            "SELECT COUNT(*) AS unknown FROM devices WHERE known = FALSE",
            "Mark devices known through the API; they then never alert.",
        ),
        stat(
            "Randomised MACs",
            "SELECT COUNT(*) AS randomised FROM devices WHERE randomised = TRUE",
            "Phones and tablets rotate locally administered MACs.",
        ),
        timeseries(
            "New devices",
            "SELECT $__timeGroupAlias(timestamp, '1h'), 'new devices' AS metric, COUNT(*) AS value"
            f" FROM device_events WHERE {new_events} GROUP BY 1, 2 ORDER BY 1",
            "Devices seen for the first time, per hour.",
            width=24,
            height=6,
        ),
        table(
            "Inventory",
            "SELECT COALESCE(name, hostname, mac) AS device, vendor, hostname, last_ipv4 AS ipv4, last_ipv6 AS ipv6,"
            " mac, first_seen, last_seen, randomised, known FROM devices ORDER BY last_seen DESC LIMIT 500",
            "Every device, most recently seen first.",
            width=24,
            height=12,
        ),
        table(
            "Recent device events",
            "SELECT e.timestamp AS time, e.event, COALESCE(d.name, d.hostname, e.mac) AS device, e.mac, e.ip,"
            " e.old_value, e.new_value, e.notice FROM device_events AS e LEFT JOIN devices AS d ON d.mac = e.mac"
            " WHERE $__timeFilter(e.timestamp) ORDER BY e.timestamp DESC, e.id DESC LIMIT 200",
            "New devices, address and hostname changes; `notice` says whether a notification went out.",
            width=24,
        ),
        dns_top_domains("Top domains of the chosen devices", "TRUE", "What the devices picked above look up."),
        dns_top_domains(
            "Blocked queries of the chosen devices",
            "TRUE",
            "Domains a block list answered for the devices picked above.",
            blocked=True,
        ),
        table(
            "Domains new this week",
            f"SELECT x.first_seen AS time, {DNS_NAME} AS device, d.name AS domain,"
            " CAST(x.queries AS SIGNED) AS queries, CAST(x.blocked AS SIGNED) AS blocked"
            " FROM dns_device_domains AS x JOIN dns_domains AS d ON d.id = x.domain_id"
            " LEFT JOIN devices AS v ON v.mac = x.device"
            f" WHERE x.first_seen >= FROM_UNIXTIME($__unixEpochTo() - 604800) AND {var_in('x.device', 'device')}"
            " ORDER BY x.first_seen DESC LIMIT 200",
            "Domains the devices picked above asked for the first time in the 7 days up to the range's end.",
            width=8,
        ),
    ]
    return dashboard("siem-devices", "Devices", panels, [device_variable()], annotations=[annotation])


SEVERITY_NAME = "ELT(severity + 1, 'emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug')"


# A text filter reads messages one by one (LIKE '%text%'); over weeks that is millions of them. The
# Logs panels therefore search the last SEARCH_HOURS of the range and say so when that cut it short.
# The bound is a constant, so MariaDB reads only that stretch of the time-ordered key.
SEARCH_HOURS = 6
SINCE = f"GREATEST($__timeFrom(), FROM_UNIXTIME($__unixEpochTo() - {SEARCH_HOURS * 3600}))"
CUT = f"FROM_UNIXTIME($__unixEpochTo() - {SEARCH_HOURS * 3600}) > $__timeFrom()"  # the range is longer
STOPPED_AT = f"DATE_FORMAT({SINCE}, '%Y-%m-%d %H:%i')"
SEARCHED_FROM = f"CONCAT(' (searched from ', {STOPPED_AT}, ' UTC)')"
FIVE_MINUTES_FROM = "FROM_UNIXTIME($__unixEpochFrom() DIV 300 * 300)"  # the 5-minute interval holding the start


def logs() -> dict[str, Any]:
    """Messages per host, severity and program, the recent warnings, and a text search."""
    where = (
        f"$__timeFilter(timestamp) AND {var_in('host', 'host')}"
        " AND message LIKE CONCAT('%', ${filter:sqlstring}, '%')"
    )
    variables = [
        query_variable(
            "host", "Host", f"SELECT DISTINCT host FROM {MESSAGE_COUNTS} WHERE $__timeFilter(timestamp) ORDER BY 1"
        ),
        text_variable(
            "filter",
            "Text contains",
            f"Searches the last {SEARCH_HOURS} hours of the time range; the panels say when that cut it short."
            " Narrow or move the range to search older messages, or page through them with the API.",
        ),
    ]

    def over_time(title: str, metric: str) -> dict:
        # Without a text filter the counts answer; with one, only the messages can, from where the search starts.
        counted = f"$__timeFilter(timestamp) AND {var_in('host', 'host')} AND ${{filter:sqlstring}} = ''"
        sql = (
            counted_messages(metric, counted) + " UNION ALL SELECT $__timeGroupAlias(timestamp, $__interval),"
            f" CONCAT({metric}, IF({CUT}, {SEARCHED_FROM}, '')) AS metric, COUNT(*) AS value FROM messages"
            f" WHERE {where} AND timestamp >= {SINCE} AND ${{filter:sqlstring}} <> '' GROUP BY 1, 2 ORDER BY 1"
        )
        return timeseries(title, sql, width=8, min_interval=COUNTS_RESOLUTION)

    columns = f"timestamp AS time, host, program, {SEVERITY_NAME} AS severity, message"

    def newest(condition: str, limit: int) -> str:
        # Without a text filter, the newest `limit` 5-minute intervals whose counts match hold the page, so a
        # rare host or severity is found without an index on it. With one, the search reads from SINCE; a
        # last row says where it stopped: shown only when what it searched held fewer than a page.
        newest_counts = (
            f"SELECT timestamp AS start, SUM(messages) AS n FROM {MESSAGE_COUNTS}"
            f" WHERE timestamp >= {FIVE_MINUTES_FROM} AND timestamp <= $__timeTo() AND {var_in('host', 'host')}"
            f"{condition} AND ${{filter:sqlstring}} = ''"
            f" GROUP BY timestamp ORDER BY timestamp DESC LIMIT {limit}"
        )
        intervals = (  # of those, the newest that hold `limit` matching messages
            f"SELECT start FROM (SELECT start, SUM(n) OVER (ORDER BY start DESC) - n AS newer FROM ({newest_counts})"
            f" AS newest) AS held WHERE newer < {limit}"
        )
        return (
            f"SELECT time, host, program, severity, message FROM ((SELECT {columns}, id FROM ({intervals})"
            # the range's bounds through the interval's, so that each interval is read by the time key
            " AS counted STRAIGHT_JOIN messages FORCE INDEX (PRIMARY)"
            " ON messages.timestamp >= GREATEST(counted.start, $__timeFrom())"
            " AND messages.timestamp < FROM_UNIXTIME(UNIX_TIMESTAMP(counted.start) + 300)"
            " AND messages.timestamp <= GREATEST(counted.start, $__timeTo())"
            f" WHERE {var_in('host', 'host')}{condition} ORDER BY timestamp DESC, id DESC LIMIT {limit})"
            f" UNION ALL (SELECT {columns}, id FROM messages WHERE {where}{condition} AND timestamp >= {SINCE}"
            f" AND ${{filter:sqlstring}} <> '' ORDER BY timestamp DESC, id DESC LIMIT {limit})"
            f" UNION ALL (SELECT {SINCE}, '', '', '',"
            " CONCAT('Older messages of the range not searched: the text search stopped at ',"
            f" {STOPPED_AT}, ' UTC. Narrow or move the time range to search them.'), 0"
            f" FROM DUAL WHERE ${{filter:sqlstring}} <> '' AND {CUT})) AS shown ORDER BY time DESC, id DESC"
            f" LIMIT {limit}"
        )

    panels = [
        over_time("Messages by host", "host"),
        over_time("By severity", SEVERITY_NAME),
        over_time("By program", "COALESCE(NULLIF(program, ''), '-')"),
        table(
            "Warnings and errors",
            newest(" AND severity <= 4", 100),
            "Severity warning or worse.",
            width=24,
            height=8,
        ),
        table(
            "Messages",
            newest("", 200),
            "Newest first; narrow with the Host and Text filters.",
            width=24,
            height=12,
        ),
    ]
    return dashboard("siem-logs", "Logs", panels, variables)


def home() -> dict[str, Any]:
    """Headline numbers for the chosen range (24 h by default) with links to the other dashboards."""
    panels = [
        stat(
            "Messages",
            counted_total("messages", "TRUE"),
            link="/d/siem-logs",
        ),
        stat(
            "Dropped or rejected",
            f"SELECT COALESCE(SUM(packets), 0) AS blocked FROM {COUNTS} WHERE $__timeFilter(timestamp) AND {BLOCKED}",
            link="/d/siem-firewall",
        ),
        stat(
            "New devices",
            "SELECT COUNT(*) AS new_devices FROM device_events WHERE event = 'new device' AND $__timeFilter(timestamp)",
            link="/d/siem-devices",
        ),
        stat(
            "Warnings and errors",
            counted_total("warnings", "severity <= 4"),
            link="/d/siem-logs",
        ),
        timeseries(
            "Blocked packets",
            f"SELECT $__timeGroupAlias(timestamp, $__interval), action AS metric, SUM(packets) AS value FROM {COUNTS}"
            f" WHERE $__timeFilter(timestamp) AND {BLOCKED} GROUP BY 1, 2 ORDER BY 1",
            min_interval=COUNTS_RESOLUTION,
        ),
        timeseries(
            "Messages over time",
            counted_messages("host", "$__timeFilter(timestamp)") + " ORDER BY 1",
            min_interval=COUNTS_RESOLUTION,
        ),
        stat("Devices known", "SELECT COUNT(*) AS devices FROM devices", link="/d/siem-devices"),
        since(
            "Logs kept since",
            "messages",
            "The oldest message still stored: how far back the dashboards can look.",
        ),
        since("Firewall logs since", "packetfilter", "The oldest firewall line still stored."),
        stat("Database size", "SELECT SUM(disk_bytes) AS size FROM disk_usage"),
    ]
    panels[-1]["fieldConfig"]["defaults"]["unit"] = "bytes"
    total = dns_counted([("'all'", "'all'", "everything")], "TRUE")
    panels += [
        stat(
            "DNS queries",
            f"SELECT CAST(COALESCE(SUM(n), 0) AS SIGNED) AS queries FROM ({total}) AS t",
            "What your devices looked up, from the router's query log.",
            width=12,
            link="/d/siem-dns",
        ),
        stat(
            "DNS queries blocked",
            f"SELECT CAST(COALESCE(SUM(b), 0) AS SIGNED) AS blocked FROM ({total}) AS t",
            "Answered by a block list (dnsmasq config or hosts lists, Pi-hole, unbound).",
            width=12,
            link="/d/siem-dns",
        ),
    ]
    return dashboard("siem-home", "Home", panels)


def since(title: str, table: str, description: str) -> dict:
    """A stat showing a table's oldest row as a date: a number (epoch ms) the stat displays with a date unit.

    A stat shows numeric fields only while reduceOptions.fields is empty, so text
    from DATE_FORMAT would show "No data".
    """
    panel = stat(
        title, f"SELECT CAST(UNIX_TIMESTAMP(MIN(timestamp)) * 1000 AS SIGNED) AS oldest FROM {table}", description
    )
    panel["fieldConfig"]["defaults"]["unit"] = "dateTimeAsIso"
    return panel


DASHBOARDS = {"home": home, "firewall": firewall, "devices": devices, "dns": dns, "logs": logs}


def render(build: Any) -> str:
    """Sorted, indented JSON: diff-friendly and byte-for-byte reproducible."""
    return json.dumps(build(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write(directory: Path = OUTPUT) -> list[Path]:
    """Write every dashboard; return the files."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, build in DASHBOARDS.items():
        path = directory / f"{name}.json"
        path.write_text(render(build))
        written.append(path)
    return written
