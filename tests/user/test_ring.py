"""RingReader over a model mapping (MmapPage on a bytearray of 1 + 2^n pages): wrap-around,
tail stores, partial consumption, step order, overrun, LOST records, and a random
producer/consumer schedule that never tears a record."""

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pmulab import uapi
from pmulab.uapi import MmapPage, PerfEventAttr, PerfRecord, pack_record, pack_sample
from pmulab.user import RingReader, data_area, parse_records
from pmulab.user.ring import STEPS

PAGE = uapi.PAGE_SIZE
ATTR = PerfEventAttr(sample_type=uapi.PERF_SAMPLE_IP | uapi.PERF_SAMPLE_TID | uapi.PERF_SAMPLE_TIME
                     | uapi.PERF_SAMPLE_PERIOD | uapi.PERF_SAMPLE_ID, sample_id_all=1, sample_period=1000)


def mapping(data_pages=2):
    buf = bytearray(PAGE * (1 + data_pages))
    page = MmapPage.from_buffer(buf)
    page.data_offset, page.data_size = PAGE, PAGE * data_pages
    return buf, page


def kernel_write(buf, page, record: bytes):
    """The producer side (perf_output_copy + perf_output_put_handle): copy at head, wrapping, then
    publish the new head. Refuses to overwrite unread data (PROT_WRITE mode)."""
    size, head = page.data_size, page.data_head
    assert head + len(record) - page.data_tail <= size, "test producer would overwrite unread data"
    for i, byte in enumerate(record):
        buf[page.data_offset + (head + i) % size] = byte
    page.data_head = head + len(record)


def sample(i):
    return pack_sample(ATTR, misc=uapi.PERF_RECORD_MISC_USER, ip=0x1000 + i, pid=1, tid=1, time=i, period=1000, id=7)


def test_data_area_is_the_pages_after_the_first():
    buf, page = mapping(4)
    area = data_area(page)
    assert area.nbytes == 4 * PAGE
    area[0] = 0xAB
    assert buf[PAGE] == 0xAB
    assert data_area(page, buf).nbytes == 4 * PAGE


@pytest.mark.parametrize("offset, size", [(PAGE, 0), (PAGE, 3 * PAGE), (PAGE, 4 * PAGE), (0, PAGE)])
def test_data_area_rejects_bad_geometry(offset, size):
    buf, page = mapping(2)
    page.data_offset, page.data_size = offset, size
    with pytest.raises(ValueError):
        data_area(page)


def test_read_everything_and_store_tail():
    buf, page = mapping()
    for i in range(5):
        kernel_write(buf, page, sample(i))
    reader = RingReader(None, page, ATTR)
    assert reader.pending == 5 * 48
    records = reader.read()
    assert [r.ip for r in records] == [0x1000 + i for i in range(5)]
    assert [r.offset for r in records] == [48 * i for i in range(5)]
    assert page.data_tail == page.data_head == 5 * 48
    assert reader.read() == [] and page.data_tail == 5 * 48


def test_record_split_across_the_end_of_the_data_area():
    buf, page = mapping(1)  # 4096-byte data area
    start = PAGE - 16  # the next 48-byte record straddles the end: 16 bytes at the end, 32 at the start
    page.data_head = page.data_tail = start
    kernel_write(buf, page, sample(1))
    kernel_write(buf, page, pack_record(PerfRecord.LOST, ATTR, id=7, lost=3, sample_id={"time": 5}))
    assert buf[PAGE + PAGE - 16:PAGE + PAGE] == sample(1)[:16]  # really split
    reader = RingReader(None, page, ATTR)
    records = reader.read()
    assert [r.type for r in records] == [PerfRecord.SAMPLE, PerfRecord.LOST]
    assert records[0].ip == 0x1001 and records[0].time == 1
    assert records[1].lost == 3 and records[1].id == 7 and records[1].time == 5
    assert records[1].sample_id == {"pid": 0, "tid": 0, "time": 5, "id": 7}
    assert page.data_tail == page.data_head == start + 48 + records[1].size
    assert [s.name for s in reader.history] == list(STEPS)
    assert reader.history[2].values["wrapped"] is True


def test_free_running_head_far_beyond_the_size():
    buf, page = mapping(1)
    page.data_head = page.data_tail = 2**40 + 7 * 8
    for i in range(3):
        kernel_write(buf, page, sample(i))
    assert [r.time for r in RingReader(None, page, ATTR).read()] == [0, 1, 2]
    assert page.data_tail == 2**40 + 56 + 3 * 48


def test_max_records_consumes_whole_records_only():
    buf, page = mapping()
    for i in range(5):
        kernel_write(buf, page, sample(i))
    reader = RingReader(None, page, ATTR)
    assert [r.time for r in reader.read(max_records=2)] == [0, 1]
    assert page.data_tail == 2 * 48
    assert [r.time for r in reader.read(max_records=2)] == [2, 3]
    assert [r.time for r in reader.read()] == [4]
    assert page.data_tail == page.data_head


