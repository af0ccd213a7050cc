"""Counter placement (armv8pmu_get_event_idx), index spaces, period arithmetic, bias, chaining, IRQ."""

import errno

import numpy as np
import pytest

from pmulab.drivers import arm_pmuv3 as v3
from pmulab.drivers.arm_pmu import PmuHwEvents
from pmulab.hw.events import NUM_EVENTS, ArmEvent
from pmulab.hw.sysregs import PMCR
from pmulab.perf.api import EF, HES
from pmulab.uapi import constants as uc
from tests.drivers.conftest import Rig

CYC, INS = uc.PERF_COUNT_HW_CPU_CYCLES, uc.PERF_COUNT_HW_INSTRUCTIONS


def occ(kernel, cpu=0, el=0, **events):
    a = np.zeros((kernel.ncpus, 2, NUM_EVENTS), dtype=np.uint64)
    for name, n in events.items():
        a[cpu, el, ArmEvent[name]] = n
    return a


# --- index spaces -------------------------------------------------------------------------------
def test_index_conversions():
    assert v3.counter_of(v3.CYCLE_IDX) == 31 and v3.counter_of(1) == 0 and v3.counter_of(31) == 30
    assert all(v3.idx_of(v3.counter_of(i)) == i for i in range(32))
    assert v3.user_index_of(v3.CYCLE_IDX) == 32 and v3.user_index_of(3) == 3
    assert v3.counter_of_user_index(32) == 31 and v3.counter_of_user_index(3) == 2
    assert v3.count_register(v3.counter_of(0)) == "PMCCNTR_EL0"
    assert v3.count_register(v3.counter_of(3)) == "PMEVCNTR2_EL0"
    assert v3.type_register(v3.counter_of(0)) == "PMCCFILTR_EL0"
    with pytest.raises(ValueError, match="names no counter"):
        v3.counter_of_user_index(0)
    with pytest.raises(ValueError, match="out of range"):
        v3.counter_of(32)


# --- placement ----------------------------------------------------------------------------------
def test_cycles_prefers_the_cycle_counter_then_event_counters(rig):
    hw = PmuHwEvents()
    a, b = rig.event(config=CYC), rig.event(config=CYC)
    assert rig.pmu.ops.get_event_idx(hw, a) == v3.CYCLE_IDX
    assert rig.pmu.ops.get_event_idx(hw, b) == 1
    assert rig.pmu.ops.get_event_idx(hw, rig.event(config=INS)) == 2


def test_long_user_cycles_on_busy_cycle_counter_is_eagain(rig):
    hw = PmuHwEvents()
    rig.pmu.ops.get_event_idx(hw, rig.event(config=CYC))
    assert rig.pmu.ops.get_event_idx(hw, rig.event(config=CYC, config1=0x3)) == -errno.EAGAIN
    assert rig.pmu.ops.get_event_idx(hw, rig.event(config=CYC, config1=0x2)) == 1  # 32-bit lands in PMEVCNTR0


def test_chaining_takes_even_odd_pairs(rig):
    hw = PmuHwEvents()
    one = rig.event(config=INS)
    assert rig.pmu.ops.get_event_idx(hw, one) == 1  # hw counter 0
    long_ = rig.event(config=INS, config1=0x1)
    assert rig.pmu.ops.get_event_idx(hw, long_) == 4  # idx 3/4 = counters 2/3; idx 1/2 pair is half taken
    assert hw.used_mask == 0b11010
    long_.hw.idx = 4
    rig.pmu.ops.clear_event_idx(hw, long_)
    assert hw.used_mask == 0b10


def test_eagain_when_full():
    rig = Rig(counters=2)
    hw = PmuHwEvents()
    assert [rig.pmu.ops.get_event_idx(hw, rig.event(config=INS)) for _ in range(3)] == [1, 2, -errno.EAGAIN]
    assert rig.pmu.ops.get_event_idx(hw, rig.event(config=INS, config1=1)) == -errno.EAGAIN
    assert rig.pmu.ops.get_event_idx(hw, rig.event(config=CYC)) == 0


def test_p5_never_chains():
    rig = Rig(version="v3p5")
    hw = PmuHwEvents()
    assert rig.pmu.ops.get_event_idx(hw, rig.event(config=INS, config1=0x1)) == 1
    assert hw.used_mask == 0b10


