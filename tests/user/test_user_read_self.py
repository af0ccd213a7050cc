"""The self-monitoring read loop against a fake task and a model page."""

import pytest

from pmulab import IllegalInstruction, uapi
from pmulab.uapi import MmapPage
from pmulab.user import ReadLoop, RetryLimitExceeded, counter_register, extend, read_self, time_delta

M64 = (1 << 64) - 1


class FakeTask:
    """An EL0 task: registers by name; ``hook`` runs after each mrs (an 'interrupt')."""

    def __init__(self, regs=None, hook=None, forbidden=()):
        self.regs = dict(regs or {})
        self.hook = hook
        self.forbidden = set(forbidden)
        self.reads = []

    def mrs(self, name):
        if name in self.forbidden or name not in self.regs:
            raise IllegalInstruction(name, False, 0, ("ER",))
        self.reads.append(name)
        value = self.regs[name]
        if self.hook:
            self.hook(self, name)
        return value


def make_page(*, index=1, offset=0, width=32, lock=2, enabled=100, running=100, rdpmc=1):
    page = MmapPage.new()
    page.lock, page.index, page.offset, page.pmc_width = lock, index, offset, width
    page.time_enabled, page.time_running = enabled, running
    page.cap_bit0_is_deprecated, page.cap_user_rdpmc = 1, rdpmc
    return page


def s64(v):
    v &= M64
    return v - (1 << 64) if v >> 63 else v


# spec §7 S8: a 32-bit counter armed at 0x80000001 with prev_count = 0xFFFFFFFF80000001
PREV = 0xFFFFFFFF80000001
COUNT = 1000


def s8_page(width=32):
    return make_page(index=1, offset=s64(COUNT - PREV), width=width)


def test_sign_extension_width_32_before_the_wrap():
    d = 0x1234
    task = FakeTask({"PMEVCNTR0_EL0": 0x80000001 + d})
    assert read_self(task, s8_page()) == COUNT + d
    assert task.reads == ["PMEVCNTR0_EL0"]


def test_zero_extension_is_off_by_2_pow_32_before_the_wrap():
    d = 0x1234
    task = FakeTask({"PMEVCNTR0_EL0": 0x80000001 + d})
    assert read_self(task, s8_page(), variant="zero-extend") == COUNT + d + (1 << 32)


def test_after_the_32_bit_wrap_both_variants_agree():
    d = 0x90000000  # more than 2^31 - 1 events: the counter wrapped to a small value
    raw = (0x80000001 + d) & 0xFFFFFFFF
    for variant in ("documented", "zero-extend"):
        assert read_self(FakeTask({"PMEVCNTR0_EL0": raw}), s8_page(), variant=variant) == COUNT + d


def test_width_64_needs_no_extension():
    prev = 0xFFFFFFFF80000001
    page = make_page(index=32, offset=s64(COUNT - prev), width=64)
    task = FakeTask({"PMCCNTR_EL0": prev + 15})
    assert read_self(task, page) == COUNT + 15
    assert read_self(task, page, variant="zero-extend") == COUNT + 15
    assert task.reads == ["PMCCNTR_EL0", "PMCCNTR_EL0"]


def test_pmuv3p5_biased_raw_value_with_width_32():
    # 64-bit hardware counter whose upper half is all ones; pmc_width 32 says: ignore it
    d = 5
    task = FakeTask({"PMEVCNTR0_EL0": 0xFFFFFFFF80000001 + d})
    assert read_self(task, s8_page(32)) == COUNT + d


def test_extend_bit_31_set():
    assert extend(0x80000000, 32, "documented") == -(1 << 31)
    assert extend(0x80000000, 32, "zero-extend") == 1 << 31
    assert extend(0x7FFFFFFF, 32, "documented") == extend(0x7FFFFFFF, 32, "zero-extend") == 0x7FFFFFFF
    assert extend(0xFFFF_FFFF_0000_0005, 32, "documented") == 5  # upper bits discarded
    assert extend(1 << 63, 64, "documented") == -(1 << 63)
    assert extend(1 << 63, 64, "zero-extend") == 1 << 63
    with pytest.raises(ValueError):
        extend(1, 32, "sign")


