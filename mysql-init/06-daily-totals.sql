-- Rows per UTC day of each big log table, kept by the collector in the same transaction as the
-- rows: /stats adds up a few hundred of these instead of every hour's counts. A day keeps its
-- total after retention drops its rows; readers count only from the oldest stored row on.
-- Filled for the days before it from the exact counts tables by 50-backfill.sql.
CREATE TABLE IF NOT EXISTS daily_totals (
    timestamp DATETIME        NOT NULL COMMENT 'start of the day, UTC',
    log_table VARCHAR(16)     NOT NULL COMMENT 'messages, packetfilter or dns_queries',
    total     BIGINT UNSIGNED NOT NULL,
    PRIMARY KEY (timestamp, log_table)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci PAGE_COMPRESSED = 1 PAGE_COMPRESSION_LEVEL = 1;
