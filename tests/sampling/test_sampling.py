"""Sampling end to end on a Machine: overflow -> SAMPLE records -> the ring buffer -> RingReader."""

import errno

import pytest

from pmulab import Machine, PerfError, uapi
from pmulab.perf import sampling
from pmulab.perf.api import EventState
from pmulab.perf.ring_buffer import POLLHUP, POLLIN
from pmulab.sim import kernel as sim_kernel
from pmulab.uapi import PerfRecord
from pmulab.uapi.records import PERF_CONTEXT_KERNEL, PERF_CONTEXT_USER
from pmulab.user import RingReader, parse_records, report

from .helpers import PROFILE, ST, attr, setup, workload

SAMPLE = PerfRecord.SAMPLE


def kinds(records):
    return [r.type for r in records]


def residue(event):
    """The part of the current period already counted: sample_period - period_left."""
    left = event.hw.period_left
    return event.hw.sample_period - (left - (1 << 64) if left >> 63 else left)


def test_hz_matches_the_machine():
    assert sampling.HZ == sim_kernel.HZ and sampling.TICK_NSEC == sim_kernel.TICK_NS


def test_period_sum_plus_residue_is_the_count_and_records_are_whole():
    m, t, a, fd, page = setup(period=30_000)
    reader = RingReader(t, page, a)
    recs = []
    for _ in range(12):
        m.run(1)
        recs += reader.read()
    ev = t.fds[fd]
    samples = [r for r in recs if r.type == SAMPLE]
    assert len(samples) == 12 * 100_000 // 30_000
    assert sum(r.period for r in samples) + residue(ev) == ev.count == 12 * 100_000
    assert {r.pid for r in samples} == {t.pid} and {r.cpu for r in samples} == {0}
    assert {r.id for r in samples} == {ev.id} and {r.stream_id for r in samples} == {ev.id}
    assert all(r.cpumode == uapi.PERF_RECORD_MISC_USER for r in samples)
    assert [r.time for r in samples] == sorted(r.time for r in samples)
    assert page.data_tail == page.data_head == reader.consumed


def test_ips_come_from_the_profile_and_the_report_converges():
    m, t, a, fd, page = setup(period=5_000, pages=1 + 64)
    reader = RingReader(t, page, a)
    recs = []
    for _ in range(30):
        m.run(1)
        recs += reader.read()
    rep = report(recs, PROFILE.symbols())
    truth = PROFILE.true_profile("INST_RETIRED", kernel=False)
    assert "[unknown]" not in rep.overheads() and "sys_write" not in rep.overheads()  # exclude_kernel
    for name, share in truth.items():
        assert abs(rep[name].overhead / 100 - share) < 0.05, (name, rep.table())


def test_same_seed_same_records_other_seed_other_ips():
    def run(seed):
        m, t, a, fd, page = setup(period=20_000, seed=seed)
        m.run(5)
        return RingReader(t, page, a).read_bytes()
    assert run(3) == run(3)
    assert run(3) != run(4)


def test_callchain_and_kernel_samples():
    st = ST | uapi.PERF_SAMPLE_CALLCHAIN
    m, t, a, fd, page = setup(period=10_000, sample_type=st, exclude_kernel=0, pages=1 + 16, paranoid=1)
    m.run(3)
    samples = [r for r in RingReader(t, page, a).read() if r.type == SAMPLE]
    user = [r for r in samples if r.cpumode == uapi.PERF_RECORD_MISC_USER]
    kern = [r for r in samples if r.cpumode == uapi.PERF_RECORD_MISC_KERNEL]
    assert user and kern
    for r in user:
        assert r.callchain[0] == PERF_CONTEXT_USER and r.callchain[1] == r.ip
    for r in kern:
        assert r.callchain[0] == PERF_CONTEXT_KERNEL and r.callchain[1] == r.ip
        assert PERF_CONTEXT_USER in r.callchain  # the system call's user caller follows


