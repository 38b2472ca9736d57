-- The device inventory, kept up to date by the collector as discovery events arrive.
-- Ingest columns are the collector's; name, known and notes belong to the user and
-- no ingest ever writes them (the collector's account may not: see 90-users.sh).

-- Facts about this installation; installed_at starts the learning period of notifications.
CREATE TABLE IF NOT EXISTS appliance (
    name  VARCHAR(64)  NOT NULL,
    value VARCHAR(255) NOT NULL,
    PRIMARY KEY (name)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci PAGE_COMPRESSED = 1 PAGE_COMPRESSION_LEVEL = 1;
INSERT IGNORE INTO appliance (name, value) VALUES ('installed_at', DATE_FORMAT(UTC_TIMESTAMP(), '%Y-%m-%d %H:%i:%s'));

-- One row per device (MAC).
CREATE TABLE IF NOT EXISTS devices (
    mac         CHAR(17)          NOT NULL,
    first_seen  DATETIME(3)       NOT NULL,
    last_seen   DATETIME(3)       NOT NULL,
    last_ipv4   VARCHAR(15)       NULL,
    last_ipv6   VARCHAR(45)       NULL     COMMENT 'global preferred over link-local',
    interface   VARCHAR(16)       NULL,
    vlan        SMALLINT UNSIGNED NULL,
    vendor      VARCHAR(255)      NULL     COMMENT 'IEEE registry; NULL for randomised MACs',
    hostname    VARCHAR(255)      NULL     COMMENT 'DHCP hostname',
    randomised  BOOLEAN           NOT NULL COMMENT 'locally administered MAC (phones rotate them)',
    last_source VARCHAR(16)       NOT NULL COMMENT 'addrwatch, arpwatch, dnsmasq or packetfilter',
    name        VARCHAR(255)      NULL     COMMENT 'user: a name of your choosing',
    known       BOOLEAN           NOT NULL DEFAULT FALSE COMMENT 'user: known devices never alert',
    notes       TEXT              NULL     COMMENT 'user: free text',
    PRIMARY KEY (mac),
    KEY devices_first_seen (first_seen),
    KEY devices_last_seen (last_seen),
    KEY devices_ipv4 (last_ipv4)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci PAGE_COMPRESSED = 1 PAGE_COMPRESSION_LEVEL = 1;

-- Every address a device used, with when.
CREATE TABLE IF NOT EXISTS device_addresses (
    mac        CHAR(17)    NOT NULL,
    ip         VARCHAR(45) NOT NULL,
    first_seen DATETIME(3) NOT NULL,
    last_seen  DATETIME(3) NOT NULL,
    PRIMARY KEY (mac, ip),
    KEY device_addresses_ip (ip)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci PAGE_COMPRESSED = 1 PAGE_COMPRESSION_LEVEL = 1;

-- What happened to devices: new device, ip change, mac change, hostname change.
CREATE TABLE IF NOT EXISTS device_events (
    id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    timestamp   DATETIME(3)     NOT NULL,
    mac         CHAR(17)        NOT NULL,
    event       VARCHAR(24)     NOT NULL,
    ip          VARCHAR(45)     NULL,
    old_value   VARCHAR(255)    NULL,
    new_value   VARCHAR(255)    NULL,
    notified_at DATETIME(3)     NULL     COMMENT 'when the notifier decided: sent or suppressed',
    notice      VARCHAR(32)     NULL     COMMENT 'sent, or why not: known, learning, randomised, stale',
    PRIMARY KEY (id),
    KEY device_events_time (timestamp),
    KEY device_events_mac_time (mac, timestamp),
    KEY device_events_pending (event, notified_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci PAGE_COMPRESSED = 1 PAGE_COMPRESSION_LEVEL = 1;

-- "What is my smart TV trying to reach that the firewall blocks?": drops and rejects
-- of each device's traffic, with the device's name, vendor and hostname.
CREATE OR REPLACE SQL SECURITY INVOKER VIEW device_drops AS
SELECT p.timestamp, p.mac, d.name, d.vendor, d.hostname, d.known, p.host, p.action, p.chain,
       p.direction, p.src_ip, p.src_port, p.dst_ip, p.dst_port, p.protocol
FROM packetfilter AS p
JOIN devices AS d ON d.mac = p.mac
WHERE p.action IN ('DROP', 'REJECT');
