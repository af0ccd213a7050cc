"""Every errno path of armpmu_event_init / __armv8_pmuv3_map_event / set_event_filter (v5.17)."""

import errno

import pytest

from pmulab.drivers import arm_pmuv3_events as evmap
from pmulab.drivers.arm_pmuv3 import EVT_64BIT
from pmulab.errors import PerfError
from pmulab.hw.events import ArmEvent
from pmulab.hw.sysregs import PMEVTYPER
from pmulab.perf.api import FLAG_USER_READ_CNT, EventState
from pmulab.uapi import constants as uc
from tests.drivers.conftest import Rig


def _fails(rig, err, pattern, **kw):
    e = rig.event(init=False, **kw)
    before = (e.hw.flags, e.hw.config_base, e.hw.sample_period, e.hw.idx)
    with pytest.raises(PerfError, match=pattern) as exc:
        rig.pmu.event_init(e)
    assert exc.value.errno == err
    assert (e.hw.flags, e.hw.config_base, e.hw.sample_period, e.hw.idx) == before  # nothing changed


def test_cpu_outside_supported_cpus_is_enoent():
    rig = Rig(ncpus=2)
    rig.pmu.supported_cpus = frozenset({0})
    _fails(rig, errno.ENOENT, "CPU 1 is not one of", cpu=1)
    rig.event(cpu=0)  # fine on its own CPU
    rig.event(cpu=-1)  # process-following events are refused later, in add()


def test_branch_stack_is_eopnotsupp(rig):
    _fails(rig, errno.EOPNOTSUPP, "branch stack", sample_type=uc.PERF_SAMPLE_BRANCH_STACK, sample_period=1000)


def test_chain_is_einval(rig):
    _fails(rig, errno.EINVAL, "CHAIN", type=uc.PERF_TYPE_RAW, config=ArmEvent.CHAIN)


def test_rdpmc_needs_task_bound_event(rig):
    _fails(rig, errno.EINVAL, r"config1 rdpmc requires a task-bound event \(pid >= 0\)", config1=0x2, task=False,
           cpu=0)


def test_long_rdpmc_needs_long_counters_except_cycles(rig):
    _fails(rig, errno.EOPNOTSUPP, "PMUv3p5", config=uc.PERF_COUNT_HW_INSTRUCTIONS, config1=0x3)
    e = rig.event(config=uc.PERF_COUNT_HW_CPU_CYCLES, config1=0x3)
    assert e.hw.flags & EVT_64BIT and e.has_user_read
    p5 = Rig(version="v3p5")
    assert p5.event(config=uc.PERF_COUNT_HW_INSTRUCTIONS, config1=0x3).has_user_read


def test_unknown_generic_and_cache_events():
    rig = Rig()
    _fails(rig, errno.ENOENT, "not implemented", config=uc.PERF_COUNT_HW_REF_CPU_CYCLES)
    _fails(rig, errno.EINVAL, "out of range", config=uc.PERF_COUNT_HW_MAX)
    _fails(rig, errno.ENOENT, "not implemented", type=uc.PERF_TYPE_HW_CACHE,
           config=uc.PERF_COUNT_HW_CACHE_LL)
    _fails(rig, errno.EINVAL, "out of range", type=uc.PERF_TYPE_HW_CACHE, config=uc.PERF_COUNT_HW_CACHE_MAX)
    _fails(rig, errno.ENOENT, "not implemented", type=uc.PERF_TYPE_SOFTWARE, config=0)


def test_exclude_idle_is_eperm_in_the_filter_and_eopnotsupp_at_open(rig):
    _fails(rig, errno.EOPNOTSUPP, "mode exclusion.*exclude_idle", exclude_idle=1)
    e = rig.event(init=False, exclude_idle=1)
    with pytest.raises(PerfError, match="exclude_idle") as exc:
        evmap.event_filter(e.attr)
    assert exc.value.errno == errno.EPERM


