"""The host kernel's real user page, read through pmulab's ABI declarations and reader.

Opens a software task-clock event with perf_event_open(2) through ctypes (attr built by
``PerfEventAttr.to_bytes()``), maps its first page and reads it as ``uapi.MmapPage`` with
``pmulab.user.ReadLoop``. Software events have no user-readable counter (index 0), so the
reader must ask for the read() fallback. Skips only when the host refuses the system call.
"""

import ctypes
import errno
import fcntl
import gc
import mmap
import os
import struct
import time

import pytest

from pmulab import PerfError, uapi
from pmulab.uapi import MmapPage, PerfEventAttr, parse_read, perf_copy_attr
from pmulab.user import ReadLoop, host


def perf_event_open(attr_bytes: bytes) -> tuple[int, int, ctypes.Array]:
    buf = ctypes.create_string_buffer(bytes(attr_bytes), len(attr_bytes))
    fd, err = host.perf_event_open(buf)
    return fd, err, buf


class NoCounterTask:
    """User space on the host: the reader must not need a counter for a software event."""

    def mrs(self, name):
        raise AssertionError(f"the reader tried to read {name} for an index-0 event")


@pytest.fixture
def task_clock():
    attr = PerfEventAttr(type=uapi.PERF_TYPE_SOFTWARE, config=uapi.PERF_COUNT_SW_TASK_CLOCK, exclude_kernel=1,
                         read_format=uapi.PERF_FORMAT_TOTAL_TIME_ENABLED | uapi.PERF_FORMAT_TOTAL_TIME_RUNNING
                         | uapi.PERF_FORMAT_ID)
    fd, err, _ = perf_event_open(attr.to_bytes())
    if fd < 0:
        if err in host.REFUSED:
            pytest.skip(f"host refused perf_event_open: {errno.errorcode.get(err, err)}, "
                        f"kernel.perf_event_paranoid={host.paranoid()}")
        pytest.fail(f"perf_event_open failed with {errno.errorcode.get(err, err)}")
    m = mmap.mmap(fd, mmap.PAGESIZE, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
    yield fd, m, attr
    try:
        m.close()
    except BufferError:  # a failed test's traceback may still hold an MmapPage view
        gc.collect()
        m.close()
    os.close(fd)


def _spin_until_page_moves(page, lock0, limit=500):
    for _ in range(limit):
        sum(range(20000))
        time.sleep(0.001)  # a context switch: the kernel republishes the page at sched-out/in
        if page.lock != lock0:
            return True
    return False


def test_real_user_page_through_the_model_layout(task_clock):
    fd, m, attr = task_clock
    page = MmapPage.from_buffer(m)
    try:
        assert page.size == uapi.MMAP_PAGE_HEADER_SIZE == 96  # offsetof(__reserved)
        assert page.cap_bit0 == 0 and page.cap_bit0_is_deprecated == 1
        assert page.index == 0  # software events have no user-readable counter
        assert page.cap_user_rdpmc == 0
        assert page.lock % 2 == 0  # self-monitoring never sees an update in progress
        # the same bytes through the raw view: lock at offset 8, capabilities at 40, size at 72
        raw = page.raw
        assert struct.unpack_from("<I", raw, 8)[0] == page.lock
        assert struct.unpack_from("<Q", raw, 40)[0] == page.capabilities
        assert struct.unpack_from("<I", raw, 72)[0] == page.size

        loop = ReadLoop(NoCounterTask(), page, clock=None)
        assert loop.run() is None
        assert loop.fallback and "index is 0" in loop.reason
        assert [s.name for s in loop.history] == ["lock", "times", "index"]
        del loop

        enabled0, lock0 = page.time_enabled, page.lock
        assert _spin_until_page_moves(page, lock0), "the kernel never republished the user page"
        assert (page.lock - lock0) % 2 == 0
        assert page.time_enabled > enabled0
        assert page.time_running <= page.time_enabled
        assert ReadLoop(NoCounterTask(), page, clock=None).run() is None
    finally:
        del page


def test_read_and_ioctls_with_the_model_numbers(task_clock):
    fd, m, attr = task_clock
    page = MmapPage.from_buffer(m)
    try:
        ident = bytearray(8)
        assert fcntl.ioctl(fd, uapi.PERF_EVENT_IOC_ID, ident) == 0
        (event_id,) = struct.unpack("<Q", ident)
        _spin_until_page_moves(page, page.lock, limit=5)
        first = parse_read(os.read(fd, uapi.read_size(attr.read_format)), attr.read_format)
        assert first.id == event_id and first.value > 0
        assert first.time_enabled >= page.time_enabled and first.time_running <= first.time_enabled
        # for an index-0 event the page offset is the count at the last update
        assert 0 < page.offset <= first.value
        assert fcntl.ioctl(fd, uapi.PERF_EVENT_IOC_DISABLE, 0) == 0
        assert fcntl.ioctl(fd, uapi.PERF_EVENT_IOC_RESET, 0) == 0
        after = parse_read(os.read(fd, uapi.read_size(attr.read_format)), attr.read_format)
        assert after.value == 0 and after.id == event_id
        assert fcntl.ioctl(fd, uapi.PERF_EVENT_IOC_ENABLE, 0) == 0
    finally:
        del page


@pytest.mark.parametrize("mutate, expected", [
    (lambda a: a.__setitem__(slice(4, 8), struct.pack("<I", 8)), errno.E2BIG),       # size below VER0
    (lambda a: a.__setitem__(slice(110, 112), b"\x01\x00"), errno.EINVAL),         # __reserved_2
    (lambda a: a.__setitem__(slice(32, 40), struct.pack("<Q", 1 << 10)), errno.EINVAL),  # read_format
])
def test_perf_copy_attr_agrees_with_the_host_kernel(task_clock, mutate, expected):
    base = bytearray(PerfEventAttr(type=uapi.PERF_TYPE_SOFTWARE, config=uapi.PERF_COUNT_SW_TASK_CLOCK,
                                   exclude_kernel=1).to_bytes())
    mutate(base)
    fd, err, buf = perf_event_open(bytes(base))
    if fd >= 0:
        os.close(fd)
    assert fd < 0 and err == expected
    model = bytearray(base)
    with pytest.raises(PerfError) as e:
        perf_copy_attr(model)
    assert e.value.errno == expected
    if expected == errno.E2BIG:  # both wrote their own sizeof back into attr.size
        host_size = struct.unpack_from("<I", buf.raw, 4)[0]
        assert host_size >= uapi.PERF_ATTR_SIZE_VER7
        assert struct.unpack_from("<I", model, 4)[0] == uapi.PERF_ATTR_SIZE_CURRENT
