-- Every table page-compressed (zlib level 1), as 01-schema.sql and 03-devices.sql create them, for a
-- database from before: the counts, rankings and inventory too, since a table's files otherwise keep
-- whole extents InnoDB reserves ahead (megabytes for a few thousand devices). Each table is rebuilt
-- once; a table that already is compressed is left alone, so running this again costs nothing.

DELIMITER //

CREATE OR REPLACE PROCEDURE siem_compress_tables()
    MODIFIES SQL DATA
BEGIN
    DECLARE done BOOLEAN DEFAULT FALSE;
    DECLARE name VARCHAR(64);
    DECLARE plain CURSOR FOR
        SELECT table_name FROM information_schema.tables
        WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE' AND engine = 'InnoDB'
          AND COALESCE(LOWER(create_options), '') NOT LIKE '%`page_compressed`=''1''%';
    DECLARE CONTINUE HANDLER FOR NOT FOUND SET done = TRUE;
    OPEN plain;
    rebuild: LOOP
        FETCH plain INTO name;
        IF done THEN
            LEAVE rebuild;
        END IF;
        SET @siem_sql = CONCAT('ALTER TABLE `', name, '` PAGE_COMPRESSED = 1, PAGE_COMPRESSION_LEVEL = 1');
        PREPARE statement FROM @siem_sql;
        EXECUTE statement;
        DEALLOCATE PREPARE statement;
    END LOOP;
    CLOSE plain;
END//

DELIMITER ;

CALL siem_compress_tables();
DROP PROCEDURE siem_compress_tables;