def test_group_too_big_for_the_pmu_is_einval():
    rig = Rig(counters=2)
    leader = rig.event(config=uc.PERF_COUNT_HW_INSTRUCTIONS)
    sibs = [rig.event(config=uc.PERF_COUNT_HW_INSTRUCTIONS, init=False) for _ in range(2)]
    sibs[0].group_leader = leader
    rig.pmu.event_init(sibs[0])
    leader.siblings.append(sibs[0])
    sibs[1].group_leader = leader
    _fails_event(rig, sibs[1], errno.EINVAL, "group does not fit")
    # a disabled (OFF) member is not counted (validate_event)
    sibs[0].state = EventState.OFF
    rig.pmu.event_init(sibs[1])


def test_group_spanning_pmus_is_einval(rig):
    other = Rig()
    leader = other.event()
    e = rig.event(init=False)
    e.group_leader = leader
    _fails_event(rig, e, errno.EINVAL, "spans PMUs")


def _fails_event(rig, e, err, pattern):
    with pytest.raises(PerfError, match=pattern) as exc:
        rig.pmu.event_init(e)
    assert exc.value.errno == err


@pytest.mark.parametrize("kind,config,number", [
    (uc.PERF_TYPE_HARDWARE, uc.PERF_COUNT_HW_INSTRUCTIONS, ArmEvent.INST_RETIRED),
    (uc.PERF_TYPE_HARDWARE, uc.PERF_COUNT_HW_BRANCH_INSTRUCTIONS, ArmEvent.PC_WRITE_RETIRED),
    (uc.PERF_TYPE_HW_CACHE, uc.PERF_COUNT_HW_CACHE_L1D | uc.PERF_COUNT_HW_CACHE_RESULT_MISS << 16,
     ArmEvent.L1D_CACHE_REFILL),
    (uc.PERF_TYPE_RAW, 0x12345, 0x2345),  # raw: config & 0xFFFF, implementation defined passes
    (8, ArmEvent.SW_INCR, ArmEvent.SW_INCR),  # the PMU's own type is raw too
])
def test_mapping_and_config_base(rig, kind, config, number):
    e = rig.event(type=kind, config=config, exclude_kernel=1)
    assert e.hw.config_base == number | PMEVTYPER["P"].mask | PMEVTYPER["NSH"].mask
    assert e.hw.idx == -1 and e.hw.flags == 0


def test_filters(rig):
    e = rig.event(exclude_user=1, exclude_hv=1)
    assert e.hw.config_base & ~evmap.EVENT_FIELD.mask == PMEVTYPER["U"].mask


def test_default_period_is_half_the_width(rig):
    e32 = rig.event()
    assert e32.hw.sample_period == e32.hw.period_left == e32.hw.last_period == 0x7FFFFFFF
    e64 = rig.event(config1=0x1)
    assert e64.hw.sample_period == (1 << 63) - 1
    sampling = rig.event(sample_period=5000, init=False)
    sampling.hw.sample_period = 5000
    rig.pmu.event_init(sampling)
    assert sampling.hw.sample_period == 5000


def test_flags_reset_then_set_by_map_event(rig):
    e = rig.event(init=False, config1=0x2)
    e.hw.flags = 0x40
    rig.pmu.event_init(e)
    assert e.hw.flags == FLAG_USER_READ_CNT  # no sysctl check at open


def test_config1_format_declared_once():
    assert evmap.FORMAT == {"event": "config:0-15", "long": "config1:0", "rdpmc": "config1:1"}


def test_generic_event_missing_from_pmceid_is_enoent(rig):
    rig.pmu.ops.pmceid &= ~(1 << ArmEvent.INST_RETIRED)
    _fails(rig, errno.ENOENT, "not implemented", config=uc.PERF_COUNT_HW_INSTRUCTIONS)
    rig.event(type=uc.PERF_TYPE_RAW, config=ArmEvent.INST_RETIRED)  # raw events are not filtered


def test_probe_reads_pmceid_from_the_hardware(rig):
    assert rig.pmu.ops.implements(ArmEvent.CPU_CYCLES) and rig.pmu.ops.implements(ArmEvent.STALL_BACKEND)


def test_counters_must_match_pmcr_n():
    from pmulab.drivers import ArmPmu
    rig = Rig(counters=4)
    with pytest.raises(ValueError, match="PMCR_EL0.N=4"):
        ArmPmu(rig.kernel, [0, 1], "v3p4", 6)
