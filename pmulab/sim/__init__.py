"""The machine that runs the model: CPUs, scheduler, tasks, workloads, IPIs, trace.

Models: a small arm64 system running Linux (see ``pmulab.sim.machine``). ``Machine`` owns all
state; nothing here is module-level, so two Machines (two notebooks) never share anything.
"""

from __future__ import annotations

from .sched import Scheduler
from .trace import Trace
from .workload import Workload

__all__ = ["Machine", "Task", "Workload", "Trace", "Scheduler", "UserStep", "explore"]


def __getattr__(name: str):
    # Machine pulls in the perf core and the drivers; import it on first use only.
    if name in ("Machine", "UserStep"):
        from . import machine

        return getattr(machine, name)
    if name == "explore":
        from .explorer import explore

        return explore
    if name == "Task":
        from .task import Task

        return Task
    raise AttributeError(f"module 'pmulab.sim' has no attribute {name!r}")
