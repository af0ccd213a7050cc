"""The services the perf core and the drivers use from the rest of the kernel (``perf.api.Kernel``).

Models:
- ``this_cpu`` (Kernel: ``smp_processor_id``): a stack of CPUs, pushed while a CPU executes
  kernel code on the model's behalf (a system call, a tick, an IRQ, an IPI). A task's system
  call or EL0 access enters through ``Machine.enter`` (Kernel: ``el0_svc`` on the task's CPU, the
  task switched in first by ``schedule``), whose context manager ``_Enter`` is kept here with
  ``on_cpu``'s: small classes, because they run for every system call and every CPU of a tick.
- ``smp_call`` (Kernel: ``smp_call_function_single`` with ``wait=1``): runs the function on the
  target CPU with ``this_cpu`` switched; a call to another CPU is an IPI and is recorded; a call
  to the executing CPU runs locally (``generic_exec_single``) and is not an IPI; neither is a
  call made while no CPU executes kernel code (boot: cpuhp callbacks run on each CPU itself).
- ``now`` (Kernel: ``local_clock`` / ``perf_clock``): nanoseconds since boot, advancing one tick
  (HZ=250: 4 ms) per ``Machine.run`` step; every action within a tick sees the same time.
- sysctls (Kernel: ``/proc/sys/kernel/perf_*``): ``kernel.perf_event_paranoid`` (proc_dointvec),
  ``kernel.perf_event_max_sample_rate`` (>= 1; lowered by the perf core's
  ``perf_sample_event_took``), ``kernel.perf_cpu_time_max_percent`` (0..100),
  ``kernel.perf_event_mlock_kb`` and ``kernel.perf_user_access`` (0..1, Kernel:
  ``armv8pmu_proc_user_access_handler``: the write goes through the driver's handler).
- ``capable`` (Kernel: ``perfmon_capable``): uid 0 in the model.
Omits: preemption counts, IRQ masking, CPU hotplug (an smp_call never fails with -ENXIO).
Pinned to: Linux v5.17.
"""

from __future__ import annotations

import errno
import numbers
from collections.abc import Callable
from typing import Any

from pmulab.bits import close_names
from pmulab.errors import PerfError

from .sched import BLOCKED

__all__ = ["KernelServices", "HZ", "TICK_NS", "SYSCTL_DEFAULTS"]

#: Timer interrupts per second (CONFIG_HZ_250, Debian's arm64 default).
HZ = 250
#: Length of one tick in ns.
TICK_NS = 1_000_000_000 // HZ

#: The modelled sysctls and their defaults (Kernel: kernel/events/core.c, drivers/perf/arm_pmuv3.c).
SYSCTL_DEFAULTS = {
    "kernel.perf_event_paranoid": 2,
    "kernel.perf_event_max_sample_rate": 100000,
    "kernel.perf_user_access": 0,
    "kernel.perf_cpu_time_max_percent": 25,
    "kernel.perf_event_mlock_kb": 516,
}
_RANGES = {
    "kernel.perf_event_max_sample_rate": (1, None),
    "kernel.perf_cpu_time_max_percent": (0, 100),
    "kernel.perf_event_mlock_kb": (0, None),
    "kernel.perf_user_access": (0, 1),
}


class _OnCpu:
    """The context manager of ``on_cpu``: push ``cpu`` on entry, pop it on exit (even on an exception)."""

    __slots__ = ("stack", "cpu")

    def __init__(self, stack: list, cpu: int):
        self.stack, self.cpu = stack, cpu

    def __enter__(self) -> int:
        self.stack.append(self.cpu)
        return self.cpu

    def __exit__(self, *exc) -> None:
        self.stack.pop()


class _Enter:
    """The context manager of ``Machine.enter`` (a class: it runs for every system call and EL0 access)."""

    __slots__ = ("m", "task", "call", "record", "fields")

    def __init__(self, m, task, call, record, fields):
        self.m, self.task, self.call, self.record, self.fields = m, task, call, record, fields

    def __enter__(self) -> None:
        m, task = self.m, self.task
        m.alive(task)
        if task.state == BLOCKED:
            raise ValueError(f"task {task.pid} is blocked and cannot execute {self.call}(); wake() it first")
        if not m.sched.is_running(task):
            m.sched.switch_to(task.cpu, task)
        m._cpu_stack.append(task.cpu)
        if self.record:
            try:
                m.record("syscall", cpu=task.cpu, task=task, call=self.call, **self.fields)
            except BaseException:
                m._cpu_stack.pop()
                raise

    def __exit__(self, kind, exc, tb) -> None:
        m, task = self.m, self.task
        try:
            if isinstance(exc, PerfError):
                m.record("error", cpu=task.cpu, task=task, call=self.call, errno=exc.name, check=exc.check)
        finally:
            m._cpu_stack.pop()


