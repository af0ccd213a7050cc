"""Tasks: a process's identity, address space and file table, and the calls it makes.

Models: ``struct task_struct`` as far as perf sees it (pid, uid, the CPU it runs on, its
affinity, its state, ``perf_event_ctxp`` as ``perf_ctx``), ``struct mm_struct`` (shared by
threads, new on fork and exec, holding the perf mappings), ``struct files_struct`` (fd ->
open file; the lowest free fd is allocated, Kernel: ``alloc_fd``; fds 0-2 are stdio) and
``struct file`` reference counting (a perf event is released, Kernel: ``perf_release``, when
the last fd and the last mapping referring to it are gone).
Every public method is a system call or an instruction executed BY this task ON its CPU: if
the task is not current there, the scheduler first switches it in with every context-switch
hook (see ``Machine.enter``).
Omits: signals other than SIGILL, credentials beyond uid, CLOEXEC, dup(), address ranges (a
mapping is named by its fd), threads killed by exec.
Pinned to: Linux v5.17.
"""

from __future__ import annotations

import errno
import numbers
from dataclasses import dataclass, field
from typing import Any

from pmulab.errors import PerfError

from .sched import BLOCKED, EXITED, RUNNABLE

__all__ = ["Task", "Mm", "OpenFile", "Mapping"]

_EBADF = errno.EBADF
_FIRST_FD = 3


@dataclass(eq=False)
class OpenFile:
    """``struct file`` of a perf event fd; ``refs`` = fds + mappings holding it."""

    event: Any
    refs: int = 0


@dataclass(eq=False)
class Mapping:
    """One mmap() of a perf event fd (``vma`` with ``vm_file``)."""

    file: OpenFile
    page: Any


@dataclass(eq=False)
class Mm:
    """``struct mm_struct``: an address space; ``users`` = live tasks using it."""

    id: int
    users: int = 0
    mappings: list = field(default_factory=list)

    def mapping_of(self, event: Any) -> Mapping | None:
        for mp in reversed(self.mappings):
            if mp.file.event is event:
                return mp
        return None


def _int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    return int(value)


