"""The one database writer: batches from the buffer into MariaDB, to the spool while MariaDB is away."""

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from functools import partial
from typing import NamedTuple

import pymysql

from collector import db
from collector.buffer import Buffer, Received
from collector.dnsjoin import HOLD_SECONDS, DnsQuery, Joined, join
from collector.dnsrows import dns_counts, dns_rows
from collector.inventory import Inventory, Sighting
from collector.notices import Notices
from collector.owners import AddressOwners
from collector.rows import (
    Rows,
    build_rows,
    by_day,
    by_hour,
    count_messages,
    count_ports_and_macs,
    count_rows,
    pending_hours,
    rows_by_day,
)
from collector.settings import Settings
from collector.spool import Spool, SpoolFull
from collector.stats import Counters
from collector.syslog import Severity
from collector.tallies import BatchValues, Tallies, batch_values
from common.store import HOUR, floor_time

log = logging.getLogger(__name__)
_STOP_GRACE_SECONDS = 10.0
MESSAGES, PARSED = "messages", "parsed"  # a batch's two parts, stored side by side
BOTH = (PARSED, MESSAGES)


class Prepared(NamedTuple):
    """A batch parsed into LOAD DATA text and counts; the raw messages go along for the spool.

    The log tables' rows are dropped once they are text (a batch in hand holds them
    once, not twice); `rows_again` makes them anew for the rare INSERT path.
    """

    batch: list[Received]
    sightings: list[Sighting]
    statements: db.Statements
    encoded: dict[str, list[bytes]]  # the log tables' rows as LOAD DATA text
    rows_again: Callable[[], dict[str, list[tuple]]]
    dns: list[DnsQuery]  # the batch's DNS queries, named and numbered by the writer
    held: list[Received]  # DNS lines of queries waiting for their outcome: the next batch's first
    dns_unjoined: int  # DNS outcome lines that joined no query (kept as messages)
    values: BatchValues  # the packet-filter values the rankings' tallies are made of


def prepare(
    batch: list[Received], settings: Settings, hold_after: float | None = None, *, dns: bool = True
) -> Prepared:
    """Parse, count and encode a batch: everything but the inventory, which depends on the batches before.

    DNS queries that arrived at or after `hold_after` (wall-clock seconds) and have no
    outcome yet are taken out of the batch with their lines, to go first into the next.
    Without `dns` (a database without the DNS tables) their lines are only messages.
    """
    batch, rows, joined, held = _parse(batch, settings, hold_after, dns)
    ports, macs = count_ports_and_macs(rows.packetfilter)
    messages = count_messages(rows.messages)
    counts = count_rows(rows.packetfilter)
    values = batch_values(rows.packetfilter)
    statements = [
        (db.PACKETFILTER_PENDING, pending_hours(counts)),
        (db.MESSAGES, rows.messages),
        (db.MESSAGES_COUNTS, messages),
        (db.MESSAGES_HOURLY, by_hour(messages)),
        (db.PACKETFILTER, rows.packetfilter),
        (db.PACKETFILTER_COUNTS, counts),
        (db.PACKETFILTER_PORTS, ports),
        (db.PACKETFILTER_MACS, macs),
        (db.ADDRWATCH, rows.addrwatch),
        (db.MESSAGES_DAILY, by_day("messages", messages)),
        (db.PARSED_DAILY, [*by_day("packetfilter", counts), *rows_by_day("addrwatch", rows.addrwatch)]),
    ]
    sightings = rows.sightings
    del rows  # the statements hold the log tables' rows alone: each table's are freed once they are text
    encoded = db.encode_bulk(statements)
    again = partial(_rows_again, batch, settings, dns)
    return Prepared(batch, sightings, statements, encoded, again, joined.queries, held, joined.unjoined, values)


def _parse(
    batch: list[Received], settings: Settings, hold_after: float | None, dns: bool
) -> tuple[list[Received], Rows, Joined, list[Received]]:
    """The batch less its held lines, its rows (less the DNS lines stored as queries), its queries, the held lines."""
    rows = build_rows(batch, settings.zone, settings.lan_interfaces)
    joined = join(rows.dns if dns else [], hold_after)
    held = [batch[position] for position in joined.held]
    waiting = set(joined.held)
    if waiting:
        batch = [item for position, item in enumerate(batch) if position not in waiting]
    if not settings.dns_lines_in_messages:  # stored as their query's row, with its own shorter retention
        waiting.update(position for query in joined.queries for position in query.lines)
    if waiting:
        rows.messages = [row for position, row in enumerate(rows.messages) if position not in waiting]
    return batch, rows, joined, held


