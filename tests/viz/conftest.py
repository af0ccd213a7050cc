"""Fixtures for the headless widget tests: small machines and a fake scenario with its own Params."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import pytest

from pmulab import Machine, PerfEventAttr, Workload, uapi


def instructions(config1: int = 0x2, **kw) -> PerfEventAttr:
    """User-only instructions; ``config1=0x2`` asks for user access (the v5.17 rdpmc bit)."""
    return PerfEventAttr(type=uapi.PERF_TYPE_HARDWARE, config=uapi.PERF_COUNT_HW_INSTRUCTIONS, config1=config1,
                         exclude_kernel=1, **kw)


@pytest.fixture(name="instructions")
def instructions_fixture():
    """The attr factory, for tests that open more events."""
    return instructions


@pytest.fixture
def machine():
    """Two CPUs, v5.17 with user access on: T (pid 100) on CPU 0 maps an enabled instructions event."""
    m = Machine(cpus=2, counters=4, design="v5.17", perf_user_access=1, seed=0)
    t = m.spawn("T", cpu=0, workload=Workload(el0={"INST_RETIRED": 800, "CPU_CYCLES": 1000}))
    u = m.spawn("U", uid=1001, cpu=1, workload=Workload(el0={"INST_RETIRED": 300, "CPU_CYCLES": 1000}))
    fd = t.perf_event_open(instructions())
    page = t.mmap(fd)
    t.ioctl(fd, uapi.PERF_EVENT_IOC_ENABLE)
    m.run(3)
    return SimpleNamespace(m=m, t=t, u=u, fd=fd, page=page)


@dataclasses.dataclass(frozen=True)
class FakeParams:
    ticks: int = dataclasses.field(default=4, metadata={"label": "ticks", "min": 1, "max": 12})
    who: str = dataclasses.field(default="T", metadata={"label": "reader", "options": ("T", "U")})
    fail: bool = dataclasses.field(default=False, metadata={"label": "make the run fail"})


class FakeScenario:
    """A scenario in the shape pmulab.scenarios declares: ``Params`` plus a run function."""

    name = "FAKE"
    title = "A fake scenario: one task counts instructions for a few ticks"
    Params = FakeParams

    def __init__(self):
        self.calls = []

    def run(self, name, design, **params):
        self.calls.append((name, design, params))
        if params["fail"]:
            raise RuntimeError("scenario exploded on purpose")
        m = Machine(cpus=2, counters=4, design="v5.17", perf_user_access=1, seed=0)
        t = m.spawn("T", cpu=0, workload=Workload(el0={"INST_RETIRED": 800, "CPU_CYCLES": 1000}))
        fd = t.perf_event_open(instructions())
        t.ioctl(fd, uapi.PERF_EVENT_IOC_ENABLE)
        m.run(params["ticks"])
        own = params["who"] == "T"
        return SimpleNamespace(trace=m.trace, checks={"reads own counter": own, "no SIGILL": True},
                               expected={"reads own counter": True, "no SIGILL": True}, ok=own,
                               leak=None if own else "foreign")


@pytest.fixture
def fake_scenario():
    return FakeScenario()
