"""S7: can the v8 dirty-counter clearing zero a counter that is in use?

Thread: v8's armv8pmu_enable_user_access, quoted at the top of Mark Rutland's mail (its comment
says assigned counters need no clearing, and it XORs the used mask into the dirty mask); Rob:
"It is clearing other's task-bound events". Not raised in the
review: the xor also selects in-use counters that were never dirty (spec §7 S7).

The worked example on C0: root's pinned CPU-bound R (idx 1); T's E (idx 2) mapped; T blocks
(E's counter becomes dirty); root reads R (R's prev_count = 0x80000001 + r); T wakes; R's
counter is zeroed by ``dirty ^ used`` = {1}; after s more events root reads R again: R's count
grew by 0x7FFFFFFF - r + s instead of s.
Expected: v8 destroys R's count; ``v8-efc`` and ``x86-mm`` clear ``dirty & ~used``;
``lazy-trap`` does the same when its trap grants access; v5.17 clears only counters not in
``used_mask``; ``pmuv3p9`` clears nothing on PMUv3p9 (PMUACR_EL1 hides them instead).
Kernel: armv8pmu_clear_event_idx / armv8pmu_enable_user_access (v8), armpmu_event_update.
"""

from __future__ import annotations

from dataclasses import dataclass

from pmulab.hw.events import ArmEvent
from pmulab.scenarios.base import Params, Run, Scenario, param
from pmulab.scenarios.common import busy, raw_attr, read_count, read_user, user_attr
from pmulab.scenarios.foreign_counters import _table

__all__ = ["S7"]


@dataclass(frozen=True)
class S7Params(Params):
    before: int = param(3, "ticks before T blocks (r grows)", min=1, max=50)
    after: int = param(2, "ticks after T wakes (s grows)", min=1, max=50)
    refill_rate: int = param(20, "L1D refills per tick on C0", min=1, max=100_000)


def _s7(run: Run) -> None:
    m, p = run.machine, run.params
    wl = busy(L1D_CACHE_REFILL=p.refill_rate)
    root = m.spawn("root", uid=0, cpu=1)
    t = m.spawn("T", uid=1000, cpu=0, workload=wl)
    m.switch_to(0, t)
    run.note("root opens a pinned CPU-bound L1D_CACHE_REFILL event R on C0 -> idx 1", 1)
    rfd = root.perf_event_open(raw_attr(ArmEvent.L1D_CACHE_REFILL, exclude_kernel=0, pinned=1), pid=-1, cpu=0)
    run.note("T opens INST_RETIRED (config1=0x2) -> idx 2, and mmaps it", 0)
    fd = t.perf_event_open(user_attr())
    page = t.mmap(fd)
    m.run(p.before)
    run.note("T blocks: E is scheduled out, its counter becomes dirty", 0)
    t.block()
    run.observe("r", read_count(root, rfd))
    run.note("T wakes and runs on C0 again: E re-added, user access enabled (dirty clearing)", 0)
    t.wake()
    m.switch_to(0, t)
    read_user(t, page)
    with m.on_cpu(0):
        run.observe("r_counter_after_wake", m.cpu(0).mrs("PMEVCNTR0_EL0"))
    m.run(p.after)
    run.observe("s", p.refill_rate * p.after)
    run.observe("count_after", read_count(root, rfd))
    run.observe("jump", run.obs["count_after"] - run.obs["r"])


def _s7_checks(run: Run) -> dict:
    o = run.obs
    destroyed = any(rec["live"] for rec in run.machine.trace.actions("counter_clear"))
    return {"live_count_destroyed": destroyed,
            "count_jumps_by_0x7fffffff_minus_r_plus_s": o["jump"] == 0x7FFFFFFF - o["r"] + o["s"],
            "count_correct": o["jump"] == o["s"]}


S7 = Scenario("S7", "v8's xor clearing zeroes a live CPU-bound counter", "the quoted enable_user_access (dirty_mask)",
              S7Params, _s7, _s7_checks,
              _table(live_count_destroyed=(True, False, False, False, False, False),
                     count_jumps_by_0x7fffffff_minus_r_plus_s=(True, False, False, False, False, False),
                     count_correct=(False, True, True, True, True, True)), "live_count_destroyed")
