"""uapi.records: header and body layouts against include/uapi/linux/perf_event.h, the writer's bytes,
and pack -> parse round trips for every record type and sample_type combination."""

import ctypes
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pmulab import uapi
from pmulab.uapi import PerfEventAttr, PerfRecord, ReadResult, ReadValue, pack_record, pack_sample
from pmulab.uapi import records as R
from pmulab.user import parse_records

S = uapi  # PERF_SAMPLE_* live in uapi


# ------------------------------------------------------------------------- declarations
def test_header_layout():
    assert ctypes.sizeof(R.PerfEventHeader) == R.HEADER_SIZE == 8
    assert [(f, getattr(R.PerfEventHeader, f).offset) for f, _ in R.PerfEventHeader._fields_] == [
        ("type", 0), ("misc", 4), ("size", 6)]
    h = R.PerfEventHeader.from_buffer_copy(R.HEADER.pack(9, 2, 40))
    assert (h.type, h.misc, h.size) == (9, 2, 40)


def test_sample_body_order_is_the_kernels():
    # perf_event.h: IDENTIFIER, IP, TID, TIME, ADDR, ID, STREAM_ID, CPU, PERIOD, READ, CALLCHAIN
    assert [bit for bit, _ in R.SAMPLE_FIELDS] == [
        S.PERF_SAMPLE_IDENTIFIER, S.PERF_SAMPLE_IP, S.PERF_SAMPLE_TID, S.PERF_SAMPLE_TIME, S.PERF_SAMPLE_ADDR,
        S.PERF_SAMPLE_ID, S.PERF_SAMPLE_STREAM_ID, S.PERF_SAMPLE_CPU, S.PERF_SAMPLE_PERIOD]
    assert [bit for bit, _ in R.SAMPLE_ID_FIELDS] == [
        S.PERF_SAMPLE_TID, S.PERF_SAMPLE_TIME, S.PERF_SAMPLE_ID, S.PERF_SAMPLE_STREAM_ID, S.PERF_SAMPLE_CPU,
        S.PERF_SAMPLE_IDENTIFIER]
    assert R.SAMPLE_SUPPORTED == (1 << 17) - 1 & ~(S.PERF_SAMPLE_RAW | S.PERF_SAMPLE_BRANCH_STACK
                                                  | S.PERF_SAMPLE_REGS_USER | S.PERF_SAMPLE_STACK_USER
                                                  | S.PERF_SAMPLE_WEIGHT | S.PERF_SAMPLE_DATA_SRC)


def test_callchain_context_markers():
    # enum perf_callchain_context: (__u64)-32, -128, -512, -2048, -2176, -2560, -4095
    assert R.PERF_CONTEXT_HV == 0xFFFFFFFFFFFFFFE0
    assert R.PERF_CONTEXT_KERNEL == 0xFFFFFFFFFFFFFF80
    assert R.PERF_CONTEXT_USER == 0xFFFFFFFFFFFFFE00
    assert R.PERF_CONTEXT_GUEST == 2**64 - 2048
    assert R.PERF_CONTEXT_GUEST_KERNEL == 2**64 - 2176
    assert R.PERF_CONTEXT_GUEST_USER == 2**64 - 2560
    assert R.PERF_CONTEXT_MAX == 2**64 - 4095
    assert R.PERF_MAX_STACK_DEPTH == 127


def test_body_declarations():
    B = R.RECORD_BODIES
    assert B[PerfRecord.LOST] == (("id", "Q"), ("lost", "Q"))
    assert B[PerfRecord.THROTTLE] == B[PerfRecord.UNTHROTTLE] == (("time", "Q"), ("id", "Q"), ("stream_id", "Q"))
    assert B[PerfRecord.FORK] == B[PerfRecord.EXIT] == (("pid", "I"), ("ppid", "I"), ("tid", "I"), ("ptid", "I"),
                                                        ("time", "Q"))
    assert B[PerfRecord.SWITCH] == ()
    assert B[PerfRecord.COMM][-1] == ("comm", R.STRING)


def test_cpumode():
    assert R.cpumode(uapi.PERF_RECORD_MISC_USER | uapi.PERF_RECORD_MISC_EXACT_IP) == uapi.PERF_RECORD_MISC_USER
    assert R.cpumode(uapi.PERF_RECORD_MISC_KERNEL) == 1 and R.cpumode(uapi.PERF_RECORD_MISC_HYPERVISOR) == 3


# ------------------------------------------------------------------------- golden bytes
def test_sample_bytes_golden():
    attr = PerfEventAttr(sample_type=S.PERF_SAMPLE_IP | S.PERF_SAMPLE_TID | S.PERF_SAMPLE_TIME | S.PERF_SAMPLE_PERIOD)
    raw = pack_sample(attr, misc=uapi.PERF_RECORD_MISC_USER, ip=0x400123, pid=7, tid=8, time=99, period=1000)
    assert raw == struct.pack("<IHHQIIQQ", 9, 2, 40, 0x400123, 7, 8, 99, 1000)


