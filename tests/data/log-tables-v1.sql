-- The three log tables as releases before day partitions created them (primary key id, one
-- uncompressed tablespace each), for the upgrade test.

-- Every message received, parsed or not, plus the collector's own notices.
CREATE TABLE IF NOT EXISTS messages (
    id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
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
    PRIMARY KEY (id),
    KEY messages_time (timestamp),
    KEY messages_host_time (host, timestamp),
    KEY messages_severity_time (severity, timestamp)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- Kernel packet-filter (LOG target) lines.
CREATE TABLE IF NOT EXISTS packetfilter (
    id            BIGINT UNSIGNED   NOT NULL AUTO_INCREMENT,
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
    PRIMARY KEY (id),
    KEY packetfilter_time (timestamp),
    KEY packetfilter_src_time (src_ip, timestamp),
    KEY packetfilter_mac_time (mac, timestamp)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- Device discoveries: addrwatch, arpwatch and dnsmasq DHCP.
CREATE TABLE IF NOT EXISTS addrwatch (
    id        BIGINT UNSIGNED   NOT NULL AUTO_INCREMENT,
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
    PRIMARY KEY (id),
    KEY addrwatch_time (timestamp),
    KEY addrwatch_mac_time (mac, timestamp)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

