"""The self-monitoring read loop: a counter value from the user page and one ``mrs``.

Models: the seqcount read protocol documented in include/uapi/linux/perf_event.h and libperf's
``perf_mmap__read_self()`` (tools/lib/perf/mmap.c) with its arm64 backend, in the order they
read the page (spec §4.1/§4.2):

1. ``lock``: ``seq = pc->lock`` (then a compiler barrier);
2. ``times``: ``time_enabled``, ``time_running``; if ``cap_user_time`` and they differ, read the
   timer (CNTVCT_EL0 on arm64) and ``time_offset/mult/shift`` (+ ``time_cycles/mask`` when
   ``cap_user_time_short``);
3. ``index``: ``idx = pc->index``; if ``!cap_user_rdpmc || !idx`` give up at once -> ``None``
   (libperf returns -1 and its caller falls back to read(fd)); no retry;
4. ``offset``: ``count = pc->offset``;
5. ``mrs``: read the counter ``idx - 1`` (31 -> PMCCNTR_EL0, n -> PMEVCNTR<n>_EL0; outside
   0..31 the libperf table yields 0), take ``pmc_width``, extend the raw value to 64 bits and
   add it to ``count`` (mod 2^64);
6. ``recheck``: ``pc->lock == seq`` -> done, else go back to 1.

After the loop, as libperf v5.13 does: the time delta
``time_offset + (cyc >> shift) * mult + (((cyc & (2^shift - 1)) * mult) >> shift)`` (with
``cyc = time_cycles + ((cyc - time_cycles) & time_mask)`` first when ``cap_user_time_short``)
is added to ``enabled`` and, since ``idx != 0``, to ``running``; with ``scale=True`` the count
is scaled by ``enabled / running`` when they differ (exact 128-bit product, as
``mul_u64_u64_div64``).

Variants of the extension step (``variant=``):
- ``"documented"``: arithmetic sign extension ``pmc <<= 64 - width; pmc >>= 64 - width`` on an
  ``s64`` (the uapi comment; libperf up to its u64 change);
- ``"zero-extend"``: the same shifts on a ``u64`` (libperf after Ian Rogers' UBSAN fix): the
  value is masked to ``pmc_width`` bits, which differs whenever bit ``width - 1`` is set
  (spec §7 S8/S14).

Time source: ``clock="CNTVCT_EL0"`` (default) reads that register through ``task.mrs``, a
zero-argument callable is called instead, and ``clock=None`` never reads a timer (the times
are then used as published). The timer is only read when the loop needs it
(``cap_user_time`` and ``time_enabled != time_running``).

Retries are bounded: more than ``max_retries`` (default 100) lock changes raise
``RetryLimitExceeded`` rather than spin forever (real code would spin).

Omits: libperf's separate 12/13 table-swap bug on arm64 (spec §4.2), memory-ordering effects
(the model's page reads are sequentially consistent; barriers are implicit), and a parity
check of ``lock`` (the documented loop has none: it is only correct for self-monitoring,
where the writer never runs concurrently on the reader's CPU).
Pinned to: include/uapi/linux/perf_event.h (v5.17..v6.18 comment), libperf mmap.c v5.17
(arm64 backend, "Add arm64 support to perf_mmap__read_self()").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple, Protocol

from pmulab.hw.sysregs import CYCLE_SLOT, NUM_SLOTS

__all__ = [
    "VARIANTS", "STEPS", "DEFAULT_MAX_RETRIES", "RetryLimitExceeded", "Step", "El0Task",
    "counter_register", "extend", "time_delta", "ReadLoop", "read_self",
]

VARIANTS = ("documented", "zero-extend")
STEPS = ("lock", "times", "index", "offset", "mrs", "recheck")
DEFAULT_MAX_RETRIES = 100
_MASK64 = (1 << 64) - 1


class El0Task(Protocol):
    """What the reader needs from the task: an EL0 ``mrs`` on the CPU it runs on.

    ``mrs`` returns the register value or raises ``pmulab.errors.IllegalInstruction``.
    """

    def mrs(self, name: str) -> int: ...


class RetryLimitExceeded(RuntimeError):
    """The lock changed on more than ``max_retries`` consecutive passes."""


class Step(NamedTuple):
    """One history entry: the step's name and what it read or decided."""

    name: str
    values: dict[str, Any]


