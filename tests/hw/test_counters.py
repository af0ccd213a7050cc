"""Counting semantics of the counter core, against both CounterBank and its reference twin.

Each unit test states the Arm ARM D24 rule it checks with numbers worked out by hand; the
Hypothesis tests drive CounterBank and CounterBankRef through the same random register programs
and event streams and require identical state, results and errors after every operation.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pmulab.errors import IllegalInstruction
from pmulab.hw import events, sysregs
from pmulab.hw.counters import CounterBank
from pmulab.hw.counters_ref import CounterBankRef
from pmulab.hw.events import ArmEvent

from . import strategies as hs

BANKS = [CounterBank, CounterBankRef]
E = sysregs.PMCR["E"].mask
D, LC, LP = (sysregs.PMCR[f].mask for f in ("D", "LC", "LP"))
U, P = sysregs.PMEVTYPER["U"].mask, sysregs.PMEVTYPER["P"].mask
INST, CYC = ArmEvent.INST_RETIRED, ArmEvent.CPU_CYCLES
ALL = (1 << 32) - 1


def occ(cpus=1, **by_cpu_el_event):
    """occ(c0_el0_INST_RETIRED=5, ...) -> (cpus, 2, NUM_EVENTS) uint64."""
    a = np.zeros((cpus, 2, events.NUM_EVENTS), np.uint64)
    for key, v in by_cpu_el_event.items():
        c, el, name = key.split("_", 2)
        a[int(c[1:]), int(el[2:]), ArmEvent[name]] = v
    return a


def program(bank, cpu=0, **regs):
    for name, value in regs.items():
        bank.write(cpu, name, value)


@pytest.fixture(params=BANKS, ids=lambda c: c.__name__)
def Bank(request):
    return request.param


# --- enable and filtering -------------------------------------------------------------------------
class TestEnableAndFilter:
    def setup_bank(self, Bank, evtype, pmcr=E, cnten=0b1):
        b = Bank(1, 2)
        program(b, PMEVTYPER0_EL0=evtype, PMCNTENSET_EL0=cnten, PMCR_EL0=pmcr)
        b.count(occ(c0_el0_INST_RETIRED=3, c0_el1_INST_RETIRED=40))
        return b.read(0, "PMEVCNTR0_EL0")

    def test_counts_both_els(self, Bank):
        assert self.setup_bank(Bank, INST) == 43

    def test_u_excludes_el0(self, Bank):
        assert self.setup_bank(Bank, INST | U) == 40

    def test_p_excludes_el1(self, Bank):
        assert self.setup_bank(Bank, INST | P) == 3

    def test_pmcr_e_clear_stops_everything(self, Bank):
        assert self.setup_bank(Bank, INST, pmcr=0) == 0

    def test_pmcnten_clear_stops_counter(self, Bank):
        assert self.setup_bank(Bank, INST, cnten=0b10) == 0

    def test_cycle_counter_counts_cpu_cycles_with_pmccfiltr(self, Bank):
        b = Bank(2, 1)
        program(b, 1, PMCCFILTR_EL0=U, PMCNTENSET_EL0=1 << 31, PMCR_EL0=E)
        b.count(occ(2, c1_el0_CPU_CYCLES=7, c1_el1_CPU_CYCLES=9, c0_el1_CPU_CYCLES=100))
        assert b.read(1, "PMCCNTR_EL0") == 9 and b.read(0, "PMCCNTR_EL0") == 0

    def test_unmodelled_event_numbers_count_nothing(self, Bank):
        b = Bank(1, 1)
        program(b, PMEVTYPER0_EL0=0x4000, PMCNTENSET_EL0=1, PMCR_EL0=E)
        b.count(np.full((1, 2, events.NUM_EVENTS), 5, np.uint64))
        assert b.read(0, "PMEVCNTR0_EL0") == 0


# --- widths and overflow ----------------------------------------------------------------------------
# (version, PMCR bits, register, start, increment) -> (value after, overflow flag)
OVERFLOW_CASES = [
    ("v3p4", E, "PMEVCNTR0_EL0", 2**32 - 1, 1, 0, True),  # 32-bit counter wraps at bit 31
    ("v3p4", E | LP, "PMEVCNTR0_EL0", 2**32 - 1, 1, 0, True),  # LP is RES0 without PMUv3p5
    ("v3p5", E, "PMEVCNTR0_EL0", 2**32 - 1, 2, 2**32 + 1, True),  # LP=0: 64 bits kept, flag at bit 31
    ("v3p5", E | LP, "PMEVCNTR0_EL0", 2**32 - 1, 2, 2**32 + 1, False),  # LP=1: no flag at bit 31
    ("v3p5", E | LP, "PMEVCNTR0_EL0", 2**64 - 1, 1, 0, True),  # LP=1: flag at bit 63
    ("v3p5", E, "PMEVCNTR0_EL0", 2**64 - 1, 1, 0, True),  # LP=0: bits [31:0] wrap too
    ("v3p5", E, "PMEVCNTR0_EL0", 2**64 - 2**32, 5, 2**64 - 2**32 + 5, False),
    ("v3p4", E, "PMCCNTR_EL0", 2**32 - 1, 1, 2**32, True),  # LC=0: cycle counter flags at bit 31
    ("v3p4", E | LC, "PMCCNTR_EL0", 2**32 - 1, 1, 2**32, False),
    ("v3p4", E | LC, "PMCCNTR_EL0", 2**64 - 3, 4, 1, True),  # LC=1: flag at bit 63
    ("v3p4", E, "PMCCNTR_EL0", 2**64 - 1, 1, 0, True),
]


@pytest.mark.parametrize("version,pmcr,reg,start,inc,after,flag", OVERFLOW_CASES)
def test_overflow_position(Bank, version, pmcr, reg, start, inc, after, flag):
    b = Bank(1, 1, version=version)
    slot = 31 if reg == "PMCCNTR_EL0" else 0
    program(b, PMEVTYPER0_EL0=CYC, PMCNTENSET_EL0=ALL, PMINTENSET_EL1=1 << slot, PMCR_EL0=pmcr, **{reg: start})
    b.count(occ(c0_el1_CPU_CYCLES=inc))
    assert b.read(0, reg) == after
    assert bool(b.read(0, "PMOVSSET_EL0") >> slot & 1) is flag
    assert b.irq.tolist() == [flag]


def test_overflow_flags_accumulate_and_clear(Bank):
    b = Bank(1, 2)
    program(b, PMEVTYPER0_EL0=INST, PMEVTYPER1_EL0=INST, PMEVCNTR0_EL0=2**32 - 1, PMCNTENSET_EL0=0b11, PMCR_EL0=E)
    b.count(occ(c0_el0_INST_RETIRED=1))
    b.write(0, "PMEVCNTR1_EL0", 2**32 - 1)
    b.count(occ(c0_el0_INST_RETIRED=1))
    assert b.read(0, "PMOVSSET_EL0") == 0b11
    b.write(0, "PMOVSCLR_EL0", 0b01)
    assert b.read(0, "PMOVSCLR_EL0") == 0b10


def test_irq_needs_both_pmovs_and_pminten(Bank):
    b = Bank(2, 2)
    b.write(1, "PMOVSSET_EL0", 0b10)
    assert b.irq.tolist() == [False, False]
    b.write(1, "PMINTENSET_EL1", 0b01)
    assert b.irq.tolist() == [False, False]
    b.write(1, "PMINTENSET_EL1", 0b10)
    assert b.irq.tolist() == [False, True]
    b.write(1, "PMOVSCLR_EL0", ALL)
    assert not b.irq.any()


# --- PMCR_EL0.D ----------------------------------------------------------------------------------
class TestDivider:
    def test_d_divides_by_64_exactly(self, Bank):
        b = Bank(1, 0)
        program(b, PMCNTENSET_EL0=1 << 31, PMCR_EL0=E | D)
        b.count(occ(c0_el0_CPU_CYCLES=100, c0_el1_CPU_CYCLES=30))  # 130 = 2*64 + 2
        assert b.read(0, "PMCCNTR_EL0") == 2
        b.count(occ(c0_el1_CPU_CYCLES=61))  # 2 + 61 = 63: not yet
        assert b.read(0, "PMCCNTR_EL0") == 2
        b.count(occ(c0_el1_CPU_CYCLES=1))
        assert b.read(0, "PMCCNTR_EL0") == 3

    def test_lc_makes_d_ignored(self, Bank):
        b = Bank(1, 0)
        program(b, PMCNTENSET_EL0=1 << 31, PMCR_EL0=E | D | LC)
        b.count(occ(c0_el0_CPU_CYCLES=130))
        assert b.read(0, "PMCCNTR_EL0") == 130

    def test_filtered_cycles_do_not_advance_divider(self, Bank):
        b = Bank(1, 0)
        program(b, PMCCFILTR_EL0=P, PMCNTENSET_EL0=1 << 31, PMCR_EL0=E | D)
        b.count(occ(c0_el0_CPU_CYCLES=63, c0_el1_CPU_CYCLES=1000))
        b.count(occ(c0_el0_CPU_CYCLES=1))
        assert b.read(0, "PMCCNTR_EL0") == 1

    def test_event_counters_not_divided(self, Bank):
        b = Bank(1, 1)
        program(b, PMEVTYPER0_EL0=CYC, PMCNTENSET_EL0=1, PMCR_EL0=E | D)
        b.count(occ(c0_el0_CPU_CYCLES=100))
        assert b.read(0, "PMEVCNTR0_EL0") == 100


# --- CHAIN and SW_INCR ----------------------------------------------------------------------------
class TestChain:
    def chained(self, Bank, odd_type=ArmEvent.CHAIN, pair=(0, 1), start=2**32 - 10, **extra):
        b = Bank(1, 4)
        lo, hi = pair
        program(b, **{f"PMEVTYPER{lo}_EL0": INST, f"PMEVTYPER{hi}_EL0": odd_type, f"PMEVCNTR{lo}_EL0": start,
                      "PMCNTENSET_EL0": 0b1111, "PMCR_EL0": E} | extra)
        return b

    def test_odd_counts_carries_of_even(self, Bank):
        b = self.chained(Bank)
        b.count(occ(c0_el0_INST_RETIRED=15))
        assert (b.read(0, "PMEVCNTR0_EL0"), b.read(0, "PMEVCNTR1_EL0")) == (5, 1)
        assert b.read(0, "PMOVSSET_EL0") == 0b01

    def test_chain_carry_overflows_odd(self, Bank):
        b = self.chained(Bank, PMEVCNTR1_EL0=2**32 - 1)
        b.count(occ(c0_el0_INST_RETIRED=15))
        assert b.read(0, "PMEVCNTR1_EL0") == 0 and b.read(0, "PMOVSSET_EL0") == 0b11

    def test_chain_on_even_counter_counts_nothing(self, Bank):
        b = self.chained(Bank, pair=(1, 2))
        b.count(occ(c0_el0_INST_RETIRED=15))
        assert b.read(0, "PMEVCNTR2_EL0") == 0

    def test_no_carry_without_overflow(self, Bank):
        b = self.chained(Bank, start=0)
        b.count(occ(c0_el0_INST_RETIRED=15))
        assert b.read(0, "PMEVCNTR1_EL0") == 0

    def test_odd_filter_applies_at_the_el_of_the_carry(self, Bank):
        # EL0 occurrences come first: 5 at EL0 do not wrap, the 10 at EL1 do, so the carry is at EL1.
        b = self.chained(Bank, odd_type=ArmEvent.CHAIN | P)
        b.count(occ(c0_el0_INST_RETIRED=5, c0_el1_INST_RETIRED=10))
        assert b.read(0, "PMEVCNTR1_EL0") == 0
        b2 = self.chained(Bank, odd_type=ArmEvent.CHAIN | U)
        b2.count(occ(c0_el0_INST_RETIRED=5, c0_el1_INST_RETIRED=10))
        assert b2.read(0, "PMEVCNTR1_EL0") == 1

    def test_disabled_odd_counter_ignores_carry(self, Bank):
        b = self.chained(Bank, PMCNTENCLR_EL0=0b10)
        b.count(occ(c0_el0_INST_RETIRED=15))
        assert b.read(0, "PMEVCNTR1_EL0") == 0

    def test_run_carries(self, Bank):
        b = self.chained(Bank, start=2**32 - 3)
        occ_steps = np.stack([occ(c0_el1_INST_RETIRED=2)] * 4)
        v = b.run(occ_steps)
        assert v[:, 0, 0].tolist() == [2**32 - 1, 1, 3, 5]
        assert v[:, 0, 1].tolist() == [0, 1, 1, 1]


class TestSoftwareIncrement:
    def bank(self, Bank, pmcr=E, **extra):
        b = Bank(1, 3)
        regs = dict(PMEVTYPER0_EL0=ArmEvent.SW_INCR, PMEVTYPER1_EL0=ArmEvent.CHAIN, PMEVTYPER2_EL0=INST,
                    PMCNTENSET_EL0=0b111, PMCR_EL0=pmcr)
        program(b, **(regs | extra))
        return b

    def test_increments_sw_incr_counters_only(self, Bank):
        b = self.bank(Bank)
        b.write(0, "PMSWINC_EL0", 0b101)
        b.write(0, "PMSWINC_EL0", 0b1)
        assert [b.read(0, f"PMEVCNTR{n}_EL0") for n in range(3)] == [2, 0, 0]

    def test_needs_pmcr_e(self, Bank):
        b = self.bank(Bank, pmcr=0)
        b.write(0, "PMSWINC_EL0", 1)
        assert b.read(0, "PMEVCNTR0_EL0") == 0

    def test_overflow_and_chain(self, Bank):
        b = self.bank(Bank, PMEVCNTR0_EL0=2**32 - 1)
        b.write(0, "PMSWINC_EL0", 1)
        assert (b.read(0, "PMEVCNTR0_EL0"), b.read(0, "PMEVCNTR1_EL0"), b.read(0, "PMOVSSET_EL0")) == (0, 1, 1)

    def test_filtered_by_el_of_the_write(self, Bank):
        b = self.bank(Bank, PMEVTYPER0_EL0=ArmEvent.SW_INCR | U)
        b.write(0, "PMSWINC_EL0", 1, el=0)
        assert b.read(0, "PMEVCNTR0_EL0") == 0
        b.write(0, "PMSWINC_EL0", 1, el=1)
        assert b.read(0, "PMEVCNTR0_EL0") == 1

    def test_sw_incr_counts_nothing_from_occurrences(self, Bank):
        b = self.bank(Bank)
        b.count(occ(c0_el0_SW_INCR=9))
        assert b.read(0, "PMEVCNTR0_EL0") == 0

    def test_read_is_undefined(self, Bank):
        with pytest.raises(IllegalInstruction, match="write-only") as e:
            self.bank(Bank).read(0, "PMSWINC_EL0")
        assert e.value.el == 1 and not e.value.write


# --- run ---------------------------------------------------------------------------------------------
def test_run_returns_values_per_step_and_matches_count(Bank):
    b = Bank(2, 2)
    for cpu in (0, 1):
        program(b, cpu, PMEVTYPER0_EL0=INST, PMCNTENSET_EL0=ALL, PMCR_EL0=E)
    steps = np.stack([occ(2, c0_el0_INST_RETIRED=k, c1_el1_CPU_CYCLES=10 * k) for k in range(1, 5)])
    c = b.copy()
    v = b.run(steps)
    assert v.shape == (4, 2, 32) and v.dtype == np.uint64
    assert v[:, 0, 0].tolist() == [1, 3, 6, 10] and v[:, 1, 31].tolist() == [10, 30, 60, 100]
    for s in steps:
        c.count(s)
    assert _same(b.state_dict(), c.state_dict())


def test_run_of_no_steps(Bank):
    b = Bank(2, 2)
    before = b.state_dict()
    assert b.run(np.zeros((0, 2, 2, events.NUM_EVENTS), np.uint64)).shape == (0, 2, 32)
    assert _same(before, b.state_dict())


def test_uint64_wrap_stays_integer():
    # NumPy >= 2 (NEP 50): uint64 arithmetic with Python ints stays uint64 and wraps.
    a = np.array([2**64 - 1], np.uint64)
    assert (a + 1).dtype == np.uint64 and int((a + 1)[0]) == 0 and ((a & 0xFFFF_FFFF) + 1).dtype == np.uint64


# --- bad input ------------------------------------------------------------------------------------------
BAD_OCC = [
    np.zeros((2, 2, events.NUM_EVENTS), np.uint64),
    np.zeros((1, 2, events.NUM_EVENTS), np.int64),
    np.zeros((1, 3, events.NUM_EVENTS), np.uint64),
    [[[0] * events.NUM_EVENTS] * 2],
]


@pytest.mark.parametrize("bad", BAD_OCC, ids=["cpus", "dtype", "els", "list"])
def test_bad_occurrences_rejected_and_nothing_changes(Bank, bad):
    b = Bank(1, 1)
    program(b, PMEVTYPER0_EL0=INST, PMCNTENSET_EL0=ALL, PMCR_EL0=E)
    before = b.state_dict()
    with pytest.raises(ValueError, match=r"\(1, 2, 64\)"):
        b.count(bad)
    with pytest.raises(ValueError, match="run"):
        b.run(bad)
    assert _same(before, b.state_dict())


def test_occurrences_at_or_above_2_32_rejected(Bank):
    b = Bank(1, 1)
    program(b, PMEVTYPER0_EL0=INST, PMCNTENSET_EL0=ALL, PMCR_EL0=E)
    before = b.state_dict()
    for o in (occ(c0_el0_INST_RETIRED=2**32), occ(c0_el0_INST_RETIRED=2**31, c0_el1_INST_RETIRED=2**31),
              occ(c0_el0_INST_RETIRED=2**64 - 1, c0_el1_INST_RETIRED=1)):
        with pytest.raises(ValueError, match="2\\*\\*32"):
            b.count(o)
        with pytest.raises(ValueError, match="2\\*\\*32"):
            b.run(o[None])
    assert _same(before, b.state_dict())


def test_determinism():
    def go(Bank):
        b = Bank(2, 3)
        for cpu in (0, 1):
            program(b, cpu, PMEVTYPER0_EL0=INST, PMEVTYPER1_EL0=ArmEvent.CHAIN, PMEVCNTR0_EL0=2**32 - 7,
                    PMCNTENSET_EL0=ALL, PMCR_EL0=E | D)
        b.run(np.stack([occ(2, c0_el0_INST_RETIRED=3, c1_el1_CPU_CYCLES=50, c1_el0_INST_RETIRED=9)] * 5))
        return b.state_dict()

    assert _same(go(CounterBank), go(CounterBank))
    assert _same(go(CounterBank), go(CounterBankRef))


# --- differential -----------------------------------------------------------------------------------------
def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(a[k].dtype == b[k].dtype and np.array_equal(a[k], b[k]) for k in a)


def _apply(bank, op):
    """Run one op; return ("ok", result) or ("err", exception type)."""
    try:
        if op[0] == "write":
            _, cpu, name, value, el = op
            return "ok", bank.write(cpu, name, value, el=el)
        if op[0] == "read":
            return "ok", bank.read(op[1], op[2])
        return "ok", getattr(bank, op[0])(op[1])
    except (IllegalInstruction, ValueError, TypeError) as e:
        return "err", type(e)


def _differential(cfg, ops):
    cpus, counters, version = cfg
    fast, ref = CounterBank(cpus, counters, version=version), CounterBankRef(cpus, counters, version=version)
    for op in ops:
        before = fast.state_dict()
        rf, rr = _apply(fast, op), _apply(ref, op)
        assert rf[0] == rr[0], (op, rf, rr)
        if rf[0] == "err":
            assert rf[1] is rr[1], op
            assert _same(before, fast.state_dict()), f"state changed by failing {op[:3]}"
        elif op[0] == "run":
            assert np.array_equal(rf[1], rr[1]), op[0]
        assert _same(fast.state_dict(), ref.state_dict()), op[:3]
        assert np.array_equal(fast.irq, ref.irq)
    for cpu in range(cpus):
        for name in sorted(sysregs.SYSREGS):
            assert _apply(fast, ("read", cpu, name)) == _apply(ref, ("read", cpu, name)), name


FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(st.data())
def test_differential_random_programs(data):
    cfg = data.draw(hs.configs())
    _differential(cfg, data.draw(hs.programs(cfg)))


@FAST
@given(st.data())
def test_differential_programmed_near_wraps(data):
    cfg = data.draw(hs.configs())
    _differential(cfg, data.draw(hs.setups(cfg)) + data.draw(hs.programs(cfg, max_ops=12)))


@FAST
@given(st.data())
def test_run_equals_repeated_count(data):
    cfg = data.draw(hs.configs())
    cpus, counters, version = cfg
    bank = CounterBank(cpus, counters, version=version)
    for op in data.draw(hs.setups(cfg)):
        _apply(bank, op)
    steps = data.draw(hs.occurrences(cpus, data.draw(st.integers(1, 6))))
    stepped = bank.copy()
    values = bank.run(steps)
    for s, o in enumerate(steps):
        stepped.count(o)
        assert np.array_equal(values[s], stepped.values), s
    assert _same(bank.state_dict(), stepped.state_dict())


@FAST
@given(hs.chain_setups(), st.booleans())
def test_differential_chain_pairs(setup, as_run):
    cfg, ops, steps = setup
    stream = [("run", steps)] if as_run else [("count", s) for s in steps]
    _differential(cfg, ops + stream + [("write", 0, "PMSWINC_EL0", (1 << 31) - 1, 1)])
