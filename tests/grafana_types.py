"""What Grafana 12's MySQL data source makes of a result column, modelled from its source.

Grafana scans rows through go-sql-driver/mysql, whose `DatabaseTypeName` names a
column from its protocol type, charset and flags (`UNSIGNED BIGINT` for an unsigned
one), and converts by exact name (pkg/tsdb/mysql: `GetConverterList`). A column whose
name no converter matches falls back on the driver's scan type, and for a nullable
unsigned BIGINT (`sql.Null[uint64]`) the plugin SDK builds no field: the query fails.
Other unmatched names work through the scan type on some driver versions and not on
others; the dashboards use only names Grafana converts, or text.
"""

import pymysql
from pymysql.constants import FIELD_TYPE, FLAG

BINARY_CHARSET = 63
# GetConverterList in Grafana 12's pkg/tsdb/mysql, with the field type each yields
CONVERTED = {
    "DOUBLE": "number", "BIGINT": "number", "DECIMAL": "number", "DATETIME": "time", "DATE": "time",
    "TIMESTAMP": "time", "YEAR": "number", "TINYINT": "number", "SMALLINT": "number", "INT": "number",
    "FLOAT": "number",
}  # fmt: skip
TEXT = {"CHAR", "VARCHAR", "TEXT", "TINYTEXT", "MEDIUMTEXT", "LONGTEXT"}  # scanned as strings

_INTEGERS = {
    FIELD_TYPE.TINY: "TINYINT", FIELD_TYPE.SHORT: "SMALLINT", FIELD_TYPE.INT24: "MEDIUMINT",
    FIELD_TYPE.LONG: "INT", FIELD_TYPE.LONGLONG: "BIGINT",
}  # fmt: skip
_TEXTS = {  # (name for text, name for binary)
    FIELD_TYPE.STRING: ("CHAR", "BINARY"), FIELD_TYPE.VAR_STRING: ("VARCHAR", "VARBINARY"),
    FIELD_TYPE.VARCHAR: ("VARCHAR", "VARBINARY"), FIELD_TYPE.BLOB: ("TEXT", "BLOB"),
    FIELD_TYPE.TINY_BLOB: ("TINYTEXT", "TINYBLOB"), FIELD_TYPE.MEDIUM_BLOB: ("MEDIUMTEXT", "MEDIUMBLOB"),
    FIELD_TYPE.LONG_BLOB: ("LONGTEXT", "LONGBLOB"),
}  # fmt: skip
_OTHERS = {
    FIELD_TYPE.DECIMAL: "DECIMAL", FIELD_TYPE.NEWDECIMAL: "DECIMAL", FIELD_TYPE.DOUBLE: "DOUBLE",
    FIELD_TYPE.FLOAT: "FLOAT", FIELD_TYPE.DATETIME: "DATETIME", FIELD_TYPE.DATE: "DATE",
    FIELD_TYPE.NEWDATE: "DATE", FIELD_TYPE.TIMESTAMP: "TIMESTAMP", FIELD_TYPE.YEAR: "YEAR",
    FIELD_TYPE.TIME: "TIME", FIELD_TYPE.BIT: "BIT", FIELD_TYPE.JSON: "JSON", FIELD_TYPE.NULL: "NULL",
    FIELD_TYPE.ENUM: "ENUM", FIELD_TYPE.SET: "SET", FIELD_TYPE.GEOMETRY: "GEOMETRY",
}  # fmt: skip


def database_type_name(type_code: int, flags: int, charset: int) -> str:
    """The name go-sql-driver/mysql gives a column (fields.go `typeDatabaseName`)."""
    if type_code in _INTEGERS:
        name = _INTEGERS[type_code]
        return f"UNSIGNED {name}" if flags & FLAG.UNSIGNED else name
    if type_code in _TEXTS:
        text, binary = _TEXTS[type_code]
        return binary if charset == BINARY_CHARSET else text
    return _OTHERS.get(type_code, f"type {type_code}")


def grafana_fields(cursor: pymysql.cursors.Cursor) -> list[tuple[str, str, str]]:
    """(column, driver type name, kind) per result column.

    Kind: `number`, `time` or `string` when converted by name, `fails` for a
    nullable unsigned BIGINT, `fallback` for any other name left to the scan type.
    """
    fields = []
    for field in cursor._result.fields:  # pymysql keeps the protocol's flags only here
        name = database_type_name(field.type_code, field.flags, field.charsetnr)
        kind = CONVERTED.get(name) or ("string" if name in TEXT else "fallback")
        if name == "UNSIGNED BIGINT" and not field.flags & FLAG.NOT_NULL:
            kind = "fails"
        fields.append((field.name, name, kind))
    return fields
