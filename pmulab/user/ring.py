"""The ring-buffer consumer: records from ``data_tail`` to ``data_head`` in the mapping's data pages.

Models: the consumer side of the protocol documented on ``data_head``/``data_tail`` in
include/uapi/linux/perf_event.h and used by tools/lib/perf/mmap.c (``perf_mmap__read_init``,
``perf_mmap__read_event``, ``perf_mmap__consume``) with its barriers from
tools/include/linux/ring_buffer.h (``ring_buffer_read_head`` = load + smp_rmb,
``ring_buffer_write_tail`` = smp_mb + store), one step each:

1. ``head``: load ``data_head`` (free-running, never wrapped by the kernel);
2. ``rmb``: read barrier, so no data byte is read before the head that published it;
3. ``copy``: copy ``[data_tail, data_head)`` out of the data area, modulo ``data_size``, joining
   the two pieces when the range wraps past the end, so a record split by the wrap is read whole
   (never torn); with ``max_records`` only that many whole records are taken;
4. ``mb``: full barrier, so every byte is read before the kernel may reuse the space;
5. ``tail``: store the new ``data_tail``.

The same code runs over the model's page (an MmapPage over a ``bytearray`` of 1 + 2^n pages)
and over a real ``mmap.mmap`` of a perf fd: the data area is found from the page's own
``data_offset``/``data_size`` within the buffer the page views (``data_area``).
Omits: real CPU barriers (CPython has none to issue: ``rmb``/``mb`` are recorded steps and call
the optional ``barrier`` hooks; on x86-64 the hardware's TSO order already gives the load/load
and load/store order the protocol needs), reading overwrite (read-only, ``write_backward``)
buffers, where the kernel ignores ``data_tail``, and poll()/wakeups.
Pinned to: include/uapi/linux/perf_event.h v6.18 comment on the data_* fields; libperf v5.17.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable, Generator
from typing import Any

from pmulab.uapi.mmap_page import MmapPage
from pmulab.uapi.records import Record
from pmulab.user.read_self import Step
from pmulab.user.records import RecordParser

__all__ = ["STEPS", "RingReader", "data_area", "page_buffer"]

STEPS = ("head", "rmb", "copy", "mb", "tail")


def page_buffer(page: MmapPage) -> tuple[memoryview, int]:
    """The whole buffer an ``MmapPage.from_buffer`` page views and the page's offset in it."""
    objects = getattr(page, "_objects", None)
    if isinstance(objects, dict):
        for obj in objects.values():
            if isinstance(obj, memoryview):
                base = ctypes.addressof(ctypes.c_char.from_buffer(obj))
                return obj.cast("B"), ctypes.addressof(page) - base
    raise ValueError("the MmapPage does not view a buffer: build it with MmapPage.from_buffer(mapping)")


def data_area(page: MmapPage, buffer=None) -> memoryview:
    """The live data area of a perf mapping: ``buffer[data_offset : data_offset + data_size]``.

    ``buffer`` is the whole mapping (1 + 2^n pages, e.g. the ``bytearray`` of the model or the
    ``mmap.mmap`` of a real fd); by default the buffer ``page`` was built over. ``data_size``
    must be a non-zero power of two that fits the buffer, as the kernel publishes it
    (``perf_mmap`` -> ``rb_alloc``; set in ``perf_event_init_userpage``).
    """
    if buffer is None:
        view, base = page_buffer(page)
    else:
        view, base = memoryview(buffer).cast("B"), 0
    offset, size = int(page.data_offset), int(page.data_size)
    if size == 0 or size & (size - 1):
        raise ValueError(f"data_size {size} is not a non-zero power of two: the page has no ring buffer")
    start = base + offset
    if offset < ctypes.sizeof(MmapPage) or start + size > view.nbytes:
        raise ValueError(f"data area [{offset}, {offset + size}) lies outside the {view.nbytes - base}-byte mapping")
    return view[start:start + size]