def test_small_buffer_slow_consumer_loses_records_and_says_how_many():
    m, t, a, fd, page = setup(period=2_000, pages=1 + 1)  # 4 KiB ring, 50 samples of 64 B per tick
    m.run(3)
    ev = t.fds[fd]
    rb = ev.rb
    assert rb.dropped > 0 and ev.lost_samples == rb.dropped
    assert page.data_head - page.data_tail <= page.data_size - 8  # never completely full
    recs = RingReader(t, page, a).read()
    assert PerfRecord.LOST not in kinds(recs)  # the LOST record waits for space
    m.run(1)
    recs = RingReader(t, page, a).read()
    lost = [r for r in recs if r.type == PerfRecord.LOST]
    assert len(lost) == 1 and lost[0].id == ev.id
    assert lost[0].lost + rb.lost == rb.dropped  # counted, then reported once space freed


def test_wrap_never_tears_a_record():
    m, t, a, fd, page = setup(period=7_000, pages=1 + 1)
    reader = RingReader(t, page, a)
    wrapped = 0
    for _ in range(40):
        m.run(1)
        data = reader.read_bytes()
        wrapped += any(s.values.get("wrapped") for s in reader.history if s.name == "copy")
        parse_records(data, a)  # whole records only, or ValueError
    assert wrapped and page.data_head > 4 * page.data_size


def test_overwrite_mode_ignores_the_tail_and_backward_writes_down():
    m, t, a, fd, page = setup(period=3_000, pages=1 + 1, write=False)
    m.run(5)
    assert page.data_head > page.data_size and t.fds[fd].rb.dropped == 0  # overwritten, nothing dropped
    m2, t2, a2, fd2, page2 = setup(period=3_000, pages=1 + 1, write=False, write_backward=1)
    m2.run(1)
    head = page2.data_head
    assert head > 1 << 63  # moved down from 0
    size = page2.data_size
    data = bytes(page2.data)
    start = head % size
    newest = parse_records(data[start:], a2)  # from the head up to where writing began
    assert len(newest) == 100_000 // 3_000 and {r.type for r in newest} == {SAMPLE}


def test_throttle_and_unthrottle_records():
    m, t, a, fd, page = setup(period=1_000, pages=1 + 64)
    m.sysctl("kernel.perf_event_max_sample_rate", 2_500)  # 10 interrupts per tick
    m.run(3)
    recs = RingReader(t, page, a).read()
    ty = kinds(recs)
    assert ty.count(PerfRecord.THROTTLE) == 3 and ty.count(PerfRecord.UNTHROTTLE) == 3
    first = ty.index(PerfRecord.THROTTLE)
    assert ty[:first] == [SAMPLE] * 10 and ty[first + 1] == SAMPLE  # the 11th sample is still written
    assert ty[first + 2] == PerfRecord.UNTHROTTLE
    assert ty.count(SAMPLE) == 3 * 11


def test_handler_cost_lowers_the_max_sample_rate_unless_disabled():
    m, t, a, fd, page = setup(period=20_000, pages=1 + 64)
    m.perf.sample_cost_ns = 20_000
    m.run(60)
    assert m.sysctl("kernel.perf_event_max_sample_rate") < 100_000
    m2, t2, a2, fd2, page2 = setup(period=20_000, pages=1 + 64)
    m2.sysctl("kernel.perf_cpu_time_max_percent", 0)
    m2.perf.sample_cost_ns = 20_000
    m2.run(60)
    assert m2.sysctl("kernel.perf_event_max_sample_rate") == 100_000


def test_frequency_mode_converges_to_the_target_rate():
    m = Machine(cpus=1, seed=0)
    t = m.spawn("T", cpu=0, workload=workload(1_000_000))
    a = attr(0, freq=1)
    a.sample_freq = 1_000  # 4 samples per tick at HZ=250
    fd = t.perf_event_open(a, pid=0, cpu=-1)
    page = t.mmap(fd, pages=1 + 128)
    reader = RingReader(t, page, a)
    per_tick = []
    for _ in range(120):
        m.run(1)
        per_tick.append(sum(r.type == SAMPLE for r in reader.read()))
    ev = t.fds[fd]
    assert abs(ev.hw.sample_period - 250_000) < 250_000 * 0.02
    assert per_tick[0] > 10 and all(3 <= n <= 5 for n in per_tick[-20:])


def test_refresh_stops_after_n_overflows():
    m, t, a, fd, page = setup(period=10_000, disabled=1)
    t.ioctl(fd, uapi.PERF_EVENT_IOC_REFRESH, 3)
    m.run(4)
    recs = RingReader(t, page, a).read()
    assert kinds(recs).count(SAMPLE) == 3
    assert t.fds[fd].state == EventState.OFF and t.fds[fd].event_limit == 0


