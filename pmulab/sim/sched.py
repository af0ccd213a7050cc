"""The scheduler: per-CPU run queues, round-robin timeslices, affinity, block/wake, migration.

Models: what the perf subsystem can observe of the Linux scheduler. Each CPU has one current
task (or idle) and a FIFO run queue. Every change of the current task is a context switch
(Kernel: ``__schedule`` -> ``context_switch``) that runs, with ``this_cpu`` set to that CPU,
``perf_event_task_sched_out(prev)`` (from ``prepare_task_switch``) then, once the new task is
current, ``perf_event_task_sched_in(next)`` (from ``finish_task_switch``): here the perf
core's ``sched_out(prev, cpu)`` / ``sched_in(next, cpu)``. The idle task has no perf context,
so switching from or to idle calls only the hook of the real task. The trace shows
``perf_sched_out``/``perf_sched_in`` for tasks that have a perf context (the only ones the
hooks act on).

- Tick (Kernel: ``scheduler_tick`` then ``schedule`` on return from the timer interrupt):
  the current task's timeslice shrinks by one tick; when it is used up and another task is
  queued, the current task goes to the tail of the queue (round robin, a stand-in for CFS).
- Wake-up (Kernel: ``try_to_wake_up`` -> ``select_task_rq``): the task's previous CPU if its
  affinity allows, else its first allowed CPU; an idle CPU switches to it at once.
- Fork placement (Kernel: ``wake_up_new_task``, ``find_idlest_cpu``): the least loaded
  allowed CPU (running + queued), ties broken by the parent's CPU first, then CPU number.
- Migration (Kernel: ``migration_cpu_stop`` / ``move_queued_task``): a running task is
  switched out on its old CPU first, then queued on the new one.
Omits: priorities, CFS vruntime, load balancing, wake-up preemption of a busy CPU, the
``perf_event_context`` swap optimisation of ``perf_event_context_sched_out`` (done, if at
all, by the perf core), CPU hotplug.
Pinned to: Linux v5.17.
"""

from __future__ import annotations

from collections import deque
from typing import Any

__all__ = ["Scheduler", "RUNNABLE", "BLOCKED", "EXITED"]

RUNNABLE = "runnable"
BLOCKED = "blocked"
EXITED = "exited"


