"""A workload's code profile: where its time goes, so that a sample has an IP and a call chain.

Models: what a sampled program looks like to the PMU interrupt -- the PC of the interrupted
instruction (``instruction_pointer(regs)``, ELR_EL1 on arm64) and the frames
``perf_callchain_kernel``/``perf_callchain_user`` would unwind. A ``Profile`` is a list of
``Function``s (name, ``[start, end)`` address range, EL 0 or 1, the caller it is called
from, and its share of each event: a number for every event or a mapping from event name to
weight). For a sample of architectural event ``e`` the interrupted function is drawn with
probability proportional to its share of ``e`` among the functions the event's
exclude_user/exclude_kernel filters let it count in, and the PC uniformly among its 4-byte
instructions -- from the perf core's generator, seeded by the Machine's seed, so the same seed
gives the same samples. ``skid`` (instructions) adds a uniform 0..skid-instruction slip
after the counted instruction, as the interrupt lands later than the overflow (Arm ARM D24:
the PMU interrupt is not precise); it may carry the PC past the end of the function.
CALLCHAIN: ``PERF_CONTEXT_KERNEL`` and the kernel frames (PC, then each caller's return
address) for an EL1 sample, then ``PERF_CONTEXT_USER`` and the user frames (for an EL1 sample,
the user function that made the system call, found through the ``caller`` links).
Omits: DSOs/maps (one flat address space per task), inlining, stack depth limits beyond
``PERF_MAX_STACK_DEPTH``, data addresses (arm64 PMUv3 samples carry ADDR 0).
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from pmulab.drivers.arm_pmuv3_events import EVENT_FIELD
from pmulab.hw import events
from pmulab.perf.sampling import SampleRegs
from pmulab.uapi.records import PERF_CONTEXT_KERNEL, PERF_CONTEXT_USER, PERF_MAX_STACK_DEPTH

__all__ = ["Function", "Profile", "demo_profile"]


@dataclass(frozen=True)
class Function:
    """One function of a profile: ``[start, end)`` addresses, ``el`` 0 (user) or 1 (kernel),
    ``share`` (a weight for every event, or ``{event name: weight}``), ``caller`` (name or None)."""

    name: str
    start: int
    end: int
    share: float | Mapping = 1.0
    el: int = 0
    caller: str | None = None
    _weights: tuple = field(default=(), compare=False, repr=False)

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise TypeError("Function name must be a non-empty str")
        for n in ("start", "end"):
            v = getattr(self, n)
            if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 0:
                raise TypeError(f"Function {self.name}: {n} must be an int >= 0")
        if self.end - self.start < 4 or self.start % 4:
            raise ValueError(f"Function {self.name}: [{self.start:#x}, {self.end:#x}) must hold a 4-byte-aligned "
                             "instruction")
        if self.el not in (0, 1):
            raise ValueError(f"Function {self.name}: el must be 0 or 1")
        share = self.share
        if isinstance(share, Mapping):
            weights = tuple(sorted((int(events.event(k)), float(v)) for k, v in share.items()))
        elif isinstance(share, numbers.Real) and not isinstance(share, bool):
            weights = ((-1, float(share)),)
        else:
            raise TypeError(f"Function {self.name}: share must be a number or a mapping event -> weight")
        if any(w < 0 or not np.isfinite(w) for _, w in weights):
            raise ValueError(f"Function {self.name}: shares must be finite and >= 0")
        object.__setattr__(self, "_weights", weights)

    def weight(self, event: int) -> float:
        """This function's share of architectural event ``event``."""
        for num, w in self._weights:
            if num in (-1, event):
                return w
        return 0.0


