"""The Machine: CPUs, their PMUs, the kernel (perf core, PMU drivers, sysctls, scheduler), tasks.

Models: a small arm64 system running Linux v5.17: ``cpus`` CPUs (or heterogeneous clusters,
each with its own PMUv3 and its own ``arm_pmu`` instance and dynamic perf type), one perf core
(kernel/events/core.c), the scheduler of ``pmulab.sim.sched`` and the tasks it runs. The
Machine owns ALL state; two Machines share nothing (no module-level state).
Time advances only in ``run(ticks)``, in the fixed order of ``Machine.step_order``
(design.md §4). Between ticks, Task methods (system calls, EL0 instructions) execute at once
on the task's CPU, switching the task in first when it is not current there.
Omits: interrupts other than the PMU overflow IRQ and the timer tick; CPU hotplug.
Pinned to: Linux v5.17.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from pmulab.errors import IllegalInstruction
from pmulab.hw import sysregs
from pmulab.hw.counters import CounterBank
from pmulab.hw.cpu import Cpu
from pmulab.hw.sysregs import PmuVersion

from . import wiring
from .kernel import KernelServices, _Enter
from .sched import EXITED, Scheduler
from .steps import UserStep, make_step, run_steps  # noqa: F401 -- UserStep re-exported
from .task import Mm, Task
from .trace import PAGE_FIELDS, Trace
from .workload import Workload, occurrences

__all__ = ["Machine", "UserStep", "STEP_ORDER"]

#: The phases of one ``Machine.run`` tick (design.md §4; style anchors §8.5).
STEP_ORDER = (
    "workloads: the task current on each CPU produces event occurrences at EL0/EL1 (idle: none)",
    "hardware: CounterBank.count(occ) for all CPUs at once (counters, overflow flags, IRQ lines)",
    "kernel IRQ path: the PMU driver's handle_irq on each CPU whose interrupt line is up",
    "scheduler tick per CPU: time advances, perf core tick (multiplexing rotation), timeslice switches",
    "user steps: callables registered with Machine.user_step (read loops, system calls)",
    "trace: counters, PMUSERENR_EL0 and mapped user pages are recorded",
)

_FIRST_PID = 100


class _StepOrder:
    """``Machine.step_order``: a fresh list of the phase descriptions (class or instance access)."""

    def __get__(self, obj, cls=None) -> list[str]:
        return list(STEP_ORDER)


class Machine(KernelServices):
    """A simulated arm64 machine running the Linux perf model (see the module docstring).

    Parameters
    ----------
    cpus, counters : number of CPUs and of PMU event counters per CPU (PMCR_EL0.N).
    pmu : "v3p4" (32-bit event counters), "v3p5" (64-bit), "v3p9" (PMUACR_EL1/UEN).
    design : user-access design name (``pmulab.drivers.user_access.DESIGNS``) or a Design class.
    perf_user_access, perf_event_paranoid : initial sysctl values.
    seed : seed of the Machine's ``numpy.random.Generator`` (workload jitter).
    clusters : ``[(name, ncpus, counters), ...]``: heterogeneous CPUs, one PMU type per cluster
        (replaces ``cpus``/``counters``).
    timeslice : round-robin timeslice in ticks (keyword only).
    """

    step_order = _StepOrder()

    def __init__(self, cpus: int = 2, counters: int = 6, pmu: str = "v3p4", design: Any = "v5.17",
                 perf_user_access: int = 0, perf_event_paranoid: int = 2, seed: int = 0,
                 clusters: list | None = None, *, timeslice: int = 3):
        self.version = PmuVersion.parse(pmu)
        self.clusters = wiring.clusters(cpus, counters, clusters)
        self.ncpus = sum(c.ncpus for c in self.clusters)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TypeError(f"seed must be an int, not {type(seed).__name__}")
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.trace = Trace(self.ncpus)
        self.tasks: list[Task] = []
        self._next_pid = _FIRST_PID
        self._next_mm = 1
        self._user_steps: list[UserStep] = []
        self._init_kernel({"kernel.perf_user_access": perf_user_access,
                           "kernel.perf_event_paranoid": perf_event_paranoid})
        self.banks = [CounterBank(c.ncpus, c.counters, long_counters=self.version.long_counters,
                                  version=self.version) for c in self.clusters]
        self._cpus: list[Cpu] = []
        self._where: list[tuple[int, int]] = []  # cpu -> (cluster, index in its bank)
        for k, c in enumerate(self.clusters):
            for i in range(c.ncpus):
                self._cpus.append(Cpu(self.banks[k], i))
                self._where.append((k, i))
        self.sched = Scheduler(self, None, self.ncpus, timeslice)
        self.design, self.pmus, self.perf = wiring.kernel(self, design)
        self.sched.perf = self.perf

    def __repr__(self) -> str:
        return (f"<Machine {self.ncpus} CPUs, {len(self.pmus)} PMU(s) {self.version.value}, design "
                f"{type(self.design).__name__}, tick {self.jiffies}>")

    # -- hardware ----------------------------------------------------------------------------------
    def cpu(self, i: int) -> Cpu:
        """The hardware PE ``i`` (raw ``mrs``/``msr``, default el=1, bypassing the kernel model)."""
        self.sched._check_cpu(i)
        return self._cpus[i]

    def snapshot(self):
        """A canonical, hashable ``pmulab.sim.snapshot.Snapshot`` of the whole state (trace aside)."""
        from .snapshot import snapshot

        return snapshot(self)

    def pmu_of(self, cpu: int) -> Any:
        """The PMU driver instance (``ArmPmu``) serving ``cpu``."""
        return self.pmus[self._where[cpu][0]]

    # -- tasks ---------------------------------------------------------------------------------------
    def spawn(self, name: str, uid: int = 1000, cpu: int = 0, workload: Workload | None = None,
              affinity=None) -> Task:
        """Create a runnable task (a fresh process: new mm, empty fd table) queued on ``cpu``."""
        if not isinstance(name, str):
            raise TypeError(f"task name must be a str, not {type(name).__name__}")
        if isinstance(uid, bool) or not isinstance(uid, int) or uid < 0:
            raise ValueError(f"uid must be an int >= 0, got {uid!r}")
        if workload is not None and not isinstance(workload, Workload):
            raise TypeError(f"workload must be a Workload, not {type(workload).__name__}")
        self.sched._check_cpu(cpu)
        aff = frozenset(range(self.ncpus) if affinity is None else affinity)
        for c in aff:
            self.sched._check_cpu(c)
        if cpu not in aff:
            raise ValueError(f"cpu {cpu} is not in the affinity {sorted(aff)}")
        task = self._make_task(name, uid, cpu, self.new_mm(), {}, aff, workload, None)
        self.record("spawn", cpu=cpu, task=task, name=name, uid=uid)
        self.sched.enqueue(task, "spawn")
        return task

    def new_mm(self) -> Mm:
        mm = Mm(self._next_mm)
        self._next_mm += 1
        return mm

    def _make_task(self, name, uid, cpu, mm, files, affinity, workload, parent) -> Task:
        task = Task(self, self._next_pid, uid, name, cpu, mm, files, affinity, workload, parent)
        self._next_pid += 1
        mm.users += 1
        self.tasks.append(task)
        return task

    def new_task(self, parent: Task, name: str, mm: Mm, files: dict, cpu: int | None) -> Task:
        """Kernel: copy_process + wake_up_new_task (called by Task.fork/thread in the parent's context)."""
        if cpu is None:
            cpu = self.sched.place_new(parent, parent.affinity)
        else:
            self.sched._check_allowed(parent, cpu)
        child = self._make_task(name, parent.uid, cpu, mm, files, parent.affinity, parent.workload, parent)
        self.record("fork", cpu=parent.cpu, task=parent, child=child, child_cpu=cpu, thread=mm is parent.mm)
        self.perf.fork(parent, child)
        self.sched.enqueue(child, "fork")
        return child

    def alive(self, task: Task) -> None:
        if not isinstance(task, Task) or task._m is not self:
            raise TypeError(f"{task!r} is not a task of this machine")
        if task.state == EXITED:
            raise ValueError(f"task {task.pid} has exited")

    def enter(self, task: Task, call: str, record: bool = True, **fields: Any) -> _Enter:
        """Run the body as ``task`` executing on its CPU (switching it in first with all hooks).

        On entry: the task must be alive and not blocked, it is switched in if it is not current,
        its CPU executes kernel code and the ``syscall`` row is recorded (``record``); a PerfError
        leaving the body is recorded as an ``error`` row and re-raised.
        """
        return _Enter(self, task, call, record, fields)

    def switch_to(self, cpu: int, task: Task) -> None:
        """Make ``task`` current on ``cpu`` now (the previous task stays runnable)."""
        self.alive(task)
        self.sched.switch_to(cpu, task)

    def migrate(self, task: Task, cpu: int) -> None:
        """Move ``task`` to ``cpu`` (a running task is switched out first)."""
        self.alive(task)
        self.sched.migrate(task, cpu)

    # -- EL0 instructions -----------------------------------------------------------------------
    def el0_access(self, task: Task, name: str, value: int | None) -> int | None:
        """``mrs``/``msr`` at EL0 on the task's CPU; a trap goes to the design's el0_trap hook (if
        any), else it is the task's SIGILL (Kernel: do_sysinstr -> do_undefinstr -> force_signal_inject)."""
        if not isinstance(name, str):
            raise TypeError(f"register name must be a str, not {type(name).__name__}")
        if name == wiring.TIMER_COUNTER:
            return self._timer_access(task, value)
        reg = sysregs.lookup(name)
        hw = self._cpus[task.cpu]
        write = value is not None
        for attempt in (0, 1):
            try:
                result = hw.msr(reg.name, value, el=0) if write else hw.mrs(reg.name, el=0)
            except IllegalInstruction as exc:
                if attempt == 0 and wiring.el0_trap(self, task, reg.name, write):
                    continue  # the design enabled access from the trap: the instruction is re-executed
                task.sigill += 1
                self.record("sigill", cpu=task.cpu, task=task, reg=reg.name, write=write, why=str(exc))
                raise
            self.record("msr" if write else "mrs", cpu=task.cpu, task=task, reg=reg.name,
                        value=value if write else result)
            return result
        raise AssertionError("unreachable")

    def _timer_access(self, task: Task, value: int | None) -> int:
        """CNTVCT_EL0: readable at EL0 (Linux sets CNTKCTL_EL1.EL0VCTEN), read-only (a write is UNDEFINED)."""
        if value is not None:
            exc = IllegalInstruction(wiring.TIMER_COUNTER, True, 0, (), why="read-only register")
            task.sigill += 1
            self.record("sigill", cpu=task.cpu, task=task, reg=wiring.TIMER_COUNTER, write=True, why=str(exc))
            raise exc
        result = wiring.timer_counter(self, task.cpu)
        self.record("mrs", cpu=task.cpu, task=task, reg=wiring.TIMER_COUNTER, value=result)
        return result

    # -- glue to the ABI ------------------------------------------------------------------------------
    def check_attr(self, attr: Any) -> None:
        wiring.check_attr(attr)

    def ioctl_takes_fd(self, request: int) -> bool:
        return wiring.ioctl_takes_fd(request)

    # -- sysctl hook ---------------------------------------------------------------------------------
    def _sysctl_write(self, name: str, value: int) -> None:
        wiring.sysctl_write(self, name, value)

    # -- time ------------------------------------------------------------------------------------------
    def user_step(self, fn: Callable[[], Any], *, every: int = 1, count: int | None = None,
                  name: str | None = None) -> UserStep:
        """Register ``fn()`` to run in phase 5 of every ``every``-th tick (``count`` times; None: forever)."""
        step = make_step(fn, every, count, name)
        self._user_steps.append(step)
        return step

    def run(self, ticks: int = 1) -> Machine:
        """Advance ``ticks`` timer ticks (4 ms each), each in the order of ``step_order``."""
        if isinstance(ticks, bool) or not isinstance(ticks, int):
            raise TypeError(f"ticks must be an int, not {type(ticks).__name__}")
        if ticks < 0:
            raise ValueError(f"ticks must be >= 0, got {ticks}")
        for _ in range(ticks):
            self._step()
        return self

    def _step(self) -> None:
        occ = occurrences([t.workload if t is not None else None for t in self.sched.curr], self.rng)  # 1
        irq = np.zeros(self.ncpus, dtype=bool)
        first = 0
        for bank in self.banks:  # 2
            n = bank.cpus
            bank.count(np.ascontiguousarray(occ[first:first + n]))
            irq[first:first + n] = bank.irq
            first += n
        for cpu in np.flatnonzero(irq).tolist():  # 3
            with self.on_cpu(cpu):
                self.record("irq", cpu=cpu)
                self.pmu_of(cpu).handle_irq(cpu)
        self.jiffies += 1  # 4
        stack, perf_tick, sched_tick = self._cpu_stack, self.perf.tick, self.sched.tick
        for cpu in range(self.ncpus):
            stack.append(cpu)  # on_cpu(cpu), without building a context manager per CPU
            try:
                perf_tick(cpu)
                sched_tick(cpu)
            finally:
                stack.pop()
        self._user_steps = run_steps(self._user_steps, self.jiffies)  # 5
        self._trace_row()  # 6

    def _trace_row(self) -> None:
        counters = np.zeros((self.ncpus, sysregs.NUM_SLOTS), dtype=np.uint64)
        pmuserenr = np.zeros(self.ncpus, dtype=np.uint64)
        first = 0
        for bank in self.banks:  # CPUs are numbered cluster by cluster (self._where)
            counters[first:first + bank.cpus] = bank.values
            pmuserenr[first:first + bank.cpus] = bank.pmuserenr
            first += bank.cpus
        pages, seen = [], set()
        for task in self.tasks:
            if task.state == EXITED:
                continue
            for mp in task.mm.mappings:
                ev = mp.file.event
                if ev.id in seen:
                    continue
                seen.add(ev.id)
                pages.append((ev.id, ev.owner, {f: getattr(mp.page, f, None) for f in PAGE_FIELDS}))
        pages.sort(key=lambda p: p[0])
        self.trace.tick(self.jiffies, self.now(), list(self.sched.curr), counters, pmuserenr, pages)