class Scheduler:
    """Run queues of one Machine.

    ``host`` provides ``on_cpu(cpu)`` (context manager setting this_cpu) and ``record``;
    ``perf`` provides ``sched_out(task, cpu)`` and ``sched_in(task, cpu)`` (the perf core).
    Tasks need ``pid``, ``cpu``, ``affinity`` (frozenset) and ``state``.
    """

    def __init__(self, host: Any, perf: Any, ncpus: int, timeslice: int = 3):
        if isinstance(timeslice, bool) or not isinstance(timeslice, int):
            raise TypeError(f"timeslice must be an int number of ticks, not {type(timeslice).__name__}")
        if timeslice < 1:
            raise ValueError(f"timeslice must be >= 1 tick, got {timeslice}")
        self._host = host
        self.perf = perf
        self.ncpus = ncpus
        self.timeslice = timeslice
        self.curr: list[Any] = [None] * ncpus
        self.rq: list[deque] = [deque() for _ in range(ncpus)]
        self.slice_left = [0] * ncpus
        self.switches = 0

    # -- queries ---------------------------------------------------------------------------
    def current(self, cpu: int) -> Any:
        return self.curr[cpu]

    def queued(self, cpu: int) -> list:
        """The run queue of ``cpu`` (tasks waiting, not the current one), head first."""
        return list(self.rq[cpu])

    def load(self, cpu: int) -> int:
        return (self.curr[cpu] is not None) + len(self.rq[cpu])

    def is_running(self, task: Any) -> bool:
        return task.cpu is not None and self.curr[task.cpu] is task

    # -- the context switch ----------------------------------------------------------------
    def _switch(self, cpu: int, prev: Any, nxt: Any, why: str) -> None:
        """Kernel: context_switch (perf_event_task_sched_out, switch, perf_event_task_sched_in)."""
        host = self._host
        with host.on_cpu(cpu):
            host.record("switch", cpu=cpu, task=nxt, prev=prev, why=why)
            self.switches += 1
            perf = self.perf
            if prev is not None and perf is not None:
                if getattr(prev, "perf_ctx", None) is not None:
                    host.record("perf_sched_out", cpu=cpu, task=prev)
                perf.sched_out(prev, cpu)
            self.curr[cpu] = nxt
            self.slice_left[cpu] = self.timeslice
            if nxt is not None and perf is not None:
                if getattr(nxt, "perf_ctx", None) is not None:
                    host.record("perf_sched_in", cpu=cpu, task=nxt)
                perf.sched_in(nxt, cpu)

    def _pick_next(self, cpu: int) -> Any:
        return self.rq[cpu].popleft() if self.rq[cpu] else None

    def _check_cpu(self, cpu: int) -> None:
        if isinstance(cpu, bool) or not isinstance(cpu, int):
            raise TypeError(f"cpu must be an int, not {type(cpu).__name__}")
        if not 0 <= cpu < self.ncpus:
            raise ValueError(f"cpu {cpu} does not exist (the machine has CPUs 0..{self.ncpus - 1})")

    def _check_allowed(self, task: Any, cpu: int) -> None:
        self._check_cpu(cpu)
        if cpu not in task.affinity:
            raise ValueError(f"task {task.pid} may not run on CPU {cpu} (affinity {sorted(task.affinity)})")

    # -- operations --------------------------------------------------------------------------
    def enqueue(self, task: Any, why: str = "wakeup") -> None:
        """Make a runnable task wait on ``task.cpu``; an idle CPU switches to it at once."""
        cpu = task.cpu
        if self.curr[cpu] is None and not self.rq[cpu]:
            self._switch(cpu, None, task, why)
        else:
            self.rq[cpu].append(task)

    def switch_to(self, cpu: int, task: Any) -> None:
        """Make ``task`` current on ``cpu`` now (migrating it there first if needed).

        The task that was running goes to the tail of the run queue (preempted, still runnable).
        """
        self._check_allowed(task, cpu)
        if task.state != RUNNABLE:
            raise ValueError(f"task {task.pid} is {task.state}; only a runnable task can be switched in")
        if task.cpu != cpu:
            self.migrate(task, cpu)
        if self.curr[cpu] is task:
            return
        self.rq[cpu].remove(task)
        prev = self.curr[cpu]
        if prev is not None:
            self.rq[cpu].append(prev)
        self._switch(cpu, prev, task, "switch_to")

    def tick(self, cpu: int) -> None:
        """Timeslice accounting at a timer tick; round-robin switch when the slice is used up."""
        curr = self.curr[cpu]
        if curr is None:
            if self.rq[cpu]:
                self._switch(cpu, None, self._pick_next(cpu), "tick")
            return
        self.slice_left[cpu] -= 1
        if self.slice_left[cpu] > 0:
            return
        if self.rq[cpu]:
            nxt = self._pick_next(cpu)
            self.rq[cpu].append(curr)
            self._switch(cpu, curr, nxt, "timeslice")
        else:
            self.slice_left[cpu] = self.timeslice

    def deschedule(self, task: Any, state: str) -> None:
        """The current ``task`` stops running on its CPU (blocks or exits): Kernel: __schedule."""
        cpu = task.cpu
        if self.curr[cpu] is not task:
            raise ValueError(f"task {task.pid} is not running on CPU {cpu}")
        task.state = state
        self._switch(cpu, task, self._pick_next(cpu), state)

    def wake(self, task: Any) -> None:
        """Kernel: try_to_wake_up -> select_task_rq -> ttwu_queue."""
        if task.state != BLOCKED:
            raise ValueError(f"task {task.pid} is {task.state}, not blocked")
        if task.cpu not in task.affinity:
            task.cpu = min(task.affinity)
        task.state = RUNNABLE
        self.enqueue(task, "wakeup")

    def migrate(self, task: Any, cpu: int) -> None:
        """Move ``task`` to ``cpu``; a running task is switched out on its old CPU first."""
        self._check_allowed(task, cpu)
        if task.state == EXITED:
            raise ValueError(f"task {task.pid} has exited")
        old = task.cpu
        if old == cpu:
            return
        if self.curr[old] is task:
            self._switch(old, task, self._pick_next(old), "migrate")
        elif task in self.rq[old]:
            self.rq[old].remove(task)
        with self._host.on_cpu(old):
            self._host.record("migrate", cpu=old, task=task, to=cpu)
        task.cpu = cpu
        if task.state == RUNNABLE:
            self.enqueue(task, "migrate")

    def set_affinity(self, task: Any, cpus) -> None:
        """Kernel: sched_setaffinity (a task on a now-forbidden CPU migrates to its first allowed one)."""
        allowed = frozenset(cpus)
        if not allowed:
            raise ValueError("affinity must allow at least one CPU")
        for c in sorted(allowed):
            self._check_cpu(c)
        task.affinity = allowed
        if task.state != EXITED and task.cpu not in allowed:
            self.migrate(task, min(allowed))

    def place_new(self, parent: Any, affinity: frozenset) -> int:
        """Kernel: wake_up_new_task -> select_task_rq(SD_BALANCE_FORK): the idlest allowed CPU."""
        pcpu = parent.cpu if parent is not None else None
        return min(sorted(affinity), key=lambda c: (self.load(c), c != pcpu, c))
