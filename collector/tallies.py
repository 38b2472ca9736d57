"""Each recent hour's ranked packet-filter values, tallied as the writer stores them: an hour ranked without a scan.

Ranking an hour from the table groups every row of it once per ranked field, which
was most of MariaDB's work for a busy hour. The writer holds those values anyway, so
it tallies them per hour and per router, action and chain, right after their
transaction commits. A tally is used for an hour only when it is known to hold
exactly that hour's stored rows: it never holds a row that was not committed, and
its count for every router, action and chain equals the table's. Anything else (a
restart within the hour, rows stored by another process, rows MariaDB refused, a
replay of old lines, a tally grown past its bound) is ranked from the table, as
before. Addresses are kept as 4-byte integers (IPv4) and ports as 2-byte ones, so a
busy hour of 30,000 rows costs about half a megabyte.

The top of a tally is ordered as MariaDB orders the column: by count, then by the
column's collation (utf8mb4_unicode_ci), whose weights for printable ASCII are
below; a value outside printable ASCII sends its hour to the table's ranking.
"""

import heapq
import socket
import struct
import threading
from array import array
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from itertools import chain, compress
from operator import is_not

from collector.memo import Memo
from collector.rows import PACKETFILTER_COLUMNS, columns_of
from common.store import HOUR, NO_VALUE, RANKED_FIELDS, REST, TOP_PER_BUCKET, floor_time

RECENT = timedelta(hours=3)  # rows of older hours (a replay, an import) are ranked from the table
MAX_ROWS = 400_000  # about 14 busy hours, 4 MB; past it, hours stop being tallied until ranked
TEXT_COST = 10  # a value kept as text (IPv6, an interface) costs about as much memory as this many rows
_ADDRESSES = frozenset({"src_ip", "dst_ip"})
_PORTS = frozenset({"src_port"})

# utf8mb4_unicode_ci's primary weight of each printable ASCII character (WEIGHT_STRING; upper and lower
# case share one), as characters whose order is the weights' order. Spaces and controls are left out.
_WEIGHTS = {
    "`": 0x020C, "^": 0x020F, "_": 0x021B, "-": 0x0221, ",": 0x022F, ";": 0x023A, ":": 0x023D, "!": 0x0251,
    "?": 0x0255, ".": 0x025D, "'": 0x0277, '"': 0x027E, "(": 0x0288, ")": 0x0289, "[": 0x028A, "]": 0x028B,
    "{": 0x028C, "}": 0x028D, "@": 0x02C7, "*": 0x02C8, "/": 0x02CC, "\\": 0x02CE, "&": 0x02CF, "#": 0x02D2,
    "%": 0x02D3, "+": 0x0428, "<": 0x042C, "=": 0x042D, ">": 0x042E, "|": 0x0430, "~": 0x0433, "$": 0x0E0F,
    **{digit: 0x0E29 + int(digit) for digit in "0123456789"},
    **{
        letter: weight
        for lower, weight in zip(
            "abcdefghijklmnopqrstuvwxyz",
            (0x0E33, 0x0E4A, 0x0E60, 0x0E6D, 0x0E8B, 0x0EB9, 0x0EC1, 0x0EE1, 0x0EFB, 0x0F10, 0x0F21, 0x0F2E, 0x0F5B,
             0x0F64, 0x0F82, 0x0FA7, 0x0FB4, 0x0FC0, 0x0FEA, 0x1002, 0x101F, 0x1044, 0x1051, 0x105A, 0x105E, 0x106A),
            strict=True,
        )
        for letter in (lower, lower.upper())
    },
}  # fmt: skip
_COLLATED = str.maketrans({character: chr(weight) for character, weight in _WEIGHTS.items()})


def collation_key(text: str) -> str | None:
    """A key that orders and equates texts as utf8mb4_unicode_ci does; None for a text it cannot speak for."""
    if not text.isascii():
        return None
    key = text.translate(_COLLATED)
    return key if not key or min(key) >= "\u020c" else None  # a space or a control character is not in the table


Group = tuple[str, str, str]  # router, action, chain
BatchValues = dict[str, list]  # a batch's times, routers, actions, chains and ranked fields, by column name
_POSITIONS = {
    name: PACKETFILTER_COLUMNS.index(name) for name in ("timestamp", "host", "action", "chain", *RANKED_FIELDS)
}  # the columns a batch's tallies are made of
_NATIVE = struct.Struct("=I")  # an IPv4 address's four bytes as one number, for counting (any one-to-one will do)
_not_none = partial(is_not, None)
_ADDRESS_CHARACTERS = frozenset("0123456789abcdef:.")  # of addresses as stored: digits and dots, or IPv6 in lower case


