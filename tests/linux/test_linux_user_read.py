"""A model port of libperf's ``test_stat_user_read`` (tools/lib/perf/tests/test-evsel.c, spec §4.3).

For PERF_COUNT_HW_INSTRUCTIONS and PERF_COUNT_HW_CPU_CYCLES, 32-bit (config1 = 0x2) and 64-bit
(config1 = 0x3) user access with ``kernel.perf_user_access = 1``: the user page advertises
``cap_user_rdpmc``, a non-zero ``index`` and ``pmc_width >= 32``; the first read is non-zero;
over five iterations of growing busy loops the self-monitoring read grows, and at every
instant equals what read(fd) returns. The attr leaves exclude_kernel at 0 as libperf does, so
the machine runs with ``perf_event_paranoid = 1``. A busy loop of ``0x10000 << i`` iterations
is ``1 << i`` ticks of a busy workload here.
"""

from __future__ import annotations

import errno

import pytest

from pmulab import PerfError, uapi
from pmulab.drivers.arm_pmuv3 import CYCLE_USER_INDEX

from .helpers import BUSY, attr, both, machine

EVENTS = {"instructions": uapi.PERF_COUNT_HW_INSTRUCTIONS, "cycles": uapi.PERF_COUNT_HW_CPU_CYCLES}
CASES = [(pmu, name, config1) for pmu in ("v3p4", "v3p5") for name in EVENTS for config1 in (0x2, 0x3)
         if not (pmu == "v3p4" and name == "instructions" and config1 == 0x3)]


@pytest.mark.parametrize(("pmu", "name", "config1"), CASES)
def test_stat_user_read(pmu, name, config1):
    m = machine(pmu=pmu, perf_event_paranoid=1)
    t = m.spawn("T", cpu=0, workload=BUSY)
    fd = t.perf_event_open(attr(EVENTS[name], config1=config1, exclude_kernel=0), pid=0, cpu=-1)
    pc = t.mmap(fd)
    assert pc.cap_user_rdpmc, "userspace counter access not supported"
    assert pc.index != 0, "userspace counter access not enabled"
    assert pc.pmc_width >= 32, "userspace counter width not set"
    assert pc.pmc_width == (64 if config1 & 1 else 32)
    if name == "cycles":
        assert pc.index == CYCLE_USER_INDEX  # the cycle counter: index - 1 = 31 = PMCCNTR_EL0
    m.run(1)
    first, syscall = both(t, fd, pc)
    assert first != 0 and first == syscall
    for i in range(5):
        start, s_start = both(t, fd, pc)
        m.run(1 << i)
        end, s_end = both(t, fd, pc)
        assert (start, end) == (s_start, s_end)
        assert end - start > 0
    assert m.cpu(0).mrs("PMUSERENR_EL0") == 0b1100  # ER|CR
    t.munmap(fd)
    t.close(fd)


def test_64bit_instructions_need_pmuv3p5():
    """The case the port leaves out on v3p4: config1 = 0x3 for a non-cycles event -> EOPNOTSUPP."""
    m = machine(pmu="v3p4", perf_event_paranoid=1)
    t = m.spawn("T", workload=BUSY)
    with pytest.raises(PerfError, match=r"needs 64-bit event counters") as exc:
        t.perf_event_open(attr(uapi.PERF_COUNT_HW_INSTRUCTIONS, config1=0x3, exclude_kernel=0))
    assert exc.value.errno == errno.EOPNOTSUPP


@pytest.mark.parametrize("pmu", ["v3p4", "v3p5"])
def test_counts_cross_a_32bit_wrap(pmu):
    """A 32-bit event keeps agreeing with read() across the counter's 32-bit overflow (spec §7 S8)."""
    from pmulab import Workload

    m = machine(pmu=pmu)
    t = m.spawn("T", workload=Workload(el0={"INST_RETIRED": 600_000_000}))
    fd = t.perf_event_open(attr(config1=0x2))
    pc = t.mmap(fd)
    seen = []
    for _ in range(10):  # 6e9 > 2^32 instructions: several 2^31 periods elapse
        m.run(1)
        user, syscall = both(t, fd, pc)
        assert user == syscall
        seen.append(user)
    assert seen == sorted(seen) and seen[-1] > 1 << 32


def test_sysctl_off_means_fallback():
    """perf_user_access = 0: the page keeps cap_user_rdpmc but index 0, so libperf falls back (S10)."""
    m = machine(perf_user_access=0, perf_event_paranoid=1)
    t = m.spawn("T", workload=BUSY)
    fd = t.perf_event_open(attr(config1=0x2, exclude_kernel=0))
    pc = t.mmap(fd)
    m.run(2)
    user, syscall = both(t, fd, pc)
    assert pc.cap_user_rdpmc == 1 and pc.index == 0 and user is None and syscall > 0