def test_wakeup_events_and_watermark_poll():
    m, t, a, fd, page = setup(period=10_000, wakeup_events=5)
    assert t.poll(fd) == 0
    m.run(1)  # 10 samples -> two wakeups
    assert t.poll(fd) == POLLIN and t.poll(fd) == 0
    m2, t2, a2, fd2, page2 = setup(period=10_000, watermark=1, wakeup_events=1024)  # wakeup_watermark
    m2.run(1)  # 10 x 64 B < 1024
    assert t2.poll(fd2) == 0
    m2.run(1)
    assert t2.poll(fd2) == POLLIN
    t2.exit()


def test_poll_hup_after_exit():
    m, t, a, fd, page = setup(period=10_000)
    u = t.fork()
    ev = t.fds[fd]
    t.exit()
    assert m.perf.poll(u, ev) == POLLHUP


def test_side_band_records_with_sample_id_all():
    m = Machine(cpus=1, seed=0, timeslice=1)
    t = m.spawn("T", cpu=0, workload=workload())
    a = attr(50_000, comm=1, task=1, context_switch=1)
    fd = t.perf_event_open(a, pid=0, cpu=-1)
    c = t.fork(name="C")  # maps T's event (B maps A's): its mapping survives T's exec
    page = c.mmap(fd, pages=1 + 8)
    m.run(4)
    t.exec()
    t.fork()
    recs = RingReader(c, page, a).read()
    ty = kinds(recs)
    assert PerfRecord.SWITCH in ty and PerfRecord.COMM in ty and PerfRecord.FORK in ty
    outs = [r for r in recs if r.type == PerfRecord.SWITCH and r.misc & uapi.PERF_RECORD_MISC_SWITCH_OUT]
    assert outs and all(r.misc & uapi.PERF_RECORD_MISC_SWITCH_OUT_PREEMPT for r in outs)
    comm = next(r for r in recs if r.type == PerfRecord.COMM)
    assert comm.misc & uapi.PERF_RECORD_MISC_COMM_EXEC and comm.comm == "T" and comm.sample_id["pid"] == t.pid
    fork = next(r for r in recs if r.type == PerfRecord.FORK)
    assert fork.ppid == t.pid and fork.pid != t.pid and fork.sample_id["id"] == t.fds[fd].id


def test_exit_record_goes_to_a_cpu_wide_event():
    m = Machine(cpus=1, seed=0, perf_event_paranoid=0)
    root = m.spawn("root", uid=0, cpu=0)
    a = attr(1_000_000, task=1)
    fd = root.perf_event_open(a, pid=-1, cpu=0)
    page = root.mmap(fd, pages=1 + 2)
    t = m.spawn("T", cpu=0, workload=workload())
    m.run(1)
    t.exit()
    recs = RingReader(root, page, a).read()
    ex = [r for r in recs if r.type == PerfRecord.EXIT]
    assert len(ex) == 1 and ex[0].pid == t.pid and ex[0].tid == t.pid


# ------------------------------------------------------------------------------------ errors
def refused(m, fn, code, match):
    before = m.snapshot()
    with pytest.raises(PerfError, match=match) as info:
        fn()
    assert info.value.errno == code
    assert m.snapshot() == before


def test_bad_sizes_and_second_mapping():
    m, t, a, fd, page = setup(period=30_000)
    fd2 = t.perf_event_open(attr(30_000), pid=0, cpu=-1)
    for pages in (0, 1 + 3, 1 + 6, 2 + 4):
        refused(m, lambda p=pages: t.mmap(fd2, pages=p), errno.EINVAL, "1 \\+ 2\\^n")
    refused(m, lambda: t.mmap(fd, pages=1 + 8), errno.EINVAL, "already mapped")


def test_bad_periods_and_frequencies():
    m = Machine(cpus=1)
    t = m.spawn("T", cpu=0)
    refused(m, lambda: t.perf_event_open(attr(1 << 63), pid=0, cpu=-1), errno.EINVAL, "2\\^63")
    f = attr(0, freq=1)
    f.sample_freq = 100_001
    refused(m, lambda: t.perf_event_open(f, pid=0, cpu=-1), errno.EINVAL, "max_sample_rate")