class KernelServices:
    """Mixin of ``Machine`` implementing ``pmulab.perf.api.Kernel``.

    Expects ``self.sched`` (Scheduler), ``self.trace`` (Trace), ``self.tasks`` (list of Task),
    ``self._cpus`` (hw Cpu per CPU), ``self.pmus`` and ``self.ncpus``.
    """

    def _init_kernel(self, sysctls: dict[str, int]) -> None:
        self._cpu_stack: list[int] = []
        self.jiffies = 0
        self.ipis = 0
        self._sysctl = dict(SYSCTL_DEFAULTS)
        for name, value in sysctls.items():
            self._sysctl[name] = self._check_sysctl(name, value)

    # -- which CPU executes kernel code --------------------------------------------------------
    def this_cpu(self) -> int:
        """Kernel: smp_processor_id(); only valid while a CPU executes kernel code."""
        try:
            return self._cpu_stack[-1]
        except IndexError:
            raise RuntimeError("no CPU is executing kernel code (this_cpu() outside Machine.on_cpu)") from None

    def on_cpu(self, cpu: int) -> _OnCpu:
        """Execute the body as kernel code on ``cpu`` (this_cpu() == cpu inside; ``as`` gives ``cpu``)."""
        return _OnCpu(self._cpu_stack, cpu)

    def current(self, cpu: int) -> Any:
        return self.sched.current(cpu)

    def task_cpu(self, task: Any) -> int:
        return task.cpu

    def smp_call(self, cpu: int, func: Callable[[], Any]) -> Any:
        """Kernel: smp_call_function_single(cpu, func, info, wait=1)."""
        if isinstance(cpu, bool) or not isinstance(cpu, int) or not 0 <= cpu < self.ncpus:
            raise ValueError(f"smp_call to CPU {cpu!r}: no such CPU")
        src = self._cpu_stack[-1] if self._cpu_stack else None
        if src is not None and src != cpu:  # None: boot-time bring-up runs on each CPU itself
            self.ipis += 1
            self.record("ipi", cpu=cpu, source=src, func=func)
        with self.on_cpu(cpu):
            return func()

    def now(self) -> int:
        return self.jiffies * TICK_NS

    # -- sysctl --------------------------------------------------------------------------------
    def _check_sysctl(self, name: str, value) -> int:
        if not isinstance(name, str):
            raise TypeError(f"sysctl name must be a str, not {type(name).__name__}")
        if name not in SYSCTL_DEFAULTS:
            raise ValueError(f"unknown sysctl {name!r}{close_names(name, SYSCTL_DEFAULTS)}")
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise TypeError(f"sysctl {name} takes an int, not {type(value).__name__}")
        lo, hi = _RANGES.get(name, (None, None))
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            rng = f"[{lo}, {hi}]" if hi is not None else f">= {lo}"
            raise PerfError(errno.EINVAL, f"proc_dointvec_minmax: {name} must be {rng}, got {value}")
        return int(value)

    def sysctl(self, name: str, value: int | None = None) -> int:
        """Read a sysctl, or write it (as root, from CPU 0) and return the new value.

        A write of ``kernel.perf_user_access`` goes through the PMU driver's handler (Kernel:
        armv8pmu_proc_user_access_handler: writing 0 IPIs every CPU to clear PMUSERENR_EL0).
        """
        if value is None:
            if name not in self._sysctl:
                self._check_sysctl(name, 0)
            return self._sysctl[name]
        value = self._check_sysctl(name, value)
        old = self._sysctl[name]
        with self.on_cpu(self._cpu_stack[-1] if self._cpu_stack else 0):
            self.record("sysctl", cpu=self.this_cpu(), name=name, old=old, value=value)
            self._sysctl_write(name, value)
        return self._sysctl[name]

    def _store_sysctl(self, name: str, value: int) -> None:
        self._sysctl[name] = value

    def _sysctl_write(self, name: str, value: int) -> None:
        """proc handler: store the value (Machine routes driver-owned sysctls to their handler)."""
        self._store_sysctl(name, value)

    # -- tasks and credentials -------------------------------------------------------------------
    def find_task(self, pid: int) -> Any:
        """Kernel: find_task_by_vpid (exited tasks are gone)."""
        for t in self.tasks:
            if t.pid == pid and t.state != "exited":
                return t
        return None

    def capable(self, task: Any) -> bool:
        """Kernel: perfmon_capable (CAP_PERFMON or CAP_SYS_ADMIN) = uid 0 here."""
        return task is not None and task.uid == 0

    def cpu_regs(self, cpu: int) -> Any:
        return self._cpus[cpu]

    def record(self, kind: str, **fields: Any) -> None:
        """Append one action to the trace (at the current tick and time)."""
        self.trace.action(self.jiffies, self.now(), kind, fields)
