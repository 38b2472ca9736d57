-- The log tables' row ids. Runs as root after the tables exist, on a first start and on every
-- `make upgrade-db`.
--
-- The collector numbers the rows of messages, packetfilter, addrwatch and dns_queries itself and
-- keeps in row_ids the next id of each, in the same transaction as the rows. So the tables need no
-- AUTO_INCREMENT and no index on id beside the primary key (timestamp, id): one index less to
-- write for every row (a tenth of the ingest cost). Rows added by hand take their ids from here:
--   INSERT INTO messages (id, ...) SELECT next_id, ... FROM row_ids WHERE log_table = 'messages';
--   UPDATE row_ids SET next_id = next_id + 1 WHERE log_table = 'messages';
--
-- Upgrade: a table that still numbers its rows itself gets its counter from its highest id, then
-- loses the AUTO_INCREMENT and the index (in place, no copy). Run again, it changes nothing.
CREATE TABLE IF NOT EXISTS row_ids (
    log_table VARCHAR(64)     NOT NULL,
    next_id   BIGINT UNSIGNED NOT NULL COMMENT 'above every id stored in log_table',
    PRIMARY KEY (log_table)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

DELIMITER //

CREATE OR REPLACE PROCEDURE siem_row_ids(IN log_table VARCHAR(64))
    MODIFIES SQL DATA
BEGIN
    DECLARE indexed BOOLEAN DEFAULT EXISTS (
        SELECT 1 FROM information_schema.statistics
        WHERE table_schema = DATABASE() AND table_name = log_table AND index_name = CONCAT(log_table, '_id'));
    -- the highest id is read through the old index, or once with a scan where no counter is kept yet
    IF indexed OR NOT EXISTS (SELECT 1 FROM row_ids WHERE row_ids.log_table = log_table) THEN
        SET @siem_sql = CONCAT(
            'INSERT INTO row_ids (log_table, next_id) SELECT ''', log_table, ''', COALESCE(MAX(id), 0) + 1 FROM `',
            log_table, '` ON DUPLICATE KEY UPDATE next_id = GREATEST(row_ids.next_id, VALUES(next_id))');
        PREPARE statement FROM @siem_sql;
        EXECUTE statement;
        DEALLOCATE PREPARE statement;
    END IF;
    IF indexed THEN
        SET @siem_sql = CONCAT('ALTER TABLE `', log_table, '` MODIFY id BIGINT UNSIGNED NOT NULL',
                               ' COMMENT ''numbered by the collector (row_ids)'', DROP KEY `', log_table, '_id`');
        PREPARE statement FROM @siem_sql;
        EXECUTE statement;
        DEALLOCATE PREPARE statement;
    END IF;
END//

DELIMITER ;

CALL siem_row_ids('messages');
CALL siem_row_ids('packetfilter');
CALL siem_row_ids('addrwatch');
CALL siem_row_ids('dns_queries');
DROP PROCEDURE siem_row_ids;