# --- period arithmetic (spec 2.6, S14) ---------------------------------------------------------
def test_s14_set_period_then_update_zero_extends(rig):
    e = rig.active(rig.event(config=INS, config1=0x2))
    assert e.hw.idx == 1
    assert rig.reg("PMEVCNTR0_EL0") == 0x80000001
    assert e.hw.prev_count == 0xFFFFFFFF80000001
    rig.kernel.bank.write(0, "PMEVCNTR0_EL0", 0x80001000)
    rig.pmu.read(e)
    assert e.count == 0xFFF and e.hw.prev_count == 0x80001000  # zero-extended after an update
    assert e.hw.period_left == 0x7FFFFFFF - 0xFFF


def test_update_masks_delta_to_the_width(rig):
    e = rig.active(rig.event(config=INS))
    rig.kernel.bank.write(0, "PMEVCNTR0_EL0", 5)  # wrapped past 2^32
    rig.pmu.read(e)
    assert e.count == (5 - 0x80000001) & 0xFFFFFFFF


def test_set_period_bookkeeping():
    rig = Rig()
    e = rig.event(config=INS, sample_period=1000, init=False)
    e.hw.sample_period = 1000
    rig.pmu.event_init(e)
    e.hw.idx = 1
    e.hw.period_left = -5
    assert rig.pmu.event_set_period(e) is True
    assert e.hw.period_left == 995 and e.hw.last_period == 1000
    assert rig.reg("PMEVCNTR0_EL0") == (-995) & 0xFFFFFFFF
    e.hw.period_left = -3000
    assert rig.pmu.event_set_period(e) is True and e.hw.period_left == 1000
    e.hw.period_left = 10
    assert rig.pmu.event_set_period(e) is False and e.hw.prev_count == (-10) & (2**64 - 1)


def test_bias_on_p5_for_32bit_events():
    rig = Rig(version="v3p5")
    e = rig.active(rig.event(config=INS))
    assert rig.reg("PMEVCNTR0_EL0") == 0xFFFFFFFF80000001  # biased: overflows at the 64-bit wrap
    rig.kernel.bank.write(0, "PMEVCNTR0_EL0", 0xFFFFFFFF80000011)
    assert rig.pmu.ops.read_counter(e) == 0x80000011  # unbiased
    rig.active(rig.event(config=INS, config1=0x1))
    assert rig.reg("PMEVCNTR1_EL0") == 0x8000000000000001  # 64-bit: no bias


def test_bias_for_32bit_event_in_the_cycle_counter(rig):
    e = rig.active(rig.event(config=CYC))
    assert e.hw.idx == 0 and rig.reg("PMCCNTR_EL0") == 0xFFFFFFFF80000001
    assert rig.pmu.ops.read_counter(e) == 0x80000001


def test_chained_counts_64_bits(rig):
    e = rig.active(rig.event(config=INS, config1=0x1))
    assert e.hw.idx == 2
    assert rig.reg("PMEVCNTR1_EL0") == 0x80000000 and rig.reg("PMEVCNTR0_EL0") == 1  # hi, lo of 2^63+1
    assert rig.reg("PMEVTYPER1_EL0") & 0xFFFF == ArmEvent.CHAIN
    assert rig.reg("PMINTENSET_EL1") == 0b10  # the interrupt is the high counter's
    assert rig.reg("PMCNTENSET_EL0") == 0b11
    rig.pmu.pmu_enable()
    rig.kernel.bank.count(occ(rig.kernel, INST_RETIRED=0xFFFFFFFF))
    rig.pmu.read(e)
    assert e.count == 0xFFFFFFFF


def test_add_del_start_stop(rig):
    e = rig.event(config=INS)
    rig.kernel.stack.append(0)
    assert rig.pmu.add(e, EF(0)) == 0
    assert e.hw.state == HES.STOPPED | HES.UPTODATE and rig.reg("PMCNTENSET_EL0") == 0
    rig.pmu.start(e, EF.RELOAD)
    assert rig.reg("PMCNTENSET_EL0") == 1 and e.hw.state == 0
    rig.pmu.pmu_enable()
    assert rig.reg("PMCR_EL0") & PMCR["E"].mask
    rig.kernel.bank.count(occ(rig.kernel, INST_RETIRED=7))
    rig.pmu.del_(e, EF.UPDATE)
    assert e.count == 7 and e.hw.idx == -1 and rig.pmu.this_hw_events().used_mask == 0
    assert rig.reg("PMEVCNTR0_EL0") == 0x80000008  # not cleared on del
    assert rig.core.pages[-1] == (e.id, 0)
    rig.pmu.pmu_disable()
    assert not rig.reg("PMCR_EL0") & PMCR["E"].mask
    rig.pmu.pmu_enable()  # nothing in use: start() is not called
    assert not rig.reg("PMCR_EL0") & PMCR["E"].mask


