"""Boot-time wiring: the CPU topology, the PMU drivers and the perf core of a Machine.

Models: what happens at boot on an arm64 system (Kernel: ``arm_pmu_device_probe`` /
``armpmu_register`` -> ``perf_pmu_register``): one ``arm_pmu`` per CPU type, each serving its
cluster's CPUs (``supported_cpus``) and registered with a dynamic perf type (Kernel:
``idr_alloc`` from ``PERF_TYPE_MAX`` upward; the boot-time kprobe and uprobe PMUs take the first
two, so the first ``arm_pmu`` gets ``PERF_TYPE_MAX + 2``); then the perf core over all PMUs.
The few places where the machine reaches into the driver (the sysctl handler, the EL0 trap hook
of a user-access design) are here too, so the Machine itself stays driver-agnostic.
Omits: PMU probing from the device tree or ACPI, IRQ routing (a CPU's overflow IRQ goes to the
PMU serving that CPU).
Pinned to: Linux v5.17.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from pmulab import perf as perf_core
from pmulab import uapi
from pmulab.drivers import ArmPmu
from pmulab.drivers.user_access import Design, PerfUserAccessSysctl, resolve
from pmulab.hw import sysregs

__all__ = ["Cluster", "clusters", "kernel", "el0_trap", "sysctl_write", "counter_values",
           "check_attr", "ioctl_takes_fd", "timer_counter", "FIRST_DYNAMIC_TYPE", "TIMER_COUNTER"]

#: The generic timer's virtual count, the clock self-monitoring readers use for time_* fields.
TIMER_COUNTER = "CNTVCT_EL0"

#: The perf type of the first arm_pmu (after kprobe = PERF_TYPE_MAX and uprobe = PERF_TYPE_MAX + 1).
FIRST_DYNAMIC_TYPE = uapi.PERF_TYPE_MAX + 2


@dataclass(frozen=True)
class Cluster:
    """CPUs of one type: ``first`` .. ``first + ncpus - 1``, served by PMU ``pmu_name``."""

    name: str
    ncpus: int
    counters: int
    first: int
    pmu_name: str
    type: int

    @property
    def cpus(self) -> list[int]:
        return list(range(self.first, self.first + self.ncpus))


def _count(what: str, value, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int, not {type(value).__name__}")
    if not lo <= value <= hi:
        raise ValueError(f"{what}={value} out of range {lo}..{hi}")
    return value


def clusters(cpus: int, counters: int, spec: list | None) -> list[Cluster]:
    """Normalise ``Machine(cpus=, counters=, clusters=)`` into a list of Cluster."""
    if spec is None:
        cpus = _count("cpus", cpus, 1, 64)
        counters = _count("counters", counters, 0, sysregs.MAX_EVENT_COUNTERS)
        return [Cluster("armv8_pmuv3", cpus, counters, 0, "armv8_pmuv3_0", FIRST_DYNAMIC_TYPE)]
    if isinstance(spec, (str, bytes)) or not hasattr(spec, "__iter__"):
        raise TypeError("clusters must be a list of (name, ncpus, counters) tuples")
    out: list[Cluster] = []
    first = 0
    for k, item in enumerate(spec):
        if not isinstance(item, (tuple, list)) or len(item) != 3:
            raise TypeError(f"clusters[{k}] must be a (name, ncpus, counters) tuple, not {item!r}")
        name, n, c = item
        if not isinstance(name, str) or not name:
            raise TypeError(f"clusters[{k}]: name must be a non-empty str")
        n = _count(f"clusters[{k}] ncpus", n, 1, 64)
        c = _count(f"clusters[{k}] counters", c, 0, sysregs.MAX_EVENT_COUNTERS)
        pmu_name = "armv8_" + name.replace("-", "_")
        if any(o.pmu_name == pmu_name for o in out):
            raise ValueError(f"clusters: {name!r} given twice")
        out.append(Cluster(name, n, c, first, pmu_name, FIRST_DYNAMIC_TYPE + k))
        first += n
    if not out:
        raise ValueError("clusters must name at least one cluster")
    if cpus != 2 and cpus != first:  # 2 = the default: clusters decide
        raise ValueError(f"cpus={cpus} disagrees with the clusters ({first} CPUs)")
    return out


def kernel(machine: Any, design: Any) -> tuple[Any, list, Any]:
    """Build the PMU drivers (one per cluster, one shared Design instance) and the perf core.

    Returns (design, pmus, core); the driver-owned sysctl entries go to ``machine._sysctl_entries``.
    """
    if not isinstance(design, (str, Design)) and not (isinstance(design, type) and issubclass(design, Design)):
        raise TypeError(f"design must be a design name, a Design subclass or instance, not {design!r}")
    the_design = resolve(design)
    pmus = [ArmPmu(machine, c.cpus, machine.version, c.counters, c.pmu_name, c.type, the_design)
            for c in machine.clusters]
    core = perf_core.PerfCore(machine, pmus)
    for pmu in pmus:
        if getattr(pmu, "core", None) is None:
            pmu.bind(core)
    entry = PerfUserAccessSysctl(machine, the_design)
    machine._sysctl_entries = {entry.name: entry}
    return the_design, pmus, core


def el0_trap(machine: Any, task: Any, reg: str, write: bool) -> bool:
    """Offer a trapped EL0 access to the design (Kernel: an undef hook); True: re-execute it."""
    with machine.on_cpu(task.cpu):
        return bool(machine.design.el0_trap(machine.pmu_of(task.cpu), task, reg, write))


def sysctl_write(machine: Any, name: str, value: int) -> None:
    """A sysctl write: driver-owned entries (kernel.perf_user_access) run their proc handler."""
    entry = machine._sysctl_entries.get(name)
    if entry is None:
        machine._store_sysctl(name, value)
    else:
        entry.write(value, lambda v: machine._store_sysctl(name, v))


def counter_values(bank: Any, index: int) -> np.ndarray:
    """The 32 counter slots of one CPU of a bank (slot 31 = PMCCNTR_EL0)."""
    return np.asarray(bank.values[index], dtype=np.uint64)


def timer_counter(machine: Any, cpu: int) -> int:
    """CNTVCT_EL0 now, from the clock the driver publishes in the user page (drivers.sched_clock)."""
    return machine.pmu_of(cpu).ops.clock.counter_at(machine.now())


def check_attr(attr: Any) -> None:
    if not isinstance(attr, uapi.PerfEventAttr):
        raise TypeError(f"attr must be a pmulab.uapi.PerfEventAttr, not {type(attr).__name__}")


def ioctl_takes_fd(request: int) -> bool:
    """PERF_EVENT_IOC_SET_OUTPUT takes another perf fd as its argument."""
    return request == uapi.PERF_EVENT_IOC_SET_OUTPUT
