-- Counts for rows stored before the counts tables existed (an upgrade): every raw row older than
-- the oldest counted interval is counted once. Run again, it finds nothing older and adds nothing.
-- The interval the upgrade falls in may stay short by the rows stored just before it.
-- Stored times are UTC; so are the intervals.
SET time_zone = '+00:00';

INSERT INTO packetfilter_counts (timestamp, host, action, chain, direction, protocol, packets)
SELECT FROM_UNIXTIME(UNIX_TIMESTAMP(timestamp) DIV 300 * 300), host, action, chain, direction,
       COALESCE(protocol, ''), COUNT(*)
FROM packetfilter
WHERE timestamp < COALESCE((SELECT MIN(timestamp) FROM packetfilter_counts), '9999-12-31')
GROUP BY 1, 2, 3, 4, 5, 6
ON DUPLICATE KEY UPDATE packets = packets + VALUES(packets);

INSERT INTO messages_counts (timestamp, host, severity, program, messages)
SELECT FROM_UNIXTIME(UNIX_TIMESTAMP(timestamp) DIV 300 * 300), host, severity, COALESCE(program, ''), COUNT(*)
FROM messages
WHERE timestamp < COALESCE((SELECT MIN(timestamp) FROM messages_counts), '9999-12-31')
GROUP BY 1, 2, 3, 4
ON DUPLICATE KEY UPDATE messages = messages + VALUES(messages);

INSERT INTO messages_hourly (timestamp, host, severity, program, messages)
SELECT FROM_UNIXTIME(UNIX_TIMESTAMP(timestamp) DIV 3600 * 3600), host, severity, COALESCE(program, ''), COUNT(*)
FROM messages
WHERE timestamp < COALESCE((SELECT MIN(timestamp) FROM messages_hourly), '9999-12-31')
GROUP BY 1, 2, 3, 4
ON DUPLICATE KEY UPDATE messages = messages + VALUES(messages);

INSERT INTO packetfilter_ports (timestamp, host, action, chain, protocol, dst_port, packets)
SELECT FROM_UNIXTIME(UNIX_TIMESTAMP(timestamp) DIV 3600 * 3600), host, action, chain, COALESCE(protocol, ''),
       dst_port, COUNT(*)
FROM packetfilter
WHERE dst_port IS NOT NULL
  AND timestamp < COALESCE((SELECT MIN(timestamp) FROM packetfilter_ports), '9999-12-31')
GROUP BY 1, 2, 3, 4, 5, 6
ON DUPLICATE KEY UPDATE packets = packets + VALUES(packets);

INSERT INTO packetfilter_macs (timestamp, host, action, chain, mac, packets, last_seen)
SELECT FROM_UNIXTIME(UNIX_TIMESTAMP(timestamp) DIV 3600 * 3600), host, action, chain, mac, COUNT(*), MAX(timestamp)
FROM packetfilter
WHERE mac IS NOT NULL
  AND timestamp < COALESCE((SELECT MIN(timestamp) FROM packetfilter_macs), '9999-12-31')
GROUP BY 1, 2, 3, 4, 5
ON DUPLICATE KEY UPDATE packets = packets + VALUES(packets), last_seen = GREATEST(last_seen, VALUES(last_seen));

-- Rankings that do not add up to the counts (never ranked, or ranked before late rows came) are
-- marked pending for the ranker, in the hours the raw rows still cover whole (the first hour counts
-- only if retention has not begun to delete it), and so are days whose daily ranking differs from
-- their hours. Readers count marked hours and days from finer tables or raw rows meanwhile. Run
-- again, it marks only what still differs.
SET @siem_first_raw = (SELECT MIN(timestamp) FROM packetfilter);
SET @siem_first_counted = (SELECT MIN(timestamp) FROM packetfilter_counts);
SET @siem_whole_from = FROM_UNIXTIME(UNIX_TIMESTAMP(@siem_first_raw) DIV 3600 * 3600
    + IF(@siem_first_counted < FROM_UNIXTIME(UNIX_TIMESTAMP(@siem_first_raw) DIV 300 * 300), 3600, 0));

INSERT IGNORE INTO packetfilter_pending (kind, timestamp)
SELECT 'hour', counted.hour
FROM (
    SELECT FROM_UNIXTIME(UNIX_TIMESTAMP(timestamp) DIV 3600 * 3600) AS hour, SUM(packets) AS packets
    FROM packetfilter_counts WHERE timestamp >= @siem_whole_from GROUP BY 1
) AS counted
LEFT JOIN (
    SELECT timestamp AS hour, SUM(packets) AS packets
    FROM packetfilter_top WHERE field = 'src_ip' AND timestamp >= @siem_whole_from GROUP BY 1
) AS ranked ON ranked.hour = counted.hour
WHERE ranked.packets IS NULL OR ranked.packets <> counted.packets;

INSERT IGNORE INTO packetfilter_pending (kind, timestamp)
SELECT 'day', hourly.day
FROM (
    SELECT CAST(DATE(timestamp) AS DATETIME) AS day, SUM(packets) AS packets
    FROM packetfilter_top WHERE field = 'src_ip' AND timestamp >= @siem_whole_from GROUP BY 1
) AS hourly
LEFT JOIN (
    SELECT timestamp AS day, SUM(packets) AS packets FROM packetfilter_top_daily WHERE field = 'src_ip' GROUP BY 1
) AS daily ON daily.day = hourly.day
WHERE daily.packets IS NULL OR daily.packets <> hourly.packets;

