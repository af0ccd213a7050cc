"""The host kernel's real ring buffer, consumed and parsed with pmulab's RingReader and parse_records.

Opens a sampling software event (task-clock, sample_period 100 us, IP|TID|TIME|PERIOD,
exclude_kernel) with perf_event_open(2) through ctypes, maps 1 + 2^n pages, burns CPU while
consuming, and checks the real records: sizes, types, pids, monotonic times, the period asked
for, every IP inside an executable mapping of this process; then re-packs each record with the
model's writer (``uapi.pack_record``) and compares the bytes. A second event adds
``sample_id_all`` with COMM and SWITCH records. Skips only when the host refuses the syscall.
"""

import ctypes
import errno
import fcntl
import gc
import mmap
import os
import time

import numpy as np
import pytest

from pmulab import uapi
from pmulab.uapi import MmapPage, PerfEventAttr, PerfRecord, pack_record
from pmulab.user import RingReader, host, parse_records, parse_samples, report

PERIOD_NS = 100_000
DATA_PAGES = 2  # 1 + 2^1 pages: an 8 KiB ring (~200 samples) that the burn wraps many times
SAMPLE_TYPE = uapi.PERF_SAMPLE_IP | uapi.PERF_SAMPLE_TID | uapi.PERF_SAMPLE_TIME | uapi.PERF_SAMPLE_PERIOD


def _open(attr: PerfEventAttr) -> int:
    fd, err = host.perf_event_open(attr.to_bytes())
    if fd < 0:
        if err in host.REFUSED:
            pytest.skip(f"host refused perf_event_open: {errno.errorcode.get(err, err)}, "
                        f"kernel.perf_event_paranoid={host.paranoid()}")
        pytest.fail(f"perf_event_open failed with {errno.errorcode.get(err, err)}")
    return fd


class Mapping:
    """A real perf fd with 1 + 2^n pages mapped; closes cleanly even if views leaked."""

    def __init__(self, attr: PerfEventAttr, data_pages: int = DATA_PAGES):
        self.attr = attr
        self.fd = _open(attr)
        self.map = mmap.mmap(self.fd, (1 + data_pages) * mmap.PAGESIZE, mmap.MAP_SHARED,
                             mmap.PROT_READ | mmap.PROT_WRITE)
        self.page = MmapPage.from_buffer(self.map)
        self.reader = RingReader(None, self.page, attr)

    def close(self):
        fcntl.ioctl(self.fd, uapi.PERF_EVENT_IOC_DISABLE, 0)
        self.reader.release()
        del self.reader, self.page
        gc.collect()
        self.map.close()
        os.close(self.fd)


@pytest.fixture
def mapping_factory():
    made = []

    def make(attr, data_pages=DATA_PAGES):
        m = Mapping(attr, data_pages)
        made.append(m)
        return m

    yield make
    for m in made:
        m.close()


def _burn(seconds_of_cpu: float, consume) -> list[bytes]:
    """Spin until this thread has used ``seconds_of_cpu`` of CPU time, consuming every ~1 ms."""
    chunks = []
    start = time.thread_time()
    while time.thread_time() - start < seconds_of_cpu:
        sum(range(3000))
        chunks.append(consume())
    chunks.append(consume())
    return chunks


def _exec_maps() -> list[tuple[str, int, int]]:
    out = []
    with open("/proc/self/maps") as f:
        for line in f:
            parts = line.split()
            if "x" in parts[1]:
                lo, hi = (int(v, 16) for v in parts[0].split("-"))
                out.append((f"{parts[-1] if len(parts) > 5 else '[anon]'}@{lo:#x}", lo, hi))
    return out


