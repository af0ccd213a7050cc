"""A small fake kernel and perf core around the real hardware model, for the driver tests."""

from __future__ import annotations

import itertools
from types import SimpleNamespace

import pytest

from pmulab.drivers import ArmPmu
from pmulab.hw.counters import CounterBank
from pmulab.hw.cpu import Cpu
from pmulab.perf.api import ATTACH_TASK, HES, EventState, PerfEvent
from pmulab.uapi import PerfEventAttr


class FakeKernel:
    """perf.api.Kernel over a real CounterBank; this_cpu() is a stack like smp_call's."""

    def __init__(self, ncpus=2, counters=6, version="v3p4", user_access=0):
        self.ncpus = ncpus
        self.bank = CounterBank(ncpus, counters, version=version)
        self.cpus = [Cpu(self.bank, i) for i in range(ncpus)]
        self.stack = [0]
        self.sysctls = {"kernel.perf_user_access": user_access}
        self.ipis = []
        self.t = 0

    def this_cpu(self):
        return self.stack[-1]

    def smp_call(self, cpu, func):
        self.ipis.append((self.this_cpu(), cpu))
        self.stack.append(cpu)
        try:
            return func()
        finally:
            self.stack.pop()

    def cpu_regs(self, cpu):
        return self.cpus[cpu]

    def sysctl(self, name):
        return self.sysctls[name]

    def now(self):
        return self.t

    def current(self, cpu):
        return None

    def record(self, kind, **fields):
        pass


class FakeCore:
    """The parts of PerfCore the driver calls: update_userpage, cpu_ctx().task_ctx, perf_event_overflow."""

    def __init__(self, ncpus):
        self.pages = []  # (event id, user index at the time) per update_userpage call
        self.ctx = [SimpleNamespace(task_ctx=None) for _ in range(ncpus)]
        self.overflows = []
        self.sample_data = []  # perf_sample_data of each overflow
        self.throttle = 0

    def update_userpage(self, event):
        active = event.state == EventState.ACTIVE and not event.hw.state & HES.STOPPED
        self.pages.append((event.id, event.pmu.event_idx(event) if active else 0))

    def cpu_ctx(self, cpu):
        return self.ctx[cpu]

    def perf_event_overflow(self, event, data=None, regs=None):
        self.overflows.append(event.id)
        self.sample_data.append(data)
        return self.throttle


class Rig:
    """kernel + core + pmu, and an event factory."""

    def __init__(self, ncpus=2, counters=6, version="v3p4", user_access=0, design="v5.17"):
        self.kernel = FakeKernel(ncpus, counters, version, user_access)
        self.core = FakeCore(ncpus)
        self.pmu = ArmPmu(self.kernel, list(range(ncpus)), version, counters, design=design)
        self.pmu.bind(self.core)
        self.ids = itertools.count(1)

    def event(self, config=1, config1=0, task=True, cpu=-1, type=0, init=True, state=EventState.INACTIVE, **attr):
        e = PerfEvent(next(self.ids), PerfEventAttr(type=type, config=config, config1=config1, **attr),
                      self.pmu, owner=None, cpu=cpu, state=state, attach_state=ATTACH_TASK if task else 0)
        e.group_leader = e
        if init:
            self.pmu.event_init(e)
        return e

    def reg(self, name, cpu=0):
        return self.kernel.cpus[cpu].mrs(name)

    def active(self, e, cpu=0):
        """add(START) on ``cpu`` and mark ACTIVE, as the core's event_sched_in does."""
        self.kernel.stack.append(cpu)
        try:
            e.state = EventState.ACTIVE
            assert self.pmu.add(e, 1) == 0
        finally:
            self.kernel.stack.pop()
        return e


@pytest.fixture
def rig():
    return Rig()
