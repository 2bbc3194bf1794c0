"""Per-host politeness: one object per host owns every rule about that host.

In the spirit of lychee's `ratelimit/host`: a concurrency limit, a minimum
interval between request starts, and an adaptive backoff after 429 and 503
that honours `Retry-After`. The engine asks the pool for a slot before each
request and tells it how the request went; the decision whether to retry
lives elsewhere (`monitor.retry`), so backoffs never stack: a 429 pushes the
host's next slot into the future, and the retry simply waits for that slot.

Gates are dropped when idle and unconstrained, so memory follows the number
of hosts in flight, not the number of hosts ever seen. Every method takes a
host in any spelling and keys it by `urls.host_key`: `a.test.`, `A.test` and
`a.test` are one host with one limit (and one shared Retry-After).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from monitor.http.slots import Slots
from monitor.urls import host_key

# A host held back (Retry-After, a 429/503 backoff) for longer than this is not
# waited out by the daemon's checks that have sent nothing yet: its claims are
# given back due at the hold's end (daemon/dispatch.py `held_back`), and in a
# checker process such a check leaves the host's gate (`HostHeld`). A shorter
# hold is waited out at the gate.
HOLD_SLACK = 1.0


class HostHeld(Exception):
    """A deferrable wait at a host's gate (`HostPool.take`) found the host held
    back beyond `defer_after` for `left` seconds: the check leaves without a
    request, for its claim to be given back due at the hold's end. Also raised
    after the daemon's stop where a check would start a request (`stop`): it
    leaves, its claim given back due now (at its hold's end if the host is
    held: daemon/dispatch.py `give_back`)."""

    def __init__(self, left: float) -> None:
        super().__init__(f"its host is held back for {left:.1f} s")
        self.left = left


class HostGate:
    """The politeness state of one host."""

    __slots__ = (
        "alarm",
        "backoff_until",
        "deferring",
        "host",
        "next_start",
        "penalty",
        "slots",
    )

    def __init__(self, per_host: int, host: str = "") -> None:
        self.host = host  # its key in the pool (urls.host_key)
        self.slots = Slots(per_host)
        self.next_start = 0.0  # monotonic time the next request may start
        self.backoff_until = 0.0  # set by 429/503
        self.penalty = 0.0  # current adaptive backoff (seconds), 0 when healthy
        # what those waiting out the interval or backoff wait on, with `wakeable`
        # (and the deferrable takes, which `HostPool.stop` wakes)
        self.alarm: asyncio.Future[None] | None = None
        # the slot waits of deferrable takes (`HostPool.defer_after`), failed with
        # HostHeld when a hold beyond it begins; None until there is one
        self.deferring: set[asyncio.Future[None]] | None = None

    def constrained(self, now: float) -> bool:
        return self.slots.in_use() or now < max(self.next_start, self.backoff_until)


class HostPool:
    """Hands out per-host slots: `async with pool.slot(host): ...`."""

    def __init__(
        self,
        per_host: int,
        min_interval: float = 0.0,
        *,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_host = per_host
        self.min_interval = min_interval
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self._clock = clock
        self._gates: dict[str, HostGate] = {}
        self._created = 0
        # `lift` ends the waits of those already waiting (check's giving up)
        self.wakeable = False
        # told (host key, seconds of hold left, backoff; 0 when reset) when an
        # answer starts or extends a host's hold, or ends its refusals: a daemon's
        # checker process passes it on to the daemon (worker.py)
        self.on_hold: Callable[[str, float, float], None] | None = None
        # a daemon's checker process: a deferrable `take` (a check that has sent
        # nothing yet) of a host held back longer than this raises HostHeld, and
        # such takes waiting at the gate when a hold that long begins leave with
        # it: each waited out the hold holding one of the process's `concurrency`
        # loops, and its other hosts' checks waited behind (R24). None: all wait.
        self.defer_after: float | None = None
        # ... and called, in the waiting task, when a take that cannot be given
        # back (a check between its tries, a redirect's hop: a request sent) starts
        # waiting out such a hold: its loop goes to the process's other requests
        # meanwhile (requests.py `park`)
        self.on_park: Callable[[], None] | None = None
        # the daemon stops (`stop`): every take leaves at once, nothing sent, as
        # does a check's backoff (`pause`)
        self.stopped = False
        self._stop_bell: asyncio.Future[None] | None = None  # what `pause` waits on

    def __len__(self) -> int:
        return len(self._gates)

    def _gate(self, host: str) -> HostGate:
        """The gate of `host`, keyed by `host_key` (made when there is none)."""
        # a host spelled as a key is found at once: `host_key` is idempotent, so a
        # key is its own key, and the common spelling costs no key computed
        gate = self._gates.get(host)
        if gate is not None:
            return gate
        key = host_key(host)
        gate = self._gates.get(key)
        if gate is None:
            self._created += 1
            if self._created % 1024 == 0:
                self._sweep()
            gate = self._gates[key] = HostGate(self.per_host, key)
        return gate

    def _sweep(self) -> None:
        """Forget hosts whose backoff has run out since they were last used."""
        now = self._clock()
        for host in [h for h, g in self._gates.items() if not g.constrained(now)]:
            del self._gates[host]

    def slot(self, host: str) -> _Slot:
        """Wait for a free slot of `host`, its minimum interval and any backoff.

        A small class, not an @asynccontextmanager: it is entered for every
        request, and a generator-based manager costs several times more.
        """
        return _Slot(self, host)

    # The same steps as `slot`, for the engine's per-request path: a free slot
    # is taken by a plain call (no coroutine, no context object), the wait only
    # when there is one. `leave` must follow every `take_now`/`take`, as `slot`'s
    # exit does.
    def take_now(self, host: str) -> HostGate | None:
        """`host`'s gate with a slot taken, if one is free with nothing to wait for."""
        gate = self._gate(host)
        return gate if self._try_enter(gate) else None

    async def take(self, host: str, deferrable: bool = False) -> HostGate:
        """`host`'s gate with a slot taken, after any queue, interval and backoff.
        `deferrable` (a check that has sent nothing yet), with `defer_after` set:
        raises HostHeld instead of waiting out a hold longer than that."""
        gate = self._gate(host)
        if not self._try_enter(gate):
            await self._enter(gate.host, gate, self.defer_after if deferrable else None)
        return gate

    def leave(self, host: str, gate: HostGate) -> None:
        """Give back the slot taken by `take_now` or `take` (`gate` knows its key)."""
        self._exit(gate.host, gate)

    def _try_enter(self, gate: HostGate) -> bool:
        """Take a slot at once if one is free, no one queues and no wait applies."""
        if not gate.slots.available():
            return False
        now = self._clock()
        if now < gate.next_start or now < gate.backoff_until:
            return False
        gate.slots.try_take()
        gate.next_start = now + self.min_interval if self.min_interval else now
        return True

    async def _enter(self, host: str, gate: HostGate, defer_after: float | None = None) -> None:
        """The slow path: queue for a slot, then wait out the interval and backoff.

        With `defer_after` (a check that has sent nothing yet): leave (HostHeld)
        rather than wait out a hold longer than that, whether the hold is there
        already or begins while it queues for a slot (`_defer_waiting` fails its
        wait) or waits out a shorter wait (it sees it at the end of that, within
        `defer_after`: a plain sleep). Without it, a wait for such a hold is
        told to `on_park` (a check between its tries: its loop goes on). After
        the daemon's stop every take leaves (HostHeld): no request starts."""
        if self.stopped:
            raise HostHeld(max(0.0, gate.backoff_until - self._clock()))
        if defer_after is not None:
            left = gate.backoff_until - self._clock()
            if left > defer_after:
                raise HostHeld(max(0.0, left))
            if gate.deferring is None:
                gate.deferring = set()
            parked = True  # never parks: it leaves instead
        else:
            parked = self.on_park is not None and self._park_if_held(gate)
        try:
            await gate.slots.take(gate.deferring if defer_after is not None else None)
        except BaseException:
            self._forget_if_idle(host, gate)
            raise
        try:
            while True:
                now = self._clock()
                start = max(gate.next_start, gate.backoff_until)
                if now >= start:
                    break
                if self.stopped or (
                    defer_after is not None and gate.backoff_until - now > defer_after
                ):
                    raise HostHeld(max(0.0, gate.backoff_until - now))
                if not parked and self.on_park is not None:
                    parked = self._park_if_held(gate)
                # a daemon's take waits on the gate's alarm, which `stop` rings
                if self.wakeable or self.defer_after is not None:
                    await self._wait(gate, start - now)
                else:
                    await asyncio.sleep(start - now)
            if self.stopped:  # the stop came as it waited
                raise HostHeld(0.0)
        except BaseException:
            self._exit(host, gate)
            raise
        gate.next_start = (self._clock() + self.min_interval) if self.min_interval else now

    def stop(self) -> None:
        """The daemon stops (its checker process was told, or in-process): every
        take waiting at a gate leaves with HostHeld, as does every one that
        comes, for its check to be answered as not started (requests.py) or
        given back (dispatch.py): the checks that have sent nothing, which each
        started its request after the stop once a slot of its host was free,
        and the retries and redirect hops of checks under way, which each sent
        another request after the stop (a retry to a host that had asked us to
        wait: 429/503). Those waiting out the interval or a backoff with a slot
        taken are woken (the gate's alarm) to leave too, and the backoffs
        between a check's tries (`pause`): asleep, each held the stop until
        its sleep ended, up to `host_min_interval` or the host's Retry-After
        (the whole grace at 30 s, its claim given back only then, as a check
        that "did not finish in time"). Without `defer_after` (`check`) a
        no-op: its Ctrl-C cancels its checks."""
        if self.defer_after is None:
            return
        self.stopped = True
        for gate in self._gates.values():
            for waiter in gate.slots.waiters:  # deferrable or not: none may start
                if not waiter.done():
                    waiter.set_exception(HostHeld(0.0))
            alarm = gate.alarm
            if alarm is not None and not alarm.done():
                alarm.set_result(None)
        bell = self._stop_bell
        if bell is not None and not bell.done():
            bell.set_result(None)

    async def pause(self, seconds: float) -> None:
        """Sleep `seconds` (a check's backoff between its tries), or less if the
        daemon stops (`stop`): its retry then leaves unsent, not after the sleep."""
        if self.defer_after is None:  # `check`: only a cancel ends it
            await asyncio.sleep(seconds)
            return
        if self.stopped:
            return
        bell = self._stop_bell
        if bell is None:
            bell = self._stop_bell = asyncio.get_running_loop().create_future()
        await asyncio.wait((bell,), timeout=seconds)

    def _park_if_held(self, gate: HostGate) -> bool:
        """`on_park`, if `gate`'s host is held back beyond `defer_after`; whether."""
        defer_after, on_park = self.defer_after, self.on_park
        if (
            defer_after is not None
            and on_park is not None
            and gate.backoff_until - self._clock() > defer_after
        ):
            on_park()
            return True
        return False

    def _defer_waiting(self, gate: HostGate, left: float) -> None:
        """A hold beyond `defer_after` began or grew: the deferrable takes waiting
        for one of the gate's slots leave with HostHeld."""
        deferring = gate.deferring
        if deferring:
            for waiter in deferring:
                if not waiter.done():
                    waiter.set_exception(HostHeld(left))

    async def _wait(self, gate: HostGate, seconds: float) -> None:
        """Sleep `seconds`, or less if `lift` ends the gate's waits."""
        alarm = gate.alarm
        if alarm is None or alarm.done():
            alarm = gate.alarm = asyncio.get_running_loop().create_future()
        await asyncio.wait((alarm,), timeout=seconds)

    def _exit(self, host: str, gate: HostGate) -> None:
        gate.slots.give()
        self._forget_if_idle(host, gate)

    def _forget_if_idle(self, host: str, gate: HostGate) -> None:
        if not gate.constrained(self._clock()):
            current = self._gates.pop(host, gate)
            if current is not gate:  # only this gate: a waiter cancelled after its
                # gate was forgotten must not forget the host's new one, in use (a
                # third gate would double --per-host)
                self._gates[host] = current

    def record(self, host: str, status: int | None, retry_after: float | None = None) -> None:
        """Adapt to the answer: 429/503 back off (Retry-After wins), success resets.

        `retry_after` is already capped by the caller. Without one, the
        backoff doubles on each consecutive 429/503, from `backoff_base` up to
        `backoff_max`.
        """
        gate = self._gates.get(host) or self._gates.get(host_key(host))
        if gate is None:
            return
        if status in (429, 503):
            if retry_after is not None:
                delay = retry_after
            else:
                delay = min(self.backoff_max, max(self.backoff_base, gate.penalty * 2))
            gate.penalty = delay
            now = self._clock()
            gate.backoff_until = max(gate.backoff_until, now + delay)
            if self.defer_after is not None and gate.backoff_until - now > self.defer_after:
                self._defer_waiting(gate, gate.backoff_until - now)
            if self.on_hold is not None:
                self.on_hold(gate.host, gate.backoff_until - now, delay)
        elif status is not None and status < 500 and gate.penalty:
            gate.penalty = 0.0
            if self.on_hold is not None:
                self.on_hold(gate.host, max(0.0, gate.backoff_until - self._clock()), 0.0)

    def backoffs(self) -> dict[str, float]:
        """Hosts backing off now, with the seconds left (shared across a cluster)."""
        now = self._clock()
        return {h: g.backoff_until - now for h, g in self._gates.items() if g.backoff_until > now}

    def refusing(self) -> dict[str, tuple[float, float]]:
        """Hosts held back now, or whose last answer was a refusal (429/503, the
        backoff not reset by an answer since), with the seconds of their hold
        left (0 when it is over) and their last backoff: the daemon starts few
        checks of them (dispatch.py `held_back`)."""
        now = self._clock()
        return {
            h: (max(0.0, g.backoff_until - now), g.penalty)
            for h, g in self._gates.items()
            if g.penalty > 0 or g.backoff_until > now
        }

    def impose(self, host: str, seconds: float) -> None:
        """Back off `host` for `seconds`, learned elsewhere (another cluster member)."""
        if seconds > 0:
            gate = self._gate(host)
            gate.backoff_until = max(gate.backoff_until, self._clock() + seconds)

    def lift(self, gate: HostGate) -> None:
        """End `gate`'s interval and backoff now, and with `wakeable` the waits of
        those waiting them out: `check` gave its host up, and those queued for it
        leave without a request, not after the wait."""
        gate.next_start = gate.backoff_until = 0.0
        alarm, gate.alarm = gate.alarm, None
        if alarm is not None and not alarm.done():
            alarm.set_result(None)

    def backoff_remaining(self, host: str) -> float:
        gate = self._gates.get(host) or self._gates.get(host_key(host))
        if gate is None:
            return 0.0
        return max(0.0, gate.backoff_until - self._clock())


class _Slot:
    """`async with pool.slot(host)`: one request's hold on a host."""

    __slots__ = ("_gate", "_host", "_pool")

    def __init__(self, pool: HostPool, host: str) -> None:
        self._pool = pool
        self._host = host
        self._gate: HostGate | None = None

    async def __aenter__(self) -> None:
        self._gate = await self._pool.take(self._host)

    async def __aexit__(self, *exc_info: object) -> None:
        if self._gate is not None:
            self._pool._exit(self._gate.host, self._gate)
            self._gate = None