def counter_register(index: int) -> str | None:
    """The EL0 register libperf's arm64 backend reads for user-page ``index``.

    ``index - 1`` is the hardware counter number: 31 (CYCLE_SLOT) -> PMCCNTR_EL0, n in 0..30
    -> PMEVCNTR<n>_EL0. ``None`` for anything else (libperf's ``read_perf_counter`` returns 0).
    """
    counter = index - 1
    if counter == CYCLE_SLOT:
        return "PMCCNTR_EL0"
    if 0 <= counter < NUM_SLOTS:
        return f"PMEVCNTR{counter}_EL0"
    return None


def extend(raw: int, width: int, variant: str = "documented") -> int:
    """Extend a ``width``-bit raw counter value to 64 bits as the chosen reader does.

    Returns a Python int: signed (``-2^63 .. 2^63-1``) for ``"documented"``, unsigned
    (``0 .. 2^width-1``) for ``"zero-extend"``. A width outside 1..64 shifts by
    ``(64 - width) mod 64`` as the arm64 ``lsl``/``asr`` by register do.
    """
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; choose one of {VARIANTS}")
    shift = (64 - width) % 64
    value = (raw << shift) & _MASK64
    if variant == "documented":
        if value >> 63:
            value -= 1 << 64
        return value >> shift  # arithmetic shift of a signed value
    return value >> shift  # logical shift of an unsigned value


def time_delta(cyc: int, *, time_offset: int, time_mult: int, time_shift: int,
               time_cycles: int | None = None, time_mask: int | None = None) -> int:
    """Nanoseconds since the page's times were published (uapi comment; mod 2^64).

    With ``time_cycles``/``time_mask`` (``cap_user_time_short``) the timer value is first
    widened: ``cyc = time_cycles + ((cyc - time_cycles) & time_mask)``.
    """
    if time_cycles is not None and time_mask is not None:
        cyc = (time_cycles + ((cyc - time_cycles) & time_mask)) & _MASK64
    quot = cyc >> time_shift
    rem = cyc & ((1 << time_shift) - 1)
    return (time_offset + quot * time_mult + ((rem * time_mult) >> time_shift)) & _MASK64


