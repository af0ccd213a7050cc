"""Per-design invariants (spec §7 end), checked after every step of random operation sequences."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from pmulab.drivers.user_access import design
from pmulab.errors import PerfError
from pmulab.scenarios.common import access_consistent, busy, try_mrs, user_attr
from pmulab.scenarios.leaks import analyse
from pmulab.sim.machine import Machine

#: design -> the invariants it keeps (v8 keeps none of the hardware ones: S3, S4, S7 break them).
KEEPS = {
    "v8": ("accounting_sane",),
    "v8-efc": ("accounting_sane", "access_consistent", "no_live_counter_destroyed"),
    "x86-mm": ("access_consistent", "no_live_counter_destroyed"),
    "lazy-trap": ("access_consistent", "no_live_counter_destroyed"),
    "v5.17": ("access_consistent", "no_live_counter_destroyed"),
    "pmuv3p9": ("access_consistent", "no_live_counter_destroyed", "no_foreign_read"),
}


def machine_for(name: str):
    class Ops(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            pmu = "v3p9" if name == "pmuv3p9" else "v3p4"
            self.m = Machine(cpus=2, counters=3, pmu=pmu, design=name, perf_user_access=1)
            self.m.design.tracing = True
            self.tasks = [self.m.spawn(n, uid=1000, cpu=i % 2, workload=busy()) for i, n in enumerate("ABC")]
            self.root = self.m.spawn("root", uid=0, cpu=1)
            self.fds = []  # (owner task, fd)

        @rule(opener=st.integers(0, 2), bound_to=st.integers(0, 2))
        def open_event(self, opener, bound_to):
            t = self.tasks[opener]
            try:
                self.fds.append((t, t.perf_event_open(user_attr(), pid=self.tasks[bound_to].pid)))
            except PerfError:
                pass

        @rule(cpu=st.integers(0, 1))
        def open_cpu_bound(self, cpu):
            self.fds.append((self.root, self.root.perf_event_open(user_attr(config1=0, exclude_kernel=0),
                                                                  pid=-1, cpu=cpu)))

        @precondition(lambda self: self.fds)
        @rule(k=st.integers(0, 20), by=st.integers(0, 2))
        def mmap_or_unmap(self, k, by):
            owner, fd = self.fds[k % len(self.fds)]
            t = owner if owner is not self.root else self.tasks[by]
            if fd not in t.fds:
                return
            if t.mm.mapping_of(t.fds[fd]) is None:
                t.mmap(fd)
            else:
                t.munmap(fd)

        @rule(k=st.integers(0, 2), cpu=st.integers(0, 1))
        def switch(self, k, cpu):
            self.m.switch_to(cpu, self.tasks[k])

        @rule(k=st.integers(0, 2), cpu=st.integers(0, 1))
        def migrate(self, k, cpu):
            self.m.migrate(self.tasks[k], cpu)

        @rule(ticks=st.integers(1, 3))
        def run(self, ticks):
            self.m.run(ticks)

        @rule(k=st.integers(0, 2), n=st.integers(0, 3))
        def read_counter(self, k, n):
            try_mrs(self.tasks[k], f"PMEVCNTR{n % 3}_EL0")

        @invariant()
        def invariants(self):
            keeps = KEEPS[name]
            if "accounting_sane" in keeps:
                d = self.m.design
                users = sum(1 for n in d.nr_user.values() if n > 0)
                assert all(n >= 0 for n in d.nr_user.values())
                assert sum(p.sched_cb_usage for p in self.m.pmus) == users
            if "access_consistent" in keeps:
                assert access_consistent(self.m)
            report = analyse(self.m.trace)
            if "no_live_counter_destroyed" in keeps:
                assert not report.destroyed
            if "no_foreign_read" in keeps:
                assert not {"cpu_bound", "foreign_owner", "other_task"} & {r["kind"] for r in report.reads}

    Ops.TestCase.settings = settings(max_examples=25, stateful_step_count=15, deadline=None,
                                     suppress_health_check=list(HealthCheck))
    return Ops


@pytest.mark.parametrize("name", list(KEEPS))
def test_design_invariants(name):
    design(name)
    machine_for(name).TestCase().runTest()
