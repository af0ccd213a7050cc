"""The record parser: the dtype fast path equals the general path, bad input names its offset,
and report() aggregates samples per function."""

import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pmulab import uapi
from pmulab.uapi import PerfEventAttr, PerfRecord, ReadResult, ReadValue, pack_record, pack_sample
from pmulab.uapi import records as R
from pmulab.user import parse_records, parse_samples, report

FIXED_BITS = [b for b in (1 << i for i in range(17)) if b & R.SAMPLE_SUPPORTED and b != uapi.PERF_SAMPLE_CALLCHAIN]
u64 = st.integers(0, 2**64 - 1)
u32 = st.integers(0, 2**32 - 1)


def _fields(draw, attr, nr_chain, nr_group):
    f = {}
    for bit, pairs in R.SAMPLE_FIELDS:
        if attr.sample_type & bit:
            for name, code in pairs:
                f.setdefault(name, draw(u64 if code == "Q" else u32))
    rf = attr.read_format
    if attr.sample_type & uapi.PERF_SAMPLE_READ:
        n = nr_group if rf & uapi.PERF_FORMAT_GROUP else 1
        f["read"] = ReadResult(rf, tuple(ReadValue(draw(u64), draw(u64) if rf & uapi.PERF_FORMAT_ID else None,
                                                   draw(u64) if rf & uapi.PERF_FORMAT_LOST else None)
                                         for _ in range(n)),
                               draw(u64) if rf & uapi.PERF_FORMAT_TOTAL_TIME_ENABLED else None,
                               draw(u64) if rf & uapi.PERF_FORMAT_TOTAL_TIME_RUNNING else None,
                               bool(rf & uapi.PERF_FORMAT_GROUP))
    if attr.sample_type & uapi.PERF_SAMPLE_CALLCHAIN:
        f["callchain"] = tuple(draw(u64) for _ in range(nr_chain))
    return f


@st.composite
def sample_runs(draw):
    sample_type = sum(b for b in FIXED_BITS if draw(st.booleans())) | (
        uapi.PERF_SAMPLE_CALLCHAIN if draw(st.booleans()) else 0)
    attr = PerfEventAttr(sample_type=sample_type, read_format=draw(st.integers(0, uapi.PERF_FORMAT_MAX - 1)))
    nr_chain, nr_group = draw(st.integers(0, 5)), draw(st.integers(0, 3))
    fields = [_fields(draw, attr, nr_chain, nr_group) for _ in range(draw(st.integers(0, 20)))]
    misc = draw(st.integers(0, 2**16 - 1))
    return attr, fields, b"".join(pack_sample(attr, misc=misc, **f) for f in fields)


@settings(max_examples=200, deadline=None)
@given(sample_runs())
def test_dtype_fast_path_equals_general_path(case):
    attr, fields, raw = case
    arr = parse_samples(raw, attr)
    records = parse_records(raw, attr)
    assert len(arr) == len(records) == len(fields)
    for a, rec in zip(arr, records, strict=True):
        assert (int(a["type"]), int(a["misc"]), int(a["size"])) == (rec.type, rec.misc, rec.size)
        for bit, pairs in R.SAMPLE_FIELDS:
            if attr.sample_type & bit:
                for name, _ in pairs:
                    key = "identifier" if bit == uapi.PERF_SAMPLE_IDENTIFIER else name
                    assert int(a[key]) == rec.fields[name]
        if "read" in rec.fields:
            r = rec.read
            if r.group:
                assert int(a["read_nr"]) == r.nr
                assert a["read_values"][:, 0].tolist() == [v.value for v in r.values]
            else:
                assert int(a["read_value"]) == r.value
            if r.time_enabled is not None:
                assert int(a["read_time_enabled"]) == r.time_enabled
        if "callchain" in rec.fields:
            assert int(a["callchain_nr"]) == len(rec.callchain)
            if rec.callchain:
                assert tuple(int(x) for x in a["callchain"]) == rec.callchain