class ReadLoop:
    """The self-monitoring read loop, one page access (or ``mrs``) at a time.

    ``step()`` performs the next step (names in ``STEPS``) and returns its history entry;
    between steps a scheduler may preempt, migrate or update the page. ``run()`` steps to
    completion and returns ``result``: the count (mod 2^64), or ``None`` when user space must
    fall back to read() (``fallback`` is then True and ``reason`` says why).

    Parameters
    ----------
    task : object with ``mrs(name) -> int`` (the reading task at EL0; may raise
        ``IllegalInstruction``, which propagates and leaves the loop at the same step).
    page : ``pmulab.uapi.MmapPage`` (or any object with its fields).
    variant : ``"documented"`` (sign extension) or ``"zero-extend"``.
    clock : register name read via ``task.mrs``, a zero-argument callable, or None.
    scale : scale by ``enabled / running`` when they differ (libperf v5.13 does).
    max_retries : lock changes tolerated before ``RetryLimitExceeded``.
    """

    def __init__(self, task: El0Task, page: Any, *, variant: str = "documented",
                 clock: str | Callable[[], int] | None = "CNTVCT_EL0", scale: bool = True,
                 max_retries: int = DEFAULT_MAX_RETRIES):
        if variant not in VARIANTS:
            raise ValueError(f"unknown variant {variant!r}; choose one of {VARIANTS}")
        if not (clock is None or isinstance(clock, str) or callable(clock)):
            raise TypeError("clock must be a register name, a callable or None")
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise ValueError("max_retries must be a non-negative int")
        if not callable(getattr(task, "mrs", None)):
            raise TypeError("task must provide mrs(name) -> int")
        self.task, self.page, self.variant = task, page, variant
        self.clock, self.scale, self.max_retries = clock, scale, max_retries
        self.history: list[Step] = []
        self.retries = 0
        self.done = False
        self.result: int | None = None
        self.fallback = False
        self.reason = ""
        self._next = 0
        self._pass: dict[str, Any] = {}
        #: Unscaled count and the (time-extended) times of the successful pass.
        self.count: int | None = None
        self.enabled: int | None = None
        self.running: int | None = None

    # ------------------------------------------------------------------------ stepping
    @property
    def next_step(self) -> str | None:
        """Name of the step ``step()`` will perform, or None when done."""
        return None if self.done else STEPS[self._next]

    def step(self) -> Step:
        """Perform the next step and return its history entry."""
        if self.done:
            raise RuntimeError("the read loop has finished; look at .result")
        name = STEPS[self._next]
        values = getattr(self, f"_step_{name}")()
        entry = Step(name, values)
        self.history.append(entry)
        return entry

    def run(self) -> int | None:
        """Step until done; return ``result``."""
        while not self.done:
            self.step()
        return self.result

    # ------------------------------------------------------------------------- steps
    def _advance(self) -> None:
        self._next += 1

    def _step_lock(self) -> dict[str, Any]:
        self._pass = {"seq": self.page.lock}
        self._advance()
        return {"lock": self._pass["seq"]}

    def _step_times(self) -> dict[str, Any]:
        p, page = self._pass, self.page
        p["enabled"], p["running"] = page.time_enabled, page.time_running
        values: dict[str, Any] = {"time_enabled": p["enabled"], "time_running": p["running"]}
        p["cyc"] = None
        if page.cap_user_time and p["enabled"] != p["running"] and self.clock is not None:
            p["cyc"] = self.task.mrs(self.clock) if isinstance(self.clock, str) else int(self.clock())
            p["time"] = {"time_offset": page.time_offset, "time_mult": page.time_mult,
                         "time_shift": page.time_shift}
            if page.cap_user_time_short:
                p["time"].update(time_cycles=page.time_cycles, time_mask=page.time_mask)
            values.update(cyc=p["cyc"], **p["time"])
        self._advance()
        return values

    def _step_index(self) -> dict[str, Any]:
        idx, rdpmc = self.page.index, self.page.cap_user_rdpmc
        self._pass["idx"] = idx
        values: dict[str, Any] = {"index": idx, "cap_user_rdpmc": rdpmc}
        if not rdpmc or not idx:
            self.done, self.fallback = True, True
            why = (["cap_user_rdpmc is 0"] if not rdpmc else []) + (["index is 0"] if not idx else [])
            self.reason = " and ".join(why) + ": fall back to read()"
            values["fallback"] = self.reason
            return values
        self._advance()
        return values

    def _step_offset(self) -> dict[str, Any]:
        self._pass["count"] = self.page.offset & _MASK64
        self._advance()
        return {"offset": self.page.offset}

    def _step_mrs(self) -> dict[str, Any]:
        p = self._pass
        reg = counter_register(p["idx"])
        raw = self.task.mrs(reg) if reg is not None else 0
        width = self.page.pmc_width
        pmc = extend(raw, width, self.variant)
        p["count"] = (p["count"] + pmc) & _MASK64
        self._advance()
        return {"register": reg, "raw": raw, "pmc_width": width, "pmc": pmc, "count": p["count"]}

    def _step_recheck(self) -> dict[str, Any]:
        p = self._pass
        lock = self.page.lock
        if lock != p["seq"]:
            self.retries += 1
            if self.retries > self.max_retries:
                raise RetryLimitExceeded(
                    f"user page lock changed on {self.retries} consecutive passes (max_retries={self.max_retries})"
                )
            self._next = 0
            return {"lock": lock, "seq": p["seq"], "retry": self.retries}
        self._finish()
        return {"lock": lock, "seq": p["seq"], "result": self.result}

    def _finish(self) -> None:
        p = self._pass
        enabled, running, count = p["enabled"], p["running"], p["count"]
        if p["cyc"] is not None:
            delta = time_delta(p["cyc"], **p["time"])
            enabled = (enabled + delta) & _MASK64
            running = (running + delta) & _MASK64  # idx != 0 here
        self.count, self.enabled, self.running = count, enabled, running
        result = count
        if self.scale and enabled != running and running != 0:
            result = (count * enabled // running) & _MASK64
        self.result = result
        self.done = True


def read_self(task: El0Task, page: Any, *, variant: str = "documented",
              clock: str | Callable[[], int] | None = "CNTVCT_EL0", scale: bool = True,
              max_retries: int = DEFAULT_MAX_RETRIES) -> int | None:
    """Read ``page``'s counter from user space: the count, or None to fall back to read().

    ``ReadLoop(...).run()``; see ReadLoop for the parameters and the module docstring for
    the steps. Libperf: perf_mmap__read_self.
    """
    return ReadLoop(task, page, variant=variant, clock=clock, scale=scale, max_retries=max_retries).run()
