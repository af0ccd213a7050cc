"""mmap/munmap (sizes, hook order, caller's CPU) and the user-page seqlock writer."""

from __future__ import annotations

import errno

import pytest

from pmulab import uapi
from pmulab.errors import PerfError
from pmulab.perf.api import HES

from .fakes import ARMED, MASK64, attr, machine


@pytest.fixture
def m():
    k, pmus, core = machine(ncpus=2, counters=4, paranoid=0)
    a = k.spawn(100, cpu=0)
    return k, pmus[0], core, a


def test_first_mmap_publishes_the_page(m):
    k, pmu, core, a = m
    ev = k.syscall(a, "perf_event_open", attr(config1=2), 0, -1)
    page = k.syscall(a, "mmap", ev)
    assert isinstance(page, uapi.MmapPage) and ev.page is page and ev.mmap_count == 1
    assert page.lock == 2 and page.index == 1 and page.cap_bit0_is_deprecated == 1
    assert page.size == uapi.MMAP_PAGE_HEADER_SIZE and page.data_offset == uapi.PAGE_SIZE and page.data_size == 0
    assert page.offset == (0 - ARMED) & MASK64  # count - prev_count, 64-bit wrap
    assert page.cap_user_rdpmc == 1 and page.pmc_width == 64


def test_offset_plus_raw_is_the_count(m):
    k, pmu, core, a = m
    ev = k.syscall(a, "perf_event_open", attr(config1=2), 0, -1)
    page = k.syscall(a, "mmap", ev)
    pmu.advance(0, 1234)
    raw = pmu.raw[0][page.index]
    assert (page.offset + raw) & MASK64 == 1234
    k.switch(0, None)  # del: count harvested, index 0, offset = count
    assert page.index == 0 and page.offset == 1234 and page.lock % 2 == 0


def test_lock_is_even_after_every_update_and_moves_by_two(m):
    k, pmu, core, a = m
    ev = k.syscall(a, "perf_event_open", attr(config1=2), 0, -1)
    page = k.syscall(a, "mmap", ev)
    locks = [page.lock]
    for _ in range(3):
        with k.on(0):
            core.update_userpage(ev)
        locks.append(page.lock)
    assert locks == [2, 4, 6, 8]
    page.lock = (1 << 32) - 2
    with k.on(0):
        core.update_userpage(ev)
    assert page.lock == 0  # u32 wraps


def test_index_zero_when_stopped_or_inactive(m):
    k, pmu, core, a = m
    ev = k.syscall(a, "perf_event_open", attr(config1=2), 0, -1)
    page = k.syscall(a, "mmap", ev)
    with k.on(0):
        ev.hw.state |= HES.STOPPED
        core.update_userpage(ev)
        assert page.index == 0
        ev.hw.state = HES(0)
        core.update_userpage(ev)
        assert page.index == 1
    k.syscall(a, "ioctl", ev, uapi.PERF_EVENT_IOC_DISABLE)
    assert page.index == 0 and page.offset == ev.count


def test_page_times_include_children_and_run_to_now(m):
    k, pmu, core, a = m
    ev = k.syscall(a, "perf_event_open", attr(config1=2), 0, -1)
    page = k.syscall(a, "mmap", ev)
    ev.child_total_time_enabled, ev.child_total_time_running = 1000, 500
    k.time = 70
    with k.on(0):
        core.update_userpage(ev)
    assert (page.time_enabled, page.time_running) == (1070, 570) and page.time_offset == 70


@pytest.mark.parametrize("pages", [0, 4, 6])
def test_bad_sizes(m, pages):
    k, pmu, core, a = m
    ev = k.syscall(a, "perf_event_open", attr(), 0, -1)
    with pytest.raises(PerfError, match=r"must be 1 \+ 2\^n") as info:
        k.syscall(a, "mmap", ev, pages)
    assert info.value.errno == errno.EINVAL and ev.page is None and ev.mmap_count == 0
    assert pmu.ops("mapped") == []


def test_second_mapping_must_match(m):
    k, pmu, core, a = m
    ev = k.syscall(a, "perf_event_open", attr(), 0, -1)
    page = k.syscall(a, "mmap", ev, 3)
    assert page.data_size == 2 * uapi.PAGE_SIZE and len(core.buffer(ev)) == 3 * uapi.PAGE_SIZE
    with pytest.raises(PerfError, match=r"already mapped with 2 data pages, not 0"):
        k.syscall(a, "mmap", ev, 1)
    assert ev.mmap_count == 1
    assert k.syscall(a, "mmap", ev, 3) is page and ev.mmap_count == 2


def test_inherited_task_event_cannot_be_mapped(m):
    k, pmu, core, a = m
    ev = k.syscall(a, "perf_event_open", attr(inherit=1), 0, -1)
    with pytest.raises(PerfError, match=r"inherited per-task event"):
        k.syscall(a, "mmap", ev)


def test_mapped_hooks_run_in_the_callers_context(m):
    """Mark Rutland's point 2: B maps A's event -> event_mapped runs on B's CPU with B's mm."""
    k, pmu, core, a = m
    b = k.spawn(200, cpu=1)
    ev = k.syscall(b, "perf_event_open", attr(config1=2), 100, -1)
    k.ipis.clear()
    page = k.syscall(b, "mmap", ev)
    assert pmu.ops("mapped") == [("mapped", 1, ev.id, b.mm, 1)]  # after mmap_count++
    assert k.ipis == [] and page.index == 1  # A's event runs on CPU 0
    k.syscall(a, "mmap", ev)
    k.syscall(b, "munmap", ev)
    assert pmu.ops("unmapped") == [("unmapped", 1, ev.id, b.mm, 2)]  # before mmap_count--
    assert ev.mmap_count == 1 and ev.page is page
    k.syscall(a, "munmap", ev)
    assert ev.page is None and ev.mmap_count == 0 and core.buffer(ev) is None
    with pytest.raises(PerfError, match="no mapping"):
        k.syscall(a, "munmap", ev)
