-- Rows per UTC day of each log table, kept by the collector in the same transaction as the rows:
-- /stats adds up a few hundred of these instead of every hour's counts, and finds a table's oldest
-- and newest day here rather than in every day partition. Retention and the size cap delete a
-- day's total with its rows. Filled for the days before it by 50-backfill.sql, from the exact
-- counts tables (from the rows, for addrwatch).
CREATE TABLE IF NOT EXISTS daily_totals (
    timestamp DATETIME        NOT NULL COMMENT 'start of the day, UTC',
    log_table VARCHAR(16)     NOT NULL COMMENT 'messages, packetfilter, addrwatch or dns_queries',
    total     BIGINT UNSIGNED NOT NULL,
    PRIMARY KEY (timestamp, log_table)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci PAGE_COMPRESSED = 1 PAGE_COMPRESSION_LEVEL = 1;
