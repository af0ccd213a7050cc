"""Shared set-up of the sampling tests: a machine, a sampling event, its mapping."""

from pmulab import Machine, PerfEventAttr, Workload, uapi
from pmulab.sim.profile import Function, Profile

ST = (uapi.PERF_SAMPLE_IDENTIFIER | uapi.PERF_SAMPLE_IP | uapi.PERF_SAMPLE_TID | uapi.PERF_SAMPLE_TIME
      | uapi.PERF_SAMPLE_ID | uapi.PERF_SAMPLE_STREAM_ID | uapi.PERF_SAMPLE_CPU | uapi.PERF_SAMPLE_PERIOD)

PROFILE = Profile([
    Function("main", 0x400000, 0x400400, {"INST_RETIRED": 1, "CPU_CYCLES": 1}),
    Function("hot_loop", 0x400400, 0x401000, {"INST_RETIRED": 6, "CPU_CYCLES": 4}, caller="main"),
    Function("memcpy", 0x401000, 0x401200, {"INST_RETIRED": 3, "CPU_CYCLES": 5}, caller="hot_loop"),
    Function("sys_write", 0xFFFF800010000000, 0xFFFF800010000800, {"INST_RETIRED": 2, "CPU_CYCLES": 2}, el=1,
             caller="main"),
])


def workload(rate=100_000, profile=PROFILE, jitter=0.0):
    return Workload(el0={"INST_RETIRED": rate, "CPU_CYCLES": rate * 3 // 2},
                    el1={"INST_RETIRED": rate // 10, "CPU_CYCLES": rate // 5}, jitter=jitter, profile=profile)


def attr(period=30_000, sample_type=ST, **kw):
    kw.setdefault("exclude_kernel", 1)
    kw.setdefault("config", uapi.PERF_COUNT_HW_INSTRUCTIONS)
    return PerfEventAttr(type=uapi.PERF_TYPE_HARDWARE, sample_period=period, sample_type=sample_type,
                         sample_id_all=1, **kw)


def setup(period=30_000, pages=1 + 4, rate=100_000, cpus=2, seed=0, write=True, paranoid=2, **kw):
    m = Machine(cpus=cpus, seed=seed, perf_event_paranoid=paranoid)
    t = m.spawn("T", cpu=0, workload=workload(rate))
    a = attr(period, **kw)
    fd = t.perf_event_open(a, pid=0, cpu=-1)
    page = t.mmap(fd, pages=pages, write=write)
    return m, t, a, fd, page