def test_steps_copy_only_up_to_the_head_they_read():
    buf, page = mapping()
    kernel_write(buf, page, sample(0))
    reader = RingReader(None, page, ATTR)
    gen = reader.steps()
    assert next(gen).name == "head"
    kernel_write(buf, page, sample(1))  # published after the consumer read data_head
    names = [s.name for s in gen]
    assert names == ["rmb", "copy", "mb", "tail"]
    assert page.data_tail == 48  # the second record stays for the next read
    assert [r.time for r in reader.read()] == [1]


def test_barrier_hooks_run_in_protocol_order():
    buf, page = mapping()
    kernel_write(buf, page, sample(0))
    seen = []
    reader = RingReader(None, page, ATTR, barrier=seen.append)
    reader.read()
    assert seen == ["rmb", "mb"]


def test_overrun_is_an_error_and_tail_stays():
    buf, page = mapping(1)
    page.data_head, page.data_tail = PAGE + 8, 0
    with pytest.raises(ValueError, match="exceeds data_size"):
        RingReader(None, page, ATTR).read()
    assert page.data_tail == 0


def test_torn_data_between_tail_and_head_is_reported_with_its_offset():
    buf, page = mapping()
    kernel_write(buf, page, sample(0))
    kernel_write(buf, page, sample(1)[:24])  # a broken producer published half a record
    with pytest.raises(ValueError, match="offset 48"):
        RingReader(None, page, ATTR).read()


def test_explicit_data_view_and_header_only_mode():
    buf = bytearray(3 * PAGE)
    page = MmapPage.from_buffer(buf)  # data_offset/size not published: the caller names the area
    view = memoryview(buf)[PAGE:]
    raw = sample(3)
    view[:len(raw)] = raw
    page.data_head = len(raw)
    (rec,) = RingReader(None, page, None, data=view).read()
    assert rec.type == PerfRecord.SAMPLE and rec.size == 48 and rec.fields == {"unparsed": raw[8:]}
    with pytest.raises(ValueError):
        RingReader(None, page, None, data=memoryview(buf)[PAGE:PAGE + 3000])


def test_lost_records_parse():
    attr = PerfEventAttr(sample_type=uapi.PERF_SAMPLE_TID | uapi.PERF_SAMPLE_TIME, sample_id_all=1)
    buf, page = mapping()
    kernel_write(buf, page, pack_record(PerfRecord.LOST, attr, id=9, lost=123, sample_id={"pid": 4, "tid": 5,
                                                                                          "time": 6}))
    kernel_write(buf, page, pack_record(PerfRecord.LOST_SAMPLES, attr, lost=2))
    lost, lost_samples = RingReader(None, page, attr).read()
    assert (lost.type, lost.id, lost.lost, lost.pid, lost.tid, lost.time) == (PerfRecord.LOST, 9, 123, 4, 5, 6)
    assert lost.size == 8 + 16 + 16
    assert (lost_samples.type, lost_samples.lost) == (PerfRecord.LOST_SAMPLES, 2)
    assert struct.unpack_from("<IHH", bytes(data_area(page)[:8])) == (2, 0, 40)


record_kinds = st.sampled_from(["sample", "lost", "comm", "switch", "throttle"])


def make(kind, i):
    if kind == "sample":
        return sample(i)
    if kind == "lost":
        return pack_record(PerfRecord.LOST, ATTR, id=7, lost=i, sample_id={"time": i})
    if kind == "comm":
        return pack_record(PerfRecord.COMM, ATTR, pid=1, tid=1, comm="x" * (i % 30), sample_id={"time": i})
    if kind == "switch":
        return pack_record(PerfRecord.SWITCH, ATTR, misc=uapi.PERF_RECORD_MISC_SWITCH_OUT, sample_id={"time": i})
    return pack_record(PerfRecord.THROTTLE, ATTR, time=i, id=7, stream_id=7)


@settings(max_examples=150, deadline=None)
@given(start=st.integers(0, 2**20), ops=st.lists(st.tuples(record_kinds, st.integers(0, 3)), min_size=1,
                                                  max_size=120))
def test_random_schedule_never_tears_a_record(start, ops):
    buf, page = mapping(1)
    page.data_head = page.data_tail = start * 8
    reader = RingReader(None, page, ATTR)
    produced, consumed = [], []
    for i, (kind, take) in enumerate(ops):
        raw = make(kind, i)
        if page.data_head + len(raw) - page.data_tail > page.data_size:
            consumed += reader.read()  # a full ring: the consumer must catch up first
        kernel_write(buf, page, raw)
        produced.append(raw)
        if take:
            consumed += reader.read(max_records=take)
            assert page.data_tail <= page.data_head
    consumed += reader.read()
    assert page.data_tail == page.data_head
    assert len(consumed) == len(produced)
    position = start * 8
    for rec, raw in zip(consumed, produced, strict=True):
        assert parse_records(raw, ATTR)[0] == rec
        assert rec.offset == position  # the free-running ring position it was read from
        position += len(raw)
