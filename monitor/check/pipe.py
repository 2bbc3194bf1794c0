"""Pure: what crosses a worker's pipes, as length-prefixed marshal frames.

A 50,000-target run sends every target and every result through a pipe
once, so the format is built for cheap encoding and decoding rather than
for reading (bench/pipe_codec.py measures it; JSON lines with ISO dates cost
~2.5x the CPU; msgspec's MessagePack, typed or not, and pickle protocol 5
cost 2-12% more than marshal, so marshal stays):

- a frame is a 4-byte little-endian length and a payload, so the reader
  never scans for a delimiter and a frame holds a whole batch (one
  `marshal` call and one write per batch, not per item);
- the payload is `marshal` (a C codec for plain tuples, strings and
  numbers, floats bit-exact). It is CPython's own format, not an interchange
  one, and unsafe on untrusted input; both ends here are the same
  interpreter (the parent starts `sys.executable`) on a pipe the parent
  created, which is what it is for;
- a result is a positional tuple; values equal to their defaults travel
  as `0`;
- a UTC datetime travels as its 10-byte pickle state (`__reduce_ex__`,
  which CPython keeps loadable across versions) and is rebuilt by the C
  constructor: exact to the microsecond and `fold`, tzinfo the same `UTC`,
  and ~10x cheaper to encode than `isoformat()`. Any other datetime (not
  produced today) travels as (its wall time's pickle state, its offset in
  microseconds or None when naive), which keeps fold and offset exactly.

    first frame to a worker: the settings as JSON (UTF-8)
    targets frame:  [(kind, url), ...]                 (`check`)
    requests frame: [(kind, url, id), ...]             (the daemon)
    ids frame:      (id, ...)  to a worker: cancel these requests;
                    from a worker: these were cancelled, no result comes
    results frame:  [(key, url|0, kind, outcome, checked_at, status,
                      final_url|0, redirects|0, latency_ms, attempts, error,
                      facts|0, cert_not_after, problems|0), ...]
    holds frame:    {host: (seconds_left, backoff), ..., id: seconds_left, ...}
                    from the daemon's workers: hosts whose hold (Retry-After,
                    a 429/503 backoff) began or grew since the last, or whose
                    refusals ended (backoff 0), so the daemon starts none of
                    their checks meanwhile (dispatch.py `held_back`); and the
                    requests given back, not started, as their host is held
                    (requests.py; no result comes for them); none while no
                    host refuses

`key` is the URL the parent sent (the result's own URL travels only when it
differs, `final_url` only when it differs from that), or the request's id
when it sent one: the daemon's checks of one URL overlap (a target claimed
again while its old check runs), and an id names the check a result or a
cancel is for. Each request gets exactly one answer, a result or its id in
an ids frame or a holds frame, so a worker's count of answers still matches its requests.
A frame's payload is a list (targets, requests or results), a tuple (ids)
or a dict (holds). Results and facts are rebuilt positionally, in
RESULT_FIELDS and FACTS_FIELDS order, which a test holds to the model's
dataclasses.

A stream that ends inside a frame (a worker that died mid-write) leaves
`Frames.pending` non-zero; a length beyond MAX_FRAME or a payload that does
not decode raises CorruptFrame: the caller fails the run, never guesses.
"""

from __future__ import annotations

import marshal
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any, cast

from monitor.durations import MAX_SECONDS
from monitor.vocabulary import (
    CheckResult,
    ContentFacts,
    Kind,
    Outcome,
    Problem,
    ProblemCode,
    Redirect,
)

HEADER = 4  # bytes of a frame's length
# far above any batch; a "length" read from text (stray output on the pipe,
# e.g. a traceback: four bytes >= 0x20, so >= 512 MiB) is over it at once
MAX_FRAME = 256 << 20

Row = tuple[Any, ...]

