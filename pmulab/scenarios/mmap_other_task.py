"""Mark Rutland's second point: mmap()/munmap() run in the caller's context, not the event's.

Thread (1 Jun 2021): "We can open an event for task A, but call mmap()/munmap() for that event
from task B, which will do the enable/disable on task B rather than task A." Rob: "a convoluted
scenario". Mark: "our accounting structures aren't aligned with the actual CPU state ... I
think that we should treat this like changing other event properties ... with an
event_function_call".

- S3: B mmaps A's event on its own CPU (C1); a root CPU-bound event runs on C1.
- S4: A maps its event, the fd goes to B (fork), B maps and is the last to unmap, on C1.

Checks: whether the caller's CPU is enabled by the mmap and stays so across switches to a
context-less task; whether A gains access; whether the design's accounting agrees with
PMUSERENR_EL0 (``Design.expected_access``) on every running CPU at each observation point.
Expected: v8 and v5.17 from spec §7 (S4 under v5.17 also shows the S13 stale window when A
switches to a task without events). Derived: ``v8-efc`` acts on A's CPU through
event_function_call (caller untouched, A enabled; S4: B's last munmap disables A's CPU);
``x86-mm``/``lazy-trap`` account the mapping to the CALLER's mm (B gets access whenever B runs,
A gets none from B's mapping; S4: A's munmap ends A's access); ``pmuv3p9`` is v5.17.
Kernel: armv8pmu_event_mapped/unmapped (v8), perf_mmap/perf_mmap_close, event_function_call.
"""

from __future__ import annotations

from dataclasses import dataclass

from pmulab.hw.events import ArmEvent
from pmulab.scenarios.base import Params, Run, Scenario, param
from pmulab.scenarios.common import SIGILL, access_consistent, busy, has_access, raw_attr, try_mrs, user_attr
from pmulab.scenarios.foreign_counters import _table

__all__ = ["S3", "S4"]


@dataclass(frozen=True)
class S3Params(Params):
    ticks: int = param(2, "ticks between steps", min=1, max=20)


def _s3(run: Run) -> None:
    m, p = run.machine, run.params
    a = m.spawn("A", uid=1000, cpu=0, workload=busy())
    b = m.spawn("B", uid=1000, cpu=1, workload=busy())
    d = m.spawn("D", uid=1001, cpu=1, workload=busy())
    root = m.spawn("root", uid=0, cpu=0)
    consistent = []
    run.note("root keeps a CPU-bound L1D_CACHE_REFILL event on C1")
    root.perf_event_open(raw_attr(ArmEvent.L1D_CACHE_REFILL, exclude_kernel=0), pid=-1, cpu=1)
    m.switch_to(0, a)
    run.note("B opens INST_RETIRED config1=0x2 on A (pid A), then mmaps it, on C1", 1)
    fd = b.perf_event_open(user_attr(), pid=a.pid, cpu=-1)
    page = b.mmap(fd)
    run.observe("caller_cpu_after_mmap", has_access(m, 1))
    consistent.append(access_consistent(m))
    run.note("B is switched out for D (a task without perf events) on C1", 1)
    m.switch_to(1, d)
    m.run(p.ticks)
    m.switch_to(1, d)
    run.observe("caller_cpu_while_D_runs", has_access(m, 1))
    consistent.append(access_consistent(m))
    run.note("A is switched out and back in on C0", 0)
    m.switch_to(0, root)
    m.switch_to(0, a)
    run.observe("a_cpu_access", has_access(m, 0))
    consistent.append(access_consistent(m))
    run.note(f"B reads its page (index {page.index}) and executes the mrs on C1, not where E counts", 1)
    reg = "PMEVCNTR0_EL0" if page.index in (0, 1) else f"PMEVCNTR{page.index - 1}_EL0"
    run.observe("b_mrs", try_mrs(b, reg))
    run.observe("consistent", all(consistent))


S3 = Scenario("S3", "task B mmaps task A's event", "Mark's point 2 (mmap from another task)", S3Params, _s3,
              lambda r: {"caller_cpu_enabled_by_mmap": r.obs["caller_cpu_after_mmap"],
                         "caller_cpu_stays_enabled": r.obs["caller_cpu_while_D_runs"],
                         "target_gains_access": r.obs["a_cpu_access"],
                         "b_reads_on_wrong_cpu": r.obs["b_mrs"] != SIGILL,
                         "accounting_consistent": r.obs["consistent"]},
              _table(caller_cpu_enabled_by_mmap=(True, False, True, False, False, False),
                     caller_cpu_stays_enabled=(True, False, False, False, False, False),
                     target_gains_access=(True, True, False, False, True, True),
                     b_reads_on_wrong_cpu=(True, False, True, True, False, False),
                     accounting_consistent=(False, True, True, True, True, True)),
              "caller_cpu_stays_enabled")


@dataclass(frozen=True)
class S4Params(Params):
    ticks: int = param(2, "ticks between steps", min=1, max=20)


def _s4(run: Run) -> None:
    m, p = run.machine, run.params
    a = m.spawn("A", uid=1000, cpu=0, workload=busy())
    d = m.spawn("D", uid=1001, cpu=0, workload=busy())
    consistent = []
    m.switch_to(0, a)
    run.note("A opens INST_RETIRED config1=0x2 on itself and mmaps it on C0", 0)
    fd = a.perf_event_open(user_attr())
    a.mmap(fd)
    run.note("A forks B onto C1 (B inherits the fd); B mmaps; A munmaps; B munmaps last, on C1", 0)
    b = a.fork(cpu=1, name="B")
    b.mmap(fd)
    a.munmap(fd)
    b.munmap(fd)
    m.switch_to(0, a)
    run.observe("a_cpu_after_last_unmap", has_access(m, 0))
    consistent.append(access_consistent(m))
    m.run(p.ticks)
    run.note("A is switched out for D (no perf events) on C0", 0)
    m.switch_to(0, d)
    run.observe("c0_while_D_runs", has_access(m, 0))
    consistent.append(access_consistent(m))
    run.observe("d_mrs", try_mrs(d, "PMEVCNTR0_EL0"))
    run.observe("consistent", all(consistent))


S4 = Scenario("S4", "munmap from task B", "Mark's point 2 (munmap from another task)", S4Params, _s4,
              lambda r: {"owner_cpu_still_enabled": r.obs["a_cpu_after_last_unmap"],
                         "enabled_for_next_task": r.obs["c0_while_D_runs"],
                         "accounting_consistent": r.obs["consistent"]},
              _table(owner_cpu_still_enabled=(True, False, False, False, True, True),
                     enabled_for_next_task=(True, False, False, False, True, True),
                     accounting_consistent=(False, True, True, True, True, True)),
              "accounting_consistent")