def batch_values(packetfilter: list[tuple]) -> BatchValues:
    """The columns of a batch's rows that tallies are made of, taken in the parser thread."""
    columns = columns_of(packetfilter, *_POSITIONS.values())
    return {name: columns[position] for name, position in _POSITIONS.items()}


@dataclass(slots=True)
class FieldTally:
    """One field's values in one hour and group: IPv4 addresses and ports packed, anything else counted."""

    packed: array | None
    other: Counter = field(default_factory=Counter)  # IPv6 addresses, interfaces, None

    def extend(self, values: list) -> None:
        """Tally values; a batch's run of them at a time, so the work per value is done in C."""
        packed = self.packed
        if packed is None:
            self.other.update(values)
        elif packed.typecode == "H":  # ports
            ports = list(filter(_not_none, values))
            if len(ports) != len(values):
                self.other[None] += len(values) - len(ports)
            packed.extend(ports)
        else:
            v4 = [value for value in values if value is not None and ":" not in value]
            if len(v4) != len(values):
                self.other.update(value for value in values if value is None or ":" in value)
            packed.frombytes(b"".join(map(socket.inet_aton, v4)))

    def top(self) -> list[tuple[str, int]] | None:
        """This field's ranking rows (value, packets), as the table's ranking writes them.

        The top TOP_PER_BUCKET values by count, ties in the column's order, by name;
        the rest in one REST row, the packets without a value in one NO_VALUE row.
        None when a value's order is not known here (text outside printable ASCII)
        or two values are one to the collation: the table ranks such an hour.
        """
        other, packed = self.other, self.packed
        nulls = other.get(None, 0)
        texts = [value for value in other if value is not None]
        keys = [collation_key(text) for text in texts]
        if None in keys or len(set(keys)) != len(keys):
            return None
        numbers = Counter(packed) if packed else Counter()
        counts = [*numbers.values(), *(other[text] for text in texts)]
        threshold = heapq.nlargest(TOP_PER_BUCKET, counts)[-1] if len(counts) > TOP_PER_BUCKET else 0
        # candidates are made one at a time: a busy hour's sources are mostly seen once, so all of them tie
        candidates: Iterable[tuple[int, object, str]]
        if packed is not None and packed.typecode == "H":
            candidates = ((-n, port, str(port)) for port, n in numbers.items() if n >= threshold)
        else:
            chosen = [number for number, n in numbers.items() if n >= threshold]
            addresses = map(socket.inet_ntoa, map(_NATIVE.pack, chosen))
            named = [(text, key) for text, key in zip(texts, keys, strict=True) if other[text] >= threshold]
            if not named or all(_ADDRESS_CHARACTERS.issuperset(text) for text, _ in named):
                # dotted quads sort as text does and as the collation does; IPv6 too, with ':' first, as '-' is
                named = [(text, text.replace(":", "-")) for text, _ in named]
                quads = ((-numbers[number], text, text) for number, text in zip(chosen, addresses, strict=True))
            else:
                quads = (
                    (-numbers[number], collation_key(text), text)
                    for number, text in zip(chosen, addresses, strict=True)
                )
            candidates = chain(quads, ((-other[text], key, text) for text, key in named))
        top = heapq.nsmallest(TOP_PER_BUCKET, candidates)
        labels: dict[str, int] = {}
        for minus_n, _, label in top:
            labels[label] = labels.get(label, 0) - minus_n
        rest = sum(counts) - sum(labels.values())
        if rest:
            labels[REST] = labels.get(REST, 0) + rest
        if nulls:
            labels[NO_VALUE] = labels.get(NO_VALUE, 0) + nulls
        return list(labels.items())


def _field_tally(name: str) -> FieldTally:
    if name in _ADDRESSES:
        return FieldTally(array("I"))
    return FieldTally(array("H") if name in _PORTS else None)


@dataclass(slots=True)
class GroupTally:
    """The rows of one hour and one router, action and chain."""

    rows: int = 0
    fields: dict[str, FieldTally] = field(default_factory=lambda: {name: _field_tally(name) for name in RANKED_FIELDS})

    def texts(self) -> int:
        """Values kept as text (not packed): what bounds a tally's memory besides its rows."""
        return sum(len(tally.other) for tally in self.fields.values())


