"""perf_event_open(): every check in the kernel's order, then the event goes into its context.

Models: ``sys_perf_event_open`` (flags; ``perf_copy_attr`` via ``pmulab.uapi`` with the v5.17
128-byte struct; ``perf_allow_kernel`` for ``!exclude_kernel``; namespaces; the
sample_freq/sample_period limits; PERF_SAMPLE_PHYS_ADDR; cgroup-mode arguments; group_fd with
FD_NO_GROUP; ``find_lively_task_by_vpid``; inherit must match the leader's),
``perf_event_alloc`` (cpu range, sigtrap needs a task, inherit + PERF_SAMPLE_READ,
``attach_state = PERF_ATTACH_TASK`` and ``hw.target`` set BEFORE the PMU's event_init, the
hw period fields), ``perf_init_event`` (parent's PMU first; HARDWARE/HW_CACHE alias RAW; a
PMU whose ``type`` equals attr.type is asked alone; otherwise every PMU in registration order
until one answers other than -ENOENT), ``find_get_context`` (``perf_allow_cpu`` for CPU-bound
events; the task's hw context), the group checks, ``perf_check_permission`` (capable or
``ptrace_may_access``), ``perf_event_validate_size``, and ``perf_install_in_context``
(``task_function_call``/``cpu_function_call`` of ``__perf_install_in_context``, the local
path for a disabled event or a task that is not running).
Nothing changes when a check fails: unlike the kernel, which attaches a new empty task context
in find_get_context before the later checks, the model creates the context and assigns the
event id only at the point of no return.
Omits: cgroup mode (PERF_FLAG_PID_CGROUP), PERF_FLAG_FD_OUTPUT / SET_OUTPUT, software-event
group moves, aux events, clockid, LSM hooks, CPU hotplug (every CPU is online), exclusive PMUs.
Pinned to: Linux v5.17 kernel/events/core.c; ptrace_may_access reduced to "same uid".
"""

from __future__ import annotations

import errno
from typing import Any

from pmulab import uapi
from pmulab.errors import NotModelledError, PerfError
from pmulab.perf.api import ATTACH_TASK, EventState, PerfEvent
from pmulab.perf.context import (
    EVENT_TIME,
    TOMBSTONE,
    PerfEventContext,
    effective_state,
    event_type_of,
    group_attach,
    list_add_event,
)

__all__ = ["OpenMixin", "KERNEL_ATTR_SIZE"]

#: sizeof(struct perf_event_attr) of the modelled v5.17 kernel (PERF_ATTR_SIZE_VER7).
KERNEL_ATTR_SIZE = uapi.PERF_ATTR_SIZE_VER7
_MAX_READ_BYTES = 16 * 1024  # perf_event_validate_size: read_size + headers < 16 KiB


def _err(code: int, check: str) -> PerfError:
    return PerfError(code, check)