class Task:
    """A task of a Machine; create with ``Machine.spawn``, ``Task.fork`` or ``Task.thread``."""

    def __init__(self, machine: Any, pid: int, uid: int, name: str, cpu: int, mm: Mm, files: dict,
                 affinity: frozenset, workload: Any = None, parent: Task | None = None):
        self._m = machine
        self.pid, self.uid, self.name = pid, uid, name
        self.cpu = cpu
        self.mm = mm
        self.files = files  # {fd: OpenFile}, shared by threads (CLONE_FILES)
        self.affinity = affinity
        self.workload = workload
        self.parent = parent
        self.state = RUNNABLE
        self.perf_ctx = None  # the perf core's task context (perf_event_ctxp)
        self.sigill = 0  # number of SIGILLs delivered

    def __repr__(self) -> str:
        return f"<Task {self.pid} {self.name!r} uid={self.uid} cpu={self.cpu} {self.state}>"

    @property
    def fds(self) -> dict[int, Any]:
        """The fd table as ``{fd: PerfEvent}`` (a copy)."""
        return {fd: f.event for fd, f in sorted(self.files.items())}

    @property
    def running(self) -> bool:
        return self._m.sched.is_running(self)

    # -- fd table (Kernel: alloc_fd / fd_install / close_fd / fput) --------------------------
    def _file(self, fd) -> OpenFile:
        fd = _int("fd", fd)
        f = self.files.get(fd)
        if f is None:
            raise PerfError(_EBADF, f"fd {fd} is not an open perf event fd of task {self.pid}")
        return f

    def _install(self, event: Any) -> int:
        fd = _FIRST_FD
        while fd in self.files:
            fd += 1
        f = OpenFile(event)
        self._get(f)
        self.files[fd] = f
        return fd

    @staticmethod
    def _get(f: OpenFile) -> None:
        f.refs += 1

    def _put(self, f: OpenFile) -> None:
        """Kernel: fput -> perf_release -> perf_event_release_kernel on the last reference."""
        f.refs -= 1
        if f.refs == 0:
            self._m.perf.close(f.event)

    # -- system calls ------------------------------------------------------------------------
    def perf_event_open(self, attr, pid: int = 0, cpu: int = -1, group_fd: int = -1, flags: int = 0) -> int:
        """Kernel: sys_perf_event_open; returns the new fd or raises PerfError."""
        self._m.check_attr(attr)
        pid, cpu, group_fd, flags = (_int(n, v) for n, v in
                                     (("pid", pid), ("cpu", cpu), ("group_fd", group_fd), ("flags", flags)))
        with self._m.enter(self, "perf_event_open", pid=pid, target_cpu=cpu, group_fd=group_fd, flags=flags):
            leader = self._file(group_fd).event if group_fd != -1 else None
            event = self._m.perf.perf_event_open(self, attr, pid, cpu, leader, flags)
            fd = self._install(event)
            self._m.record("open", cpu=self.cpu, task=self, fd=fd, event=event)
            return fd

    def mmap(self, fd: int, pages: int = 1, write: bool = True):
        """Kernel: perf_mmap (in this task, on its CPU); returns the live ``uapi.MmapPage``."""
        pages = _int("pages", pages)
        if not isinstance(write, bool):
            raise TypeError(f"write must be a bool, not {type(write).__name__}")
        with self._m.enter(self, "mmap", fd=fd, pages=pages, write=write):
            f = self._file(fd)
            page = self._m.perf.mmap(self, f.event, pages, write)
            self._get(f)
            self.mm.mappings.append(Mapping(f, page))
            return page

    def munmap(self, fd: int) -> None:
        """Kernel: munmap -> perf_mmap_close (in this task, on its CPU) for the latest mapping of fd."""
        with self._m.enter(self, "munmap", fd=fd):
            f = self._file(fd)
            mp = self.mm.mapping_of(f.event)
            if mp is None:
                raise ValueError(f"fd {fd} has no mapping in task {self.pid}'s address space")
            self._unmap(mp)

    def _unmap(self, mp: Mapping) -> None:
        self._m.perf.munmap(self, mp.file.event)
        self.mm.mappings.remove(mp)
        self._put(mp.file)

    def close(self, fd: int) -> None:
        """Kernel: close_fd -> fput (the event is released when no fd or mapping holds it)."""
        with self._m.enter(self, "close", fd=fd):
            f = self._file(fd)
            del self.files[_int("fd", fd)]
            self._put(f)

    def ioctl(self, fd: int, request: int, arg: int = 0) -> int:
        """Kernel: perf_ioctl; a file-descriptor ``arg`` (SET_OUTPUT) is resolved in this task's table."""
        request = _int("request", request)
        with self._m.enter(self, "ioctl", fd=fd, request=request, arg=arg):
            f = self._file(fd)
            if self._m.ioctl_takes_fd(request) and arg != -1:
                arg = self._file(arg).event
            ret = self._m.perf.ioctl(self, f.event, request, arg)
            return 0 if ret is None else ret

    def poll(self, fd: int) -> int:
        """Kernel: perf_poll with a zero timeout: POLLIN after a ring-buffer wakeup (watermark or
        wakeup_events), POLLHUP once the event exited; 0 otherwise. Reading clears the bits."""
        with self._m.enter(self, "poll", fd=fd):
            return self._m.perf.poll(self, self._file(fd).event)

    def read(self, fd: int, count: int | None = None) -> bytes:
        """Kernel: perf_read; bytes in the event's read_format layout (``count``: the buffer size,
        None = large enough; smaller than the layout -> ENOSPC)."""
        if count is not None:
            count = _int("count", count)
        with self._m.enter(self, "read", fd=fd):
            event = self._file(fd).event
            return self._m.perf.read(self, event, count)

    # -- process life --------------------------------------------------------------------------
    def fork(self, cpu: int | None = None, name: str | None = None) -> Task:
        """Kernel: copy_process (new mm without perf mappings, copied fd table, perf_event_init_task)."""
        with self._m.enter(self, "fork"):
            files = dict(self.files)
            child = self._m.new_task(self, name or self.name, self._m.new_mm(), files, cpu)
            for f in files.values():
                self._get(f)
            return child

    def thread(self, cpu: int | None = None, name: str | None = None) -> Task:
        """Kernel: clone(CLONE_VM | CLONE_FILES | CLONE_THREAD): shares mm and fd table."""
        with self._m.enter(self, "clone"):
            return self._m.new_task(self, name or self.name, self.mm, self.files, cpu)

    def exec(self) -> None:
        """Kernel: begin_new_exec: exec_mmap drops the old mm (perf_mmap_close per mapping), fds are kept,
        then perf_event_exec."""
        with self._m.enter(self, "exec"):
            self._drop_mm()
            self.mm = self._m.new_mm()
            self.mm.users += 1
            self._m.perf.exec(self)

    def _drop_mm(self) -> None:
        """Kernel: mmput -> exit_mmap, unmapping everything when the last user goes."""
        self.mm.users -= 1
        if self.mm.users == 0:
            for mp in list(reversed(self.mm.mappings)):
                self._unmap(mp)

    def exit(self) -> None:
        """Kernel: do_exit: exit_mm, exit_files, perf_event_exit_task, then the final schedule."""
        with self._m.enter(self, "exit"):
            self._drop_mm()
            if not any(t is not self and t.files is self.files and t.state != EXITED for t in self._m.tasks):
                for fd in sorted(self.files):
                    self._put(self.files.pop(fd))
            self._m.perf.exit(self)
        self._m.sched.deschedule(self, EXITED)

    def block(self) -> None:
        """The task goes to sleep (Kernel: __schedule with the task no longer runnable)."""
        with self._m.enter(self, "block"):
            pass
        self._m.sched.deschedule(self, BLOCKED)

    def wake(self) -> None:
        """Kernel: wake_up_process (called by someone else: no switch-in of this task first)."""
        self._m.alive(self)
        self._m.record("wake", cpu=self.cpu, task=self)
        self._m.sched.wake(self)

    def set_affinity(self, cpus) -> None:
        """Kernel: sched_setaffinity."""
        self._m.alive(self)
        self._m.sched.set_affinity(self, cpus)

    # -- instructions ------------------------------------------------------------------------------
    def mrs(self, name: str) -> int:
        """``mrs`` at EL0 on this task's CPU; IllegalInstruction is the task's SIGILL."""
        with self._m.enter(self, "mrs", record=False):
            return self._m.el0_access(self, name, None)

    def msr(self, name: str, value: int) -> None:
        """``msr`` at EL0 on this task's CPU; IllegalInstruction is the task's SIGILL."""
        value = _int("value", value)
        with self._m.enter(self, "msr", record=False):
            self._m.el0_access(self, name, value)

