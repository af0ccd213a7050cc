"""The output ring buffer of an event: record output, its mmap, SET_OUTPUT and poll.

Models (kernel/events/core.c and ring_buffer.c):
- ``perf_output_begin``/``_copy``/``_end`` for one record: output of inherited events goes to
  their parent's buffer, dropped records are counted into PERF_RECORD_LOST; the ``sample_id``
  trailer values of ``__perf_event_header__init_id``;
- ``perf_mmap``'s ring-buffer half (``rb_alloc``, the mlock allowance -> EPERM) and
  ``perf_mmap_close``'s refund; ``perf_event_set_output`` (PERF_EVENT_IOC_SET_OUTPUT: not to
  itself, same CPU, same task for per-task buffers, same clock, same direction, the event not
  mmapped, the target must have a buffer; fd -1 detaches) and ``perf_poll``.
Omits: mmap of an event whose output was redirected (NotModelledError), signals
(``pending_kill``/fasync).
Pinned to: Linux v5.17 kernel/events/core.c and ring_buffer.c.
"""

from __future__ import annotations

import errno
from typing import Any

from pmulab import uapi
from pmulab.errors import NotModelledError, PerfError
from pmulab.perf.api import EventState, PerfEvent
from pmulab.perf.read import primary_event_id
from pmulab.perf.ring_buffer import POLLHUP, RingBuffer, mlock_charge
from pmulab.uapi.records import pack_record

__all__ = ["OutputBufferMixin"]


