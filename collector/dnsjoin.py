"""Join a batch's DNS log lines into one record per query; no I/O.

dnsmasq writes a query, then maybe `forwarded`, then one line per record of the
answer (`reply`, `cached`, `config`...). With `log-queries=extra` every line of a
query carries its serial and the join is exact; without it a line joins the oldest
open query for its name from the same router, an IPv4 answer preferring an A query
and an IPv6 one an AAAA query, and the further records of an answer (a CNAME's
target, a second address) are recognised as following their first line when nothing
came between. unbound's
reply lines name client, name and type, and join on all three.

A query whose outcome has not arrived yet may be held back (`hold`): the writer
puts its lines into the next batch, so every batch is complete on its own and a
spooled batch replays into the same rows.
"""

from dataclasses import dataclass, field
from datetime import datetime

from collector.dns import FORWARDED, FORWARDED_ONLY, OUTCOME, QUERY, DnsLine

HOLD_SECONDS = 2.0  # how long a query may wait for its outcome line in the next batch


@dataclass(slots=True)
class DnsQuery:
    """One query with what the log said became of it; `lines` are the batch positions it was made from."""

    timestamp: datetime
    host: str
    client: str
    qtype: str
    domain: str
    received: float
    outcome: str = "unknown"
    blocked_by: str | None = None
    upstream: str | None = None
    answer: str | None = None
    lines: list[int] = field(default_factory=list)
    done: bool = False


@dataclass(slots=True)
class _Stream:
    """What one router's lines left open so far in this batch."""

    by_serial: dict[int, DnsQuery] = field(default_factory=dict)
    by_domain: dict[str, list[DnsQuery]] = field(default_factory=dict)
    answered: dict[int, DnsQuery] = field(default_factory=dict)  # extra serials already answered
    last_outcome: DnsQuery | None = None  # the query the previous line answered: its answer may go on
    last_position: int = -2  # where this router's previous DNS line was in the batch


@dataclass(slots=True)
class Joined:
    """A batch's queries (held ones left out), the positions of held lines, and lines that joined nothing."""

    queries: list[DnsQuery]
    held: list[int]
    unjoined: int


def _family(line: DnsLine) -> str | None:
    """The query type an answer line fits: A for an IPv4 answer, AAAA for IPv6, None when it cannot tell."""
    if line.answer is None:
        return None
    return "AAAA" if ":" in line.answer else "A"


def _open_query(stream: _Stream, line: DnsLine, fits: str | None) -> DnsQuery | None:
    """The open query a forwarded or outcome line belongs to, if any."""
    if line.serial is not None:
        return stream.by_serial.get(line.serial)
    waiting = stream.by_domain.get(line.domain)
    if not waiting:
        return None
    if line.client is not None:  # unbound: client, name and type
        return next((q for q in waiting if q.client == line.client and q.qtype == line.qtype), None)
    if fits is not None:
        return next((q for q in waiting if q.qtype == fits), None)
    return waiting[0]


def _close(stream: _Stream, query: DnsQuery, serial: int | None) -> None:
    """Take an answered query off the open lists."""
    query.done = True
    if serial is not None:
        stream.by_serial.pop(serial, None)
        stream.answered[serial] = query
    waiting = stream.by_domain.get(query.domain)
    if waiting is not None:
        waiting.remove(query)
        if not waiting:
            del stream.by_domain[query.domain]


class _Joiner:
    """The queries of one batch and what each router's lines left open."""

    def __init__(self) -> None:
        self.queries: list[DnsQuery] = []
        self.streams: dict[str, _Stream] = {}
        self.unjoined = 0

    def feed(self, position: int, moment: datetime, received: float, host: str, line: DnsLine) -> None:
        """Take one line."""
        stream = self.streams.get(host)
        if stream is None:
            stream = self.streams[host] = _Stream()
        if stream.last_position != position - 1:  # another line came between: an answer's records do not
            stream.last_outcome = None
        stream.last_position = position
        if line.kind == QUERY:
            query = DnsQuery(moment, host, line.client or "", line.qtype or "", line.domain, received)
            query.lines.append(position)
            self.queries.append(query)
            if line.serial is not None:
                stream.by_serial[line.serial] = query
            stream.by_domain.setdefault(line.domain, []).append(query)
            stream.last_outcome = None
        elif line.kind == FORWARDED:
            query = _open_query(stream, line, None)
            if query is None:
                self.unjoined += 1
            else:
                query.lines.append(position)
                query.upstream = query.upstream or line.upstream
                query.outcome = FORWARDED_ONLY
            stream.last_outcome = None
        elif line.kind == OUTCOME:
            self._outcome(stream, position, line, moment=moment, host=host, received=received)

    def _outcome(
        self, stream: _Stream, position: int, line: DnsLine, *, moment: datetime, host: str, received: float
    ) -> None:
        """An answer line: the outcome of its open query, a further record of the last answer, or unjoined."""
        fits = _family(line)
        query = _open_query(stream, line, fits)
        if query is None:
            if line.serial is not None:
                following = stream.answered.get(line.serial)
            else:  # unbound's lines each stand alone
                following = stream.last_outcome if line.client is None else None
            if following is not None:
                following.lines.append(position)
                following.answer = following.answer or line.answer
                return
            if line.client is not None and line.qtype:  # unbound with log-replies alone: a query of its own
                query = DnsQuery(moment, host, line.client, line.qtype, line.domain, received, done=True)
                self.queries.append(query)
            elif fits is not None and stream.by_domain.get(line.domain):
                query = stream.by_domain[line.domain][0]  # an answer of the other family, nothing before it
            else:
                self.unjoined += 1
                stream.last_outcome = None
                return
        query.lines.append(position)
        query.outcome = line.outcome or query.outcome
        query.blocked_by = line.blocked_by
        query.answer = line.answer
        if not query.done:
            _close(stream, query, line.serial)
        stream.last_outcome = query


def join(lines: list[tuple[int, datetime, float, str, DnsLine]], hold_after: float | None = None) -> Joined:
    """Join (position, time, arrival, router, line) tuples, in arrival order.

    Queries still open at the end that arrived at or after `hold_after` (wall-clock
    seconds; None: hold nothing) are held; other open ones keep the outcome they
    reached (forwarded, or unknown).
    """
    joiner = _Joiner()
    for line in lines:
        joiner.feed(*line)
    held: list[int] = []
    kept = []
    for query in joiner.queries:
        if not query.done and hold_after is not None and query.received >= hold_after:
            held.extend(query.lines)
        else:
            kept.append(query)
    return Joined(kept, sorted(held), joiner.unjoined)
