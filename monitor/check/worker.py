"""`python -m monitor.check.worker`: one checker process of `check --workers N`.

Reads frames from stdin (monitor.check.pipe): the settings, then batches of
targets as the parent finds them (and, from the daemon, the ids of requests
it cancels: monitor.check.requests); checks them with the ordinary engine
while more arrive, and writes frames of results to stdout: a batch every
FLUSH_S or FLUSH_ROWS results rather than a write per result. Input that is
not a frame of the format ends the worker with status 1 once the targets it
could read are checked (the parent then reports an incomplete run). The parent
owns the run: the worker passes SIGINT and SIGTERM on to it (a terminal or a
service manager signals the whole process group) and is stopped by the
parent, which writes the partial report; it dies with its parent.

stdin's frames are read by worker_input.Targets. Only what checking needs is
imported (the engine, the settings model, the pipe format): no corpus, report
or CLI modules.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import signal
import stat
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, BinaryIO, TextIO

try:
    from monitor.check.gc_pace import end_of_process, run_pace
    from monitor.check.pipe import Row, holds_frame, ids_frame, results_frame
    from monitor.check.prestart import GIVE_UP_ARG, PARENT_STOPS, PROBE_DB_ARG, TEXT_HASH_ARG
    from monitor.check.requests import Requests
    from monitor.check.worker_input import Targets
    from monitor.http import Checker
    from monitor.http.hostpool import HOLD_SLACK
    from monitor.whole_write import whole_text
except Exception as _exc:  # a package missing or broken: one line, as the parent says it
    from monitor.install import cannot_import

    if (_said := cannot_import(_exc)) is None:
        raise
    raise SystemExit(f"monitor.check.worker: {_said}") from None

if TYPE_CHECKING:
    from sqlalchemy import Engine

FLUSH_S = 0.02  # results wait at most this long for company
FLUSH_ROWS = 512


class _Results:
    """Rows (and the ids of cancelled requests, and the daemon's hosts held back)
    collected and written as one frame per batch."""

    def __init__(self, out: BinaryIO) -> None:
        self.out = out
        self.rows: list[Row] = []
        self.cancelled: list[int] = []
        # host -> (its hold's end, time.monotonic(); its backoff): the last
        # change of each since the last frame
        self.holds: dict[str, tuple[float, float]] = {}
        # requests given back as their host is held (requests.py): id -> the hold's
        # end (time.monotonic())
        self.deferred: dict[int, float] = {}
        self.timer: asyncio.TimerHandle | None = None

    def add(self, row: Row) -> None:
        self.rows.append(row)
        if len(self.rows) >= FLUSH_ROWS:
            self.flush()
        elif self.timer is None:
            self.timer = asyncio.get_running_loop().call_later(FLUSH_S, self.flush)

    def cancel(self, key: int) -> None:
        self.cancelled.append(key)
        if self.timer is None:
            self.timer = asyncio.get_running_loop().call_later(FLUSH_S, self.flush)

    def hold(self, host: str, left: float, backoff: float) -> None:
        """`HostPool.on_hold`: a host's hold began or grew, or its refusals ended
        (`backoff` 0), told to the daemon with the next frame: its dispatcher
        starts none of the host's checks meanwhile (dispatch.py `held_back`),
        which would each wait out the hold here holding one of its slots."""
        self.holds[host] = (time.monotonic() + left, backoff)
        if self.timer is None:
            self.timer = asyncio.get_running_loop().call_later(FLUSH_S, self.flush)

    def defer(self, key: int, left: float) -> None:
        """`Requests.on_deferred`: request `key` was given back, not started, as its
        host is held for `left` seconds; told with the holds (no result comes)."""
        self.deferred[key] = time.monotonic() + left
        if self.timer is None:
            self.timer = asyncio.get_running_loop().call_later(FLUSH_S, self.flush)

    def flush(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.holds or self.deferred:  # before the results: the dispatcher sees
            now = time.monotonic()  # them as it claims on
            self.out.write(
                holds_frame(
                    {h: (max(0.0, end - now), b) for h, (end, b) in self.holds.items()},
                    {key: max(0.0, end - now) for key, end in self.deferred.items()},
                )
            )
            self.holds = {}
            self.deferred = {}
        if self.rows:
            self.out.write(results_frame(self.rows))
            self.rows = []
        if self.cancelled:
            self.out.write(ids_frame(self.cancelled))
            self.cancelled = []
        self.out.flush()


def probe_engine(url: str) -> Engine:
    """The engine of a checker process's probe answers: the daemon's session
    timeouts (storage/engine.py), or a process frozen between its upsert and
    commit held the leader's purge of expired answers, and its stop, as long."""
    from monitor.storage.engine import DAEMON_IDLE_IN_TRANSACTION_MS, make_engine

    return make_engine(url, idle_in_transaction_ms=DAEMON_IDLE_IN_TRANSACTION_MS)


async def _keep_probe_answers(checker: Checker, url: str) -> Callable[[], None]:
    """Keep the probe's answers in the daemon's database, as its in-process checker
    does (monitor/daemon/probes.py): a restarted daemon, or a replaced checker
    process, does not probe each host and directory again. Only the daemon's
    checker processes get here, so `check` never loads the storage modules."""
    from concurrent.futures import ThreadPoolExecutor

    from monitor.daemon.probes import keep_probe_answers
    from monitor.storage.repository import Repository

    engine = probe_engine(url)
    thread = ThreadPoolExecutor(1, thread_name_prefix="probe-db")  # one connection's thread

    async def run_db(fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(thread, fn, *args)

    if checker.probe is not None:
        await keep_probe_answers(checker.probe, Repository(engine), run_db)

    def close() -> None:
        thread.shutdown(wait=True)
        engine.dispose()

    return close


async def serve(
    stdin: Any,
    out: BinaryIO,
    *,
    text_hash: bool = False,
    probe_db: str | None = None,
    give_up: bool = False,
) -> None:
    """Check the targets arriving on `stdin` until its end; results to `out`."""
    transport: asyncio.BaseTransport | None = None
    mode = os.fstat(stdin.fileno()).st_mode
    if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):  # a socket under uvloop's subprocesses
        transport, source = await asyncio.get_running_loop().connect_read_pipe(Targets, stdin)
    else:  # a file or /dev/null (a manual run): everything is there already
        source = Targets()
        source.data_received(stdin.read())
        source.eof_received()
    settings = await source.settings
    if settings is None:  # no settings: nothing to do
        if transport is not None:
            transport.close()
        _fail_on(source.error)
        return
    results = _Results(out)
    async with Checker(settings) as checker:
        checker.text_hash = text_hash
        if give_up:  # `check`'s: a host refusing everything is given up (giving_up.py)
            checker.give_up_refusing_hosts()
        else:  # the daemon's: it is told each host's hold (pipe.py's holds frame),
            checker.hosts.on_hold = results.hold
            # and gets back the checks that would wait one out (requests.py)
            checker.hosts.defer_after = HOLD_SLACK
        close_db = None
        if probe_db is not None and checker.probe is not None:
            close_db = await _keep_probe_answers(checker, probe_db)
        requests = Requests(
            source.queue,
            checker,
            results.add,
            results.cancel,
            source.taken,
            None if give_up else results.defer,
        )
        source.on_cancel = requests.cancel
        stop = None
        if not give_up:  # a check waiting out a hold gives its loop to the others
            checker.hosts.on_park = requests.park

            def stop() -> None:
                """The daemon's stop: every request not started is answered now."""
                requests.stop()
                checker.stop_unsent()  # those waiting at a gate or for a slot, nothing sent
                source.stop(requests.drain)  # those held undecoded, and to come
                results.flush()  # at once, not FLUSH_S later

        _STOP.serving(requests, stop)
        try:
            await requests.run(source.checkers)
        finally:
            if transport is not None:
                transport.close()
            if close_db is not None:
                await asyncio.sleep(0)  # the last answers' writes are queued on the thread
                await asyncio.to_thread(close_db)
    results.flush()
    _fail_on(source.error)


def _fail_on(error: str | None) -> None:
    if error is not None:
        raise SystemExit(f"monitor.check.worker: {error}")  # status 1, the reason on stderr


def _die_with_parent() -> int:
    """Ask Linux to SIGKILL this worker when its parent dies (even by SIGKILL),
    so no checker outlives the run; returns the parent's pid."""
    parent = os.getppid()
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)
    if os.getppid() != parent:  # it died before the request took effect
        os._exit(1)
    return parent


