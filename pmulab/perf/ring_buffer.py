"""The ring buffer in a perf mapping's data pages: the kernel's writer side.

Models: kernel/events/ring_buffer.c -- ``struct perf_buffer`` for one mapping of 1 + 2^n pages
(``rb_alloc``: ``data_size`` = 2^n pages, ``watermark`` = half the data area unless
``attr.watermark`` gives ``wakeup_watermark``, ``overwrite`` = the mapping is not PROT_WRITE);
``perf_output_begin`` (reserve ``size`` bytes at the free-running ``head``: in a writable buffer
only when ``ring_buffer_has_space`` -- the CIRC_SPACE of head and the user's ``data_tail``, which
always leaves one byte free -- else the record is dropped and ``rb->lost`` counted; when
records were lost earlier, a PERF_RECORD_LOST with their number is reserved in front of the
next record that fits; with ``write_backward`` the head moves down and each record is laid
at the new head); ``perf_output_copy`` (the bytes go in modulo ``data_size``, so a record may
wrap around the end of the area but is never torn: it is either reserved whole or dropped);
``perf_output_put_handle`` (publish ``data_head``; a wakeup sets ``rb->poll`` = POLLIN when
the head crossed the watermark or ``wakeup_events`` samples were written -- the counting half
of that lives in ``perf_output_sample``); ``perf_poll`` (the pending poll bits, cleared by the
read) and the ``perf_mmap``/``perf_mmap_close`` locked-memory accounting
(``user->locked_vm`` within ``perf_event_mlock_kb`` x online CPUs, the excess charged to
``mm->pinned_vm`` against RLIMIT_MEMLOCK; EPERM without CAP_IPC_LOCK while paranoid > -1).
Omits: AUX areas, the nesting of writers from NMI context (one writer at a time in the model),
``paused`` buffers (PERF_EVENT_IOC_PAUSE_OUTPUT), high-order page allocation, and the
``data_tail`` read race (the user's tail is read once per reservation).
Pinned to: Linux v5.17 kernel/events/ring_buffer.c and core.c (perf_mmap).
"""

from __future__ import annotations

import errno
import select
from collections.abc import Callable
from typing import Any

from pmulab.errors import PerfError
from pmulab.uapi.constants import PAGE_SIZE

__all__ = ["RingBuffer", "POLLIN", "POLLHUP", "RLIMIT_MEMLOCK", "mlock_charge", "circ_space"]

_MASK64 = (1 << 64) - 1
#: poll() bits (include/uapi/asm-generic/poll.h, the same numbers Python's select module uses).
POLLIN = select.POLLIN
POLLHUP = select.POLLHUP
#: RLIMIT_MEMLOCK of every task in the model: the 8 MiB default since v5.16 (MLOCK_LIMIT).
RLIMIT_MEMLOCK = 8 << 20


def circ_space(head: int, tail: int, size: int) -> int:
    """CIRC_SPACE(head, tail, size): free bytes, keeping one byte unused so full != empty."""
    return (tail - (head + 1)) & (size - 1)


def mlock_charge(*, nr_pages: int, user_locked: int, pinned_vm: int, mlock_kb: int, ncpus: int,
                 paranoid: int, capable: bool) -> tuple[int, int]:
    """The locked-memory check of ``perf_mmap``: ``(user_extra, extra)`` pages to charge to
    ``user->locked_vm`` and ``mm->pinned_vm``; PerfError(EPERM) when over the allowance."""
    user_extra = nr_pages + 1
    limit = (mlock_kb >> 2) * ncpus  # sysctl_perf_event_mlock >> (PAGE_SHIFT - 10), times online CPUs
    locked = min(user_locked, limit) + user_extra
    extra = 0
    if locked > limit:
        extra = locked - limit
        user_extra -= extra
    lock_limit = RLIMIT_MEMLOCK // PAGE_SIZE
    if pinned_vm + extra > lock_limit and paranoid > -1 and not capable:
        raise PerfError(errno.EPERM, f"mmap of {nr_pages + 1} pages exceeds the locked-memory allowance: "
                                     f"kernel.perf_event_mlock_kb {mlock_kb} x {ncpus} CPUs, then RLIMIT_MEMLOCK "
                                     f"{RLIMIT_MEMLOCK >> 10} KiB (perf_mmap, no CAP_IPC_LOCK)")
    return user_extra, extra


