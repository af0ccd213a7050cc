"""The host kernel's real perf events, opened and mapped through pmulab's ABI declarations.

Models: what a self-monitoring program does on the machine running the notebook:
``perf_event_open(2)`` (raw ``syscall`` through ctypes, attr bytes from
``PerfEventAttr.to_bytes()``), ``mmap(2)`` of the first page, the page read as
``uapi.MmapPage`` and with the same read loop as the model (``ReadLoop``), and ``read(2)``
decoded with ``uapi.parse_read``. A host that refuses the system call (``EACCES``/``EPERM``
under ``kernel.perf_event_paranoid``, ``ENOENT``/``EOPNOTSUPP`` without a PMU, ``ENOSYS``
under seccomp) gives a result with ``ok=False`` and a ``reason`` naming the errno and the
sysctl, never an exception.
Omits: executing the host's counter-read instruction (``rdpmc``/``mrs``) from Python: when the
host page names a counter (``index != 0``) the loop stops before its ``mrs`` step and says so.
Pinned to: perf_event_open(2), include/uapi/linux/perf_event.h (user page), syscall numbers
of the arch tables (x86_64 298, arm64/riscv64 241).
"""

from __future__ import annotations

import ctypes
import errno as _errno
import gc
import mmap
import os
import platform
from dataclasses import dataclass, field
from typing import Any

from pmulab.uapi import MmapPage, PerfEventAttr, parse_read, read_size
from pmulab.uapi import constants as k
from pmulab.user.read_self import ReadLoop

__all__ = ["SYSCALL_NR", "REFUSED", "HostEvent", "HostRead", "open_host_event", "busy_loop", "paranoid",
           "perf_event_open"]

#: __NR_perf_event_open per ``platform.machine()`` (arch syscall tables).
SYSCALL_NR = {"x86_64": 298, "aarch64": 241, "arm64": 241, "riscv64": 241, "i686": 336, "armv7l": 364,
              "ppc64le": 319, "s390x": 331}

#: The events tried by default, in order: the model's own kind (instructions, user only), then
#: the software clock every Linux has.
DEFAULT_EVENTS = (("instructions", k.PERF_TYPE_HARDWARE, k.PERF_COUNT_HW_INSTRUCTIONS),
                  ("task-clock", k.PERF_TYPE_SOFTWARE, k.PERF_COUNT_SW_TASK_CLOCK))
READ_FORMAT = k.PERF_FORMAT_TOTAL_TIME_ENABLED | k.PERF_FORMAT_TOTAL_TIME_RUNNING | k.PERF_FORMAT_ID


def paranoid() -> str:
    """``kernel.perf_event_paranoid`` as the host reports it (text), or why it cannot be read."""
    try:
        with open("/proc/sys/kernel/perf_event_paranoid") as f:
            return f.read().strip()
    except OSError as e:
        return f"unreadable ({e.strerror})"


#: errnos with which a host refuses perf_event_open for want of permission or of a PMU/syscall.
REFUSED = (_errno.EACCES, _errno.EPERM, _errno.ENOSYS, _errno.ENOENT, _errno.EOPNOTSUPP)


def perf_event_open(attr, pid: int = 0, cpu: int = -1, group_fd: int = -1,
                    flags: int = k.PERF_FLAG_FD_CLOEXEC) -> tuple[int, int]:
    """The host's perf_event_open(2) through ``syscall(2)``: returns ``(fd, errno)``.

    ``attr`` is the attr's bytes, or a writable ctypes buffer (the kernel writes its own
    ``size`` back into it on E2BIG). ``(-1, ENOSYS)`` where the syscall number is unknown.
    """
    nr = SYSCALL_NR.get(platform.machine())
    if nr is None:
        return -1, _errno.ENOSYS
    buf = ctypes.create_string_buffer(attr, len(attr)) if isinstance(attr, bytes) else attr
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    ctypes.set_errno(0)
    fd = libc.syscall(ctypes.c_long(nr), buf, ctypes.c_int(pid), ctypes.c_int(cpu), ctypes.c_int(group_fd),
                      ctypes.c_ulong(flags))
    return int(fd), ctypes.get_errno()


