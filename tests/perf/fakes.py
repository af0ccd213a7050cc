"""Small fakes of the Kernel and Pmu contracts, so the perf core can be tested alone.

FakeKernel: CPUs with a ``this_cpu`` stack, current task per CPU, a clock the test advances,
sysctls, tasks by pid, uid-0 capability, and an IPI log. ``switch(cpu, task)`` runs the perf
core's context-switch hooks as the scheduler would.
FakePmu: N counters per CPU (perf idx 1..N), a raw 64-bit counter per (CPU, idx) that
``advance`` increments; counts flow into events through ``read``/``stop`` like armpmu's
update; every call is logged with the CPU it ran on.
"""

from __future__ import annotations

import errno
from contextlib import contextmanager
from dataclasses import dataclass

from pmulab import uapi
from pmulab.errors import PerfError
from pmulab.perf import PerfCore
from pmulab.perf.api import ATTACH_TASK, EF, FLAG_USER_READ_CNT, HES

MASK64 = (1 << 64) - 1
#: value a counter is armed with at start (a 64-bit negative number, like set_period's)
ARMED = (1 << 64) - 0x1000


@dataclass(eq=False)
class FakeMm:
    id: int


@dataclass(eq=False)
class FakeTask:
    pid: int
    uid: int
    cpu: int
    mm: FakeMm = None
    perf_ctx: object = None

    def __repr__(self) -> str:
        return f"<FakeTask {self.pid}>"


class FakeKernel:
    def __init__(self, ncpus: int = 2, paranoid: int = 2):
        self.ncpus = ncpus
        self._stack: list[int] = []
        self.curr: list = [None] * ncpus
        self.tasks: list[FakeTask] = []
        self.time = 0
        self.sysctls = {"kernel.perf_event_paranoid": paranoid, "kernel.perf_event_max_sample_rate": 100000,
                        "kernel.perf_user_access": 1}
        self.ipis: list[tuple] = []  # (from, to)
        self.records: list = []
        self.core: PerfCore | None = None

    # Kernel protocol
    def this_cpu(self) -> int:
        return self._stack[-1]

    def current(self, cpu: int):
        return self.curr[cpu]

    def task_cpu(self, task) -> int:
        return task.cpu

    def smp_call(self, cpu: int, func):
        src = self._stack[-1] if self._stack else None
        if src != cpu:
            self.ipis.append((src, cpu))
        with self.on(cpu):
            return func()

    def now(self) -> int:
        return self.time

    def sysctl(self, name: str) -> int:
        return self.sysctls[name]

    def find_task(self, pid: int):
        return next((t for t in self.tasks if t.pid == pid), None)

    def capable(self, task) -> bool:
        return task is not None and task.uid == 0

    def cpu_regs(self, cpu):  # pragma: no cover - the fakes never touch registers
        raise AssertionError("the fake PMU has no registers")

    def record(self, kind: str, **fields) -> None:
        self.records.append((kind, fields))

    # test helpers
    @contextmanager
    def on(self, cpu: int):
        self._stack.append(cpu)
        try:
            yield
        finally:
            self._stack.pop()

    def spawn(self, pid: int, uid: int = 1000, cpu: int = 0, run: bool = True) -> FakeTask:
        t = FakeTask(pid, uid, cpu, FakeMm(pid))
        self.tasks.append(t)
        if run:
            self.switch(cpu, t)
        return t

    def switch(self, cpu: int, task) -> None:
        """A context switch on ``cpu`` to ``task`` (None = idle), with the perf hooks."""
        with self.on(cpu):
            prev = self.curr[cpu]
            if prev is task:
                return
            if prev is not None:
                self.core.sched_out(prev, cpu)
            self.curr[cpu] = task
            if task is not None:
                if task.cpu != cpu:
                    task.cpu = cpu
                self.core.sched_in(task, cpu)

    def migrate(self, task, cpu: int) -> None:
        old = task.cpu
        if self.curr[old] is task:
            self.switch(old, None)
        task.cpu = cpu

    def syscall(self, task, name: str, *args, **kw):
        """Run ``core.<name>(task, ...)`` as ``task`` on its CPU (it must be current there)."""
        assert self.curr[task.cpu] is task, f"{task} is not running"
        with self.on(task.cpu):
            return getattr(self.core, name)(task, *args, **kw)


