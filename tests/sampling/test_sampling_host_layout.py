"""The model's record bytes have the layouts the host kernel produces for the same attr.

Reuses the real host cross-check (tests/user/test_host_sampling.py): the same sample_type
(IP|TID|TIME|PERIOD, plus ID|CPU|IDENTIFIER with sample_id_all, comm and context_switch) is
opened on the host and on the model; for every record type both produce, sizes, field names and
trailer names agree, and the model's bytes re-pack identically. Skipped only when the host refuses.
"""

import importlib.util
from pathlib import Path

from pmulab import Machine, PerfEventAttr, uapi
from pmulab.uapi import PerfRecord, pack_record
from pmulab.user import RingReader, parse_records

from .helpers import workload

_spec = importlib.util.spec_from_file_location("host_sampling",
                                               Path(__file__).parents[1] / "user" / "test_host_sampling.py")
host = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(host)
mapping_factory = host.mapping_factory


def shape(records):
    out = {}
    for r in records:
        out.setdefault((int(r.type), r.size if r.type != PerfRecord.COMM else None),
                       (tuple(r.fields), tuple(r.sample_id)))
    return out


def model_records(sample_type, **kw):
    m = Machine(cpus=1, seed=0, timeslice=1)
    t = m.spawn("T", cpu=0, workload=workload())
    a = PerfEventAttr(type=uapi.PERF_TYPE_HARDWARE, config=uapi.PERF_COUNT_HW_INSTRUCTIONS, sample_period=20_000,
                      sample_type=sample_type, exclude_kernel=1, **kw)
    fd = t.perf_event_open(a, pid=0, cpu=-1)
    c = t.fork(name="C")
    page = c.mmap(fd, pages=1 + 8)
    m.run(3)
    t.exec()
    data = RingReader(c, page, a).read_bytes()
    return data, parse_records(data, a), a


def test_sample_layout_matches_the_host(mapping_factory):
    hattr = PerfEventAttr(type=uapi.PERF_TYPE_SOFTWARE, config=uapi.PERF_COUNT_SW_TASK_CLOCK,
                          sample_period=host.PERIOD_NS, sample_type=host.SAMPLE_TYPE, exclude_kernel=1, disabled=1)
    hm = mapping_factory(hattr)
    import fcntl
    fcntl.ioctl(hm.fd, uapi.PERF_EVENT_IOC_ENABLE, 0)
    data = b"".join(host._burn(0.02, hm.reader.read_bytes))
    hrecs = parse_records(data, hattr)
    mdata, mrecs, a = model_records(host.SAMPLE_TYPE)
    hs, ms = shape(hrecs), shape(r for r in mrecs if r.type == PerfRecord.SAMPLE)
    assert (int(PerfRecord.SAMPLE), 40) in hs and hs == ms
    assert b"".join(pack_record(r.type, a, misc=r.misc, **r.fields) for r in mrecs) == mdata


def test_sample_id_all_layouts_match_the_host(mapping_factory):
    st = host.SAMPLE_TYPE | uapi.PERF_SAMPLE_ID | uapi.PERF_SAMPLE_CPU | uapi.PERF_SAMPLE_IDENTIFIER
    hattr = PerfEventAttr(type=uapi.PERF_TYPE_SOFTWARE, config=uapi.PERF_COUNT_SW_TASK_CLOCK,
                          sample_period=host.PERIOD_NS, sample_type=st, exclude_kernel=1, disabled=1,
                          sample_id_all=1, comm=1, context_switch=1)
    hm = mapping_factory(hattr, data_pages=8)
    import ctypes
    import fcntl
    import time
    libc = ctypes.CDLL(None, use_errno=True)
    old = ctypes.create_string_buffer(16)
    libc.prctl(16, old)
    fcntl.ioctl(hm.fd, uapi.PERF_EVENT_IOC_ENABLE, 0)
    try:
        libc.prctl(15, b"pmulab-layout")
        time.sleep(0.002)
        chunks = host._burn(0.01, hm.reader.read_bytes)
    finally:
        libc.prctl(15, old)
    hrecs = parse_records(b"".join(chunks), hattr)
    mdata, mrecs, a = model_records(st, sample_id_all=1, comm=1, context_switch=1)
    hs, ms = shape(hrecs), shape(mrecs)
    common = set(hs) & set(ms)
    assert {k[0] for k in common} >= {int(PerfRecord.SAMPLE), int(PerfRecord.SWITCH)}
    for key in common:
        assert hs[key] == ms[key], key
    hcomm = [r for r in hrecs if r.type == PerfRecord.COMM]
    mcomm = [r for r in mrecs if r.type == PerfRecord.COMM]
    if hcomm:
        assert (tuple(hcomm[0].fields), tuple(hcomm[0].sample_id)) == (tuple(mcomm[0].fields),
                                                                         tuple(mcomm[0].sample_id))
    assert b"".join(pack_record(r.type, a, misc=r.misc, sample_id=r.sample_id or None, **r.fields)
                    for r in mrecs) == mdata