class Tallies:
    """The tallies of recent hours, shared by the writer (adding) and the ranker (taking); thread-safe."""

    def __init__(self, max_rows: int = MAX_ROWS) -> None:
        self._lock = threading.Lock()
        self._hours: dict[datetime, dict[Group, GroupTally]] = {}
        self._spoiled: set[datetime] = set()
        self._rows = 0
        self._texts = 0
        self._max_rows = max_rows

    def add(self, values: BatchValues, now: datetime) -> None:
        """Tally a batch's rows, just committed; rows of hours before the recent ones are left to the table."""
        moments = values["timestamp"]
        if not moments:
            return
        recent = floor_time(now, HOUR) - RECENT
        hours = list(map(Memo(partial(floor_time, interval=HOUR)).__getitem__, moments))
        keys = list(zip(hours, values["host"], values["action"], values["chain"], strict=True))
        distinct = dict.fromkeys(keys)
        with self._lock:
            self._forget_before(recent)
            for key in distinct:
                hour, *group = key
                tally = self._tally(hour, tuple(group), recent)  # type: ignore[arg-type]
                if tally is None:
                    continue
                if len(distinct) == 1:
                    rows, columns = len(keys), [values[name] for name in RANKED_FIELDS]
                else:
                    mask = list(map(key.__eq__, keys))
                    rows, columns = mask.count(True), [list(compress(values[name], mask)) for name in RANKED_FIELDS]
                texts = tally.texts()
                for name, column in zip(RANKED_FIELDS, columns, strict=True):
                    tally.fields[name].extend(column)
                tally.rows += rows
                self._rows += rows
                self._texts += tally.texts() - texts

    def _tally(self, hour: datetime, group: Group, recent: datetime) -> GroupTally | None:
        """The tally to add a row of `hour` and `group` to, or None if the hour is not tallied."""
        if hour < recent or hour in self._spoiled:
            return None
        if self._rows >= self._max_rows or self._texts >= self._max_rows // TEXT_COST:
            self._spoil(hour)
            return None
        groups = self._hours.setdefault(hour, {})
        tally = groups.get(group)
        if tally is None:
            tally = groups[group] = GroupTally()
        return tally

    def _forget_before(self, recent: datetime) -> None:
        """Drop what is kept of hours older than the recent ones: ranked from the table, if not ranked already."""
        for hour in [hour for hour in self._hours if hour < recent]:
            self._drop(hour)
        self._spoiled = {hour for hour in self._spoiled if hour >= recent}

    def spoil(self, hours: set[datetime]) -> None:
        """Leave these hours to the table (some of their rows were not stored as tallied) until ranked."""
        with self._lock:
            for hour in hours:
                self._spoil(hour)

    def _spoil(self, hour: datetime) -> None:
        self._drop(hour)
        self._spoiled.add(hour)

    def _drop(self, hour: datetime) -> dict[Group, GroupTally] | None:
        """Remove an hour's tallies from what is kept, and return them."""
        groups = self._hours.pop(hour, None)
        if groups is not None:
            self._rows -= sum(tally.rows for tally in groups.values())
            self._texts -= sum(tally.texts() for tally in groups.values())
        return groups

    def take(self, hour: datetime) -> dict[Group, GroupTally] | None:
        """Remove an hour's tallies (it is being ranked) and return them, or None if it was not tallied whole."""
        with self._lock:
            spoiled = hour in self._spoiled
            self._spoiled.discard(hour)
            groups = self._drop(hour)
            return None if spoiled else groups


def ranked_rows(
    groups: dict[Group, GroupTally] | None, stored: list[tuple[str, str, str, int]]
) -> list[tuple[str, str, str, str, str, int]] | None:
    """An hour's ranking rows (field, host, action, chain, value, packets) from its tallies, or None.

    `stored` is the table's (host, action, chain, rows) for the hour, grouped as the
    column collation groups them; the tallies stand for the hour only if they hold
    the same rows per group, else None and the table is ranked.
    """
    if groups is None:
        return None
    tallied: dict[tuple, GroupTally] = {}
    for names, tally in groups.items():
        key = tuple(map(collation_key, names))
        if None in key or key in tallied:
            return None
        tallied[key] = tally
    if len(tallied) != len(stored):
        return None
    rows = []
    for host, action, chain_name, count in stored:
        found = tallied.get(tuple(map(collation_key, (host, action, chain_name))))
        if found is None or found.rows != count:
            return None
        for name, field_tally in found.fields.items():
            top = field_tally.top()
            if top is None:
                return None
            rows += [(name, host, action, chain_name, value, packets) for value, packets in top]
    return rows
