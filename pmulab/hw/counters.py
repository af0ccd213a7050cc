"""The vectorised PMUv3 counter core: all CPUs x 32 counter slots advanced with NumPy.

Models: Arm ARM D24 "The Performance Monitors Extension" counting rules for every PE at once:
a counter counts an event iff PMCR_EL0.E, its PMCNTENSET_EL0 bit and its PMEVTYPER<n>_EL0 /
PMCCFILTR_EL0 filter (U excludes EL0, P excludes EL1) allow it; PMCCNTR_EL0 counts CPU_CYCLES,
divided by 64 when PMCR_EL0.D=1 and LC=0 (D is ignored when LC=1); overflow sets PMOVSSET_EL0
when bits [31:0] wrap (32-bit event counters, LP=0, LC=0) or the 64-bit value wraps (LP=1, LC=1);
CHAIN (0x1E) on odd counter 2k+1 counts the overflows of counter 2k (on an even counter it
counts nothing); SW_INCR (0x00) counts PMSWINC_EL0 writes only; the interrupt request is
PMOVS & PMINTEN (``irq``). Slot = hardware bit position, 31 = PMCCNTR_EL0 (anchors §8.4).
Within one step the EL0 occurrences come before the EL1 ones (this decides at which EL a CHAIN
carry happens, hence whether the odd counter's filter lets it count).
Omits: EL2/EL3 filtering (NSK/NSU/NSH/M are stored, never used), PMCR_EL0.DP and X (stored, no
effect: no prohibited regions, no trace unit), events outside 0x00-0x3F (counted as never occurring).
Pinned to: Arm ARM DDI 0487 (PMUv3p5 counter widths, PMUv3p9 PMUACR_EL1).

Precondition: per CPU and event, EL0 + EL1 occurrences in one step are < 2**32 (checked:
ValueError), so a counter overflows at most once per step.
Register access (``read``/``write``) is inherited from ``pmulab.hw.regfile.RegisterFile``, the
storage it reaches from ``pmulab.hw.counters_store.CounterStorage``.
Declare -> build -> run (style anchors §6): the register program is compiled into gather
indices and masks when it is needed after PMCR_EL0, PMCNTEN or PMEVTYPER<n>_EL0 changed, so a
step is a few array operations; ``count`` is the one-step path, ``run`` works through cache-sized
chunks of steps on cumulative sums (overflow counts, CHAIN and the divider follow from them).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from pmulab.bits import mask
from pmulab.hw import events, sysregs
from pmulab.hw.counters_store import CounterStorage
from pmulab.hw.regfile import RegisterFile, check_bound, check_occurrences

__all__ = ["CounterBank"]

_SLOTS = np.arange(sysregs.NUM_SLOTS, dtype=np.uint64)
_CYC = sysregs.CYCLE_SLOT
_ODD = np.arange(1, _CYC - 1, 2)  # CHAIN-capable counters 1, 3, ..., 29; partner of each is _ODD - 1
_ODD_S, _EVEN = slice(1, _CYC - 1, 2), slice(0, _CYC - 2, 2)  # the same as views: 1, 3, ..., 29 and 0, 2, ..., 28
_EVEN_N = len(_ODD)
_CHUNK_BYTES = 1 << 18  # trace mode works on chunks of steps of about this many bytes of input (cache-sized)
_M32 = mask(32)
_M64 = np.uint64(mask(64))
_EVT, _U, _P = (sysregs.PMEVTYPER[f].mask for f in ("evtCount", "U", "P"))
_E, _D, _LC, _LP = (sysregs.PMCR[f].mask for f in ("E", "D", "LC", "LP"))
_CYCLES, _SW_INCR, _CHAIN = events.ArmEvent.CPU_CYCLES, events.ArmEvent.SW_INCR, events.ArmEvent.CHAIN


class _Program(NamedTuple):
    """What the registers currently ask of each counter; rebuilt after any register write."""

    idx: np.ndarray  # (C, 32) event gathered from the occurrences (CPU_CYCLES for slot 31)
    counting: np.ndarray  # (C, 2, 32) enabled, filter allows the EL, ordinary event
    allow: np.ndarray  # (C, 2, 32) filter allows EL0 / EL1
    chained: np.ndarray  # (C, 15) odd counter enabled and programmed with CHAIN
    swinc: np.ndarray  # (C, 32) enabled and programmed with SW_INCR
    divide: np.ndarray  # (C,) PMCR_EL0.D=1 and LC=0
    at32: np.ndarray  # (C, 32) overflow at the bit-31 boundary (else bit 63)
    gather: np.ndarray  # (C, 2, 32) index of each counter's event in the flattened (C, 2, NUM_EVENTS) input
    weight: np.ndarray  # (C, 2, 32) uint64 ``counting`` as 0/1
    low: np.ndarray  # (C, 32) uint64 the bits whose wrap is an overflow: 2**32-1 or 2**64-1
    carry: np.ndarray  # (2, C, 15) CHAIN carries into the odd counter at EL0 / EL1 (chained and allowed)
    divides: bool  # some CPU divides its cycle counter
    chains: bool  # some CPU has a CHAIN counter
    split: np.ndarray | None  # (C, 15) carry[0] ^ carry[1], None when the EL of a carry never matters


def _wraps(cum, low, room, at32):
    """How many times counters (values whose overflow bits are ``low``, headroom ``room``) have
    overflowed after cumulative increments ``cum`` (S, C, k): bit-31 crossings for ``at32``, else
    0 or 1 (a 64-bit wrap; ``cum`` stays far below 2**64). uint64, same shape as ``cum``."""
    if at32.all():
        w = cum + low
        w >>= np.uint64(32)
        return w
    big = (cum > room).astype(np.uint64)
    if not at32.any():
        return big
    return np.where(at32, (cum + low) >> np.uint64(32), big)


class CounterBank(CounterStorage, RegisterFile):
    """PMUv3 counters of ``cpus`` PEs as NumPy arrays (see the module docstring for the semantics)."""

    def __init__(self, cpus: int, counters: int, long_counters: bool = False, *, version=None):
        super().__init__(cpus, counters, long_counters, version=version)
        self._init_storage(cpus)
        self._compiled: _Program | None = None

    # --- kernels ---------------------------------------------------------------------------------
    def _program(self) -> _Program:
        if self._compiled is None:
            self._compiled = self._compile()
        return self._compiled

    def _compile(self) -> _Program:
        pmcr, ty = self._words["PMCR"], self._evtype
        en = ((pmcr & _E) != 0)[:, None] & self._bits["PMCNTEN"]
        evt = ty & _EVT
        evt[:, _CYC] = _CYCLES
        allow = np.stack([(ty & _U) == 0, (ty & _P) == 0], axis=1)
        plain = (evt < events.NUM_EVENTS) & (evt != _SW_INCR) & (evt != _CHAIN)
        at32 = np.empty_like(en)
        at32[:, :_CYC] = ((pmcr & _LP) == 0)[:, None]
        at32[:, _CYC] = (pmcr & _LC) == 0
        idx, counting = np.where(plain, evt, 0).astype(np.intp), (en & plain)[:, None] & allow
        chained = en[:, _ODD] & (evt[:, _ODD] == _CHAIN)
        rows = (np.arange(self.cpus)[:, None, None] * 2 + np.arange(2)[None, :, None]) * events.NUM_EVENTS
        divide = ((pmcr & _D) != 0) & ((pmcr & _LC) == 0)
        carry = (chained[:, None] & allow[:, :, _ODD]).transpose(1, 0, 2)
        split = carry[0] ^ carry[1]
        return _Program(idx=idx, counting=counting, allow=allow, chained=chained, swinc=en & (evt == _SW_INCR),
                        divide=divide, at32=at32, gather=rows + idx[:, None, :], weight=counting.astype(np.uint64),
                        low=np.where(at32, np.uint64(_M32), _M64), carry=carry, divides=bool(divide.any()),
                        chains=bool(chained.any()), split=split if split.any() else None)

    # --- counting --------------------------------------------------------------------------------
    def count(self, occ: np.ndarray) -> None:
        """One step: ``occ`` (cpus, 2, NUM_EVENTS) uint64 occurrences at EL0 and EL1 (Arm ARM D24 counting).

        Overflow is tested against the headroom ``low - (value & low)`` (= ``~value & low``, ``low``
        being all ones): a step's increment overflows the counter iff it exceeds the headroom,
        for the bit-31 and the bit-63 boundary alike.
        """
        occ = check_occurrences(occ, (self.cpus,), "count")
        p = self._program()
        d = occ.reshape(-1).take(p.gather)
        d *= p.weight
        self._step(d, p)

    def _step(self, d, p) -> None:
        """Apply one step of weighted increments ``d`` (C, 2, 32): divider, CHAIN, overflow flags, values."""
        t = d[:, 0] + d[:, 1]  # (C, 32) this step's increments
        if p.divides:  # PMCR_EL0.D: PMCCNTR_EL0 advances once per 64 counted cycles
            total = self._prescale + t[:, _CYC]
            t[:, _CYC] = np.where(p.divide, total // 64, t[:, _CYC])
            self._prescale[...] = np.where(p.divide, total % 64, self._prescale)
        old = self._value
        room = ~old
        room &= p.low
        if p.chains:  # CHAIN: +1 on odd counter 2k+1 when counter 2k overflowed, if its filter allows that EL
            crossed = t[:, _EVEN] > room[:, _EVEN]
            if p.split is not None:  # the odd counter's filter differs between EL0 and EL1: which EL wrapped?
                crossed &= p.carry[1] ^ ((d[:, 0, _EVEN] > room[:, _EVEN]) & p.split)
            else:
                crossed &= p.carry[1]
            t[:, _ODD_S] += crossed
        self._bits["PMOVS"] |= t > room
        self._pmovs_stale = True
        old += t  # in place: views handed out stay live
        old &= self._store_mask

    def run(self, occ_steps: np.ndarray) -> np.ndarray:
        """Steps of ``count`` at once: (steps, cpus, 2, NUM_EVENTS) -> counter values (steps, cpus, 32).

        The register program is fixed during a run, so the values are cumulative sums of the
        per-step increments; overflow, CHAIN and the divider follow from the cumulative totals.
        """
        steps = occ_steps.shape[0] if isinstance(occ_steps, np.ndarray) and occ_steps.ndim else 0
        occ = check_occurrences(occ_steps, (steps, self.cpus), "run", bound=False)
        if not steps:
            return np.zeros((0, self.cpus, sysregs.NUM_SLOTS), np.uint64)
        return self._run(occ, self._program())

    def _run(self, occ, p) -> np.ndarray:
        """``run`` in chunks of steps that stay in cache (the bound of each chunk is checked first).

        Each chunk: the EL0 and EL1 increments gathered (straight into the output), summed and
        accumulated along the steps (carrying the running total of the previous chunks); then
        CHAIN adds to each odd counter the overflows its even partner has had so far (at the EL
        where each happened, when its filter differs by EL), the divider turns cumulative
        cycles into cumulative ticks, and the stored values follow. A counter has overflowed
        during the run iff its total increment exceeds its headroom (``count``'s test).
        """
        steps, cpus, n = occ.shape[0], self.cpus, sysregs.NUM_SLOTS
        flat = occ.reshape(steps, -1)
        out = np.empty((steps, cpus, n), np.uint64)
        g0, g1 = (np.ascontiguousarray(p.gather[:, el]).reshape(-1) for el in (0, 1))
        w0, w1 = (np.ascontiguousarray(p.weight[:, el]).reshape(-1) for el in (0, 1))
        old = self._value
        room = ~old & p.low
        low_e, room_e, at32_e = old[:, _EVEN] & p.low[:, _EVEN], room[:, _EVEN], p.at32[:, _EVEN]
        c0, c1 = (p.carry[el].astype(np.uint64) for el in (0, 1))
        raw = np.zeros((cpus, n), np.uint64)  # cumulative increments before this chunk (no CHAIN, no divider)
        wraps_prev = np.zeros((cpus, _EVEN_N), np.uint64)  # overflows of the even partners so far
        el0_carries = np.zeros((cpus, _EVEN_N), np.uint64)  # of which happened at EL0
        last = raw
        chunk = max(1, _CHUNK_BYTES // flat[0].nbytes)
        for s0 in range(0, steps, chunk):
            s1 = min(steps, s0 + chunk)
            check_bound(occ[s0:s1], "run")  # nothing has changed yet if it fails
            a = out[s0:s1]
            a2 = a.reshape(s1 - s0, -1)
            np.take(flat[s0:s1], g0, axis=1, out=a2)
            a2 *= w0
            b = flat[s0:s1].take(g1, axis=1)
            b *= w1
            d0_e = a[:, :, _EVEN].copy() if p.split is not None else None
            a2 += b
            np.cumsum(a, axis=0, out=a)
            a += raw
            prev_raw, raw = raw, a[-1].copy()
            if p.chains:
                wraps = _wraps(a[:, :, _EVEN], low_e, room_e, at32_e)
                if d0_e is None:
                    wraps *= c1
                    a[:, :, _ODD_S] += wraps
                else:
                    before = np.empty_like(d0_e)
                    before[0] = prev_raw[:, _EVEN]
                    before[1:] = a[:-1, :, _EVEN]
                    before += d0_e  # the running total after this step's EL0 part
                    at_el0 = _wraps(before, low_e, room_e, at32_e)
                    at_el0[1:] -= wraps[:-1]
                    at_el0[0] -= wraps_prev
                    np.cumsum(at_el0, axis=0, out=at_el0)
                    at_el0 += el0_carries
                    wraps_prev, el0_carries = wraps[-1].copy(), at_el0[-1].copy()
                    wraps -= at_el0  # now: the overflows at EL1
                    wraps *= c1
                    at_el0 *= c0
                    wraps += at_el0
                    a[:, :, _ODD_S] += wraps
            if p.divides:
                cyc = a[:, :, _CYC]
                cyc[...] = np.where(p.divide, (cyc + self._prescale) // 64, cyc)
            if s1 == steps:
                last = a[-1].copy()
            a += old
            a &= self._store_mask
        self._bits["PMOVS"] |= last > room
        self._pmovs_stale = True
        self._prescale[...] = np.where(p.divide, (self._prescale + raw[:, _CYC]) % 64, self._prescale)
        self._value[...] = out[-1]  # in place: views handed out stay live
        return out

    def _software_increment(self, cpu, slots, el):
        """PMSWINC_EL0: +1 on each selected counter that is enabled, counts SW_INCR and whose filter allows ``el``."""
        prog = self._program()
        d = np.zeros((self.cpus, 2, sysregs.NUM_SLOTS), np.uint64)
        d[cpu, el] = ((np.uint64(slots) >> _SLOTS) & np.uint64(1)) * (prog.swinc[cpu] & prog.allow[cpu, el])
        self._step(d, prog)
