-- Tables the collector writes. Runs once, as root, inside the database named by
-- MARIADB_DATABASE (the mariadb image's init) or SIEM_DB_NAME (`make db-init`).
-- Every time is UTC: Grafana's MySQL data source reads DATETIME as UTC.
-- Column names keep the seed's (compared case-insensitively) in snake_case.
-- The three log tables are stored in time order (primary key timestamp, id), page-compressed
-- (zlib level 1: a third of the bytes for a few percent of CPU) and in one partition per UTC day,
-- which the collector creates ahead and drops for retention (02-storage.sql, collector/partitions.py).

-- Every message received, parsed or not, plus the collector's own notices.
CREATE TABLE IF NOT EXISTS messages (
    id              BIGINT UNSIGNED NOT NULL COMMENT 'numbered by the collector (row_ids)',
    timestamp       DATETIME(3)      NOT NULL COMMENT 'the message''s own time, UTC',
    received        DATETIME(3)      NOT NULL COMMENT 'when the collector got it, UTC; router clocks drift',
    host            VARCHAR(255)     NOT NULL COMMENT 'header hostname, else the sender address',
    sender          VARCHAR(45)      NULL     COMMENT 'source address of the packet; NULL for own notices',
    facility        TINYINT UNSIGNED NOT NULL,
    severity        TINYINT UNSIGNED NOT NULL COMMENT '0 emerg .. 7 debug',
    program         VARCHAR(64)      NULL,
    pid             VARCHAR(128)     NULL,
    msgid           VARCHAR(32)      NULL     COMMENT 'RFC 5424 MSGID',
    structured_data TEXT             NULL     COMMENT 'RFC 5424 structured data, as sent',
    message         MEDIUMTEXT       NOT NULL,
    truncated       BOOLEAN          NOT NULL DEFAULT FALSE COMMENT 'cut at SIEM_MAX_MESSAGE_BYTES',
    PRIMARY KEY (timestamp, id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci
  PAGE_COMPRESSED = 1 PAGE_COMPRESSION_LEVEL = 1
  PARTITION BY RANGE COLUMNS (timestamp) (PARTITION p_future VALUES LESS THAN (MAXVALUE));

-- No index on host or severity: the 5-minute counts (messages_counts) tell which intervals hold the
-- messages a filter on host, program or severity wants, and those are read by the time key. The two
-- indexes an earlier release had took a fifth of MariaDB's work per message; an upgrade drops them in
-- place (run again, it changes nothing).
ALTER TABLE messages DROP INDEX IF EXISTS messages_host_time, DROP INDEX IF EXISTS messages_severity_time;

-- Kernel packet-filter (LOG target) lines.
CREATE TABLE IF NOT EXISTS packetfilter (
    id            BIGINT UNSIGNED   NOT NULL COMMENT 'numbered by the collector (row_ids)',
    timestamp     DATETIME(3)       NOT NULL,
    received      DATETIME(3)       NOT NULL,
    host          VARCHAR(255)      NOT NULL,
    prefix        VARCHAR(64)       NULL     COMMENT 'log prefix as configured on the router',
    action        VARCHAR(16)       NOT NULL COMMENT 'DROP, REJECT, ACCEPT or LOG',
    chain         VARCHAR(32)       NOT NULL COMMENT 'chain or zone from the prefix, else the hook',
    direction     VARCHAR(8)        NOT NULL COMMENT 'in, out or forward (from IN=/OUT=)',
    in_interface  VARCHAR(16)       NULL,
    out_interface VARCHAR(16)       NULL,
    mac           CHAR(17)          NULL     COMMENT 'sending device: source half of MAC=',
    src_ip        VARCHAR(45)       NULL,
    src_port      SMALLINT UNSIGNED NULL,
    dst_ip        VARCHAR(45)       NULL,
    dst_port      SMALLINT UNSIGNED NULL,
    protocol      VARCHAR(8)        NULL,
    type          TINYINT UNSIGNED  NULL     COMMENT 'ICMP type',
    code          TINYINT UNSIGNED  NULL     COMMENT 'ICMP code',
    length        SMALLINT UNSIGNED NULL,
    ttl           TINYINT UNSIGNED  NULL,
    tcp_flags     VARCHAR(32)       NULL,
    PRIMARY KEY (timestamp, id),
    KEY packetfilter_src_time (src_ip, timestamp)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci
  PAGE_COMPRESSED = 1 PAGE_COMPRESSION_LEVEL = 1
  PARTITION BY RANGE COLUMNS (timestamp) (PARTITION p_future VALUES LESS THAN (MAXVALUE));

-- No index on mac: a device's drops are counted from packetfilter_macs (hourly, below) and the rows of
-- the part hours, read by time. The index an earlier release had took a sixth of MariaDB's work per
-- firewall line; an upgrade drops it in place (run again, it changes nothing).
ALTER TABLE packetfilter DROP INDEX IF EXISTS packetfilter_mac_time;

-- Device discoveries: addrwatch, arpwatch and dnsmasq DHCP.
CREATE TABLE IF NOT EXISTS addrwatch (
    id        BIGINT UNSIGNED   NOT NULL COMMENT 'numbered by the collector (row_ids)',
    timestamp DATETIME(3)       NOT NULL,
    received  DATETIME(3)       NOT NULL,
    host      VARCHAR(255)      NOT NULL,
    source    VARCHAR(16)       NOT NULL COMMENT 'addrwatch, arpwatch or dnsmasq',
    event     VARCHAR(32)       NOT NULL COMMENT 'ARP_REQ, ND_NA, new station, DHCPACK, ...',
    interface VARCHAR(16)       NULL,
    vlan      SMALLINT UNSIGNED NULL     COMMENT '0 = untagged',
    mac       CHAR(17)          NOT NULL,
    ip        VARCHAR(45)       NULL,
    old_mac   CHAR(17)          NULL     COMMENT 'arpwatch: the MAC this IP had before',
    hostname  VARCHAR(255)      NULL     COMMENT 'DHCP hostname',
    PRIMARY KEY (timestamp, id),
    KEY addrwatch_mac_time (mac, timestamp)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci
  PAGE_COMPRESSED = 1 PAGE_COMPRESSION_LEVEL = 1
  PARTITION BY RANGE COLUMNS (timestamp) (PARTITION p_future VALUES LESS THAN (MAXVALUE));

-- Packet-filter counts per 5 minutes, kept up to date by the collector with every batch, so
-- charts over weeks read thousands of rows instead of millions. Kept longer than raw rows.
CREATE TABLE IF NOT EXISTS packetfilter_counts (
    timestamp DATETIME          NOT NULL COMMENT 'start of the 5-minute interval, UTC',
    host      VARCHAR(255)      NOT NULL,
    action    VARCHAR(16)       NOT NULL,
    chain     VARCHAR(32)       NOT NULL,
    direction VARCHAR(8)        NOT NULL,
    protocol  VARCHAR(8)        NOT NULL COMMENT 'empty when the line named none',
    packets   INT UNSIGNED      NOT NULL,
    PRIMARY KEY (timestamp, host, action, chain, direction, protocol)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci PAGE_COMPRESSED = 1 PAGE_COMPRESSION_LEVEL = 1;

-- Messages per 5 minutes by host, severity and program, kept like packetfilter_counts: the
-- log charts over weeks read this instead of every message.
CREATE TABLE IF NOT EXISTS messages_counts (
    timestamp DATETIME          NOT NULL COMMENT 'start of the 5-minute interval, UTC',
    host      VARCHAR(255)      NOT NULL,
    severity  TINYINT UNSIGNED  NOT NULL,
    program   VARCHAR(64)       NOT NULL COMMENT 'empty when the message named none',
    messages  INT UNSIGNED      NOT NULL,
    PRIMARY KEY (timestamp, host, severity, program)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci PAGE_COMPRESSED = 1 PAGE_COMPRESSION_LEVEL = 1;

-- The same per hour: the log charts over weeks read this one.
CREATE TABLE IF NOT EXISTS messages_hourly (
    timestamp DATETIME          NOT NULL COMMENT 'start of the hour, UTC',
    host      VARCHAR(255)      NOT NULL,
    severity  TINYINT UNSIGNED  NOT NULL,
    program   VARCHAR(64)       NOT NULL COMMENT 'empty when the message named none',
    messages  INT UNSIGNED      NOT NULL,
    PRIMARY KEY (timestamp, host, severity, program)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci PAGE_COMPRESSED = 1 PAGE_COMPRESSION_LEVEL = 1;

-- Packets per hour by destination port, and by sending MAC, kept by the collector with every batch
-- like the counts above: the "top ports" and "blocked home devices" rankings over weeks read these.
CREATE TABLE IF NOT EXISTS packetfilter_ports (
    timestamp DATETIME          NOT NULL COMMENT 'start of the hour, UTC',
    host      VARCHAR(255)      NOT NULL,
    action    VARCHAR(16)       NOT NULL,
    chain     VARCHAR(32)       NOT NULL,
    protocol  VARCHAR(8)        NOT NULL COMMENT 'empty when the line named none',
    dst_port  SMALLINT UNSIGNED NOT NULL,
    packets   INT UNSIGNED      NOT NULL,
    PRIMARY KEY (timestamp, host, action, chain, protocol, dst_port)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci PAGE_COMPRESSED = 1 PAGE_COMPRESSION_LEVEL = 1;

CREATE TABLE IF NOT EXISTS packetfilter_macs (
    timestamp DATETIME          NOT NULL COMMENT 'start of the hour, UTC',
    host      VARCHAR(255)      NOT NULL,
    action    VARCHAR(16)       NOT NULL,
    chain     VARCHAR(32)       NOT NULL,
    mac       CHAR(17)          NOT NULL COMMENT 'sending device: source half of MAC=',
    packets   INT UNSIGNED      NOT NULL,
    last_seen DATETIME(3)       NOT NULL COMMENT 'newest packet of the hour',
    PRIMARY KEY (timestamp, host, action, chain, mac)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci PAGE_COMPRESSED = 1 PAGE_COMPRESSION_LEVEL = 1;

-- The same per day (UTC), added up from the hourly rows by the collector once the day's last hour
-- is ranked (below): rankings over months read 30 rows a month for each port or MAC, not 720.
CREATE TABLE IF NOT EXISTS packetfilter_ports_daily (
    timestamp DATETIME          NOT NULL COMMENT 'start of the day, UTC',
    host      VARCHAR(255)      NOT NULL,
    action    VARCHAR(16)       NOT NULL,
    chain     VARCHAR(32)       NOT NULL,
    protocol  VARCHAR(8)        NOT NULL COMMENT 'empty when the line named none',
    dst_port  SMALLINT UNSIGNED NOT NULL,
    packets   INT UNSIGNED      NOT NULL,
    PRIMARY KEY (timestamp, host, action, chain, protocol, dst_port)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci PAGE_COMPRESSED = 1 PAGE_COMPRESSION_LEVEL = 1;

CREATE TABLE IF NOT EXISTS packetfilter_macs_daily (
    timestamp DATETIME          NOT NULL COMMENT 'start of the day, UTC',
    host      VARCHAR(255)      NOT NULL,
    action    VARCHAR(16)       NOT NULL,
    chain     VARCHAR(32)       NOT NULL,
    mac       CHAR(17)          NOT NULL COMMENT 'sending device: source half of MAC=',
    packets   INT UNSIGNED      NOT NULL,
    last_seen DATETIME(3)       NOT NULL COMMENT 'newest packet of the day',
    PRIMARY KEY (timestamp, host, action, chain, mac)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci PAGE_COMPRESSED = 1 PAGE_COMPRESSION_LEVEL = 1;

-- Each finished hour's 50 most frequent values of src_ip, dst_ip, src_port and in_interface per
-- host, action and chain, exactly, and one row (value '') with the rest; ranked by the collector
-- from the raw rows a few minutes after the hour ends. Rankings over weeks add these up instead
-- of grouping every packet.
CREATE TABLE IF NOT EXISTS packetfilter_top (
    timestamp DATETIME          NOT NULL COMMENT 'start of the hour, UTC',
    field     VARCHAR(16)       NOT NULL COMMENT 'the packetfilter column ranked',
    host      VARCHAR(255)      NOT NULL,
    action    VARCHAR(16)       NOT NULL,
    chain     VARCHAR(32)       NOT NULL,
    value     VARCHAR(45)       NOT NULL COMMENT 'empty: every value outside the hour''s top 50, or none',
    packets   INT UNSIGNED      NOT NULL,
    PRIMARY KEY (timestamp, field, host, action, chain, value)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci PAGE_COMPRESSED = 1 PAGE_COMPRESSION_LEVEL = 1;

-- The same per day (UTC), from the day's 24 hourly rankings once the last has been ranked: the top
-- 50 of their sums, so rankings over months read 30 rows a month instead of 720.
CREATE TABLE IF NOT EXISTS packetfilter_top_daily (
    timestamp DATETIME          NOT NULL COMMENT 'start of the day, UTC',
    field     VARCHAR(16)       NOT NULL COMMENT 'the packetfilter column ranked',
    host      VARCHAR(255)      NOT NULL,
    action    VARCHAR(16)       NOT NULL,
    chain     VARCHAR(32)       NOT NULL,
    value     VARCHAR(45)       NOT NULL COMMENT 'empty: every value outside the day''s top 50, or none',
    packets   INT UNSIGNED      NOT NULL,
    PRIMARY KEY (timestamp, field, host, action, chain, value)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci PAGE_COMPRESSED = 1 PAGE_COMPRESSION_LEVEL = 1;

-- What the rankings do not yet cover: every hour that received packet-filter rows since it was last
-- ranked (the writer marks it in the same transaction as the rows), and every day whose hours changed
-- since the day was last added up (the ranker marks it when it ranks one of its hours). Readers take
-- these hours and days from finer tables or raw rows, so every answer equals the raw rows' at all
-- times, however late or out of order lines arrive. A handful of rows: the current hour and a few more.
CREATE TABLE IF NOT EXISTS packetfilter_pending (
    kind      ENUM('hour', 'day') NOT NULL,
    timestamp DATETIME            NOT NULL COMMENT 'start of the hour or day, UTC',
    PRIMARY KEY (kind, timestamp)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci PAGE_COMPRESSED = 1 PAGE_COMPRESSION_LEVEL = 1;

-- Replaced by packetfilter_top (field 'src_ip'); the collector ranks its hours again from raw rows.
DROP TABLE IF EXISTS packetfilter_sources;