class Profile:
    """A workload's functions (see the module docstring); ``skid`` in instructions."""

    def __init__(self, functions: Sequence[Function | tuple], skid: int = 0):
        funcs = tuple(f if isinstance(f, Function) else Function(*f) for f in functions)
        if not funcs:
            raise ValueError("a Profile needs at least one function")
        names = [f.name for f in funcs]
        if len(set(names)) != len(names):
            raise ValueError("Profile function names must be unique")
        spans = sorted((f.start, f.end, f.name) for f in funcs)
        for (_, e0, n0), (s1, _, n1) in zip(spans, spans[1:], strict=False):
            if s1 < e0:
                raise ValueError(f"functions {n0!r} and {n1!r} overlap")
        by_name = {f.name: f for f in funcs}
        for f in funcs:
            if f.caller is not None and f.caller not in by_name:
                raise ValueError(f"function {f.name!r}: unknown caller {f.caller!r}")
        if isinstance(skid, bool) or not isinstance(skid, int) or skid < 0:
            raise ValueError("skid must be an int >= 0")
        self.functions, self.skid, self._by_name = funcs, skid, by_name

    def __repr__(self) -> str:
        return f"Profile({[f.name for f in self.functions]}, skid={self.skid})"

    def __eq__(self, other) -> bool:
        return isinstance(other, Profile) and (self.functions, self.skid) == (other.functions, other.skid)

    def __hash__(self) -> int:
        return hash((self.functions, self.skid))

    def symbols(self) -> list[tuple[str, int, int]]:
        """``(name, start, end)`` for ``pmulab.user.report``."""
        return [(f.name, f.start, f.end) for f in self.functions]

    def true_profile(self, event, *, user: bool = True, kernel: bool = True) -> dict[str, float]:
        """The share (0..1) of each function in ``event``'s occurrences under the EL filters."""
        num = int(events.event(event))
        w = {f.name: f.weight(num) for f in self.functions if (f.el == 0 and user) or (f.el == 1 and kernel)}
        total = sum(w.values())
        return {k: v / total for k, v in w.items() if v} if total else {}

    def _return_address(self, name: str) -> int:
        f = self._by_name[name]
        return f.start + ((f.end - f.start) // 2 & ~3)

    def callchain(self, func: Function, ip: int) -> tuple[int, ...]:
        """The CALLCHAIN ips of a sample in ``func`` at ``ip`` (context markers included)."""
        chain: list[int] = []
        mode = None
        f, pc = func, ip
        while f is not None and len(chain) < PERF_MAX_STACK_DEPTH:
            want = PERF_CONTEXT_KERNEL if f.el == 1 else PERF_CONTEXT_USER
            if want != mode:
                chain.append(want)
                mode = want
            chain.append(pc)
            if f.caller is None:
                break
            pc = self._return_address(f.caller)
            f = self._by_name[f.caller]
        return tuple(chain)

    def sample_regs(self, rng: np.random.Generator, config_base: int, *, user: bool = True,
                    kernel: bool = True) -> SampleRegs:
        """Draw the interrupted context of one sample of the event programmed as ``config_base``."""
        num = int(config_base) & EVENT_FIELD.mask
        cands = [f for f in self.functions if (f.el == 0 and user) or (f.el == 1 and kernel)]
        weights = np.array([f.weight(num) for f in cands], dtype=np.float64)
        if not cands or weights.sum() <= 0:
            return SampleRegs(0, user, ())
        func = cands[int(rng.choice(len(cands), p=weights / weights.sum()))]
        ip = func.start + 4 * int(rng.integers(0, (func.end - func.start) // 4))
        if self.skid:
            ip += 4 * int(rng.integers(0, self.skid + 1))
        return SampleRegs(ip, func.el == 0, self.callchain(func, ip))


def demo_profile(skid: int = 0) -> Profile:
    """A small program for demos: main -> parse -> hot_loop -> memcpy, and a write() system call."""
    return Profile([
        Function("main", 0x400000, 0x400400, {"INST_RETIRED": 1, "CPU_CYCLES": 1}),
        Function("parse", 0x400400, 0x400C00, {"INST_RETIRED": 2, "CPU_CYCLES": 3}, caller="main"),
        Function("hot_loop", 0x400C00, 0x401400, {"INST_RETIRED": 5, "CPU_CYCLES": 3}, caller="parse"),
        Function("memcpy", 0x401400, 0x401800, {"INST_RETIRED": 2, "CPU_CYCLES": 4}, caller="hot_loop"),
        Function("el0_svc", 0xFFFF800010010000, 0xFFFF800010010400, {"INST_RETIRED": 1, "CPU_CYCLES": 1}, el=1,
                 caller="main"),
        Function("ksys_write", 0xFFFF800010200000, 0xFFFF800010200800, {"INST_RETIRED": 1, "CPU_CYCLES": 2},
                 el=1, caller="el0_svc"),
    ], skid=skid)