def test_add_on_a_cpu_of_another_type_is_enoent():
    rig = Rig()
    rig.pmu.supported_cpus = frozenset({0})
    e = rig.event()
    rig.kernel.stack.append(1)
    assert rig.pmu.add(e, EF.START) == -errno.ENOENT
    assert not rig.pmu.filter_match(e)


def test_reset_at_probe():
    rig = Rig(version="v3p5")
    assert rig.reg("PMCR_EL0") & 0xFF == PMCR.encode(LC=1, LP=1)  # P and C read as 0
    assert rig.reg("PMCNTENSET_EL0") == rig.reg("PMINTENSET_EL1") == rig.reg("PMOVSSET_EL0") == 0


# --- IRQ ---------------------------------------------------------------------------------------
def test_handle_irq_rearms_and_calls_overflow_only_for_elapsed_periods(rig):
    e = rig.active(rig.event(config=INS))
    rig.pmu.pmu_enable()
    rig.kernel.bank.count(occ(rig.kernel, INST_RETIRED=0x80000000))  # wraps 32 bits
    assert rig.reg("PMOVSSET_EL0") == 1
    assert rig.pmu.handle_irq(0) is True
    assert e.count == 0x80000000 and rig.reg("PMOVSSET_EL0") == 0
    # period_left = 0x7FFFFFFF - 0x80000000 = -1 -> a period elapsed, left = -1 + 0x7FFFFFFF
    assert e.hw.period_left == 0x7FFFFFFE and e.hw.last_period == 0x7FFFFFFF
    assert rig.reg("PMEVCNTR0_EL0") == 0x80000002 and e.hw.prev_count == 0xFFFFFFFF80000002
    assert rig.core.overflows == [e.id]
    assert rig.reg("PMCR_EL0") & PMCR["E"].mask  # restarted
    assert rig.pmu.handle_irq(0) is False  # nothing pending: IRQ_NONE


def test_handle_irq_throttle_disables_the_event(rig):
    e = rig.active(rig.event(config=INS))
    rig.pmu.pmu_enable()
    rig.core.throttle = 1
    rig.kernel.bank.count(occ(rig.kernel, INST_RETIRED=0x80000000))
    rig.pmu.handle_irq(0)
    assert rig.reg("PMCNTENSET_EL0") == 0
    assert e.hw.idx == 1


def test_handle_irq_must_run_on_its_cpu(rig):
    with pytest.raises(ValueError, match="must run on CPU 1"):
        rig.pmu.handle_irq(1)


def test_registers_of_the_executing_cpu_only(rig):
    e = rig.active(rig.event(config=INS), cpu=1)
    assert rig.reg("PMEVCNTR0_EL0", cpu=1) == 0x80000001 and rig.reg("PMCNTENSET_EL0", cpu=1) == 1
    assert rig.reg("PMEVCNTR0_EL0", cpu=0) == 0 and rig.reg("PMCNTENSET_EL0", cpu=0) == 0
    assert rig.pmu.hw_events[1].events[1] is e and rig.pmu.hw_events[0].used_mask == 0


def test_chained_low_half_overflow_is_not_an_event_overflow(rig):
    e = rig.active(rig.event(config=INS, config1=0x1))
    rig.pmu.pmu_enable()
    rig.kernel.bank.count(occ(rig.kernel, INST_RETIRED=0xFFFFFFFF))  # low half wraps, carries into hi
    assert rig.reg("PMOVSSET_EL0") == 0b01
    assert rig.pmu.handle_irq(0) is True  # handled, but no event sits at idx 1
    assert rig.core.overflows == [] and e.count == 0
    rig.pmu.read(e)
    assert e.count == 0xFFFFFFFF