class OpenMixin:
    """The perf_event_open() half of ``PerfCore``."""

    # ------------------------------------------------------------------ permissions
    def _paranoid(self) -> int:
        return self.kernel.sysctl("kernel.perf_event_paranoid")

    def perf_allow_kernel(self, caller: Any, why: str) -> None:
        """Kernel: perf_allow_kernel -- paranoid > 1 and not perfmon_capable -> EACCES."""
        if self._paranoid() > 1 and not self.kernel.capable(caller):
            raise _err(errno.EACCES, f"{why}: perf_event_paranoid={self._paranoid()} > 1 and the caller "
                                     "is not perfmon_capable (perf_allow_kernel)")

    def perf_allow_cpu(self, caller: Any) -> None:
        """Kernel: perf_allow_cpu -- paranoid > 0 and not perfmon_capable -> EACCES."""
        if self._paranoid() > 0 and not self.kernel.capable(caller):
            raise _err(errno.EACCES, f"CPU-bound event: perf_event_paranoid={self._paranoid()} > 0 and the "
                                     "caller is not perfmon_capable (perf_allow_cpu)")

    def ptrace_may_access(self, caller: Any, task: Any) -> bool:
        """Kernel: ptrace_may_access(PTRACE_MODE_READ_REALCREDS), reduced to self or same uid."""
        return task is caller or getattr(task, "uid", None) == getattr(caller, "uid", object())

    # ------------------------------------------------------------------------ attr
    @staticmethod
    def _copy_attr(attr: Any):
        """Kernel: perf_copy_attr (the v5.17 struct size); E2BIG writes the kernel's size back."""
        if isinstance(attr, uapi.PerfEventAttr):
            data = attr.to_bytes()
        elif isinstance(attr, (bytes, bytearray, memoryview)):
            data = attr
        else:
            raise TypeError(f"attr must be a pmulab.uapi.PerfEventAttr or bytes, not {type(attr).__name__}")
        try:
            return uapi.perf_copy_attr(data, kernel_size=KERNEL_ATTR_SIZE)
        except PerfError as exc:
            if exc.errno == errno.E2BIG and isinstance(attr, uapi.PerfEventAttr):
                attr.size = KERNEL_ATTR_SIZE  # put_user(sizeof(*attr), &uattr->size)
            raise

    # --------------------------------------------------------------------- the syscall
    def perf_event_open(self, caller: Any, attr: Any, pid: int = 0, cpu: int = -1,
                        group_fd: PerfEvent | None = None, flags: int = 0) -> PerfEvent:
        """Kernel: sys_perf_event_open, run by ``caller`` on its CPU.

        ``group_fd`` is the leader's PerfEvent (the machine resolves the fd; EBADF is its
        check) or None for -1. Returns the installed event; raises PerfError with the kernel's
        errno and the check's name, changing nothing.
        """
        if group_fd is not None and not isinstance(group_fd, PerfEvent):
            raise TypeError(f"group_fd must be the leader PerfEvent or None, not {type(group_fd).__name__}")
        if flags & ~uapi.PERF_FLAG_ALL:
            raise _err(errno.EINVAL, f"flags {flags:#x} has bits outside PERF_FLAG_ALL ({uapi.PERF_FLAG_ALL:#x})")
        attr = self._copy_attr(attr)
        if not attr.exclude_kernel:
            self.perf_allow_kernel(caller, "attr.exclude_kernel=0")
        if attr.namespaces and not self.kernel.capable(caller):
            raise _err(errno.EACCES, "attr.namespaces needs perfmon_capable")
        if attr.freq:
            rate = self.kernel.sysctl("kernel.perf_event_max_sample_rate")
            if attr.sample_freq > rate:
                raise _err(errno.EINVAL, f"attr.sample_freq {attr.sample_freq} > "
                                         f"kernel.perf_event_max_sample_rate {rate}")
        elif attr.sample_period & (1 << 63):
            raise _err(errno.EINVAL, f"attr.sample_period {attr.sample_period:#x} has bit 63 set (>= 2^63)")
        if attr.sample_type & uapi.PERF_SAMPLE_PHYS_ADDR:
            self.perf_allow_kernel(caller, "PERF_SAMPLE_PHYS_ADDR")
        if flags & uapi.PERF_FLAG_PID_CGROUP:
            if pid == -1 or cpu == -1:
                raise _err(errno.EINVAL, "PERF_FLAG_PID_CGROUP needs a cgroup fd in pid and a CPU")
            raise NotModelledError("PERF_FLAG_PID_CGROUP: cgroup events are not modelled")
        leader = group_fd
        if leader is not None and flags & uapi.PERF_FLAG_FD_OUTPUT:
            raise NotModelledError("PERF_FLAG_FD_OUTPUT (output redirection) is not modelled")
        if flags & uapi.PERF_FLAG_FD_NO_GROUP:
            leader = None
        task = None
        if pid != -1:
            task = caller if pid == 0 else self.kernel.find_task(pid)
            if task is None:
                raise _err(errno.ESRCH, f"no task with pid {pid} (find_lively_task_by_vpid)")
        if task is not None and leader is not None and leader.attr.inherit != attr.inherit:
            raise _err(errno.EINVAL, "attr.inherit differs from the group leader's")
        event = self.perf_event_alloc(attr, cpu, task, leader, caller)
        ctx = self._find_context(caller, task, event)
        if leader is not None:
            self._check_group(leader, event, ctx, task, attr)
        if task is not None and task is not caller and not self.kernel.capable(caller) \
                and not self.ptrace_may_access(caller, task):
            raise _err(errno.EACCES, f"task {getattr(task, 'pid', task)} is not the caller's and the caller "
                                     "may not ptrace it (perf_check_permission)")
        self._validate_size(event, leader)
        # ---- point of no return ----
        if ctx is None:
            ctx = PerfEventContext(pmu=event.pmu, task=task)
            task.perf_ctx = ctx
        self._next_id += 1
        event.id = self._next_id
        event.owner = caller
        self._events.append(event)
        self.perf_install_in_context(ctx, event, event.cpu)
        return event

    def perf_event_alloc(self, attr: Any, cpu: int, task: Any, leader: PerfEvent | None, owner: Any,
                         parent: PerfEvent | None = None) -> PerfEvent:
        """Kernel: perf_event_alloc -- a new event, initialised by the first PMU that takes it."""
        if not 0 <= cpu < self.kernel.ncpus and (task is None or cpu != -1):
            what = "pid=-1 and cpu=-1 (an event needs a task or a CPU)" if cpu == -1 and task is None \
                else f"cpu {cpu} is not a possible CPU (0..{self.kernel.ncpus - 1})"
            raise _err(errno.EINVAL, what)
        if attr.sigtrap and task is None:
            raise _err(errno.EINVAL, "attr.sigtrap needs a task-bound event")
        event = PerfEvent(id=0, attr=attr, pmu=None, owner=owner, target=task, cpu=cpu, parent=parent)
        event.group_leader = leader if leader is not None else event
        event.state = EventState.OFF if attr.disabled else EventState.INACTIVE
        if task is not None:
            event.attach_state = ATTACH_TASK
            event.hw.target = task
        period = attr.sample_period
        if attr.freq and attr.sample_freq:
            period = 1
        event.hw.sample_period = event.hw.last_period = event.hw.period_left = period
        if attr.inherit and attr.sample_type & uapi.PERF_SAMPLE_READ:
            raise _err(errno.EINVAL, "attr.inherit with PERF_SAMPLE_READ is not supported")
        self.perf_init_event(event)
        return event

    def _pmu_by_type(self, type_: int):
        for pmu in self.pmus:
            if pmu.type == type_:
                return pmu
        return None

    @staticmethod
    def _try_init(pmu, event: PerfEvent) -> PerfError | None:
        """Kernel: perf_try_init_event."""
        event.pmu = pmu
        try:
            pmu.event_init(event)
        except PerfError as exc:
            event.pmu = None
            return exc
        return None

    def perf_init_event(self, event: PerfEvent) -> None:
        """Kernel: perf_init_event -- pick the PMU (see the module docstring); raise its error."""
        if event.parent is not None and event.parent.pmu is not None:
            if self._try_init(event.parent.pmu, event) is None:
                return
        want = event.attr.type
        type_ = uapi.PERF_TYPE_RAW if want in (uapi.PERF_TYPE_HARDWARE, uapi.PERF_TYPE_HW_CACHE) else want
        while True:
            pmu = self._pmu_by_type(type_)
            if pmu is None:
                break
            exc = self._try_init(pmu, event)
            if exc is None:
                return
            if exc.errno == errno.ENOENT and type_ != want:
                type_ = want
                continue
            raise exc
        for pmu in self.pmus:
            exc = self._try_init(pmu, event)
            if exc is None:
                return
            if exc.errno != errno.ENOENT:
                raise exc
        raise _err(errno.ENOENT, f"no PMU accepts attr.type={want} config={event.attr.config:#x} (perf_init_event)")

    def _find_context(self, caller: Any, task: Any, event: PerfEvent) -> PerfEventContext | None:
        """Kernel: find_get_context -- the CPU's context, or the task's (None: to be created)."""
        if task is None:
            self.perf_allow_cpu(caller)
            return self._cpuctx[event.cpu].ctx
        if any(t is task for t in self._exited):
            raise _err(errno.ESRCH, f"task {getattr(task, 'pid', task)} is exiting (PF_EXITING)")
        ctx = getattr(task, "perf_ctx", None)
        if ctx is not None and ctx.task is TOMBSTONE:
            raise _err(errno.ESRCH, "the task's context is dead (TASK_TOMBSTONE)")
        return ctx

    @staticmethod
    def _check_group(leader: PerfEvent, event: PerfEvent, ctx, task: Any, attr: Any) -> None:
        """Kernel: the group_leader checks of sys_perf_event_open."""
        if leader.group_leader is not leader:
            raise _err(errno.EINVAL, "group_fd is itself a sibling (no nested groups)")
        if leader.cpu != event.cpu:
            raise _err(errno.EINVAL, f"group leader is on cpu {leader.cpu}, the new event on cpu {event.cpu}")
        if leader.ctx is None or leader.ctx.task is not task:
            raise _err(errno.EINVAL, "group leader and the new event are not bound to the same task/CPU")
        if leader.ctx is not ctx:
            raise _err(errno.EINVAL, "group leader lives in another context")
        if attr.exclusive or attr.pinned:
            raise _err(errno.EINVAL, "only a group leader can be exclusive or pinned")

    @staticmethod
    def _validate_size(event: PerfEvent, leader: PerfEvent | None) -> None:
        """Kernel: perf_event_validate_size -- the group's read() must fit in 16 KiB."""
        head = leader or event
        nr = 1 + len(head.siblings) + (leader is not None)
        if uapi.read_size(event.attr.read_format, nr) + 8 >= _MAX_READ_BYTES:
            raise _err(errno.E2BIG, f"a read() of this {nr}-member group would exceed 16 KiB")

    # ------------------------------------------------------------------------ install
    def add_event_to_ctx(self, event: PerfEvent, ctx: PerfEventContext) -> None:
        """Kernel: add_event_to_ctx -- list_add_event + perf_group_attach."""
        list_add_event(event, ctx, self.kernel.now())
        group_attach(event)

    def _install_here(self, event: PerfEvent) -> int:
        """Kernel: __perf_install_in_context (in the IPI on the target CPU)."""
        ctx = event.ctx
        cpuctx = self._cpuctx[self.kernel.this_cpu()]
        task_ctx = cpuctx.task_ctx
        reprogram = True
        if ctx.task is not None:
            task_ctx = ctx
            reprogram = ctx.task is self.kernel.current(self.kernel.this_cpu())
            if not reprogram and self.task_curr(ctx.task):
                return -errno.ESRCH
        if reprogram:
            self.ctx_sched_out(ctx, cpuctx, EVENT_TIME)
            self.add_event_to_ctx(event, ctx)
            self.ctx_resched(cpuctx, task_ctx, event_type_of(event))
        else:
            self.add_event_to_ctx(event, ctx)
        return 0

    def perf_install_in_context(self, ctx: PerfEventContext, event: PerfEvent, cpu: int) -> None:
        """Kernel: perf_install_in_context."""
        event.ctx = ctx
        if effective_state(event) == EventState.OFF and ctx.nr_events:
            if ctx.task is not TOMBSTONE:
                self.add_event_to_ctx(event, ctx)
            return
        if ctx.task is None:
            self.cpu_function_call(cpu, lambda: self._install_here(event))
            return
        task = ctx.task
        while True:
            if not self.task_function_call(task, lambda: self._install_here(event)):
                return
            self._race("perf_install_in_context", task, self.kernel.task_cpu(task))
            task = ctx.task
            if task is TOMBSTONE:
                return
            if self.task_curr(task):
                continue
            self.add_event_to_ctx(event, ctx)
            return
