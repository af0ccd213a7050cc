"""What a task does while it runs: architectural event occurrences per tick, at EL0 and EL1.

Models: a task's instruction stream reduced to rates: for each scheduler tick the task is
current on a CPU, it produces ``el0[e]`` occurrences of common event ``e`` in user space and
``el1[e]`` in the kernel (system calls, faults on its behalf). These occurrences feed the
counter core (``CounterBank.count``), which applies PMEVTYPER/PMCCFILTR filtering, so the
EL split is what exclude_user/exclude_kernel act on. CPU_CYCLES also drives PMCCNTR_EL0.
An optional ``jitter`` spreads each rate uniformly by +/- jitter x rate, drawn from the
owning Machine's seeded ``numpy.random.Generator`` (deterministic for a given seed).
Idle CPUs produce nothing: an idle CPU sits in WFI with its clock gated, and whether the PMU
counts cycles there is IMPLEMENTATION DEFINED (Arm ARM D24), so the model counts none.
Omits: SW_INCR (counted only on PMSWINC_EL0 writes) and CHAIN (counts another counter's
overflows) — neither is an instruction-stream occurrence; IMPLEMENTATION DEFINED events;
time spent in interrupt handlers.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping

import numpy as np

from pmulab.hw import events

__all__ = ["Workload", "occurrences"]

#: Event numbers a workload may not produce (see the module docstring).
_NOT_OCCURRENCES = (events.ArmEvent.SW_INCR, events.ArmEvent.CHAIN)


def _rates(name: str, spec) -> dict[events.ArmEvent, float]:
    if spec is None:
        return {}
    if not isinstance(spec, Mapping):
        raise TypeError(f"Workload {name}= must be a mapping of event name to rate, not {type(spec).__name__}")
    rates: dict[events.ArmEvent, float] = {}
    for key, rate in spec.items():
        ev = events.event(key)  # ValueError with close names, TypeError for non-names
        if ev in _NOT_OCCURRENCES:
            raise ValueError(f"Workload {name}: {ev.name} is not an instruction-stream occurrence")
        if isinstance(rate, bool) or not isinstance(rate, numbers.Real):
            raise TypeError(f"Workload {name}[{ev.name}]: rate must be a number, not {type(rate).__name__}")
        if not np.isfinite(rate) or rate < 0:
            raise ValueError(f"Workload {name}[{ev.name}]: rate must be finite and >= 0, got {rate!r}")
        if ev in rates:
            raise ValueError(f"Workload {name}: {ev.name} given twice")
        rates[ev] = float(rate)
    return rates


class Workload:
    """Per-tick event occurrence rates of a task (immutable).

    Parameters
    ----------
    el0, el1 : mapping of event name (or number) to occurrences per tick at EL0 / EL1.
    jitter : float in [0, 1]; each tick every rate is scaled by ``1 + jitter * u``,
        ``u`` uniform in [-1, 1) from the Machine's generator, then rounded.
    profile : optional ``pmulab.sim.profile.Profile``: the code a sample's IP and call chain
        are drawn from.
    """

    __slots__ = ("_el0", "_el1", "_jitter", "_table", "_profile")

    def __init__(self, el0: Mapping | None = None, el1: Mapping | None = None, jitter: float = 0.0,
                 profile=None):
        self._el0 = _rates("el0", el0)
        self._el1 = _rates("el1", el1)
        if isinstance(jitter, bool) or not isinstance(jitter, numbers.Real):
            raise TypeError(f"Workload jitter must be a number, not {type(jitter).__name__}")
        if not 0.0 <= float(jitter) <= 1.0:
            raise ValueError(f"Workload jitter must be in [0, 1], got {jitter!r}")
        self._jitter = float(jitter)
        table = np.zeros((2, events.NUM_EVENTS), dtype=np.float64)
        for el, rates in enumerate((self._el0, self._el1)):
            for ev, rate in rates.items():
                table[el, int(ev)] = rate
        table.setflags(write=False)
        self._table = table
        if profile is not None and not callable(getattr(profile, "sample_regs", None)):
            raise TypeError(f"Workload profile must be a pmulab.sim.profile.Profile, not {type(profile).__name__}")
        self._profile = profile

    @property
    def profile(self):
        """The code profile (``pmulab.sim.profile.Profile``) samples draw their IP from, or None."""
        return self._profile

    @property
    def el0(self) -> dict[str, float]:
        return {ev.name: r for ev, r in self._el0.items()}

    @property
    def el1(self) -> dict[str, float]:
        return {ev.name: r for ev, r in self._el1.items()}

    @property
    def jitter(self) -> float:
        return self._jitter

    @property
    def table(self) -> np.ndarray:
        """Read-only float array ``(2, NUM_EVENTS)``: rates by [EL, event number]."""
        return self._table

    def __repr__(self) -> str:
        parts = [f"el0={self.el0!r}"]
        if self._el1:
            parts.append(f"el1={self.el1!r}")
        if self._jitter:
            parts.append(f"jitter={self._jitter!r}")
        if self._profile is not None:
            parts.append(f"profile={self._profile!r}")
        return f"Workload({', '.join(parts)})"

    def __eq__(self, other) -> bool:
        if not isinstance(other, Workload):
            return NotImplemented
        return (self._jitter == other._jitter and np.array_equal(self._table, other._table)
                and self._profile == other._profile)

    def __hash__(self) -> int:
        return hash((self._jitter, self._table.tobytes()))


def occurrences(workloads: list[Workload | None], rng: np.random.Generator) -> np.ndarray:
    """Occurrences of one tick for every CPU at once: uint64 ``(cpus, 2, NUM_EVENTS)``.

    ``workloads[c]`` is the workload of the task current on CPU ``c`` (None: idle).
    One uniform draw of the full shape is taken every tick whatever the workloads are, so
    the random stream (and thus the trace) does not depend on which tasks have jitter.
    """
    ncpus = len(workloads)
    rates = np.zeros((ncpus, 2, events.NUM_EVENTS), dtype=np.float64)
    spread = np.zeros((ncpus, 1, 1), dtype=np.float64)
    for cpu, wl in enumerate(workloads):
        if wl is not None:
            rates[cpu] = wl.table
            spread[cpu] = wl.jitter
    u = rng.uniform(-1.0, 1.0, size=rates.shape)
    return np.rint(rates * (1.0 + spread * u)).astype(np.uint64)
