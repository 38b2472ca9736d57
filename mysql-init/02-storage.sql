-- Storage of the three log tables, and what the collector needs to manage it. Runs as root after
-- 01-schema.sql, on a first start and on every `make upgrade-db`.
--
-- Upgrade: a table from before (primary key id, one tablespace, uncompressed) is rebuilt once in
-- time order, page-compressed, with one partition per UTC day that holds rows (of the last 400
-- days; older rows share the first partition) and one for today. One ALTER per table: MariaDB applies
-- it whole or not at all, so an interrupted upgrade leaves the old table and is simply run again;
-- a converted table is left alone. It copies the table once: budget a few minutes per million rows.

-- What each table and partition of the database the session uses takes on disk, for the readers
-- (the API's stats, the Home dashboard) and the collector: the real figure needs the PROCESS
-- privilege, which none of them gets, and information_schema.TABLES counts pages before
-- compression (2-3 times too much).
CREATE OR REPLACE SQL SECURITY DEFINER VIEW disk_usage AS
SELECT SUBSTRING_INDEX(SUBSTRING_INDEX(name, '/', -1), '#', 1) AS table_name,
       IF(LOCATE('#P#', name) > 0, SUBSTRING_INDEX(name, '#P#', -1), NULL) AS partition_name,
       file_size AS file_bytes, allocated_size AS disk_bytes
FROM information_schema.INNODB_SYS_TABLESPACES
WHERE SUBSTRING_INDEX(name, '/', 1) = DATABASE();

DELIMITER //

CREATE OR REPLACE PROCEDURE siem_storage_v2(IN log_table VARCHAR(64), IN time_key VARCHAR(64))
    MODIFIES SQL DATA
BEGIN
    DECLARE day DATE;
    DECLARE today DATE DEFAULT UTC_DATE();
    DECLARE parts TEXT DEFAULT '';
    IF COALESCE((SELECT GROUP_CONCAT(column_name ORDER BY seq_in_index) FROM information_schema.statistics
                 WHERE table_schema = DATABASE() AND table_name = log_table AND index_name = 'PRIMARY'), '')
       <> 'timestamp,id' THEN
        SET @siem_sql = CONCAT('SELECT EXISTS (SELECT 1 FROM `', log_table,
                               '` WHERE timestamp >= ? AND timestamp < ?) INTO @siem_rows');
        PREPARE statement FROM @siem_sql;
        SET day = today - INTERVAL 400 DAY;
        WHILE day < today DO
            SET @siem_day = day, @siem_next = day + INTERVAL 1 DAY;
            EXECUTE statement USING @siem_day, @siem_next;
            IF @siem_rows THEN
                SET parts = CONCAT(parts, 'PARTITION p', DATE_FORMAT(day, '%Y%m%d'),
                                   ' VALUES LESS THAN (''', @siem_next, '''), ');
            END IF;
            SET day = @siem_next;
        END WHILE;
        DEALLOCATE PREPARE statement;
        SET parts = CONCAT(parts, 'PARTITION p', DATE_FORMAT(today, '%Y%m%d'),
                           ' VALUES LESS THAN (''', today + INTERVAL 1 DAY, '''), ');
        SET @siem_sql = CONCAT(
            'ALTER TABLE `', log_table, '` MODIFY id BIGINT UNSIGNED NOT NULL,',
            ' DROP PRIMARY KEY, ADD PRIMARY KEY (timestamp, id), DROP KEY IF EXISTS `', time_key, '`,',
            ' PAGE_COMPRESSED = 1, PAGE_COMPRESSION_LEVEL = 1',
            ' PARTITION BY RANGE COLUMNS (timestamp) (', parts, 'PARTITION p_future VALUES LESS THAN (MAXVALUE))');
        PREPARE statement FROM @siem_sql;
        EXECUTE statement;
        DEALLOCATE PREPARE statement;
    END IF;
END//

-- The collector's only ways to change the log tables' layout: split a partition into days (the
-- days ahead out of p_future, old-dated rows into their days) and drop whole days. It gets
-- EXECUTE on these rather than ALTER and DROP, which would let it drop or reshape the tables.
CREATE OR REPLACE PROCEDURE siem_split_partition(IN log_table VARCHAR(64), IN part VARCHAR(64), IN bounds TEXT)
    MODIFIES SQL DATA SQL SECURITY DEFINER
BEGIN
    DECLARE clause TEXT DEFAULT '';
    DECLARE rest TEXT DEFAULT bounds;
    DECLARE bound DATE;
    IF log_table NOT IN ('messages', 'packetfilter', 'addrwatch', 'dns_queries') OR NOT part REGEXP '^p([0-9]{8}|_future)$'
       OR NOT bounds REGEXP '^[0-9]{4}-[0-9]{2}-[0-9]{2}(,[0-9]{4}-[0-9]{2}-[0-9]{2})*$' THEN
        SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'siem_split_partition: not a log table, partition or list of days';
    END IF;
    WHILE rest <> '' DO
        SET bound = SUBSTRING_INDEX(rest, ',', 1);
        SET rest = IF(LOCATE(',', rest) > 0, SUBSTRING(rest, LOCATE(',', rest) + 1), '');
        SET clause = CONCAT(clause, IF(clause = '', '', ', '), 'PARTITION p',
                            DATE_FORMAT(bound - INTERVAL 1 DAY, '%Y%m%d'), ' VALUES LESS THAN (''', bound, ''')');
    END WHILE;
    IF part = 'p_future' THEN
        SET clause = CONCAT(clause, ', PARTITION p_future VALUES LESS THAN (MAXVALUE)');
    END IF;
    SET @siem_sql = CONCAT('ALTER TABLE `', log_table, '` REORGANIZE PARTITION `', part, '` INTO (', clause, ')');
    PREPARE statement FROM @siem_sql;
    EXECUTE statement;
    DEALLOCATE PREPARE statement;
END//

CREATE OR REPLACE PROCEDURE siem_drop_partitions(IN log_table VARCHAR(64), IN parts TEXT)
    MODIFIES SQL DATA SQL SECURITY DEFINER
BEGIN
    IF log_table NOT IN ('messages', 'packetfilter', 'addrwatch', 'dns_queries') OR NOT parts REGEXP '^p[0-9]{8}(,p[0-9]{8})*$' THEN
        SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'siem_drop_partitions: not a log table or list of day partitions';
    END IF;
    SET @siem_sql = CONCAT('ALTER TABLE `', log_table, '` DROP PARTITION ', parts);
    PREPARE statement FROM @siem_sql;
    EXECUTE statement;
    DEALLOCATE PREPARE statement;
END//

DELIMITER ;

CALL siem_storage_v2('messages', 'messages_time');
CALL siem_storage_v2('packetfilter', 'packetfilter_time');
CALL siem_storage_v2('addrwatch', 'addrwatch_time');
DROP PROCEDURE siem_storage_v2;