def test_fast_path_is_a_view_not_a_copy():
    attr = PerfEventAttr(sample_type=uapi.PERF_SAMPLE_IP | uapi.PERF_SAMPLE_TIME)
    raw = bytearray(b"".join(pack_sample(attr, ip=i, time=i) for i in range(4)))
    arr = parse_samples(raw, attr)
    raw[8:16] = struct.pack("<Q", 99)
    assert int(arr["ip"][0]) == 99


def test_fast_path_refuses_a_mixed_run_naming_the_offset():
    attr = PerfEventAttr(sample_type=uapi.PERF_SAMPLE_IP)
    raw = pack_sample(attr, ip=1) * 3 + pack_record(PerfRecord.LOST, attr, id=1, lost=1)[:16] + pack_sample(attr, ip=2)
    with pytest.raises(ValueError, match="offset 48"):
        parse_samples(raw, attr)
    chain = PerfEventAttr(sample_type=uapi.PERF_SAMPLE_CALLCHAIN)
    raw = pack_sample(chain, callchain=[1, 2]) + pack_sample(chain, callchain=[3, 4])
    assert parse_samples(raw, chain)["callchain"].tolist() == [[1, 2], [3, 4]]
    with pytest.raises(ValueError, match="offset 64"):
        parse_samples(raw + pack_sample(chain, callchain=[5, 6, 7])[:32], chain)
    with pytest.raises(ValueError, match="offset 48"):
        parse_samples(pack_sample(attr, ip=1) * 3 + b"\0" * 8, attr)
    assert len(parse_samples(b"", attr)) == 0


@pytest.mark.parametrize("mangle, offset", [
    (lambda b: b[:-8], 32),                                                      # truncated body
    (lambda b: b + b"\x09\x00", 56),                                             # truncated header
    (lambda b: b[:16] + struct.pack("<IHH", 9, 0, 12) + b[24:], 16),             # size not a multiple of 8
    (lambda b: b[:16] + struct.pack("<IHH", 9, 0, 4) + b[24:], 16),              # size below the header
    (lambda b: b[:16] + struct.pack("<IHH", 9, 0, 24) + b[24:] + b"\0" * 8, 16),  # SAMPLE body too long
    (lambda b: b + struct.pack("<IHHQ", 2, 0, 16, 1), 56),                       # LOST body too short
])
def test_bad_input_names_the_offset(mangle, offset):
    attr = PerfEventAttr(sample_type=uapi.PERF_SAMPLE_IP)
    good = pack_sample(attr, ip=1) + pack_sample(attr, ip=2) + pack_record(PerfRecord.LOST, attr, id=1, lost=2)
    assert len(parse_records(good, attr)) == 3
    with pytest.raises(ValueError, match=f"offset {offset}\\b"):
        parse_records(mangle(good), attr)


def test_unknown_types_and_extra_sample_bits_are_kept_unparsed():
    attr = PerfEventAttr(sample_type=uapi.PERF_SAMPLE_IP | uapi.PERF_SAMPLE_RAW, sample_id_all=1)
    raw_sample = struct.pack("<IHHQ", 9, 0, 32, 0x55) + struct.pack("<I12s", 12, b"rawdata-----")
    ksym = pack_record(PerfRecord.KSYMBOL, None, unparsed=b"\1" * 16)
    recs = parse_records(raw_sample + ksym, attr)
    assert recs[0].ip == 0x55 and recs[0].unparsed == raw_sample[16:]
    assert recs[1].type == PerfRecord.KSYMBOL and recs[1].unparsed == b"\1" * 16
    assert parse_records(struct.pack("<IHHQ", 99, 0, 16, 5))[0].type == 99  # a type newer than pmulab


