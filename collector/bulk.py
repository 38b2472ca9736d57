"""Rows as LOAD DATA LOCAL INFILE text: several times cheaper to build and to insert than multi-row INSERTs."""

import os
from datetime import datetime

import pymysql
from pymysql.constants import ER

from collector.memo import Memo

# LOAD DATA's defaults: fields end at a tab, lines at a newline, backslash escapes.
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\0": "\\0"})
_NULL = "\\N"


def field(value: object) -> str:
    """One value as LOAD DATA reads it back unchanged: NULL as backslash-N, booleans as 1/0, text escaped."""
    kind = value.__class__
    if kind is str:
        return value.translate(_ESCAPES)  # type: ignore[union-attr]
    if value is None:
        return _NULL
    if kind is int or kind is datetime:
        return str(value)
    if kind is bool:
        return "1" if value else "0"
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace").translate(_ESCAPES)
    return str(value).translate(_ESCAPES)


def _as_is(value: object) -> str:
    """A value's text for the fast path: text unescaped (the batch is checked after), the rest as `field` writes it."""
    return value if value.__class__ is str else field(value)  # type: ignore[return-value]


_TEXT_ONLY = frozenset({str})


CHUNK_ROWS = 1000  # rows encoded at a time: a batch's text is made without a second copy of the batch in hand


def encode_pieces(rows: list[tuple]) -> list[bytes]:
    """The rows' LOAD DATA text in pieces of CHUNK_ROWS rows, so a big batch never holds its text twice over."""
    texts = Memo(_as_is, {None: _NULL})  # True and 1 share a key and a text, as False and 0 do
    return [_encode_chunk(rows[start : start + CHUNK_ROWS], texts) for start in range(0, len(rows), CHUNK_ROWS)]


def _encode_chunk(rows: list[tuple], texts: Memo) -> bytes:
    """Tab-separated lines, one per row, UTF-8.

    Fast path: join the rows as they are and escape nothing, which is right when
    the only backslashes are the NULL markers, the only tabs the separators,
    and the only newlines the line ends, with no NUL: checked once for the
    whole chunk, then row by row only if that fails. A row that needs it is
    escaped field by field. Values become text a column at a time, in C: a
    column holding only text (the message) is taken as it is, the others go
    through the memo `texts`, since their values repeat.
    """
    raw = list(zip(*rows, strict=True))
    nulls = sum(column.count(None) for column in raw)
    columns = [column if _TEXT_ONLY.issuperset(map(type, column)) else map(texts.__getitem__, column) for column in raw]
    lines = list(map("\t".join, zip(*columns, strict=True)))
    del raw, columns
    lines.append("")
    text = "\n".join(lines)
    if (
        text.count("\\") != nulls
        or text.count("\t") != len(rows) * (len(rows[0]) - 1)
        or text.count("\n") != len(rows)
        or "\0" in text
    ):
        for position, (row, line) in enumerate(zip(rows, lines, strict=False)):
            if line.count("\\") != row.count(None) or line.count("\t") != len(row) - 1 or "\n" in line or "\0" in line:
                lines[position] = "\t".join(map(field, row))
        text = "\n".join(lines)
    del lines
    return text.encode("utf-8", "backslashreplace")


def statement(table: str, columns: tuple[str, ...], path: str) -> str:
    """The LOAD DATA statement reading `path` into the named columns, numbering rows on from @siem_id.

    Names are constants, never input.
    """
    names = ", ".join(f"`{column}`" for column in columns)
    return (
        f"LOAD DATA LOCAL INFILE '{path}' INTO TABLE `{table}` CHARACTER SET utf8mb4 ({names})"
        " SET id = (@siem_id := @siem_id + 1)"
    )


LOAD_PACKET_BYTES = 1 << 20  # far below max_allowed_packet (16 MiB by default on the server and in pymysql)


def send_file(filename: str, connection: pymysql.connections.Connection) -> None:
    """Send a LOAD DATA LOCAL file in packets of 1 MiB: pymysql sends 16 KiB at a time.

    Each packet is a read and a send, and after each the writer thread must win the
    interpreter back from the parser thread: a batch's file of 1-2 MiB took 64-128
    turns, and the loads spent most of their time waiting for them.
    """
    try:
        with open(filename, "rb") as file:
            while chunk := file.read(LOAD_PACKET_BYTES):
                connection.write_packet(chunk)
    except OSError as error:
        raise pymysql.err.OperationalError(ER.FILE_NOT_FOUND, f"Can't open file '{filename}': {error}") from error


class MemoryFile:
    """An anonymous in-memory file that pymysql can open by path (/proc/self/fd/N); no disk, nothing left behind."""

    def __init__(self, pieces: list[bytes]) -> None:
        self._fd = os.memfd_create("siem-load", os.MFD_CLOEXEC)
        for piece in pieces:
            view = memoryview(piece)
            while view:
                view = view[os.write(self._fd, view) :]
        self.path = f"/proc/self/fd/{self._fd}"

    def __enter__(self) -> "MemoryFile":
        return self

    def __exit__(self, *exc: object) -> None:
        os.close(self._fd)