def test_sample_all_fixed_fields_golden():
    attr = PerfEventAttr(sample_type=R.SAMPLE_SUPPORTED & ~(S.PERF_SAMPLE_READ | S.PERF_SAMPLE_CALLCHAIN))
    raw = pack_sample(attr, id=1, ip=2, pid=3, tid=4, time=5, addr=6, stream_id=7, cpu=8, period=9)
    # IDENTIFIER ip pid tid time addr ID stream_id cpu res period
    assert raw == struct.pack("<IHH QQIIQQQQIIQ", 9, 0, 8 + 72, 1, 2, 3, 4, 5, 6, 1, 7, 8, 0, 9)


def test_sample_read_group_and_callchain_golden():
    rf = uapi.PERF_FORMAT_GROUP | uapi.PERF_FORMAT_ID | uapi.PERF_FORMAT_TOTAL_TIME_ENABLED
    attr = PerfEventAttr(sample_type=S.PERF_SAMPLE_IP | S.PERF_SAMPLE_READ | S.PERF_SAMPLE_CALLCHAIN, read_format=rf)
    raw = pack_sample(attr, ip=0x10, read=ReadResult(rf, (ReadValue(5, 100), ReadValue(6, 101)), 77, None, True),
                      callchain=[R.PERF_CONTEXT_USER, 0x10, 0x20])
    words = [0x10, 2, 77, 5, 100, 6, 101, 3, R.PERF_CONTEXT_USER, 0x10, 0x20]
    assert raw == struct.pack("<IHH", 9, 0, 8 + 8 * len(words)) + struct.pack(f"<{len(words)}Q", *words)


def test_comm_padding_and_trailer_golden():
    attr = PerfEventAttr(sample_type=S.PERF_SAMPLE_TID | S.PERF_SAMPLE_TIME | S.PERF_SAMPLE_IDENTIFIER,
                         sample_id_all=1)
    raw = pack_record(PerfRecord.COMM, attr, misc=uapi.PERF_RECORD_MISC_COMM_EXEC, pid=5, tid=6, comm="12345678",
                      sample_id={"time": 42, "id": 9})
    body = struct.pack("<II", 5, 6) + b"12345678" + b"\0" * 8 + struct.pack("<IIQQ", 5, 6, 42, 9)
    assert raw == struct.pack("<IHH", 3, 1 << 13, 8 + len(body)) + body
    for comm, padded in (("", 8), ("abc", 8), ("1234567", 8), ("12345678", 16)):
        assert len(pack_record(PerfRecord.COMM, None, comm=comm)) == 8 + 8 + padded


def test_lost_golden_without_trailer():
    assert pack_record(PerfRecord.LOST, PerfEventAttr(), id=3, lost=12) == struct.pack("<IHHQQ", 2, 0, 24, 3, 12)


def test_switch_is_header_plus_trailer():
    attr = PerfEventAttr(sample_type=S.PERF_SAMPLE_CPU, sample_id_all=1)
    raw = pack_record(PerfRecord.SWITCH, attr, misc=uapi.PERF_RECORD_MISC_SWITCH_OUT, sample_id={"cpu": 3})
    assert raw == struct.pack("<IHHII", 14, 1 << 13, 16, 3, 0)


@pytest.mark.parametrize("call, exc", [
    (lambda: pack_sample(PerfEventAttr(sample_type=S.PERF_SAMPLE_IP), ipp=1), TypeError),
    (lambda: pack_sample(PerfEventAttr(sample_type=S.PERF_SAMPLE_TID), pid=1 << 32), ValueError),
    (lambda: pack_sample(PerfEventAttr(sample_type=S.PERF_SAMPLE_IP), ip=-1), ValueError),
    (lambda: pack_sample(PerfEventAttr(sample_type=S.PERF_SAMPLE_RAW)), ValueError),
    (lambda: pack_sample(PerfEventAttr(sample_type=S.PERF_SAMPLE_IP), misc=1 << 16), ValueError),
    (lambda: pack_sample(PerfEventAttr(sample_type=S.PERF_SAMPLE_CALLCHAIN), callchain=[0] * 9000), ValueError),
    (lambda: pack_record(PerfRecord.LOST, None, lots=1), TypeError),
    (lambda: pack_record(PerfRecord.COMM, None, comm="a\0b"), ValueError),
    (lambda: pack_record(PerfRecord.SAMPLE, PerfEventAttr(), sample_id={"pid": 1}), TypeError),
    (lambda: pack_record(PerfRecord.KSYMBOL, None, unparsed=b"abc"), ValueError),
])
def test_writer_rejects_bad_input(call, exc):
    with pytest.raises(exc):
        call()