def test_record_attribute_access():
    attr = PerfEventAttr(sample_type=uapi.PERF_SAMPLE_IP | uapi.PERF_SAMPLE_TIME, sample_id_all=1)
    (s, c) = parse_records(pack_sample(attr, misc=uapi.PERF_RECORD_MISC_KERNEL | uapi.PERF_RECORD_MISC_EXACT_IP,
                                       ip=4, time=5)
                           + pack_record(PerfRecord.COMM, attr, pid=1, tid=2, comm="bash", sample_id={"time": 6}),
                           attr)
    assert s.cpumode == uapi.PERF_RECORD_MISC_KERNEL and s.addr is None and s.callchain is None
    assert c.comm == "bash" and c.time == 6 and c.ip is None
    assert c.to_dict() == {"type": 3, "misc": 0, "size": 32, "pid": 1, "tid": 2, "comm": "bash",
                           "sample_id": {"time": 6}}
    assert "COMM" in repr(c)
    with pytest.raises(AttributeError):
        c.__nonexistent__  # noqa: B018
    with pytest.raises(AttributeError, match="ipp"):
        s.ipp  # noqa: B018 -- a typo is not a missing field


# ----------------------------------------------------------------------------- report
SYMBOLS = [("main", 0x1000, 0x1100), ("hot", 0x2000, 0x2040), ("cold", 0x3000, 0x3010)]


def test_report_aggregates_per_function_by_period():
    attr = PerfEventAttr(sample_type=uapi.PERF_SAMPLE_IP | uapi.PERF_SAMPLE_PERIOD)
    ips = [0x2000] * 6 + [0x203F] * 2 + [0x1000] * 3 + [0x3010, 0x0]  # 0x3010 = cold's end (exclusive)
    raw = b"".join(pack_sample(attr, ip=ip, period=100) for ip in ips)
    raw += pack_record(PerfRecord.LOST, attr, id=1, lost=4)
    rep = report(parse_records(raw, attr), SYMBOLS)
    assert [(r.symbol, r.samples, r.period) for r in rep.rows] == [
        ("hot", 8, 800), ("main", 3, 300), ("[unknown]", 2, 200)]
    assert rep.total_samples == 13 and rep.total_period == 1300 and rep.lost == 4
    assert rep["hot"].overhead == pytest.approx(100 * 8 / 13)
    assert sum(rep.overheads().values()) == pytest.approx(100)
    assert "hot" in rep.table() and "Lost: 4" in str(rep)
    # the structured-array path gives the same rows
    arr = parse_samples(raw[:-24], attr)
    assert report(arr, SYMBOLS).rows == rep.rows


def test_report_weighs_one_without_period_and_checks_symbols():
    attr = PerfEventAttr(sample_type=uapi.PERF_SAMPLE_IP)
    recs = parse_records(b"".join(pack_sample(attr, ip=ip) for ip in (0x1000, 0x1001, 0x3000)), attr)
    rep = report(recs, SYMBOLS)
    assert rep.to_dict()["rows"][0] == {"symbol": "main", "samples": 2, "period": 2,
                                        "overhead": pytest.approx(200 / 3)}
    with pytest.raises(ValueError, match="overlap"):
        report(recs, [("a", 0, 10), ("b", 5, 20)])
    with pytest.raises(ValueError, match="empty"):
        report(recs, [("a", 10, 10)])
    no_ip = PerfEventAttr(sample_type=uapi.PERF_SAMPLE_TIME)
    with pytest.raises(ValueError, match="no ip"):
        report(parse_records(pack_sample(no_ip, time=1), no_ip), SYMBOLS)
    assert report([], SYMBOLS).rows == ()


def test_report_converges_to_the_true_profile():
    rng = np.random.default_rng(0)
    share = {"main": 0.5, "hot": 0.3, "cold": 0.2}
    names = list(share)
    starts = {n: s for n, s, _ in SYMBOLS}
    picks = rng.choice(3, size=20000, p=[share[n] for n in names])
    attr = PerfEventAttr(sample_type=uapi.PERF_SAMPLE_IP | uapi.PERF_SAMPLE_PERIOD)
    dt = R.sample_dtype(attr)
    arr = np.zeros(len(picks), dt)
    arr["type"], arr["size"], arr["period"] = PerfRecord.SAMPLE, dt.itemsize, 1000
    arr["ip"] = [starts[names[i]] + 4 for i in picks]
    rep = report(parse_samples(arr.tobytes(), attr), SYMBOLS)
    for name, p in share.items():
        assert rep[name].overhead == pytest.approx(100 * p, abs=1.5)