@pytest.mark.parametrize("index, reg", [(1, "PMEVCNTR0_EL0"), (6, "PMEVCNTR5_EL0"), (31, "PMEVCNTR30_EL0"),
                                        (32, "PMCCNTR_EL0"), (33, None)])
def test_counter_register_for_user_index(index, reg):
    assert counter_register(index) == reg


def test_out_of_range_index_reads_zero_like_libperf():
    page = make_page(index=40, offset=77)
    task = FakeTask({})
    assert read_self(task, page) == 77 and task.reads == []


@pytest.mark.parametrize("index, rdpmc, reason", [(0, 1, "index is 0"), (3, 0, "cap_user_rdpmc is 0")])
def test_fallback_to_read(index, rdpmc, reason):
    task = FakeTask({"PMEVCNTR2_EL0": 1})
    loop = ReadLoop(task, make_page(index=index, rdpmc=rdpmc, offset=5))
    assert loop.run() is None
    assert loop.fallback and reason in loop.reason
    assert task.reads == []  # no counter read, no retry
    assert [s.name for s in loop.history] == ["lock", "times", "index"]


def test_steps_in_order_and_history_values():
    loop = ReadLoop(FakeTask({"PMEVCNTR0_EL0": 0x80000001 + 7}), s8_page())
    names = []
    while not loop.done:
        assert loop.next_step is not None
        names.append(loop.step().name)
    assert names == ["lock", "times", "index", "offset", "mrs", "recheck"]
    mrs = dict(loop.history[4].values)
    assert mrs["register"] == "PMEVCNTR0_EL0" and mrs["pmc"] == 7 - 0x7FFFFFFF and mrs["pmc_width"] == 32
    assert loop.history[-1].values["result"] == COUNT + 7 == loop.result
    assert loop.next_step is None
    with pytest.raises(RuntimeError):
        loop.step()


def test_page_update_between_steps_forces_a_retry():
    page = s8_page()
    task = FakeTask({"PMEVCNTR0_EL0": 0x80000001 + 10})
    loop = ReadLoop(task, page)
    for _ in range(4):  # lock, times, index, offset
        loop.step()
    # the IRQ path republishes the page (overflow handler re-armed the counter)
    page.lock += 2
    page.offset = s64(5000 - PREV)
    loop.run()
    assert loop.retries == 1
    assert [s.name for s in loop.history] == ["lock", "times", "index", "offset", "mrs", "recheck",
                                              "lock", "times", "index", "offset", "mrs", "recheck"]
    assert loop.history[5].values["retry"] == 1
    assert loop.result == 5000 + 10


def test_read_self_retries_when_lock_changes_during_mrs():
    page = s8_page()

    def irq_once(task, name):
        if len(task.reads) == 1:
            page.lock += 2
            page.offset = s64(2000 - PREV)

    task = FakeTask({"PMEVCNTR0_EL0": 0x80000001 + 3}, hook=irq_once)
    assert read_self(task, page) == 2000 + 3
    assert len(task.reads) == 2


def test_bounded_retries():
    page = s8_page()

    def always(task, name):
        page.lock += 2

    with pytest.raises(RetryLimitExceeded, match="max_retries=3"):
        read_self(FakeTask({"PMEVCNTR0_EL0": 1}, hook=always), page, max_retries=3)


def test_fallback_appears_on_a_retry_pass():
    # multiplexing took the event off its counter while the reader was in the loop
    page = s8_page()

    def mux_out(task, name):
        page.lock += 2
        page.index = 0

    loop = ReadLoop(FakeTask({"PMEVCNTR0_EL0": 1}, hook=mux_out), page)
    assert loop.run() is None and loop.fallback and loop.retries == 1


def test_trapped_mrs_propagates_and_leaves_the_loop_at_mrs():
    loop = ReadLoop(FakeTask({}, forbidden={"PMEVCNTR0_EL0"}), s8_page())
    for _ in range(4):
        loop.step()
    with pytest.raises(IllegalInstruction, match="SIGILL"):
        loop.step()
    assert loop.next_step == "mrs" and not loop.done


