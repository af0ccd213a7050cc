"""kernel/events/core.c: events, contexts, groups, multiplexing, times, syscalls, ioctls, mmap,
the user-page writer and the cross-CPU function calls (see ``pmulab.perf.core``).

Contracts with the drivers and the machine: ``pmulab.perf.api``.
"""

from pmulab.perf.api import EF, HES, EventState, HwPerfEvent, PerfEvent
from pmulab.perf.context import PerfCpuContext, PerfEventContext
from pmulab.perf.core import PerfCore

__all__ = ["PerfCore", "PerfEvent", "HwPerfEvent", "EventState", "EF", "HES",
           "PerfEventContext", "PerfCpuContext"]
