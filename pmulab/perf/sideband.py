"""Side-band records: COMM, FORK, EXIT, SWITCH and SWITCH_CPU_WIDE.

Models (kernel/events/core.c): the side-band records through ``perf_iterate_sb`` (the events of
this CPU's context and of the current task's): PERF_RECORD_COMM at exec (``perf_event_comm``,
``attr.comm``, MISC_COMM_EXEC), PERF_RECORD_FORK (``perf_event_fork``,
``perf_event_task_match``: comm/mmap/mmap2/mmap_data/task), PERF_RECORD_EXIT
(``perf_event_exit_task``: the exiting task's own context first, then the CPU context),
PERF_RECORD_SWITCH / SWITCH_CPU_WIDE (``perf_event_switch``, ``attr.context_switch``,
MISC_SWITCH_OUT and MISC_SWITCH_OUT_PREEMPT), each with the ``sample_id`` trailer
(``__perf_event_header__init_id``) under ``attr.sample_id_all``. PERF_RECORD_LOST is written by
``output_buffer``, THROTTLE/UNTHROTTLE by ``throttle``.
Omits: MMAP/MMAP2/NAMESPACES/KSYMBOL records.
Pinned to: Linux v5.17 kernel/events/core.c.
"""

from __future__ import annotations

from typing import Any

from pmulab import uapi
from pmulab.perf.api import EventState, PerfEvent
from pmulab.perf.output_buffer import _ids

__all__ = ["SideBandMixin"]


class SideBandMixin:
    """Side-band records of ``PerfCore`` (part of SamplingMixin)."""

    def _iterate_sb(self, cpu: int, task: Any, match) -> list[PerfEvent]:
        """Kernel: perf_iterate_sb -- this CPU's context, then the task context given."""
        out = []
        ctxs = [self.cpu_ctx(cpu).ctx]
        task_ctx = getattr(task, "perf_ctx", None) if task is not None else None
        if task_ctx is not None:
            ctxs.append(task_ctx)
        for ctx in ctxs:
            for event in ctx.event_list:
                if event.state < EventState.INACTIVE or event.cpu not in (-1, cpu):
                    continue
                if match(event.attr):
                    out.append(event)
        return out

    def _task_record(self, task: Any, parent: Any, rtype: int, cpu: int, events: list) -> None:
        tgid, tid = _ids(task)
        ptgid, ptid = _ids(parent)
        for event in events:
            self._side_band(event, rtype, cpu, self.kernel.current(cpu), pid=tgid, ppid=ptgid, tid=tid,
                            ptid=ptid, time=self.kernel.now())

    def fork(self, parent: Any, child: Any) -> None:
        """perf_event_init_task, then perf_event_fork -> PERF_RECORD_FORK to the parent's events."""
        super().fork(parent, child)
        cpu = self.kernel.this_cpu()
        self._task_record(child, parent, uapi.PerfRecord.FORK, cpu,
                          self._iterate_sb(cpu, parent, _task_match))

    def exit(self, task: Any) -> None:
        """perf_event_exit_task: EXIT to the task's own events, teardown, then to the CPU's."""
        cpu = self.kernel.this_cpu()
        parent = getattr(task, "parent", None)
        own = [e for e in self._iterate_sb(cpu, task, _task_match) if e.ctx is getattr(task, "perf_ctx", None)]
        self._task_record(task, parent, uapi.PerfRecord.EXIT, cpu, own)
        super().exit(task)
        self._task_record(task, parent, uapi.PerfRecord.EXIT, cpu, self._iterate_sb(cpu, None, _task_match))

    def exec(self, task: Any) -> None:
        """perf_event_exec, then perf_event_comm(task, exec=true) -> PERF_RECORD_COMM."""
        super().exec(task)
        cpu = self.kernel.this_cpu()
        tgid, tid = _ids(task)
        for event in self._iterate_sb(cpu, task, lambda a: a.comm):
            self._side_band(event, uapi.PerfRecord.COMM, cpu, task, misc=uapi.PERF_RECORD_MISC_COMM_EXEC,
                            pid=tgid, tid=tid, comm=str(getattr(task, "name", ""))[:15])

    def _switch(self, task: Any, other: Any, cpu: int, out: bool) -> None:
        """Kernel: perf_event_switch -> perf_event_switch_output."""
        misc = 0
        if out:
            misc = uapi.PERF_RECORD_MISC_SWITCH_OUT
            if getattr(task, "state", None) == "runnable":
                misc |= uapi.PERF_RECORD_MISC_SWITCH_OUT_PREEMPT
        for event in self._iterate_sb(cpu, task, lambda a: a.context_switch):
            if event.ctx.task is not None:
                self._side_band(event, uapi.PerfRecord.SWITCH, cpu, task, misc=misc)
            else:
                pid, tid = _ids(other)
                self._side_band(event, uapi.PerfRecord.SWITCH_CPU_WIDE, cpu, task, misc=misc,
                                next_prev_pid=pid, next_prev_tid=tid)

    def sched_out(self, prev: Any, cpu: int) -> None:
        """__perf_event_task_sched_out: SWITCH out records (prev's events), then the switch."""
        self._switch_prev[cpu] = prev
        self._switch(prev, self.kernel.current(cpu) if self.kernel.current(cpu) is not prev else None, cpu, True)
        super().sched_out(prev, cpu)

    def sched_in(self, task: Any, cpu: int) -> None:
        """__perf_event_task_sched_in: the switch, then SWITCH in records (the new task's events)."""
        super().sched_in(task, cpu)
        self._switch(task, self._switch_prev[cpu], cpu, False)


def _task_match(attr) -> bool:
    """Kernel: perf_event_task_match."""
    return bool(attr.comm or attr.mmap or attr.mmap2 or attr.mmap_data or attr.task)
