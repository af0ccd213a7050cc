"""Trace mode in chunks: ``CounterBank.run`` split into cache-sized chunks of steps must equal one pass.

The chunk size is a module constant (``_CHUNK_BYTES``); these tests shrink it to 1-3 steps so
that the running totals, the CHAIN overflow counts (per EL) and the divider carried from chunk to
chunk are exercised against the scalar reference ``CounterBankRef`` and against repeated ``count``.
"""

from __future__ import annotations

from unittest import mock

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pmulab.errors import IllegalInstruction
from pmulab.hw import counters, events, sysregs
from pmulab.hw.counters import CounterBank
from pmulab.hw.counters_ref import CounterBankRef
from pmulab.hw.events import ArmEvent

from . import strategies as hs

FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _chunked(cpus: int, steps: int):
    return mock.patch.object(counters, "_CHUNK_BYTES", steps * cpus * 2 * events.NUM_EVENTS * 8)


def _same(a, b):
    return all(np.array_equal(a[k], b[k]) for k in a)


@FAST
@given(st.data(), st.integers(1, 3))
def test_chunked_run_equals_repeated_count(data, chunk):
    cfg = data.draw(hs.configs())
    cpus, n, version = cfg
    bank = CounterBank(cpus, n, version=version)
    for op in data.draw(hs.setups(cfg)):
        try:
            bank.write(*op[1:4], el=op[4])
        except (IllegalInstruction, ValueError):  # the setups may hold UNDEFINED writes: they change nothing
            pass
    steps = data.draw(hs.occurrences(cpus, data.draw(st.integers(1, 8))))
    stepped = bank.copy()
    with _chunked(cpus, chunk):
        values = bank.run(steps)
    for s, o in enumerate(steps):
        stepped.count(o)
        assert np.array_equal(values[s], stepped.values), s
    assert _same(bank.state_dict(), stepped.state_dict())


@FAST
@given(hs.chain_setups(), st.integers(1, 3))
def test_chunked_chain_pairs_match_the_reference(setup, chunk):
    (cpus, n, version), ops, steps = setup
    fast, ref = CounterBank(cpus, n, version=version), CounterBankRef(cpus, n, version=version)
    for b in (fast, ref):
        for _, cpu, name, value, el in ops:
            b.write(cpu, name, value, el=el)
    with _chunked(cpus, chunk):
        got = fast.run(steps)
    want = ref.run(steps)
    assert np.array_equal(got, want)
    assert _same(fast.state_dict(), ref.state_dict())


def test_many_wraps_across_chunks_split_by_el():
    """A 32-bit even counter wrapping almost every step, its CHAIN partner counting EL1 carries only."""
    u = sysregs.PMEVTYPER["U"].mask
    occ = np.zeros((11, 2, 2, events.NUM_EVENTS), np.uint64)
    rng = np.random.default_rng(3)
    occ[..., ArmEvent.INST_RETIRED] = rng.integers(2**30, 2**31, size=occ.shape[:3], dtype=np.uint64)
    occ[..., ArmEvent.CPU_CYCLES] = rng.integers(0, 200, size=occ.shape[:3], dtype=np.uint64)
    banks = [CounterBank(2, 4), CounterBankRef(2, 4)]
    for b in banks:
        for cpu in range(2):
            b.write(cpu, "PMEVTYPER0_EL0", ArmEvent.INST_RETIRED)
            b.write(cpu, "PMEVTYPER1_EL0", ArmEvent.CHAIN | (u if cpu else 0))
            b.write(cpu, "PMEVTYPER2_EL0", ArmEvent.INST_RETIRED)
            b.write(cpu, "PMEVTYPER3_EL0", ArmEvent.CHAIN)
            b.write(cpu, "PMEVCNTR0_EL0", 2**32 - 7)
            b.write(cpu, "PMCNTENSET_EL0", 0b1111 | 1 << sysregs.CYCLE_SLOT)
            b.write(cpu, "PMCR_EL0", sysregs.PMCR["E"].mask | (sysregs.PMCR["D"].mask if cpu else 0))
    with _chunked(2, 3):
        got = banks[0].run(occ)
    assert np.array_equal(got, banks[1].run(occ))
    assert _same(banks[0].state_dict(), banks[1].state_dict())
    assert got[-1, 0, 1] > 3  # the partner did count several carries
