-- What each device asks the router's resolver (dnsmasq, Pi-hole, unbound query logs).
-- The most private data the appliance holds: kept 30 days raw, a year as each device's
-- list of domains (SIEM_RETENTION_DNS_*). Domains are stored once, in dns_domains.

-- Every domain name seen, lower case, without the trailing dot.
CREATE TABLE IF NOT EXISTS dns_domains (
    id   INT UNSIGNED NOT NULL AUTO_INCREMENT,
    name VARCHAR(253) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY dns_domains_name (name)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci PAGE_COMPRESSED = 1 PAGE_COMPRESSION_LEVEL = 1;

-- One row per query, its log lines joined: the query, forwarded, the reply or what answered instead.
CREATE TABLE IF NOT EXISTS dns_queries (
    id         BIGINT UNSIGNED NOT NULL COMMENT 'numbered by the collector (row_ids)',
    timestamp  DATETIME(3)     NOT NULL COMMENT 'the query line''s time, UTC',
    host       VARCHAR(255)    NOT NULL COMMENT 'the router or resolver that logged it',
    client     VARCHAR(45)     NOT NULL COMMENT 'the asking address',
    device     VARCHAR(45)     NOT NULL COMMENT 'the MAC holding that address then (the inventory), else the address',
    qtype      VARCHAR(10)     NOT NULL COMMENT 'A, AAAA, HTTPS, PTR, ...',
    domain_id  INT UNSIGNED    NOT NULL COMMENT 'dns_domains.id',
    outcome    VARCHAR(10)     NOT NULL COMMENT 'answered, cached, local, blocked, nxdomain, nodata, failed, forwarded, unknown',
    blocked_by VARCHAR(16)     NULL     COMMENT 'config, hosts, gravity, regex, exact, special, local-zone',
    upstream   VARCHAR(45)     NULL     COMMENT 'the server it was forwarded to',
    answer     VARCHAR(45)     NULL     COMMENT 'the first address of the answer',
    PRIMARY KEY (timestamp, id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci
  PAGE_COMPRESSED = 1 PAGE_COMPRESSION_LEVEL = 1
  PARTITION BY RANGE COLUMNS (timestamp) (PARTITION p_future VALUES LESS THAN (MAXVALUE));

-- Queries per hour by router, device, domain and outcome, written in the same transaction
-- as the queries: every hour is exact as soon as its rows are stored.
CREATE TABLE IF NOT EXISTS dns_hourly (
    timestamp DATETIME     NOT NULL COMMENT 'start of the hour, UTC',
    host      VARCHAR(255) NOT NULL,
    device    VARCHAR(45)  NOT NULL,
    domain_id INT UNSIGNED NOT NULL,
    outcome   VARCHAR(10)  NOT NULL,
    queries   INT UNSIGNED NOT NULL,
    PRIMARY KEY (timestamp, host, device, domain_id, outcome),
    KEY dns_hourly_device (device, timestamp),
    KEY dns_hourly_domain (domain_id, timestamp) COMMENT 'which devices asked for a domain: a month in ms, not a second'
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci PAGE_COMPRESSED = 1 PAGE_COMPRESSION_LEVEL = 1;

-- The same per hour without the domain (totals, outcomes over time, top devices), and per day
-- without the device (top domains over weeks): small enough to answer a month at once.
-- Keyed by hour, then outcome: the chart of outcomes per hour adds rows up in key order, with no
-- temporary table (half the time over a month).
CREATE TABLE IF NOT EXISTS dns_device_hourly (
    timestamp DATETIME     NOT NULL COMMENT 'start of the hour, UTC',
    host      VARCHAR(255) NOT NULL,
    device    VARCHAR(45)  NOT NULL,
    outcome   VARCHAR(10)  NOT NULL,
    queries   INT UNSIGNED NOT NULL,
    PRIMARY KEY (timestamp, outcome, host, device)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci PAGE_COMPRESSED = 1 PAGE_COMPRESSION_LEVEL = 1;

-- And per device and day (top devices and totals over weeks; added after the others: 50-backfill.sql
-- fills it from the hourly counts on an upgrade).
CREATE TABLE IF NOT EXISTS dns_device_daily (
    timestamp DATETIME     NOT NULL COMMENT 'start of the UTC day',
    host      VARCHAR(255) NOT NULL,
    device    VARCHAR(45)  NOT NULL,
    outcome   VARCHAR(10)  NOT NULL,
    queries   INT UNSIGNED NOT NULL,
    PRIMARY KEY (timestamp, host, device, outcome)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci PAGE_COMPRESSED = 1 PAGE_COMPRESSION_LEVEL = 1;

-- Upgrade: dns_domain_daily from before it kept a row per domain and day (it kept a row per outcome:
-- 2.5 times the rows to add up for a month) is set aside as dns_domain_daily_v1 and made anew below;
-- 50-backfill.sql fills the new one and drops the old. Run again, it changes nothing.
SET @siem_sql = IF(EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = DATABASE()
                           AND table_name = 'dns_domain_daily' AND column_name = 'outcome'),
    'RENAME TABLE dns_domain_daily TO dns_domain_daily_v1', 'DO 0');
PREPARE siem_statement FROM @siem_sql;
EXECUTE siem_statement;
DEALLOCATE PREPARE siem_statement;

CREATE TABLE IF NOT EXISTS dns_domain_daily (
    timestamp DATETIME     NOT NULL COMMENT 'start of the UTC day',
    host      VARCHAR(255) NOT NULL,
    domain_id INT UNSIGNED NOT NULL,
    queries   INT UNSIGNED NOT NULL COMMENT 'all of them; then how many had each outcome',
    answered  INT UNSIGNED NOT NULL DEFAULT 0,
    cached    INT UNSIGNED NOT NULL DEFAULT 0,
    local     INT UNSIGNED NOT NULL DEFAULT 0,
    blocked   INT UNSIGNED NOT NULL DEFAULT 0,
    nxdomain  INT UNSIGNED NOT NULL DEFAULT 0,
    nodata    INT UNSIGNED NOT NULL DEFAULT 0,
    failed    INT UNSIGNED NOT NULL DEFAULT 0,
    forwarded INT UNSIGNED NOT NULL DEFAULT 0,
    unknown   INT UNSIGNED NOT NULL DEFAULT 0,
    PRIMARY KEY (timestamp, host, domain_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci PAGE_COMPRESSED = 1 PAGE_COMPRESSION_LEVEL = 1;

-- Each device's domains: when it first and last asked, and how often (kept a year, longer than the queries).
CREATE TABLE IF NOT EXISTS dns_device_domains (
    device     VARCHAR(45)  NOT NULL,
    domain_id  INT UNSIGNED NOT NULL,
    first_seen DATETIME(3)  NOT NULL,
    last_seen  DATETIME(3)  NOT NULL,
    queries    INT UNSIGNED NOT NULL,
    blocked    INT UNSIGNED NOT NULL COMMENT 'of those, answered by a block list',
    notice     VARCHAR(16)  NULL     COMMENT 'new-domain notice: sent, or why not: allowed, learning, stale',
    PRIMARY KEY (device, domain_id),
    KEY dns_device_domains_first (first_seen)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci PAGE_COMPRESSED = 1 PAGE_COMPRESSION_LEVEL = 1;

-- No index on last_seen: every batch moves last_seen of most pairs it names, and keeping an index of it
-- cost a third of this table's upkeep. Only retention asks by last_seen, every 10 minutes, and reads the
-- table through (a year of a home's pairs: milliseconds). An upgrade drops the index in place.
ALTER TABLE dns_device_domains DROP INDEX IF EXISTS dns_device_domains_last;

-- "What does my smart TV contact?": each query with its domain and the device's name and vendor.
CREATE OR REPLACE SQL SECURITY INVOKER VIEW device_queries AS
SELECT q.timestamp, q.device, d.mac, d.name, d.vendor, d.hostname, d.known, q.host, q.client, q.qtype,
       n.name AS domain, q.outcome, q.blocked_by, q.upstream, q.answer
FROM dns_queries AS q
JOIN dns_domains AS n ON n.id = q.domain_id
LEFT JOIN devices AS d ON d.mac = q.device;

-- Upgrade: dns_device_hourly from before it was keyed by hour, then outcome, rebuilt once (a month of
-- counts: seconds). Run again, it changes nothing.
SET @siem_key = (
    SELECT GROUP_CONCAT(column_name ORDER BY seq_in_index) FROM information_schema.statistics
    WHERE table_schema = DATABASE() AND table_name = 'dns_device_hourly' AND index_name = 'PRIMARY');
SET @siem_sql = IF(@siem_key = 'timestamp,outcome,host,device', 'DO 0',
    'ALTER TABLE dns_device_hourly DROP PRIMARY KEY, ADD PRIMARY KEY (timestamp, outcome, host, device)');
PREPARE siem_statement FROM @siem_sql;
EXECUTE siem_statement;
DEALLOCATE PREPARE siem_statement;

-- Upgrade: the index by domain, added in place (a month of counts: seconds; the collector keeps writing).
ALTER TABLE dns_hourly ADD INDEX IF NOT EXISTS dns_hourly_domain (domain_id, timestamp)
    COMMENT 'which devices asked for a domain: a month in ms, not a second';
