"""The v5.17 user-access design: start() policy, unused-counter clearing, sysctl, user index, user page."""

import errno
from types import SimpleNamespace

import pytest

from pmulab.drivers import DESIGNS, Design, PerfUserAccessSysctl, design
from pmulab.drivers.sched_clock import ArchTimerClock
from pmulab.drivers.user_access import V517, resolve
from pmulab.errors import PerfError
from pmulab.hw.sysregs import PMUSERENR
from pmulab.uapi import MmapPage
from pmulab.uapi import constants as uc
from tests.drivers.conftest import Rig

CYC, INS = uc.PERF_COUNT_HW_CPU_CYCLES, uc.PERF_COUNT_HW_INSTRUCTIONS
ER_CR = PMUSERENR.encode(ER=1, CR=1)


def _start(rig, cpu=0):
    rig.kernel.stack.append(cpu)
    try:
        rig.pmu.pmu_enable()
    finally:
        rig.kernel.stack.pop()


@pytest.mark.parametrize("sysctl,nr_user,task_ctx,expect", [
    (1, 1, True, ER_CR), (0, 1, True, 0), (1, 0, True, 0), (1, 1, False, 0),
])
def test_start_decides_pmuserenr(sysctl, nr_user, task_ctx, expect):
    rig = Rig(user_access=sysctl)
    rig.kernel.cpus[0].msr("PMUSERENR_EL0", PMUSERENR.encode(EN=1))  # stale junk: start() must overwrite
    rig.core.ctx[0].task_ctx = SimpleNamespace(nr_user=nr_user) if task_ctx else None
    rig.active(rig.event(config=INS))
    _start(rig)
    assert rig.reg("PMUSERENR_EL0") == expect


def test_enable_clears_every_unused_counter_including_the_cycle_counter():
    rig = Rig(user_access=1)
    bank = rig.kernel.bank
    for n in range(6):
        bank.write(0, f"PMEVCNTR{n}_EL0", 100 + n)
    bank.write(0, "PMCCNTR_EL0", 99)
    e = rig.active(rig.event(config=INS, config1=0x2))  # idx 1 = PMEVCNTR0
    rig.core.ctx[0].task_ctx = SimpleNamespace(nr_user=1)
    _start(rig)
    assert rig.reg("PMEVCNTR0_EL0") == 0x80000001  # in use: untouched
    assert [rig.reg(f"PMEVCNTR{n}_EL0") for n in range(1, 6)] == [0] * 5
    assert rig.reg("PMCCNTR_EL0") == 0
    assert rig.pmu.event_idx(e) == 1


def test_no_clearing_when_access_is_not_granted():
    rig = Rig(user_access=0)
    rig.kernel.bank.write(0, "PMEVCNTR3_EL0", 42)
    rig.active(rig.event(config=INS))
    _start(rig)
    assert rig.reg("PMEVCNTR3_EL0") == 42


def test_s13_pmu_idle_leaves_pmuserenr_stale():
    rig = Rig(user_access=1)
    rig.core.ctx[0].task_ctx = SimpleNamespace(nr_user=1)
    e = rig.active(rig.event(config=INS, config1=0x2))
    _start(rig)
    rig.kernel.stack.append(0)
    rig.pmu.pmu_disable()
    rig.pmu.del_(e, 0)
    rig.core.ctx[0].task_ctx = None  # switched to a task without a perf context
    rig.pmu.pmu_enable()  # used_mask empty: no start()
    assert rig.reg("PMUSERENR_EL0") == ER_CR


def test_user_event_idx_and_userpage():
    rig = Rig(user_access=0)
    cyc = rig.active(rig.event(config=CYC, config1=0x2))
    ins = rig.active(rig.event(config=INS, config1=0x2))
    plain = rig.active(rig.event(config=INS))
    assert [rig.pmu.event_idx(e) for e in (cyc, ins, plain)] == [0, 0, 0]  # sysctl off
    rig.kernel.sysctls["kernel.perf_user_access"] = 1
    assert [rig.pmu.event_idx(e) for e in (cyc, ins, plain)] == [32, 1, 0]
    page = MmapPage.new()
    rig.pmu.arch_update_userpage(cyc, page, now=1_000)
    assert page.cap_user_rdpmc == 1 and page.pmc_width == 32
    assert (page.cap_user_time, page.cap_user_time_zero, page.cap_user_time_short) == (1, 1, 1)
    clock = ArchTimerClock()
    assert (page.time_mult, page.time_shift, page.time_mask) == (16 << 24, 24, 2**56 - 1)
    assert page.time_offset == (0 - 1_000) % 2**64 and page.time_zero == 0 and page.time_cycles == 0
    # the documented conversion gives back now from the counter
    cyc_now = clock.counter_at(5_008)  # a multiple of the 16 ns tick
    assert (page.time_zero + ((cyc_now * page.time_mult) >> page.time_shift)) == 5_008
    long_ = rig.event(config=CYC, config1=0x3)
    rig.pmu.arch_update_userpage(long_, page, now=0)
    assert page.pmc_width == 64
    page2 = MmapPage.new()
    rig.pmu.arch_update_userpage(plain, page2, now=0)
    assert page2.cap_user_rdpmc == 0 and page2.pmc_width == 0