# the order of a row's and a facts tuple's fields (a test holds them to the model's)
RESULT_FIELDS = (
    "url",
    "kind",
    "outcome",
    "checked_at",
    "http_status",
    "final_url",
    "redirects",
    "latency_ms",
    "attempts",
    "error",
    "facts",
    "cert_not_after",
    "problems",
)
FACTS_FIELDS = (
    "content_type",
    "canonical",
    "amphtml",
    "is_amp",
    "soft_404",
    "image_format",
    "width",
    "height",
    "bytes_read",
    # the page fingerprint, added later: a shorter tuple still builds (defaults)
    "title",
    "og_title",
    "h1",
    "description",
    "text_hash",
    "published_time",
    "title_key",
    "image_invalid",
)
_NO_FACTS = ContentFacts()  # a result whose facts equal these sends `0`
_KIND = {k.value: k for k in Kind}
_OUTCOME = {o.value: o for o in Outcome}
_CODE = {c.value: c for c in ProblemCode}
# datetime(state, tz) is the constructor pickle uses; typeshed knows only the public one
_from_state = cast(Callable[[bytes, tzinfo], datetime], datetime)
_from_naive_state = cast(Callable[[bytes], datetime], datetime)
_MICROSECOND = timedelta(microseconds=1)


class CorruptFrame(ValueError):
    """Bytes on a pipe that are not a frame of this format."""


def frame(payload: bytes) -> bytes:
    """`payload` with its length in front."""
    if len(payload) > MAX_FRAME:
        raise ValueError(f"a frame of {len(payload)} bytes is over the {MAX_FRAME} limit")
    return len(payload).to_bytes(HEADER, "little") + payload


class Frames:
    """Splits a byte stream, arriving in any pieces, into frame payloads."""

    def __init__(self) -> None:
        self.tail = b""

    def feed(self, data: bytes) -> Iterator[bytes]:
        """The payloads completed by `data`, in order; an unfinished frame waits
        for more. Garbage raises CorruptFrame after the whole frames before it."""
        if self.tail:
            data = self.tail + data
        pos, end = 0, len(data)
        try:
            while end - pos >= HEADER:
                size = int.from_bytes(data[pos : pos + HEADER], "little")
                if size > MAX_FRAME:
                    raise CorruptFrame(f"a frame length of {size} bytes")
                stop = pos + HEADER + size
                if stop > end:
                    break
                yield data[pos + HEADER : stop]
                pos = stop
        finally:
            self.tail = data[pos:] if pos else data

    @property
    def pending(self) -> int:
        """Bytes of a frame not finished yet (at the end of a stream: a torn one)."""
        return len(self.tail)


def _load(payload: bytes) -> Any:
    try:
        return marshal.loads(payload)
    except (ValueError, EOFError, TypeError) as exc:
        raise CorruptFrame(f"an undecodable frame of {len(payload)} bytes") from exc


def targets_frame(batch: Iterable[tuple[Kind, str]]) -> bytes:
    """One frame of targets for a worker's stdin."""
    return frame(marshal.dumps([(kind._value_, url) for kind, url in batch]))


def targets_from_frame(payload: bytes) -> list[tuple[Kind, str]]:
    try:
        return [(_KIND[k], url) for k, url in _load(payload)]
    except (ValueError, TypeError, KeyError) as exc:
        raise CorruptFrame("a frame that is not a batch of targets") from exc


Request = tuple[Kind, str, str | int]  # kind, url, and the key its answer carries


def requests_frame(batch: Iterable[tuple[Kind, str, int]]) -> bytes:
    """One frame of the daemon's requests: targets with the ids their answers carry."""
    return frame(marshal.dumps([(kind._value_, url, key) for kind, url, key in batch]))


def ids_frame(ids: Iterable[int]) -> bytes:
    """One frame of request ids: cancels to a worker, or a worker's cancelled ones."""
    return frame(marshal.dumps(tuple(ids)))