def test_sample_dtype_matches_struct_layout():
    st_ = S.PERF_SAMPLE_IDENTIFIER | S.PERF_SAMPLE_IP | S.PERF_SAMPLE_CPU | S.PERF_SAMPLE_READ
    rf = uapi.PERF_FORMAT_ID | uapi.PERF_FORMAT_LOST
    attr = PerfEventAttr(sample_type=st_, read_format=rf)
    raw = pack_sample(attr, id=11, ip=22, cpu=3, read=ReadValue(44, 55, 66))
    dt = R.sample_dtype(attr)
    assert dt.itemsize == len(raw)
    a = np.frombuffer(raw, dt)[0]
    assert (a["type"], a["size"], a["identifier"], a["ip"], a["cpu"]) == (9, len(raw), 11, 22, 3)
    assert (a["read_value"], a["read_id"], a["read_lost"]) == (44, 55, 66)
    with pytest.raises(ValueError):
        R.sample_dtype(PerfEventAttr(sample_type=S.PERF_SAMPLE_CALLCHAIN))  # needs callchain_nr
    with pytest.raises(ValueError):
        R.sample_dtype(PerfEventAttr(sample_type=S.PERF_SAMPLE_RAW))


# ------------------------------------------------------------------------- round trips
u32 = st.integers(0, 2**32 - 1)
u64 = st.integers(0, 2**64 - 1)
supported_bits = [bit for bit in (1 << i for i in range(17)) if bit & R.SAMPLE_SUPPORTED]


@st.composite
def attrs(draw):
    sample_type = 0
    for bit in supported_bits:
        if draw(st.booleans()):
            sample_type |= bit
    return PerfEventAttr(sample_type=sample_type, read_format=draw(st.integers(0, uapi.PERF_FORMAT_MAX - 1)),
                         sample_id_all=draw(st.integers(0, 1)))


@st.composite
def read_results(draw, rf):
    group = bool(rf & uapi.PERF_FORMAT_GROUP)
    n = draw(st.integers(0, 4)) if group else 1
    vals = tuple(ReadValue(draw(u64), draw(u64) if rf & uapi.PERF_FORMAT_ID else None,
                           draw(u64) if rf & uapi.PERF_FORMAT_LOST else None) for _ in range(n))
    te = draw(u64) if rf & uapi.PERF_FORMAT_TOTAL_TIME_ENABLED else None
    tr = draw(u64) if rf & uapi.PERF_FORMAT_TOTAL_TIME_RUNNING else None
    return ReadResult(rf, vals, te, tr, group)


@st.composite
def sample_fields(draw, attr):
    fields, st_ = {}, attr.sample_type
    for bit, pairs in R.SAMPLE_FIELDS:
        if st_ & bit:
            for name, code in pairs:
                if name not in fields:
                    fields[name] = draw(u64 if code == "Q" else u32)
    if st_ & S.PERF_SAMPLE_READ:
        fields["read"] = draw(read_results(attr.read_format))
    if st_ & S.PERF_SAMPLE_CALLCHAIN:
        fields["callchain"] = tuple(draw(st.lists(u64, max_size=8)))
    return fields


def body_fields(draw, rtype):
    out = {}
    for name, code in R.RECORD_BODIES[rtype]:
        if code == R.STRING:
            out[name] = draw(st.text(st.characters(codec="utf-8", exclude_characters="\0"), max_size=20))
        elif code == "r":
            out[name] = None  # filled by the caller (needs attr)
        else:
            out[name] = draw(u64 if code == "Q" else u32)
    return out


@st.composite
def streams(draw):
    attr = draw(attrs())
    expected, raw = [], []
    for _ in range(draw(st.integers(1, 6))):
        rtype = draw(st.sampled_from([PerfRecord.SAMPLE, *R.RECORD_BODIES]))
        misc = draw(st.integers(0, 2**16 - 1))
        if rtype == PerfRecord.SAMPLE:
            fields = draw(sample_fields(attr))
            raw.append(pack_sample(attr, misc=misc, **fields))
            trailer = {}
        else:
            fields = body_fields(draw, rtype)
            if "values" in fields:
                fields["values"] = draw(read_results(attr.read_format))
            trailer = {}
            if attr.sample_id_all:
                for bit, pairs in R.SAMPLE_ID_FIELDS:
                    if attr.sample_type & bit:
                        for name, code in pairs:
                            key = "identifier" if bit == S.PERF_SAMPLE_IDENTIFIER else name
                            trailer[key] = draw(u64 if code == "Q" else u32)
            raw.append(pack_record(rtype, attr, misc=misc, sample_id=trailer, **fields))
        expected.append((rtype, misc, fields, trailer))
    return attr, expected, b"".join(raw)


def _normal(fields):
    return {k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()}


@settings(max_examples=300, deadline=None)
@given(streams())
def test_round_trip_every_type_and_sample_type(case):
    attr, expected, raw = case
    records = parse_records(raw, attr)
    assert len(records) == len(expected)
    offset = 0
    for rec, (rtype, misc, fields, trailer) in zip(records, expected, strict=True):
        assert (rec.type, rec.misc, rec.offset) == (rtype, misc, offset)
        assert rec.size % 8 == 0
        assert rec.fields == _normal(fields)
        assert rec.sample_id == trailer
        # the writer reproduces the record from what the reader decoded
        again = pack_record(rec.type, attr, misc=rec.misc, sample_id=rec.sample_id or None, **rec.fields)
        assert again == raw[offset:offset + rec.size]
        offset += rec.size
    assert offset == len(raw)