class _StopSeen:
    """Whether a stop signal reached this process, for the requests it serves: from
    then on they start no queued request (requests.py). Set from the signal
    handler: a plain flag at once, and for the daemon's requests `on_stop` on
    the event loop's next turn (Requests.stop: those not started are answered
    then, the parent waits only for those under way)."""

    def __init__(self) -> None:
        self.seen = False
        self.requests: Requests | None = None
        self.on_stop: Callable[[], None] | None = None
        self.loop: asyncio.AbstractEventLoop | None = None

    def serving(self, requests: Requests, on_stop: Callable[[], None] | None = None) -> None:
        self.requests = requests
        self.on_stop = on_stop
        requests.stopped = self.seen
        if on_stop is not None:
            self.loop = asyncio.get_running_loop()
            if self.seen:
                self.loop.call_soon(on_stop)

    def stop(self) -> None:
        first = not self.seen
        self.seen = True
        if self.requests is not None:
            self.requests.stopped = True
            if first and self.on_stop is not None and self.loop is not None:
                # not from the handler itself: it may run inside the loop's own code
                with contextlib.suppress(RuntimeError):  # the loop closed
                    self.loop.call_soon_threadsafe(self.on_stop)


_STOP = _StopSeen()


def _stop_the_run(parent: int) -> None:
    """SIGINT and SIGTERM stop the run, and the parent owns the run: a stop
    signal (to the whole process group from a terminal or a service manager,
    or to this worker alone) is passed to the parent, which cancels, writes the
    partial report and stops every worker. Meanwhile this worker starts no
    more of the daemon's queued requests. Orphaned, a worker just exits.
    PARENT_STOPS is the daemon saying it stops (a SIGTERM to it alone): the
    same, without passing it back."""

    def forward(signum: int, frame: object) -> None:
        _STOP.stop()
        if os.getppid() == parent:
            with contextlib.suppress(ProcessLookupError):
                os.kill(parent, signum)
        else:
            os._exit(128 + signum)

    def parent_stops(signum: int, frame: object) -> None:
        _STOP.stop()  # the parent's word: nothing to pass back

    stop = {signal.SIGINT, signal.SIGTERM}
    for sig in stop:
        signal.signal(sig, forward)
    signal.signal(PARENT_STOPS, parent_stops)
    # held since the parent spawned us
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {*stop, PARENT_STOPS})


