"""mmap()/munmap() of a perf event and the user page's seqlock writer.

Models: ``perf_mmap`` (no mmap of an inherited task event; the size must be 1 + 2^n pages;
a second mapping must match the first's size; the first one creates the buffer, runs
``perf_event_init_userpage`` and ``perf_event_update_userpage``; ``mmap_count++``; then
``pmu->event_mapped(event, vma->vm_mm)`` -- in the CALLER's context, on the caller's CPU,
which is Mark Rutland's point 2), ``perf_mmap_close`` (``pmu->event_unmapped`` first, then
``mmap_count--``; the last unmap detaches the buffer), and ``perf_event_update_userpage``
(spec §3.7): ``lock++``, ``index`` from ``perf_event_index`` (0 unless ACTIVE and not
PERF_HES_STOPPED, else ``pmu.event_idx``), ``offset = count`` and, when index != 0,
``- prev_count`` (mod 2^64, stored as the s64 the ABI declares), ``time_enabled``/
``time_running`` including children, ``pmu.arch_update_userpage(event, page, now)``,
``lock++`` -- so the lock is even whenever the update is over.
The times published are ``calc_timer_values``': the event's times extrapolated to now while its
context clock runs (the kernel uses ``shadow_ctx_time`` for the same purpose).
Omits: the ring-buffer data area beyond its size fields (sampling records are another
module's), RLIMIT_MEMLOCK / perf_event_mlock_kb accounting (-EPERM), VM_SHARED checks,
AUX areas, ``event_mapped`` on a failed mmap (late-2024 rule: only on success, which the model
follows because nothing may change on error).
Pinned to: Linux v5.17 kernel/events/core.c and ring_buffer.c.
"""

from __future__ import annotations

import errno
from typing import Any

from pmulab import uapi
from pmulab.errors import PerfError
from pmulab.perf.api import HES, EventState, PerfEvent
from pmulab.perf.context import ctx_time, event_times, update_event_time
from pmulab.perf.read import perf_event_count

__all__ = ["MmapMixin"]

_MASK64 = (1 << 64) - 1
_MASK32 = (1 << 32) - 1
_STOPPED = int(HES.STOPPED)


def _s64(value: int) -> int:
    value &= _MASK64
    return value - (1 << 64) if value >> 63 else value


class MmapMixin:
    """mmap() half of ``PerfCore`` (``self._pages`` maps event id -> buffer pages)."""

    def perf_event_index(self, event: PerfEvent) -> int:
        """Kernel: perf_event_index -- 0 unless ACTIVE on a counter and not stopped."""
        if int(event.hw.state) & _STOPPED or event.state != EventState.ACTIVE:
            return 0
        return event.pmu.event_idx(event)

    def calc_timer_values(self, event: PerfEvent) -> tuple[int, int, int]:
        """Kernel: calc_timer_values -- (now, enabled, running) of the event at this instant."""
        now = self.kernel.now()
        enabled, running = event_times(event, ctx_time(event.ctx, now))
        return now, enabled, running

    def update_userpage(self, event: PerfEvent) -> None:
        """Kernel: perf_event_update_userpage -- the seqlock writer (no-op without a mapping)."""
        page = event.page
        if page is None:
            return
        now, enabled, running = self.calc_timer_values(event)
        page.lock = (page.lock + 1) & _MASK32
        index = self.perf_event_index(event)
        page.index = index
        offset = perf_event_count(event)
        if index:
            offset -= event.hw.prev_count
        page.offset = _s64(offset)
        page.time_enabled = (enabled + event.child_total_time_enabled) & _MASK64
        page.time_running = (running + event.child_total_time_running) & _MASK64
        event.pmu.arch_update_userpage(event, page, now)
        page.lock = (page.lock + 1) & _MASK32

    @staticmethod
    def init_userpage(page, data_pages: int) -> None:
        """Kernel: perf_event_init_userpage."""
        page.cap_bit0_is_deprecated = 1
        page.size = uapi.MMAP_PAGE_HEADER_SIZE
        page.data_offset = uapi.PAGE_SIZE
        page.data_size = data_pages * uapi.PAGE_SIZE

    def mmap(self, caller: Any, event: PerfEvent, pages: int = 1, write: bool = True):
        """Kernel: perf_mmap, run by ``caller`` on its CPU; returns the live ``uapi.MmapPage``."""
        if isinstance(pages, bool) or not isinstance(pages, int):
            raise TypeError(f"pages must be an int, not {type(pages).__name__}")
        if event.cpu == -1 and event.attr.inherit:
            raise PerfError(errno.EINVAL, "mmap of an inherited per-task event (attr.inherit with cpu=-1)")
        nr_pages = pages - 1
        if pages < 1 or (nr_pages and nr_pages & (nr_pages - 1)):
            raise PerfError(errno.EINVAL, f"mmap of {pages} pages: must be 1 + 2^n (perf_mmap)")
        if event.page is not None:
            have = self._buffers[event.id][0]
            if have != nr_pages:
                raise PerfError(errno.EINVAL, f"event already mapped with {have} data pages, not {nr_pages}")
        else:
            buf = bytearray(uapi.PAGE_SIZE * pages)
            page = uapi.MmapPage.from_buffer(buf)
            self._buffers[event.id] = (nr_pages, buf, bool(write))
            event.page = page
            self.perf_event_read_times(event)
            self.init_userpage(page, nr_pages)
            self.update_userpage(event)
        event.mmap_count += 1
        event.pmu.event_mapped(event, getattr(caller, "mm", None))
        return event.page

    def perf_event_read_times(self, event: PerfEvent) -> None:
        """Kernel: perf_event_update_time (as perf_mmap does before the first publish)."""
        if event.ctx is not None:
            update_event_time(event, self.kernel.now())

    def munmap(self, caller: Any, event: PerfEvent) -> None:
        """Kernel: perf_mmap_close, run by ``caller`` on its CPU: event_unmapped, then mmap_count--."""
        if event.mmap_count <= 0:
            raise PerfError(errno.EINVAL, f"event {event.id} has no mapping to unmap")
        event.pmu.event_unmapped(event, getattr(caller, "mm", None))
        event.mmap_count -= 1
        if event.mmap_count == 0:
            event.page = None  # ring_buffer_attach(event, NULL)
            self._buffers.pop(event.id, None)

    def buffer(self, event: PerfEvent) -> bytearray | None:
        """The whole mapping (user page + data area) of ``event``, or None."""
        entry = self._buffers.get(event.id)
        return entry[1] if entry else None