class RingReader:
    """The consumer of one mapping: ``read()`` returns the records the kernel published since
    the last call and stores ``data_tail``.

    Parameters
    ----------
    task
        The consuming task (kept for traces; the consumer itself only touches memory).
    page
        The MmapPage of the mapping (model or real).
    attr
        The event's PerfEventAttr: selects the SAMPLE layout and the sample_id trailer. None
        decodes headers only.
    data
        The data area; default ``page.data`` when the page offers it, else ``data_area(page)``.
    barrier
        Optional callable run at the ``rmb`` and ``mb`` steps with the step name.
    """

    def __init__(self, task, page: MmapPage, attr=None, *, data=None,
                 barrier: Callable[[str], None] | None = None):
        self.task = task
        self.page = page
        self.attr = attr
        if data is None:
            data = getattr(page, "data", None)
        self.data = memoryview(data).cast("B") if data is not None else data_area(page)
        size = self.data.nbytes
        if size == 0 or size & (size - 1):
            raise ValueError(f"a ring data area of {size} bytes is not a non-zero power of two")
        if page.data_size and page.data_size != size:
            raise ValueError(f"data area of {size} bytes but the page says data_size={page.data_size}")
        self.size = size
        self.parser = RecordParser(attr)
        self.barrier = barrier
        self.history: list[Step] = []  # the steps of the latest read
        self.consumed = 0
        self._chunk_base = 0

    @property
    def pending(self) -> int:
        """Bytes published and not yet consumed: ``data_head - data_tail``."""
        return (self.page.data_head - self.page.data_tail) & ((1 << 64) - 1)

    def steps(self, max_records: int | None = None) -> Generator[Step, None, bytes]:
        """The consumer one step at a time (see STEPS); the generator's return value is the
        bytes consumed. Schedules may run the kernel's writer between steps."""
        page, size = self.page, self.size
        self.history = []
        head = int(page.data_head)
        yield self._log("head", data_head=head)
        self._fence("rmb")
        yield self._log("rmb")
        tail = int(page.data_tail)
        avail = (head - tail) & ((1 << 64) - 1)
        if avail > size:
            raise ValueError(f"data_head - data_tail = {avail} exceeds data_size {size}: the kernel overwrote "
                             f"unread data (head {head}, tail {tail})")
        start = tail % size
        if start + avail <= size:
            chunk = bytes(self.data[start:start + avail])
        else:  # the range wraps past the end of the data area: join both pieces
            chunk = bytes(self.data[start:]) + bytes(self.data[:start + avail - size])
        if max_records is not None:
            chunk = chunk[:self.parser.split(chunk, max_records)]
        yield self._log("copy", data_tail=tail, bytes=len(chunk), wrapped=start + len(chunk) > size)
        self._fence("mb")
        yield self._log("mb")
        new_tail = (tail + len(chunk)) & ((1 << 64) - 1)
        page.data_tail = new_tail
        self.consumed += len(chunk)
        yield self._log("tail", data_tail=new_tail)
        self._chunk_base = tail
        return chunk

    def read_bytes(self, max_records: int | None = None) -> bytes:
        """Run every step; the bytes of the whole records consumed (tail already stored)."""
        gen = self.steps(max_records)
        while True:
            try:
                next(gen)
            except StopIteration as stop:
                return stop.value

    def read(self, max_records: int | None = None) -> list[Record]:
        """Consume and decode: the records between ``data_tail`` and ``data_head`` (at most
        ``max_records``), each with ``offset`` = its free-running ring position."""
        chunk = self.read_bytes(max_records)
        return self.parser.parse(chunk, base=self._chunk_base)

    def release(self) -> None:
        """Drop the view of the data area (needed before a real mmap can be closed)."""
        self.data.release()

    def _fence(self, name: str) -> None:
        if self.barrier is not None:
            self.barrier(name)

    def _log(self, name: str, **values: Any) -> Step:
        step = Step(name, values)
        self.history.append(step)
        return step