def test_mlock_allowance():
    m = Machine(cpus=2)
    t = m.spawn("T", cpu=0)
    m.sysctl("kernel.perf_event_mlock_kb", 8)  # 2 pages per CPU
    fds = [t.perf_event_open(attr(30_000), pid=0, cpu=-1) for _ in range(2)]
    t.mmap(fds[0], pages=1 + 1024)  # 4 locked in locked_vm, the rest pinned (4 MiB of the 8 MiB rlimit)
    refused(m, lambda: t.mmap(fds[1], pages=1 + 2048), errno.EPERM, "locked-memory allowance")
    t.munmap(fds[0])
    assert m.perf.locked_vm(t.uid) == 0
    t.mmap(fds[1], pages=1 + 1024)  # the refund made room
    root = m.spawn("root", uid=0, cpu=1)
    rfd = root.perf_event_open(attr(30_000), pid=0, cpu=-1)
    root.mmap(rfd, pages=1 + 4096)  # CAP_IPC_LOCK


def test_set_output():
    m = Machine(cpus=2, seed=0)
    t = m.spawn("T", cpu=0, workload=workload())
    a = attr(30_000)
    fd1 = t.perf_event_open(a, pid=0, cpu=-1)
    fd2 = t.perf_event_open(attr(30_000, config=uapi.PERF_COUNT_HW_CPU_CYCLES), pid=0, cpu=-1)
    refused(m, lambda: t.ioctl(fd2, uapi.PERF_EVENT_IOC_SET_OUTPUT, fd1), errno.EINVAL, "no ring buffer")
    page = t.mmap(fd1, pages=1 + 8)
    refused(m, lambda: t.ioctl(fd1, uapi.PERF_EVENT_IOC_SET_OUTPUT, fd1), errno.EINVAL, "itself")
    refused(m, lambda: t.ioctl(fd1, uapi.PERF_EVENT_IOC_SET_OUTPUT, fd2), errno.EINVAL, "mmap")
    back = t.perf_event_open(attr(30_000, write_backward=1), pid=0, cpu=-1)
    refused(m, lambda: t.ioctl(back, uapi.PERF_EVENT_IOC_SET_OUTPUT, fd1), errno.EINVAL, "backward")
    root = m.spawn("root", uid=0, cpu=1)
    cpu0 = root.perf_event_open(attr(30_000), pid=-1, cpu=0)
    cpu1 = root.perf_event_open(attr(30_000), pid=-1, cpu=1)
    root.mmap(cpu0, pages=1 + 2)
    refused(m, lambda: root.ioctl(cpu1, uapi.PERF_EVENT_IOC_SET_OUTPUT, cpu0), errno.EINVAL, "different CPUs")
    assert t.ioctl(fd2, uapi.PERF_EVENT_IOC_SET_OUTPUT, fd1) == 0
    m.run(3)
    samples = [r for r in RingReader(t, page, a).read() if r.type == SAMPLE]
    ids = {r.id for r in samples}
    assert ids == {t.fds[fd1].id, t.fds[fd2].id}
    assert t.ioctl(fd2, uapi.PERF_EVENT_IOC_SET_OUTPUT, -1) == 0 and t.fds[fd2].rb is None


def test_group_read_in_samples():
    m = Machine(cpus=1, seed=0)
    t = m.spawn("T", cpu=0, workload=workload())
    fmt = uapi.PERF_FORMAT_GROUP | uapi.PERF_FORMAT_ID
    a = attr(30_000, sample_type=ST | uapi.PERF_SAMPLE_READ, read_format=fmt)
    lead = t.perf_event_open(a, pid=0, cpu=-1)
    sib_attr = attr(0, read_format=fmt, config=uapi.PERF_COUNT_HW_CPU_CYCLES)
    sib = t.perf_event_open(sib_attr, pid=0, cpu=-1, group_fd=lead)
    page = t.mmap(lead, pages=1 + 8)
    m.run(2)
    samples = [r for r in RingReader(t, page, a).read() if r.type == SAMPLE]
    assert samples
    last = samples[-1].read
    assert [v.id for v in last.values] == [t.fds[lead].id, t.fds[sib].id]
    assert last.values[1].value == pytest.approx(last.values[0].value * 1.5, rel=0.01)