class FakePmu:
    def __init__(self, kernel: FakeKernel, counters: int = 4, type_: int = 8, cpus=None, name: str = "fake"):
        self.kernel = kernel
        self.name, self.type = name, type_
        self.n = counters
        self.cpus = set(range(kernel.ncpus) if cpus is None else cpus)
        self.events = {c: [None] * (counters + 1) for c in range(kernel.ncpus)}
        self.raw = {c: [0] * (counters + 1) for c in range(kernel.ncpus)}
        self.log: list[tuple] = []
        self.sched_task = None
        self.sched_cb_usage = 0
        self.core = None
        self.init_seen: list[tuple] = []

    def bind(self, core) -> None:
        self.core = core

    def _cpu(self) -> int:
        return self.kernel.this_cpu()

    def event_init(self, event) -> None:
        self.init_seen.append((event.hw.target, event.attach_state, event.target))
        a = event.attr
        if a.type not in (self.type, uapi.PERF_TYPE_HARDWARE, uapi.PERF_TYPE_HW_CACHE, uapi.PERF_TYPE_RAW):
            raise PerfError(errno.ENOENT, f"{self.name}: not my type")
        if event.cpu != -1 and event.cpu not in self.cpus:
            raise PerfError(errno.ENOENT, f"{self.name}: cpu {event.cpu} not supported")
        if a.config == 0xDEAD:
            raise PerfError(errno.EOPNOTSUPP, f"{self.name}: event 0xdead unsupported")
        event.hw.flags = 0
        if a.config1 & 2:
            if not event.attach_state & ATTACH_TASK:
                raise PerfError(errno.EINVAL, f"{self.name}: user access needs a task-bound event")
            event.hw.flags |= FLAG_USER_READ_CNT
        leader = event.group_leader
        members = 1 if leader is event else 2 + len(leader.siblings)
        if members > self.n:
            raise PerfError(errno.EINVAL, f"{self.name}: group of {members} does not fit {self.n} counters")

    def add(self, event, flags) -> int:
        cpu = self._cpu()
        self.log.append(("add", cpu, event.id))
        if cpu not in self.cpus:
            return -errno.ENOENT
        free = [i for i in range(1, self.n + 1) if self.events[cpu][i] is None]
        if not free:
            return -errno.EAGAIN
        idx = free[0]
        event.hw.idx = idx
        self.events[cpu][idx] = event
        event.hw.state = HES.STOPPED | HES.UPTODATE
        if flags & EF.START:
            self.start(event, EF.RELOAD)
        self.core.update_userpage(event)
        return 0

    def del_(self, event, flags) -> None:
        cpu = self._cpu()
        self.log.append(("del", cpu, event.id))
        self.stop(event, EF.UPDATE)
        self.events[cpu][event.hw.idx] = None
        self.core.update_userpage(event)
        event.hw.idx = -1

    def start(self, event, flags) -> None:
        cpu = self._cpu()
        event.hw.state = HES(0)
        self.raw[cpu][event.hw.idx] = ARMED
        event.hw.prev_count = ARMED
        self.log.append(("start", cpu, event.id))

    def stop(self, event, flags) -> None:
        if not event.hw.state & HES.STOPPED:
            self.read(event)
            event.hw.state |= HES.STOPPED | HES.UPTODATE
        self.log.append(("stop", self._cpu(), event.id))

    def read(self, event) -> None:
        cpu = self._cpu()
        assert cpu == event.oncpu, f"read of event {event.id} on CPU {cpu}, but it runs on {event.oncpu}"
        new = self.raw[cpu][event.hw.idx]
        event.count = (event.count + ((new - event.hw.prev_count) & MASK64)) & MASK64
        event.hw.prev_count = new
        self.log.append(("read", cpu, event.id))

    def event_idx(self, event) -> int:
        return event.hw.idx if event.has_user_read else 0

    def event_mapped(self, event, mm) -> None:
        self.log.append(("mapped", self._cpu(), event.id, mm, event.mmap_count))

    def event_unmapped(self, event, mm) -> None:
        self.log.append(("unmapped", self._cpu(), event.id, mm, event.mmap_count))

    def pmu_enable(self) -> None:
        self.log.append(("pmu_enable", self._cpu()))

    def pmu_disable(self) -> None:
        self.log.append(("pmu_disable", self._cpu()))

    def filter_match(self, event) -> bool:
        return self._cpu() in self.cpus

    def arch_update_userpage(self, event, page, now) -> None:
        page.cap_user_rdpmc = int(event.has_user_read)
        page.pmc_width = 64
        page.time_offset = now

    def handles_cpu(self, cpu: int) -> bool:
        return cpu in self.cpus

    # test helper
    def advance(self, cpu: int, n: int) -> None:
        """``n`` events happen on ``cpu``: every in-use counter there counts them."""
        for idx, ev in enumerate(self.events[cpu]):
            if ev is not None:
                self.raw[cpu][idx] = (self.raw[cpu][idx] + n) & MASK64

    def ops(self, *kinds) -> list[tuple]:
        return [e for e in self.log if e[0] in kinds]


def machine(ncpus: int = 2, counters: int = 4, paranoid: int = 2, npmus: int = 1, pmu_cpus=None):
    """A FakeKernel with ``npmus`` FakePmus (types 8, 9, ...) and a PerfCore over them."""
    k = FakeKernel(ncpus, paranoid)
    pmus = [FakePmu(k, counters, 8 + i, None if pmu_cpus is None else pmu_cpus[i], f"fake{i}")
            for i in range(npmus)]
    k.core = PerfCore(k, pmus)
    return k, pmus, k.core


def attr(**kw) -> uapi.PerfEventAttr:
    """A counting HW_INSTRUCTIONS attr with exclude_kernel=1 unless overridden."""
    base = {"type": uapi.PERF_TYPE_HARDWARE, "config": uapi.PERF_COUNT_HW_INSTRUCTIONS, "exclude_kernel": 1}
    return uapi.PerfEventAttr(**(base | kw))


def snapshot(k: FakeKernel, core: PerfCore) -> tuple:
    """Everything an open() could change, to check that a failed call changed nothing."""
    ctxs = [(c.ctx.nr_events, c.ctx.nr_user, c.ctx.is_active, c.task_ctx) for c in core._cpuctx]
    tasks = [(t.pid, t.perf_ctx, t.perf_ctx and (t.perf_ctx.nr_events, t.perf_ctx.nr_user)) for t in k.tasks]
    return core._next_id, len(core.events), ctxs, tasks, len(k.ipis)