class RingBuffer:
    """``struct perf_buffer``: one event's data area and its writer state.

    Parameters
    ----------
    page : uapi.MmapPage -- the mapping's first page (``data_head`` is published there, the
        user's ``data_tail`` read from there).
    data : memoryview -- the data area (``data_size`` bytes, a power of two).
    writable : the mapping is PROT_WRITE (False: overwrite / flight-recorder mode).
    backward : ``attr.write_backward``.
    watermark : bytes between POLLIN wakeups (0: half the data area).
    """

    def __init__(self, page: Any, data: memoryview, *, writable: bool, backward: bool = False,
                 watermark: int = 0):
        size = data.nbytes
        if size == 0 or size & (size - 1):
            raise ValueError(f"data area of {size} bytes is not a power of two")
        self.page, self.data, self.size = page, data, size
        self.overwrite = not writable
        self.backward = bool(backward)
        self.watermark = min(watermark, size) if watermark else size // 2
        self.head = 0  # free-running (u64); moves down when backward
        self.wakeup = 0  # head position of the last watermark wakeup
        self.lost = 0  # records dropped since the last PERF_RECORD_LOST
        self.events = 0  # samples since the last wakeup_events wakeup
        self.poll = 0  # pending poll() bits
        self.wakeups = 0
        self.records = 0  # records written (LOST records included)
        self.dropped = 0  # records dropped in all
        self.user = None  # uid charged (rb->mmap_user) and pages charged
        self.locked = (0, 0)  # (user_extra, pinned extra)
        self.event_list: list = []  # events whose output goes here (SET_OUTPUT)

    def __repr__(self) -> str:
        mode = "overwrite" if self.overwrite else "writable"
        return (f"<RingBuffer {self.size} B {mode}{' backward' if self.backward else ''} head={self.head} "
                f"lost={self.lost} dropped={self.dropped}>")

    @property
    def tail(self) -> int:
        return int(self.page.data_tail)

    def has_space(self, size: int) -> bool:
        """Kernel: ring_buffer_has_space."""
        if self.backward:
            return circ_space(self.tail, self.head, self.size) >= size
        return circ_space(self.head, self.tail, self.size) >= size

    def _copy(self, pos: int, raw: bytes) -> None:
        """Kernel: perf_output_copy -- lay ``raw`` at ring position ``pos``, wrapping at the end."""
        start = pos & (self.size - 1)
        first = min(len(raw), self.size - start)
        self.data[start:start + first] = raw[:first]
        if first < len(raw):
            self.data[:len(raw) - first] = raw[first:]

    def output(self, record: bytes, make_lost: Callable[[int], bytes]) -> bool:
        """Kernel: perf_output_begin + perf_output_copy + perf_output_end for one record.

        ``make_lost(n)`` builds the PERF_RECORD_LOST for ``n`` earlier drops (with the event's
        sample_id trailer). Returns False when the record was dropped (and counted in ``lost``).
        """
        lost_rec = make_lost(self.lost) if self.lost else b""
        total = len(lost_rec) + len(record)
        if not self.overwrite and not self.has_space(total):
            self.lost += 1
            self.dropped += 1
            return False
        if self.backward:
            self.head = (self.head - total) & _MASK64
            pos = self.head
        else:
            pos = self.head
            self.head = (self.head + total) & _MASK64
        if lost_rec:
            self._copy(pos, lost_rec)
            self.records += 1
            self.lost = 0
        self._copy(pos + len(lost_rec), record)
        self.records += 1
        self.page.data_head = self.head
        moved = (self.wakeup - self.head) if self.backward else (self.head - self.wakeup)
        if moved & _MASK64 > self.watermark and moved & _MASK64 < 1 << 63:
            step = self.watermark if not self.backward else -self.watermark
            self.wakeup = (self.wakeup + step) & _MASK64
            self.wake()
        return True

    def count_sample(self, wakeup_events: int) -> None:
        """The ``wakeup_events`` half of perf_output_sample: every n samples, a wakeup."""
        if not wakeup_events:
            return
        self.events += 1
        if self.events >= wakeup_events:
            self.events -= wakeup_events
            self.wake()

    def wake(self, bits: int = POLLIN) -> None:
        """Kernel: perf_output_wakeup -> rb->poll |= bits (and the waiters would be woken)."""
        self.poll |= bits
        self.wakeups += 1

    def take_poll(self) -> int:
        """Kernel: perf_poll -- the pending bits, cleared (atomic_xchg(&rb->poll, 0))."""
        bits, self.poll = self.poll, 0
        return bits

    def fill(self) -> int:
        """Bytes between the user's tail and head (the whole area in overwrite mode once wrapped)."""
        used = (self.tail - self.head) if self.backward else (self.head - self.tail)
        used &= _MASK64
        return min(used, self.size) if self.overwrite else used