@dataclass(frozen=True)
class HostRead:
    """One self-monitoring read of a host event: the loop's ``result`` (None = use read()),
    its ``reason``, the page's ``lock`` and ``time_enabled`` as the loop saw them, and what
    read(2) returned (``value``, ``time_enabled``, ``time_running``)."""

    result: int | None
    reason: str
    steps: tuple[str, ...]
    lock: int
    page_time_enabled: int
    value: int
    time_enabled: int
    time_running: int


class _NoMrs:
    """The reading task on the host: pmulab cannot execute the host's counter instruction."""

    def mrs(self, name: str) -> int:
        raise RuntimeError(f"pmulab does not execute {name} on the host")


@dataclass(eq=False)
class HostEvent:
    """A host perf event (or the reason there is none). ``ok`` says which; close() when done."""

    ok: bool
    reason: str
    name: str = ""
    attr: PerfEventAttr | None = None
    fd: int = -1
    page: MmapPage | None = None
    tried: list = field(default_factory=list)  # (event name, errno name) of each refusal
    _map: Any = field(default=None, repr=False)

    def read(self) -> Any:
        """read(2) of the fd decoded by ``uapi.parse_read`` (value, id, time_enabled, time_running)."""
        self._need()
        return parse_read(os.read(self.fd, read_size(READ_FORMAT)), READ_FORMAT)

    def read_self(self) -> HostRead:
        """The model's read loop on the real page, stopping before an ``mrs`` it cannot execute."""
        self._need()
        loop = ReadLoop(_NoMrs(), self.page, clock=None)
        while not loop.done and loop.next_step != "mrs":
            loop.step()
        reason = loop.reason if loop.done else (f"index {self.page.index} names a host counter; pmulab cannot "
                                                "execute rdpmc/mrs here: fall back to read()")
        r = self.read()
        seen = {s.name: s.values for s in loop.history}
        return HostRead(loop.result if loop.done else None, reason, tuple(s.name for s in loop.history),
                        seen["lock"]["lock"], seen["times"]["time_enabled"], r.value, r.time_enabled, r.time_running)

    def sample(self, reads: int, loop: int) -> list[HostRead]:
        """``reads`` self-monitoring reads, each after ``busy_loop(loop)`` of user work."""
        out = []
        for _ in range(reads):
            busy_loop(loop)
            out.append(self.read_self())
        return out

    def close(self) -> None:
        """Unmap the page and close the fd (idempotent)."""
        self.page = None
        if self._map is not None:
            gc.collect()  # ctypes views of the mapping must be gone before it can close
            try:
                self._map.close()
            except BufferError:
                pass  # a view is still alive somewhere; the mapping goes with the process
            self._map = None
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def _need(self) -> None:
        if not self.ok or self.page is None:
            raise ValueError(f"no host event: {self.reason}")

    def __enter__(self) -> HostEvent:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_host_event(events=DEFAULT_EVENTS) -> HostEvent:
    """Open the first of ``events`` (``(name, type, config)``, user-only) the host accepts, map its page.

    Returns a ``HostEvent`` with ``ok=True``, the fd and the live ``MmapPage``; or ``ok=False``
    and a ``reason`` naming each errno (``tried``) and ``kernel.perf_event_paranoid``.
    """
    tried = []
    for name, type_, config in events:
        attr = PerfEventAttr(type=type_, config=config, exclude_kernel=1, exclude_hv=1, read_format=READ_FORMAT)
        fd, err = perf_event_open(attr.to_bytes())
        if fd < 0:
            tried.append((name, _errno.errorcode.get(err, str(err))))
            continue
        try:
            m = mmap.mmap(fd, mmap.PAGESIZE, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        except OSError as e:
            os.close(fd)
            tried.append((name, _errno.errorcode.get(e.errno, str(e.errno))))
            continue
        why = f"opened {name} (tried: {', '.join(f'{n}: {e}' for n, e in tried)})" if tried else f"opened {name}"
        return HostEvent(True, why, name, attr, fd, MmapPage.from_buffer(m), tried, m)
    refusals = ", ".join(f"{n}: {e}" for n, e in tried)
    return HostEvent(False, f"the host refused perf_event_open ({refusals}; kernel.perf_event_paranoid="
                            f"{paranoid()}, machine {platform.machine()})", tried=tried)


def busy_loop(n: int) -> int:
    """User work of ``n`` iterations (integer arithmetic); returns the sum so it is not optimised away."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"busy_loop needs an int >= 0, got {n!r}")
    total = 0
    for i in range(n):
        total += i * i & 0xFF
    return total