# ------------------------------------------------------------------------------ time


def timed_page(**kw):
    page = make_page(index=1, offset=0, width=32, enabled=1000, running=400, **kw)
    page.cap_user_time = 1
    page.time_mult, page.time_shift, page.time_offset = 3, 1, 50
    return page


def test_time_delta_formula():
    cyc = 0x1234567
    assert time_delta(cyc, time_offset=50, time_mult=3, time_shift=1) == 50 + (cyc * 3 >> 1)
    # short timer: the value is widened relative to time_cycles first
    assert time_delta(5, time_offset=0, time_mult=1, time_shift=0, time_cycles=0x1_0000_0000 - 3,
                      time_mask=0xFFFF_FFFF) == 0x1_0000_0000 + 5


def test_time_extension_and_scaling_with_a_callable_clock():
    page = timed_page()
    task = FakeTask({"PMEVCNTR0_EL0": 200})
    loop = ReadLoop(task, page, clock=lambda: 100)
    result = loop.run()
    delta = 50 + 100 * 3 // 2
    assert (loop.enabled, loop.running) == (1000 + delta, 400 + delta)
    assert loop.count == 200
    assert result == 200 * (1000 + delta) // (400 + delta)
    assert ReadLoop(task, page, clock=lambda: 100, scale=False).run() == 200


def test_default_clock_reads_cntvct_through_the_task():
    task = FakeTask({"PMEVCNTR0_EL0": 200, "CNTVCT_EL0": 100})
    loop = ReadLoop(task, timed_page())
    loop.run()
    assert task.reads == ["CNTVCT_EL0", "PMEVCNTR0_EL0"]
    assert loop.history[1].values["cyc"] == 100


def test_timer_not_read_when_times_agree_or_clock_is_none():
    page = timed_page()
    page.time_running = page.time_enabled
    task = FakeTask({"PMEVCNTR0_EL0": 200, "CNTVCT_EL0": 100})
    assert read_self(task, page) == 200 and task.reads == ["PMEVCNTR0_EL0"]
    task2 = FakeTask({"PMEVCNTR0_EL0": 200})
    loop = ReadLoop(task2, timed_page(), clock=None)
    assert loop.run() == 200 * 1000 // 400  # scaled with the published times only
    assert task2.reads == ["PMEVCNTR0_EL0"]


def test_time_short_uses_cycles_and_mask():
    page = timed_page()
    page.cap_user_time_short = 1
    page.time_offset, page.time_mult, page.time_shift = 0, 1, 0
    page.time_cycles, page.time_mask = (1 << 56) - 2, (1 << 56) - 1
    loop = ReadLoop(FakeTask({"PMEVCNTR0_EL0": 1}), page, clock=lambda: 3)  # timer wrapped past 2^56
    loop.run()
    assert loop.enabled == 1000 + (1 << 56) + 3


def test_misuse():
    page = s8_page()
    with pytest.raises(ValueError):
        ReadLoop(FakeTask(), page, variant="sign-extend")
    with pytest.raises(TypeError):
        ReadLoop(object(), page)
    with pytest.raises(TypeError):
        ReadLoop(FakeTask(), page, clock=5)
    with pytest.raises(ValueError):
        ReadLoop(FakeTask(), page, max_retries=-1)
    assert uapi.MmapPage is MmapPage


# ---------------------------------------------------------------------- properties

import ctypes  # noqa: E402

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@given(raw=st.integers(0, M64), width=st.integers(1, 64))
def test_extension_matches_c_shifts(raw, width):
    shift = 64 - width
    shifted = (raw << shift) & M64
    # C: s64 evcnt <<= shift; evcnt >>= shift (arithmetic) / u64 (logical)
    assert extend(raw, width, "documented") == ctypes.c_int64(shifted).value >> shift
    assert extend(raw, width, "zero-extend") == ctypes.c_uint64(shifted).value >> shift == raw & ((1 << width) - 1)
    # the two agree exactly when bit width-1 of the raw value is clear
    same = extend(raw, width, "documented") == extend(raw, width, "zero-extend")
    assert same == (not (raw >> (width - 1)) & 1)