def test_add_publishes_the_user_index(rig):
    rig.kernel.sysctls["kernel.perf_user_access"] = 1
    e = rig.active(rig.event(config=INS, config1=0x2))
    assert rig.core.pages[-1] == (e.id, 1)


def test_sysctl_write_zero_ipis_every_cpu():
    rig = Rig(ncpus=3, user_access=1)
    for c in range(3):
        rig.kernel.cpus[c].msr("PMUSERENR_EL0", ER_CR)
    stored = []
    handler = PerfUserAccessSysctl(rig.kernel, rig.pmu.design)

    def store(v):
        stored.append(v)
        rig.kernel.sysctls[handler.name] = v

    rig.kernel.ipis.clear()
    handler.write(0, store)
    assert stored == [0] and [rig.reg("PMUSERENR_EL0", c) for c in range(3)] == [0, 0, 0]
    assert rig.kernel.ipis == [(0, 1), (0, 2)]  # the local CPU runs it directly
    for c in range(3):
        rig.kernel.cpus[c].msr("PMUSERENR_EL0", ER_CR)
    handler.write(1, store)  # writing 1 does nothing immediately
    assert [rig.reg("PMUSERENR_EL0", c) for c in range(3)] == [ER_CR] * 3
    rig.pmu.sysctl_user_access(1, 0)  # the machine's entry point does the same
    assert [rig.reg("PMUSERENR_EL0", c) for c in range(3)] == [0, 0, 0]


@pytest.mark.parametrize("bad", [2, -1])
def test_sysctl_range_is_einval(bad):
    rig = Rig()
    handler = PerfUserAccessSysctl(rig.kernel, rig.pmu.design)
    with pytest.raises(PerfError, match="outside 0..1") as exc:
        handler.write(bad, lambda v: pytest.fail("stored"))
    assert exc.value.errno == errno.EINVAL
    with pytest.raises(TypeError):
        handler.write("1", lambda v: None)


def test_registry_and_lookup():
    assert DESIGNS["v5.17"] is V517 and design("v5.17") is V517
    with pytest.raises(ValueError, match="did you mean v5.17"):
        design("v5.71")
    d = V517()
    assert resolve(d) is d and isinstance(resolve(V517), V517) and isinstance(resolve("v5.17"), V517)


def test_base_design_is_the_kernel_without_user_access():
    class Plain(Design):
        pass

    rig = Rig(user_access=1, design=Plain)
    e = rig.active(rig.event(config=INS, config1=0x2))
    assert not e.has_user_read and rig.pmu.event_idx(e) == 0
    rig.core.ctx[0].task_ctx = SimpleNamespace(nr_user=1)
    _start(rig)
    assert rig.reg("PMUSERENR_EL0") == 0 and rig.pmu.sched_task is None
    assert Plain().el0_trap(rig.pmu, None, "PMCCNTR_EL0", False) is False


def test_a_design_with_sched_task_is_exposed_to_the_core():
    calls = []

    class Hooked(V517):
        def sched_task(self, cpu_pmu, ctx, sched_in):
            calls.append((cpu_pmu, ctx, sched_in))

    rig = Rig(design=Hooked)
    rig.pmu.sched_task("ctx", True)
    assert calls == [(rig.pmu, "ctx", True)]


def test_two_pmus_share_nothing():
    a, b = Rig(user_access=1), Rig(user_access=1)
    a.active(a.event(config=INS))
    assert b.pmu.hw_events[0].used_mask == 0 and a.pmu.hw_events[0].used_mask == 0b10