def test_real_sampling_records_through_the_ring_reader(mapping_factory):
    attr = PerfEventAttr(type=uapi.PERF_TYPE_SOFTWARE, config=uapi.PERF_COUNT_SW_TASK_CLOCK,
                         sample_period=PERIOD_NS, sample_type=SAMPLE_TYPE, exclude_kernel=1, disabled=1)
    m = mapping_factory(attr)
    page = m.page
    assert page.data_offset == mmap.PAGESIZE
    assert page.data_size == DATA_PAGES * mmap.PAGESIZE
    assert m.reader.data.nbytes == page.data_size
    assert page.data_head == page.data_tail == 0  # disabled: nothing written yet

    assert fcntl.ioctl(m.fd, uapi.PERF_EVENT_IOC_ENABLE, 0) == 0
    chunks = _burn(0.15, m.reader.read_bytes)
    fcntl.ioctl(m.fd, uapi.PERF_EVENT_IOC_DISABLE, 0)
    chunks.append(m.reader.read_bytes())
    data = b"".join(chunks)

    # the consumer stored its tail: everything published was consumed
    assert page.data_tail == page.data_head == m.reader.consumed == len(data)
    assert page.data_head > page.data_size, "the burn should have wrapped the ring at least once"

    records = parse_records(data, attr)
    assert records, "no records at all"
    samples = [r for r in records if r.type == PerfRecord.SAMPLE]
    assert [r.type for r in records if r.type != PerfRecord.SAMPLE] == []  # no LOST: the reader kept up
    assert len(samples) >= 100
    for r in samples:
        assert r.size == 8 + 4 * 8  # header + ip + pid/tid + time + period
        assert r.pid == r.tid == os.getpid()
        assert r.period == PERIOD_NS
        assert r.cpumode == uapi.PERF_RECORD_MISC_USER  # exclude_kernel: only user-mode samples
        assert set(r.fields) == {"ip", "pid", "tid", "time", "period"}
    times = [r.time for r in samples]
    assert all(b > a for a, b in zip(times, times[1:], strict=False)), "sample times not increasing"

    # the model's writer produces the host kernel's bytes, record for record
    assert b"".join(pack_record(r.type, attr, misc=r.misc, **r.fields) for r in records) == data

    # the vectorised path sees the same samples
    arr = parse_samples(data, attr)
    assert len(arr) == len(samples)
    assert np.array_equal(arr["ip"], [r.ip for r in samples])
    assert np.array_equal(arr["time"], times)
    assert set(arr["pid"].tolist()) == {os.getpid()}

    # every user-mode IP lies in an executable mapping of this process
    rep = report(records, _exec_maps())
    assert rep.total_samples == len(samples)
    assert rep.total_period == PERIOD_NS * len(samples)
    assert "[unknown]" not in rep.overheads(), rep.table()


def test_real_sample_id_all_trailer_comm_and_switch(mapping_factory):
    sample_type = SAMPLE_TYPE | uapi.PERF_SAMPLE_ID | uapi.PERF_SAMPLE_CPU | uapi.PERF_SAMPLE_IDENTIFIER
    attr = PerfEventAttr(type=uapi.PERF_TYPE_SOFTWARE, config=uapi.PERF_COUNT_SW_TASK_CLOCK,
                         sample_period=PERIOD_NS, sample_type=sample_type, exclude_kernel=1, disabled=1,
                         sample_id_all=1, comm=1, context_switch=1)
    m = mapping_factory(attr, data_pages=8)
    ident = bytearray(8)
    fcntl.ioctl(m.fd, uapi.PERF_EVENT_IOC_ID, ident)
    event_id = int.from_bytes(ident, "little")

    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_name, pr_get_name = 15, 16
    old = ctypes.create_string_buffer(16)
    libc.prctl(pr_get_name, old)
    assert fcntl.ioctl(m.fd, uapi.PERF_EVENT_IOC_ENABLE, 0) == 0
    try:
        libc.prctl(pr_set_name, b"pmulab-ring")
        chunks = [m.reader.read_bytes()]
        time.sleep(0.002)  # a context switch out and back in
        chunks += _burn(0.01, m.reader.read_bytes)
    finally:
        libc.prctl(pr_set_name, old)
    fcntl.ioctl(m.fd, uapi.PERF_EVENT_IOC_DISABLE, 0)
    chunks.append(m.reader.read_bytes())
    data = b"".join(chunks)
    records = parse_records(data, attr)
    by_type = {}
    for r in records:
        by_type.setdefault(r.type, []).append(r)

    comm = [r for r in by_type.get(PerfRecord.COMM, []) if r.comm == "pmulab-ring"]
    assert comm, f"no COMM record for the new name in {sorted(by_type)}"
    assert comm[0].pid == comm[0].tid == os.getpid()
    switches = by_type.get(PerfRecord.SWITCH, [])
    assert any(r.misc & uapi.PERF_RECORD_MISC_SWITCH_OUT for r in switches)
    assert any(not r.misc & uapi.PERF_RECORD_MISC_SWITCH_OUT for r in switches)
    for r in records:
        if r.type == PerfRecord.SAMPLE:
            assert r.id == event_id and r.pid == os.getpid() and r.size == 8 + 7 * 8
        else:  # the sample_id trailer: TID, TIME, ID, CPU, IDENTIFIER
            assert set(r.sample_id) == {"pid", "tid", "time", "id", "cpu", "res", "identifier"}
            assert r.sample_id["id"] == r.sample_id["identifier"] == event_id
            assert r.sample_id["pid"] == os.getpid()
    times = [r.time for r in records]  # body time for SAMPLE, trailer time for the others
    assert times == sorted(times)
    repacked = b"".join(pack_record(r.type, attr, misc=r.misc, sample_id=r.sample_id or None, **r.fields)
                        for r in records)
    assert repacked == data