class OutputBufferMixin:
    """Ring-buffer output, mmap, SET_OUTPUT and poll of ``PerfCore`` (part of SamplingMixin)."""

    # ---------------------------------------------------------------------- output
    @staticmethod
    def output_rb(event: PerfEvent) -> RingBuffer | None:
        """perf_output_begin's choice: an inherited event writes into its parent's buffer."""
        return (event.parent or event).rb

    def _sample_id(self, event: PerfEvent, cpu: int, task: Any) -> dict:
        """Kernel: __perf_event_header__init_id -- the values of the sample_id trailer."""
        tgid, tid = _ids(task)
        return {"pid": tgid, "tid": tid, "time": self.kernel.now(), "id": primary_event_id(event),
                "stream_id": event.id, "cpu": cpu, "res": 0, "identifier": primary_event_id(event)}

    def _emit(self, event: PerfEvent, record: bytes, cpu: int, task: Any) -> bool:
        """perf_output_begin/copy/end for one record of ``event``; False if dropped or no buffer."""
        rb = self.output_rb(event)
        if rb is None:
            return False

        def lost(n: int) -> bytes:
            return pack_record(uapi.PerfRecord.LOST, event.attr, id=primary_event_id(event), lost=n,
                               sample_id=self._sample_id(event, cpu, task))

        return rb.output(record, lost)

    def _side_band(self, event: PerfEvent, rtype: int, cpu: int, task: Any, misc: int = 0, **fields) -> None:
        record = pack_record(rtype, event.attr, misc=misc, sample_id=self._sample_id(event, cpu, task), **fields)
        self._emit(event, record, cpu, task)

    # ------------------------------------------------------------------ mmap / rb
    def mmap(self, caller: Any, event: PerfEvent, pages: int = 1, write: bool = True):
        """Kernel: perf_mmap -- the core's checks, then the ring buffer and its mlock charge."""
        fresh = event.page is None
        charge = None
        if fresh and event.rb is not None and isinstance(pages, int) and pages > 1:
            raise NotModelledError("mmap of an event whose output was redirected with SET_OUTPUT")
        valid = (isinstance(pages, int) and not isinstance(pages, bool) and pages > 1
                 and not (pages - 1) & (pages - 2) and not (event.cpu == -1 and event.attr.inherit))
        uid = getattr(caller, "uid", 0)
        mm = getattr(getattr(caller, "mm", None), "id", None)
        if fresh and valid:
            charge = mlock_charge(nr_pages=pages - 1, user_locked=self._locked_vm.get(uid, 0),
                                  pinned_vm=self._pinned_vm.get(mm, 0),
                                  mlock_kb=self._sysctl("kernel.perf_event_mlock_kb"),
                                  ncpus=self.kernel.ncpus,
                                  paranoid=self.kernel.sysctl("kernel.perf_event_paranoid"),
                                  capable=self.kernel.capable(caller))
        page = super().mmap(caller, event, pages, write)
        if fresh and charge is not None:
            attr = event.attr
            rb = RingBuffer(page, memoryview(self.buffer(event))[uapi.PAGE_SIZE:], writable=write,
                            backward=bool(attr.write_backward),
                            watermark=attr.wakeup_watermark if attr.watermark else 0)
            rb.user, rb.mm, rb.locked = uid, mm, charge
            self._locked_vm[uid] = self._locked_vm.get(uid, 0) + charge[0]
            self._pinned_vm[mm] = self._pinned_vm.get(mm, 0) + charge[1]
            rb.event_list.append(event)
            event.rb = rb
        return page

    def munmap(self, caller: Any, event: PerfEvent) -> None:
        """Kernel: perf_mmap_close -- the last unmap refunds the charge and detaches every event."""
        rb = event.rb if event.page is not None else None
        super().munmap(caller, event)
        if rb is not None and event.mmap_count == 0:
            user_extra, extra = rb.locked
            self._locked_vm[rb.user] = self._locked_vm.get(rb.user, 0) - user_extra
            self._pinned_vm[rb.mm] = self._pinned_vm.get(rb.mm, 0) - extra
            for e in rb.event_list:
                e.rb = None
            rb.event_list.clear()

    def locked_vm(self, uid: int) -> int:
        """Pages charged to ``user->locked_vm`` of ``uid``."""
        return self._locked_vm.get(uid, 0)

    # -------------------------------------------------------------------- ioctl / poll
    def ioctl(self, caller: Any, event: PerfEvent, request: int, arg: Any = 0) -> int:
        """Kernel: _perf_ioctl -- PERF_EVENT_IOC_SET_OUTPUT here, the rest in IoctlMixin."""
        if request == uapi.PERF_EVENT_IOC_SET_OUTPUT:
            if arg == -1 or arg is None:
                return self.perf_event_set_output(event, None)
            if not isinstance(arg, PerfEvent):
                raise TypeError(f"PERF_EVENT_IOC_SET_OUTPUT takes a perf event (or -1), not {type(arg).__name__}")
            return self.perf_event_set_output(event, arg)
        return super().ioctl(caller, event, request, arg)

    def perf_event_set_output(self, event: PerfEvent, output: PerfEvent | None) -> int:
        """Kernel: perf_event_set_output."""
        def refuse(why: str):
            raise PerfError(errno.EINVAL, f"PERF_EVENT_IOC_SET_OUTPUT: {why} (perf_event_set_output)")

        if output is not None:
            if output is event:
                refuse("an event cannot output to itself")
            if output.cpu != event.cpu:
                refuse(f"events on different CPUs ({event.cpu} vs {output.cpu})")
            if output.cpu == -1 and output.hw.target is not event.hw.target:
                refuse("per-task buffers must belong to the same task")
            a, b = event.attr, output.attr
            if (a.use_clockid, a.clockid if a.use_clockid else 0) != (b.use_clockid, b.clockid if b.use_clockid else 0):
                refuse("the events use different clocks")
            if bool(a.write_backward) != bool(b.write_backward):
                refuse("one buffer is written forward, the other backward")
        if event.mmap_count:
            refuse("the event has its own mmap()ed buffer")
        rb = None
        if output is not None:
            rb = output.rb
            if rb is None:
                refuse("the output event has no ring buffer")
        old = event.rb
        if old is not None and event in old.event_list:
            old.event_list.remove(event)
        event.rb = rb
        if rb is not None:
            rb.event_list.append(event)
        return 0

    def poll(self, caller: Any, event: PerfEvent) -> int:
        """Kernel: perf_poll -- POLLHUP once the event exited, else the buffer's pending bits."""
        if event.state == EventState.EXIT and not event.children:
            return POLLHUP
        rb = event.rb
        return rb.take_poll() if rb is not None else 0


def _ids(task: Any) -> tuple[int, int]:
    """(tgid, pid) of a task (0, 0 for idle)."""
    if task is None:
        return 0, 0
    pid = int(getattr(task, "pid", 0))
    return int(getattr(task, "tgid", pid)), pid
