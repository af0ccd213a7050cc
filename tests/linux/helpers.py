"""Helpers shared by the Linux-model tests: machines, attrs, reads at one instant."""

from __future__ import annotations

from pmulab import Machine, PerfEventAttr, Workload, uapi
from pmulab.user import read_self

#: A busy user task: instructions and cycles at EL0, some kernel work at EL1.
BUSY = Workload(el0={"INST_RETIRED": 800, "CPU_CYCLES": 1000}, el1={"INST_RETIRED": 50, "CPU_CYCLES": 70})


def attr(config=uapi.PERF_COUNT_HW_INSTRUCTIONS, type=uapi.PERF_TYPE_HARDWARE, **kw) -> PerfEventAttr:
    kw.setdefault("exclude_kernel", 1)
    return PerfEventAttr(type=type, config=config, **kw)


def value(task, fd, read_format=0) -> int:
    """read(fd) decoded: the count."""
    return uapi.parse_read(task.read(fd), read_format).value


def machine(**kw) -> Machine:
    kw.setdefault("perf_user_access", 1)
    return Machine(**kw)


def both(task, fd, page) -> tuple[int | None, int]:
    """The user-space read and read(fd) at the same instant (no time passes between them)."""
    user = read_self(task, page, clock=None, scale=False)
    return user, value(task, fd)
