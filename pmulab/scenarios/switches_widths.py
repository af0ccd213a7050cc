"""The switch, the counter widths, big.LITTLE, and the stale window of the merged design.

Thread: Will Deacon on v8 4/5 (1 Jun 2021) asked for a sysctl, default off, instead of the
per-PMU sysfs ``rdpmc``; the 64-bit and heterogeneous rules came with v10-v13; S13 is the
window the merged ``armv8pmu_start`` leaves (spec §7 S10-S13).

- S10: the switch turned off (sysctl ``kernel.perf_user_access`` = 0; for v8, v8-efc and
  lazy-trap, which predate the sysctl, the PMU's sysfs ``rdpmc`` = 0).
- S11: PMUv3p4: a 64-bit user request on CPU_CYCLES while root's event holds the cycle counter;
  INST_RETIRED with config1=0x3; a CPU-bound config1=0x2 request.
- S12: T opens the Cortex-A53 PMU by type, maps, and is migrated to a Cortex-A72 CPU.
- S13: T (the only user-access task) switches to U on C0: is access still on for U?
Expected: v8/v5.17 from spec §7. Derived: ``x86-mm`` keeps the index when switched off (x86's
``event_idx`` follows the event's flag) but the IPI clears access, and it flags CPU-bound
requests; ``v8-efc``/``lazy-trap`` map events as v8; on heterogeneous CPUs every design but
v5.17/pmuv3p9 re-enables access on the other cluster's CPU from a switch-in or trap hook (the
read of a foreign counter then returns garbage instead of SIGILL); S13's window exists only in
the designs that decide in ``start()`` (v5.17, and pmuv3p9 whose PMUACR_EL1 also keeps the
released counter's bit).
Kernel: armv8pmu_proc_user_access_handler, __armv8_pmuv3_map_event, armv8pmu_get_event_idx,
armpmu_enable, armv8pmu_start.
"""

from __future__ import annotations

from dataclasses import dataclass

from pmulab.drivers.user_access import V8, X86Mm
from pmulab.hw.events import ArmEvent
from pmulab.scenarios.base import Params, Run, Scenario, param
from pmulab.scenarios.common import SIGILL, busy, has_access, raw_attr, read_user, try_call, try_mrs, user_attr
from pmulab.scenarios.foreign_counters import _table

__all__ = ["S10", "S11", "S12", "S13"]

_SAME = (True,) * 6


@dataclass(frozen=True)
class S10Params(Params):
    off_before_open: int = param(0, "switch off before the open", options=(0, 1))


def switch_off(run: Run) -> str:
    """Turn user access off the way the design offers: sysfs rdpmc (v8 family) or the sysctl."""
    m = run.machine
    if isinstance(m.design, V8) and not isinstance(m.design, X86Mm):
        with m.on_cpu(0):
            for pmu in m.pmus:
                m.design.sysfs_rdpmc_write(pmu, 0)
        return "sysfs rdpmc"
    m.sysctl("kernel.perf_user_access", 0)
    return "kernel.perf_user_access"


def _s10(run: Run) -> None:
    m, p = run.machine, run.params
    t = m.spawn("T", uid=1000, cpu=0, workload=busy())
    u = m.spawn("U", uid=1001, cpu=0)
    if p.off_before_open:
        run.note(f"{switch_off(run)} = 0 before T opens anything")
    fd = t.perf_event_open(user_attr())
    page = t.mmap(fd)
    m.run(2)
    if not p.off_before_open:
        run.note(f"{switch_off(run)} = 0 while T runs; T is switched out and back (its page is republished)")
    m.switch_to(0, u)
    m.switch_to(0, t)
    run.observe("index", page.index)
    run.observe("cap_user_rdpmc", page.cap_user_rdpmc)
    run.observe("raw_mrs", try_mrs(t, "PMEVCNTR0_EL0"))
    run.observe("reader", read_user(t, page))


S10 = Scenario("S10", "user access switched off", "Will's sysctl request (v8 4/5)", S10Params, _s10,
               lambda r: {"index_zero": r.obs["index"] == 0, "cap_user_rdpmc": r.obs["cap_user_rdpmc"] == 1,
                          "raw_mrs_sigill": r.obs["raw_mrs"] == SIGILL, "reader_falls_back": r.obs["reader"] is None},
               _table(index_zero=(True, True, False, True, True, True),
                      cap_user_rdpmc=(False, False, True, False, True, True),
                      raw_mrs_sigill=_SAME, reader_falls_back=(True, True, False, True, True, True)), "raw_mrs_sigill")


@dataclass(frozen=True)
class S11Params(Params):
    ticks: int = param(2, "ticks", min=1, max=20)