def _rows_again(batch: list[Received], settings: Settings, dns: bool) -> dict[str, list[tuple]]:
    """The log tables' rows of a prepared batch (held lines already out), parsed again: the same rows as before."""
    rows = _parse(batch, settings, None, dns)[1]
    return {db.MESSAGES: rows.messages, db.PACKETFILTER: rows.packetfilter, db.ADDRWATCH: rows.addrwatch}


class Writer(threading.Thread):
    """Runs in its own thread so the receiving event loop never waits on MariaDB.

    Order of preference for every batch: MariaDB, else the spool, else hold it
    (the buffer then fills and TCP senders are paused). Spooled batches are
    replayed a chunk at a time between live batches once MariaDB is back.
    A second thread parses the next batch while this one waits on MariaDB, and a
    third stores the batch's messages on a second connection while this one
    stores the rows parsed from them: MariaDB works on both at once.
    """

    def __init__(
        self,
        settings: Settings,
        buffer: Buffer,
        spool: Spool,
        counters: Counters,
        notices: Notices,
        *,
        tallies: Tallies | None = None,
    ) -> None:
        super().__init__(name="db-writer", daemon=True)
        self._tallies = tallies
        self._settings = settings
        self._buffer = buffer
        self._spool = spool
        self._counters = counters
        self._notices = notices
        self._connection: pymysql.connections.Connection | None = None
        self._messages_connection: pymysql.connections.Connection | None = None
        self._side = ThreadPoolExecutor(max_workers=1, thread_name_prefix="db-messages")
        # a batch of which one part is stored waits in a spool of its own for the other
        self._spools = {BOTH: spool, (PARSED,): spool.part(PARSED), (MESSAGES,): spool.part(MESSAGES)}
        self._inventory = Inventory()
        self._owners = AddressOwners()
        self._domains = db.Domains()
        self._ids = db.RowIds()
        self._dns_ready = True  # the DNS tables are there (known after connecting)
        self._next_attempt = 0.0
        self._down_since: float | None = None
        self._failures = 0
        self._spool_full = False
        self._stopping = threading.Event()
        self._stop_deadline = float("inf")
        self._prepared: queue.Queue[Prepared | None] = queue.Queue()  # None: drained after stop
        self._in_hand = threading.Semaphore(2)  # batches out of the buffer: one being written, one parsed ahead

    def stop(self) -> None:
        """Ask the writer to drain the buffer, flush and finish."""
        self._stop_deadline = time.monotonic() + _STOP_GRACE_SECONDS
        self._stopping.set()
        self._buffer.wake()

    def run(self) -> None:
        """Move batches until stopped and drained."""
        settings = self._settings
        log.info("waiting for MariaDB at %s:%s (database %s)", settings.db_host, settings.db_port, settings.db_name)
        if self._spool_pending():
            log.info("spool holds %d bytes from before; replaying once MariaDB answers", self._spool.shared_size)
        self._connected()
        parser = threading.Thread(target=self._parse, name="parser", daemon=True)
        parser.start()
        while True:
            try:
                prepared = self._prepared.get(timeout=settings.flush_seconds)
            except queue.Empty:
                prepared = (
                    None
                    if self._stopping.is_set() and not parser.is_alive()
                    else Prepared([], [], [], {}, dict, [], [], 0, batch_values([]))
                )
            if prepared is None:
                break
            if prepared.batch:
                self._store(prepared)
                self._in_hand.release()
            if not self._stopping.is_set() and self._connected() and self._spool_pending():
                self._replay_chunk()
        for spool in self._spools.values():
            spool.close()
        self._forget_connection()
        self._side.shutdown()

    def _parse(self) -> None:
        """Take batches from the buffer and parse them, one ahead of the writer, until stopped and drained."""
        settings = self._settings
        held: list[Received] = []
        while True:
            self._in_hand.acquire()  # at most one batch ahead of the writer: memory stays bounded
            batch = held + self._buffer.take(settings.batch_size, settings.flush_seconds)
            if batch:
                stopping = self._stopping.is_set()
                hold_after = None if stopping else time.time() - HOLD_SECONDS
                prepared = prepare(batch, settings, hold_after, dns=self._dns_ready)
                held = prepared.held
                if prepared.batch:
                    self._prepared.put(prepared)
                    continue
            self._in_hand.release()
            if self._stopping.is_set() and not held:
                break
        self._prepared.put(None)

    def _store(self, prepared: Prepared) -> None:
        """Write a batch to MariaDB, or spool what of it was not stored."""
        failed = self._write(prepared) if self._connected() else BOTH
        if failed:
            self._to_spool(prepared, failed)
        else:
            self._counters.written += len(prepared.batch)

    def _write(self, prepared: Prepared, parts: tuple[str, ...] = BOTH) -> tuple[str, ...]:
        """Store a batch's parts, each in its own transaction, at the same time; return the parts not stored.

        Each part commits with its own counts, so a stored part is whole and exact;
        the part that failed is spooled alone, and its replay writes nothing twice.
        If MariaDB went away the connections are dropped.
        """
        if not self._dns_ready and prepared.dns:  # parsed before the writer found no DNS tables
            prepared = prepare(prepared.batch, self._settings, dns=False)
        side: Future[int] | None = None
        parsed_done = threading.Event()  # messages commit last: whoever sees a message sees the rows parsed from it
        if MESSAGES in parts:
            statements = [(sql, rows) for sql, rows in prepared.statements if sql in db.MESSAGE_PART]
            side = self._side.submit(
                db.store,
                self._messages_connection,
                statements,
                self._ids,
                prepared.encoded,
                before_commit=parsed_done.wait,
                rows_again=prepared.rows_again,
            )
        failed, errors, rejected = [], [], 0
        try:
            if PARSED in parts:
                rejected += self._write_parsed(prepared)
        except db.DatabaseDown as error:
            failed.append(PARSED)
            errors.append(error)
        finally:
            parsed_done.set()
        if side is not None:
            try:
                rejected += side.result()
            except db.DatabaseDown as error:
                failed.append(MESSAGES)
                errors.append(error)
        if errors:
            self._failed(f"lost MariaDB ({errors[0]})")
            return tuple(part for part in BOTH if part in failed)
        self._recovered()
        if rejected:
            self._counters.rejected_rows += rejected
            self._notices.emit(Severity.ERR, "MariaDB refused %d rows; see the collector log", rejected)
        return ()

    def _write_parsed(self, prepared: Prepared) -> int:
        """Store the rows parsed from a batch with the inventory's changes; the rows MariaDB refused."""
        changes = self._inventory.observe(prepared.sightings)
        statements = [
            *[(sql, rows) for sql, rows in prepared.statements if sql not in db.MESSAGE_PART],
            (db.DEVICES, changes.devices),
            (db.DEVICE_ADDRESSES, changes.addresses),
            (db.DEVICE_EVENTS, changes.events),
        ]
        self._owners.add(changes.addresses)  # spans only widen; a batch not stored widens them again on replay
        new_domains: list[tuple] = []
        if prepared.dns:
            dns_statements, new_domains = self._dns_statements(prepared.dns)
            statements += dns_statements
        rejected = db.store(self._connection, statements, self._ids, prepared.encoded, rows_again=prepared.rows_again)
        self._tally(prepared.values, rejected)
        self._inventory.apply(changes)
        self._domains.stored(new_domains)
        self._counters.dns_queries += len(prepared.dns)
        self._counters.dns_unjoined += prepared.dns_unjoined
        return rejected

    def _tally(self, values: BatchValues, rejected: int) -> None:
        """Add a stored batch's packet-filter values to the rankings' tallies; if rows were refused, drop its hours'."""
        if self._tallies is None:
            return
        now = datetime.now(UTC).replace(tzinfo=None)
        try:
            if rejected:
                self._tallies.spoil({floor_time(moment, HOUR) for moment in values["timestamp"]})
            else:
                self._tallies.add(values, now)
        except Exception:  # a tally is only a shortcut: the table ranks what it misses
            log.exception("could not tally a batch; its hours are ranked from the table")
            self._tallies.spoil({floor_time(moment, HOUR) for moment in values["timestamp"]})

    def _dns_statements(self, queries: list[DnsQuery]) -> tuple[db.Statements, list[tuple]]:
        """A batch's DNS rows, counts and new domain names; its queries named by the address spans up to its own."""
        ids, new = self._domains.ids(self._connection, {query.domain for query in queries})
        rows = dns_rows(queries, self._owners, ids)
        counts = dns_counts(rows)
        return [
            (db.DNS_DOMAINS, new),
            (db.DNS_QUERIES, rows),
            (db.DNS_HOURLY, counts.hourly),
            (db.DNS_DEVICE_HOURLY, counts.device_hourly),
            (db.DNS_DEVICE_DAILY, counts.device_daily),
            (db.DNS_DOMAIN_DAILY, counts.domain_daily),
            (db.DNS_DEVICE_DOMAINS, counts.spans),
            (db.PARSED_DAILY, by_day("dns_queries", counts.device_daily)),
        ], new

    def _to_spool(self, prepared: Prepared, parts: tuple[str, ...]) -> None:
        """Spool a batch for the parts it still needs; while the spool is full, hold it and keep trying both ways."""
        batch = prepared.batch
        while True:
            try:
                self._spools[parts].append(batch)
            except SpoolFull as error:
                if not self._spool_full:
                    self._spool_full = True
                    log.error(
                        "spool full (%s): holding messages; TCP senders are paused, UDP messages dropped and counted",
                        error,
                    )
                if self._stopping.is_set() and time.monotonic() > self._stop_deadline:
                    self._counters.lost += len(batch)
                    log.error("shutting down with MariaDB away and the spool full: %d messages lost", len(batch))
                    return
                time.sleep(min(self._settings.db_retry_seconds, 1.0))
                if self._connected():
                    parts = self._write(prepared, parts)
                    if not parts:
                        self._counters.written += len(batch)
                        return
                continue
            if self._spool_full:
                self._spool_full = False
                self._notices.emit(Severity.WARNING, "spool has room again; stopped holding messages")
            self._counters.spooled += len(batch)
            return

    def _spool_pending(self) -> bool:
        """True while any spool holds messages not yet (wholly) in MariaDB."""
        return any(spool.pending for spool in self._spools.values())

    def _replay_chunk(self) -> None:
        """Write one chunk of a spool to MariaDB, the parts it still needs, and mark it done."""
        parts, spool = next((parts, spool) for parts, spool in self._spools.items() if spool.pending)
        token, items = spool.read(self._settings.batch_size)
        if items:
            prepared = prepare(items, self._settings, dns=self._dns_ready)
            failed = self._write(prepared, parts)
            if failed == parts:
                return
            if failed:  # one part stored: the other moves to its own spool
                self._to_spool(prepared, failed)
        spool.commit(token)
        self._counters.replayed += len(items)
        if not self._spool_pending():
            self._notices.emit(
                Severity.NOTICE, "spool replayed into MariaDB: %d messages so far", self._counters.replayed
            )

    def _connected(self) -> bool:
        """True with a live connection; otherwise try to connect, at most every SIEM_DB_RETRY_SECONDS."""
        if self._connection is not None:
            return True
        if time.monotonic() < self._next_attempt:
            return False
        settings = self._settings
        try:
            self._connection = db.connect(settings)
            self._messages_connection = db.connect(settings)
            self._inventory.load(db.load_inventory(self._connection))
            self._owners.load(db.load_owners(self._connection))
            ready = self._ids.load(self._connection)
            if ready:
                self._domains.load(self._connection)
        except db.DatabaseDown as error:
            self._failed(f"MariaDB at {settings.db_host}:{settings.db_port} not available: {error}")
            return False
        if not ready and self._dns_ready:
            log.warning(
                "the DNS tables are missing (a database from before them): run `make upgrade-db`;"
                " until then DNS query logs are stored as plain messages"
            )
        self._dns_ready = ready
        level = logging.INFO if self._down_since is None else logging.DEBUG
        log.log(level, "connected to MariaDB at %s:%s", settings.db_host, settings.db_port)
        return True

    def _failed(self, reason: str) -> None:
        """Drop the connection and schedule a retry; say so once per outage (and again every 30 attempts)."""
        self._forget_connection()
        self._counters.db_up = False
        now = time.monotonic()
        self._next_attempt = now + self._settings.db_retry_seconds
        self._failures += 1
        if self._down_since is None:
            self._down_since = now
            self._notices.emit(
                Severity.ERR, "%s; holding messages in %s until it is back", reason, self._spool.directory
            )
        elif self._failures % 30 == 0:
            log.warning("%s (still failing after %d attempts)", reason, self._failures)

    def _recovered(self) -> None:
        """After a successful write: end the outage, with a notice saying how long it lasted."""
        self._counters.db_up = True
        if self._down_since is not None:
            self._notices.emit(
                Severity.NOTICE,
                "MariaDB back after %.0f s; %d messages spooled so far, replaying any still on disk",
                time.monotonic() - self._down_since,
                self._counters.spooled,
            )
            self._down_since, self._failures = None, 0

    def _forget_connection(self) -> None:
        """Close and drop the connections, whatever state they are in."""
        db.close_quietly(self._connection)
        db.close_quietly(self._messages_connection)
        self._connection = self._messages_connection = None