def results_out() -> BinaryIO:
    """Standard output as a buffered stream, whatever PYTHONUNBUFFERED says.

    Unbuffered (`-u`, PYTHONUNBUFFERED=1: the container image sets it),
    `sys.stdout.buffer` is a raw FileIO, whose `write` makes one write(2) and
    returns how much it wrote. A write blocked on a full pipe and interrupted
    by a stop (SIGSTOP, Ctrl-Z then `fg`, `docker pause`) writes part of a
    frame: the rest was dropped, the parent read garbage, killed the process
    and lost its checks. A BufferedWriter writes everything it is given."""
    return open(sys.stdout.fileno(), "wb", closefd=False)


def logs_out() -> TextIO:
    """Standard error as a line-buffered stream over a BufferedWriter, whatever
    PYTHONUNBUFFERED says, for the same reason as `results_out`: unbuffered, a
    log record longer than a pipe's atomic write (a traceback) blocked on a full
    stderr pipe and interrupted by a stop was written in part and the rest
    dropped; the next record was then glued to the torn one. Each write is
    written whole, at each line's end; logs still go to descriptor 2. Over
    WholeWrites: a file that keeps taking nothing is an error, where a
    BufferedWriter over a plain FileIO would retry it for ever."""
    stream = sys.stderr
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):  # none (closed at start), or not a descriptor
        return stream
    stream.flush()
    return whole_text(
        fd, closefd=False, encoding=stream.encoding, errors=stream.errors, line_buffering=True
    )


def _drop_unwritable_stderr() -> None:
    """At exit (after the message of a SystemExit is written): what standard error
    still holds and cannot write (a full disk, a reader gone) goes to /dev/null.
    Kept, the interpreter's own flush failed on it again and turned the exit
    status into 120, which the parent reads as a failed worker."""
    if sys.stderr is None:  # descriptor 2 closed at start: another file may hold it now
        return
    try:
        sys.stderr.flush()
    except (OSError, ValueError):
        with contextlib.suppress(OSError):
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 2)
            os.close(null)


def main() -> None:
    sys.stderr = logs_out()
    atexit.register(_drop_unwritable_stderr)
    _stop_the_run(_die_with_parent())
    try:
        with run_pace():
            args = sys.argv[1:]
            text_hash = TEXT_HASH_ARG in args
            give_up = GIVE_UP_ARG in args
            probe_db = next(
                (a[len(PROBE_DB_ARG) :] for a in args if a.startswith(PROBE_DB_ARG)), None
            )
            asyncio.run(
                serve(
                    sys.stdin.buffer,
                    results_out(),
                    text_hash=text_hash,
                    probe_db=probe_db,
                    give_up=give_up,
                )
            )
    except BrokenPipeError:  # the parent is gone: nobody to report to
        sys.exit(0)
    except Exception as exc:  # a package failing to import in a check: said in one line
        from monitor.install import WORKER_BROKEN_INSTALL, cannot_import

        if (said := cannot_import(exc)) is None:
            raise
        print(f"monitor.check.worker: {said}", file=sys.stderr)
        sys.exit(WORKER_BROKEN_INSTALL)
    finally:
        end_of_process()


if __name__ == "__main__":
    main()