def _s11(run: Run) -> None:
    m, p = run.machine, run.params
    root = m.spawn("root", uid=0, cpu=1)
    t = m.spawn("T", uid=1000, cpu=0, workload=busy())
    run.note("root's 32-bit CPU-bound CPU_CYCLES event takes the cycle counter on C0", 1)
    root.perf_event_open(raw_attr(ArmEvent.CPU_CYCLES, exclude_kernel=0), pid=-1, cpu=0)
    run.note("T opens CPU_CYCLES with config1=0x3 (64-bit + user) and maps it", 0)
    fd = t.perf_event_open(user_attr(ArmEvent.CPU_CYCLES, 0x3))
    page = t.mmap(fd)
    m.run(p.ticks)
    run.observe("cycles_index", page.index)
    run.observe("t_reads_pmccntr", try_mrs(t, "PMCCNTR_EL0"))
    run.note("T opens INST_RETIRED with config1=0x3; root opens a CPU-bound config1=0x2 event", 0)
    fd2 = try_call(t.perf_event_open, user_attr(ArmEvent.INST_RETIRED, 0x3))
    run.observe("inst64", fd2 if isinstance(fd2, str) else "opened")
    if not isinstance(fd2, str):
        page2 = t.mmap(fd2)
        widths = []
        for _ in range(3):  # the flexible rotation brings it onto the PMU
            m.run(1)
            widths.append(page2.pmc_width)
        run.observe("inst64_width", max(widths))
    run.observe("cpu_bound_user", try_call(root.perf_event_open, user_attr(), pid=-1, cpu=0))


S11 = Scenario("S11", "64-bit requests and the single cycle counter (PMUv3p4)",
               "v8's silent downgrades vs v13's errors",
               S11Params, _s11,
               lambda r: {"cycles64_waits_off_pmu": r.obs["cycles_index"] == 0,
                          "t_reads_roots_cycle_counter": r.obs["t_reads_pmccntr"] not in (SIGILL, 0),
                          "inst64_eopnotsupp": r.obs["inst64"] == "EOPNOTSUPP",
                          "inst64_silently_32bit": r.obs.get("inst64_width") == 32,
                          "cpu_bound_user_einval": r.obs["cpu_bound_user"] == "EINVAL"},
               _table(cycles64_waits_off_pmu=(True, True, True, True, True, False),
                      t_reads_roots_cycle_counter=(True, True, True, True, True, False),
                      inst64_eopnotsupp=(False, False, False, False, True, False),
                      inst64_silently_32bit=(True, True, True, True, False, False),
                      cpu_bound_user_einval=(False, False, False, False, True, True)), "inst64_eopnotsupp")


def _s12_machine(p) -> dict:
    return {"clusters": [("cortex-a53", 1, 6), ("cortex-a72", 1, 6)]}


def _s12(run: Run) -> None:
    m = run.machine
    t = m.spawn("T", uid=1000, cpu=0, workload=busy())
    a53 = m.pmu_of(0)
    run.note(f"T opens raw INST_RETIRED on the Cortex-A53 PMU (type {a53.type}), config1=0x2, and maps it", 0)
    fd = t.perf_event_open(user_attr(type=a53.type))
    page = t.mmap(fd)
    m.run(2)
    run.observe("index_on_a53", page.index)
    loop_reg = f"PMEVCNTR{page.index - 1}_EL0"
    run.note("T is migrated to the Cortex-A72 CPU before its mrs", 0)
    m.migrate(t, 1)
    m.switch_to(1, t)
    run.observe("index_on_a72", page.index)
    run.observe("mrs_on_a72", try_mrs(t, loop_reg))
    del fd


S12 = Scenario("S12", "big.LITTLE: a stale index read on the other cluster", "heterogeneous systems (v4's undef hook)",
               Params, _s12,
               lambda r: {"inactive_on_other_cluster": r.obs["index_on_a72"] == 0,
                          "stale_mrs_sigill": r.obs["mrs_on_a72"] == SIGILL},
               _table(inactive_on_other_cluster=_SAME,
                      stale_mrs_sigill=(False, False, False, False, True, True)), "stale_mrs_sigill",
               machine_args=_s12_machine)


def _s13(run: Run) -> None:
    m = run.machine
    t = m.spawn("T", uid=1000, cpu=0, workload=busy())
    u = m.spawn("U", uid=1001, cpu=0, workload=busy())
    m.switch_to(0, t)
    fd = t.perf_event_open(user_attr())
    t.mmap(fd)
    m.run(2)
    m.switch_to(0, t)
    run.note("T (the only user-access task) is switched out for U (other uid, no perf events)", 0)
    m.switch_to(0, u)
    run.observe("access_for_U", has_access(m, 0))
    run.observe("u_reads", try_mrs(u, "PMEVCNTR0_EL0"))


S13 = Scenario("S13", "stale ER|CR after the last counter is released", "what v13 left open (spec §7 S13)",
               Params, _s13,
               lambda r: {"stale_access": r.obs["access_for_U"],
                          "u_reads_t_count": r.obs["u_reads"] not in (SIGILL, 0)},
               _table(stale_access=(False, False, False, False, True, True),
                      u_reads_t_count=(False, False, False, False, True, True)), "stale_access")