-- Each day's totals and device counts from the finer counts, which hold every row (addrwatch, which
-- has none: from its rows). Set, not added: a run while the collector writes (it adds to the same
-- rows in the transaction that updates the counts) or a second run gives the same totals.
INSERT INTO daily_totals (timestamp, log_table, total)
SELECT FROM_UNIXTIME(UNIX_TIMESTAMP(timestamp) DIV 86400 * 86400), 'packetfilter', SUM(packets)
FROM packetfilter_counts GROUP BY 1
ON DUPLICATE KEY UPDATE total = VALUES(total);

INSERT INTO daily_totals (timestamp, log_table, total)
SELECT FROM_UNIXTIME(UNIX_TIMESTAMP(timestamp) DIV 86400 * 86400), 'messages', SUM(messages)
FROM messages_hourly GROUP BY 1
ON DUPLICATE KEY UPDATE total = VALUES(total);

INSERT INTO daily_totals (timestamp, log_table, total)
SELECT FROM_UNIXTIME(UNIX_TIMESTAMP(timestamp) DIV 86400 * 86400), 'addrwatch', COUNT(*)
FROM addrwatch GROUP BY 1
ON DUPLICATE KEY UPDATE total = VALUES(total);

INSERT INTO dns_device_daily (timestamp, host, device, outcome, queries)
SELECT FROM_UNIXTIME(UNIX_TIMESTAMP(timestamp) DIV 86400 * 86400), host, device, outcome, SUM(queries)
FROM dns_device_hourly GROUP BY 1, 2, 3, 4
ON DUPLICATE KEY UPDATE queries = VALUES(queries);

INSERT INTO daily_totals (timestamp, log_table, total)
SELECT FROM_UNIXTIME(UNIX_TIMESTAMP(timestamp) DIV 86400 * 86400), 'dns_queries', SUM(queries)
FROM dns_device_hourly GROUP BY 1
ON DUPLICATE KEY UPDATE total = VALUES(total);

-- dns_domain_daily from before it kept a row per domain and day (04-dns.sql set it aside as
-- dns_domain_daily_v1): each day the hourly counts hold is set from them, which also counts what the
-- collector stored while the old table was in the way; older days from the old table; then the old
-- table goes. Setting rather than adding, a run again (or interrupted) gives the same counts.
SET @siem_v1 = EXISTS (SELECT 1 FROM information_schema.tables WHERE table_schema = DATABASE()
                       AND table_name = 'dns_domain_daily_v1');
SET @siem_sql = IF(@siem_v1,
    'INSERT INTO dns_domain_daily (timestamp, host, domain_id, queries, answered, cached, local, blocked, nxdomain, nodata, failed, forwarded, unknown)
     SELECT FROM_UNIXTIME(UNIX_TIMESTAMP(timestamp) DIV 86400 * 86400), host, domain_id, SUM(queries), SUM(IF(outcome = ''answered'', queries, 0)), SUM(IF(outcome = ''cached'', queries, 0)), SUM(IF(outcome = ''local'', queries, 0)), SUM(IF(outcome = ''blocked'', queries, 0)), SUM(IF(outcome = ''nxdomain'', queries, 0)), SUM(IF(outcome = ''nodata'', queries, 0)), SUM(IF(outcome = ''failed'', queries, 0)), SUM(IF(outcome = ''forwarded'', queries, 0)), SUM(IF(outcome = ''unknown'', queries, 0))
     FROM dns_hourly GROUP BY 1, 2, 3
     ON DUPLICATE KEY UPDATE queries = VALUES(queries), answered = VALUES(answered), cached = VALUES(cached), local = VALUES(local), blocked = VALUES(blocked), nxdomain = VALUES(nxdomain), nodata = VALUES(nodata), failed = VALUES(failed), forwarded = VALUES(forwarded), unknown = VALUES(unknown)', 'DO 0');
PREPARE siem_statement FROM @siem_sql;
EXECUTE siem_statement;
SET @siem_sql = IF(@siem_v1,
    'INSERT INTO dns_domain_daily (timestamp, host, domain_id, queries, answered, cached, local, blocked, nxdomain, nodata, failed, forwarded, unknown)
     SELECT timestamp, host, domain_id, SUM(queries), SUM(IF(outcome = ''answered'', queries, 0)), SUM(IF(outcome = ''cached'', queries, 0)), SUM(IF(outcome = ''local'', queries, 0)), SUM(IF(outcome = ''blocked'', queries, 0)), SUM(IF(outcome = ''nxdomain'', queries, 0)), SUM(IF(outcome = ''nodata'', queries, 0)), SUM(IF(outcome = ''failed'', queries, 0)), SUM(IF(outcome = ''forwarded'', queries, 0)), SUM(IF(outcome = ''unknown'', queries, 0))
     FROM dns_domain_daily_v1
     WHERE timestamp < COALESCE((SELECT DATE(MIN(timestamp)) FROM dns_hourly), ''9999-12-31'')
     GROUP BY 1, 2, 3
     ON DUPLICATE KEY UPDATE queries = VALUES(queries), answered = VALUES(answered), cached = VALUES(cached), local = VALUES(local), blocked = VALUES(blocked), nxdomain = VALUES(nxdomain), nodata = VALUES(nodata), failed = VALUES(failed), forwarded = VALUES(forwarded), unknown = VALUES(unknown)', 'DO 0');
PREPARE siem_statement FROM @siem_sql;
EXECUTE siem_statement;
SET @siem_sql = IF(@siem_v1, 'DROP TABLE dns_domain_daily_v1', 'DO 0');
PREPARE siem_statement FROM @siem_sql;
EXECUTE siem_statement;
DEALLOCATE PREPARE siem_statement;