def _ids(data: tuple[Any, ...]) -> tuple[int, ...]:
    for key in data:
        if key.__class__ is not int:
            raise CorruptFrame("a frame of ids that holds other than ints")
    return data


_LIST = ord("[")
HOLDS = ord("{")  # a holds frame's first byte (a marshal dict), FLAG_REF aside
FLAG_REF = 0x80  # marshal's flag on a type code: the object may be referred back to


def is_requests(payload: bytes) -> bool:
    """Whether a worker's input frame is a batch of targets or requests (a marshal
    list: its first byte, the type code, says so) and not ids to cancel (a
    tuple), told without decoding it: the worker holds such frames undecoded
    until its queue runs low, and applies a cancel at once."""
    return bool(payload) and payload[0] & ~FLAG_REF == _LIST


_NUMBERS = (int, float)


def holds_frame(
    holds: dict[str, tuple[float, float]], deferred: dict[int, float] | None = None
) -> bytes:
    """One frame of a worker's hosts held back, host key -> (seconds left, backoff),
    and of the requests it gave back as their host is held, id -> seconds left."""
    return frame(marshal.dumps({**holds, **deferred} if deferred else holds))


def is_holds(payload: bytes) -> bool:
    """Whether a worker's output frame is its holds (a marshal dict), told by its
    first byte as `is_requests` tells requests."""
    return bool(payload) and payload[0] & ~FLAG_REF == HOLDS


def holds_from_frame(
    payload: bytes,
) -> tuple[dict[str, tuple[float, float]], dict[int, float]]:
    """The holds of one `holds_frame`, host key -> (seconds left, backoff), and
    its requests given back, id -> seconds left."""
    data = _load(payload)
    try:
        if data.__class__ is not dict:
            raise TypeError("not a dict")
        out = {}
        deferred = {}
        for host, value in data.items():
            if host.__class__ is int:  # a request given back
                if not (value.__class__ in _NUMBERS and 0 <= host and 0 <= value <= MAX_SECONDS):
                    raise ValueError("not a request's id and its seconds")
                deferred[host] = float(value)
                continue
            left, backoff = value
            if host.__class__ is not str or not (
                left.__class__ in _NUMBERS and backoff.__class__ in _NUMBERS
            ):
                raise TypeError("not a host and two numbers")
            # a worker's are capped by retry_after_max and backoff_max: an
            # infinite one raised in the dispatcher (int(inf)), a huge one was
            # a due past SQLite's integers, NaN a hold never over nor dropped
            if not (0 <= left <= MAX_SECONDS and 0 <= backoff <= MAX_SECONDS):
                raise ValueError("seconds out of range")
            out[host] = (float(left), float(backoff))
        return out, deferred
    except (ValueError, TypeError) as exc:
        raise CorruptFrame("a frame that is not a worker's holds") from exc


def requests_from_frame(payload: bytes) -> tuple[list[Request], tuple[int, ...]]:
    """A worker's input frame: targets (keyed by their URL) or requests (by their
    id), or the ids of requests to cancel."""
    data = _load(payload)
    if data.__class__ is tuple:
        return [], _ids(data)
    kinds = _KIND
    try:  # one shape a frame: targets (a URL is its own key) or requests
        if data and len(data[0]) == 3:
            return [(kinds[k], url, key) for k, url, key in data], ()
        return [(kinds[k], url, url) for k, url in data], ()
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise CorruptFrame("a frame that is not a batch of targets") from exc


def answers_from_frame(payload: bytes) -> tuple[list[tuple[Any, CheckResult]], tuple[int, ...]]:
    """A worker's output frame: (key, result) pairs, or the ids it cancelled."""
    data = _load(payload)
    if data.__class__ is tuple:
        return [], _ids(data)
    try:
        return _results(data), ()
    except (ValueError, TypeError, KeyError, OverflowError) as exc:
        raise CorruptFrame("a frame that is not a batch of results") from exc


def _instant(value: datetime) -> bytes | tuple[bytes, int | None]:
    if value.tzinfo is UTC:
        return cast(bytes, value.__reduce_ex__(4)[1][0])
    # another zone or naive: the wall time (fold included) and its offset in
    # microseconds, or None. Not isoformat: fromisoformat read an offset under a
    # second ("+00:00:00.000001") as UTC.
    offset = value.utcoffset()
    wall = cast(bytes, value.replace(tzinfo=None).__reduce_ex__(4)[1][0])
    return wall, None if offset is None else offset // _MICROSECOND


def result_row(key: str | int, r: CheckResult) -> Row:
    """`r`, the result of checking `key` (a URL, or a request id), as one positional tuple."""
    facts = r.facts
    url = r.url
    at = r.checked_at
    cert = r.cert_not_after
    return (
        key,
        0 if url == key else url,
        r.kind._value_,  # `.value` is a Python-level property: ~10x the cost
        r.outcome._value_,
        at.__reduce_ex__(4)[1][0] if at.tzinfo is UTC else _instant(at),
        r.http_status,
        0 if r.final_url == url else r.final_url,
        tuple([(h.status, h.location) for h in r.redirects]) if r.redirects else 0,
        r.latency_ms,
        r.attempts,
        r.error,
        0
        if not facts.bytes_read and facts == _NO_FACTS  # dataclass == builds two tuples
        else (
            facts.content_type,
            facts.canonical,
            facts.amphtml,
            facts.is_amp,
            facts.soft_404,
            facts.image_format,
            facts.width,
            facts.height,
            facts.bytes_read,
            facts.title,
            facts.og_title,
            facts.h1,
            facts.description,
            facts.text_hash,
            facts.published_time,
            facts.title_key,
            facts.image_invalid,
        ),
        None if cert is None else _instant(cert),
        tuple([(p.code._value_, p.message, p.field) for p in r.problems]) if r.problems else 0,
    )


def results_frame(rows: list[Row]) -> bytes:
    """One frame of result rows for a worker's stdout."""
    return frame(marshal.dumps(rows))


def results_from_frame(payload: bytes) -> list[tuple[str, CheckResult]]:
    """(key, result) pairs from one frame of `results_frame`."""
    try:
        return _results(_load(payload))
    except (ValueError, TypeError, KeyError, OverflowError) as exc:  # an offset past C's ints
        raise CorruptFrame("a frame that is not a batch of results") from exc


def _results(rows: list[Row]) -> list[tuple[str, CheckResult]]:
    # one loop with everything inline: this runs once per result in the parent
    out = []
    kinds, outcomes = _KIND, _OUTCOME
    for (
        key,
        url,
        kind,
        outcome,
        at,
        status,
        final,
        redirects,
        latency,
        attempts,
        error,
        facts,
        cert,
        problems,
    ) in rows:
        if url == 0:
            url = key
        out.append(
            (
                key,
                CheckResult(
                    url,
                    kinds[kind],
                    outcomes[outcome],
                    _from_state(at, UTC) if at.__class__ is bytes else _time(at),
                    status,
                    url if final == 0 else final,
                    [Redirect(s, loc) for s, loc in redirects] if redirects else [],
                    latency,
                    attempts,
                    error,
                    ContentFacts(*facts) if facts else ContentFacts(),
                    None if cert is None else _time(cert),
                    [Problem(_CODE[c], m, f) for c, m, f in problems] if problems else [],
                ),
            )
        )
    return out


def _time(value: bytes | tuple[bytes, int | None]) -> datetime:
    if isinstance(value, bytes):
        return _from_state(value, UTC)
    wall, offset = value
    naive = _from_naive_state(wall)
    if offset is None:
        return naive
    if offset.__class__ is not int:  # timedelta would round a float, or take a bool
        raise TypeError(f"an offset of {offset.__class__.__name__} microseconds")
    return naive.replace(tzinfo=timezone(timedelta(microseconds=offset)))
