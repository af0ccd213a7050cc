"""read() layouts byte for byte, and every ioctl with its refusals."""

from __future__ import annotations

import errno
import struct

import pytest

from pmulab import uapi
from pmulab.errors import NotModelledError, PerfError
from pmulab.perf.api import EventState

from .fakes import attr, machine, snapshot

EN, RUN, ID, GROUP, LOST = (uapi.PERF_FORMAT_TOTAL_TIME_ENABLED, uapi.PERF_FORMAT_TOTAL_TIME_RUNNING,
                            uapi.PERF_FORMAT_ID, uapi.PERF_FORMAT_GROUP, uapi.PERF_FORMAT_LOST)


@pytest.fixture
def m():
    k, pmus, core = machine(ncpus=2, counters=4, paranoid=0)
    a = k.spawn(100, cpu=0)
    return k, pmus[0], core, a


def words(data: bytes) -> list[int]:
    return list(struct.unpack(f"<{len(data) // 8}Q", data))


@pytest.mark.parametrize("fmt, expect", [
    (0, lambda ev: [70]),
    (EN, lambda ev: [70, 10]),
    (RUN, lambda ev: [70, 10]),
    (EN | RUN | ID, lambda ev: [70, 10, 10, ev.id]),
    (EN | RUN | ID | LOST, lambda ev: [70, 10, 10, ev.id, 0]),
])
def test_read_single_layouts(m, fmt, expect):
    k, pmu, core, a = m
    ev = k.syscall(a, "perf_event_open", attr(read_format=fmt), 0, -1)
    pmu.advance(0, 70)
    k.time = 10
    assert words(k.syscall(a, "read", ev)) == expect(ev)


def test_read_active_event_on_other_cpu_updates_by_ipi(m):
    k, pmu, core, a = m
    b = k.spawn(101, cpu=1)
    ev = k.syscall(a, "perf_event_open", attr(), 101, -1)
    pmu.advance(1, 5)
    assert words(k.syscall(a, "read", ev)) == [5]
    assert ("read", 1, ev.id) in pmu.log and k.ipis.count((0, 1)) == 2  # install + read
    assert b.perf_ctx.nr_events == 1


def test_read_group_layout(m):
    k, pmu, core, a = m
    fmt = GROUP | EN | RUN | ID | LOST
    lead = k.syscall(a, "perf_event_open", attr(read_format=fmt), 0, -1)
    sib = k.syscall(a, "perf_event_open", attr(read_format=fmt), 0, -1, lead)
    pmu.advance(0, 9)
    k.time = 4
    expect = [2, 4, 4, 9, lead.id, 0, 9, sib.id, 0]
    assert words(k.syscall(a, "read", lead)) == expect
    assert words(k.syscall(a, "read", sib)) == expect  # the group is read through its leader
    assert uapi.parse_read(k.syscall(a, "read", lead), fmt).values[1].id == sib.id


def test_ioctl_enable_disable_reset_id(m):
    k, pmu, core, a = m
    ev = k.syscall(a, "perf_event_open", attr(disabled=1), 0, -1)
    assert ev.state == EventState.OFF and k.syscall(a, "read", ev) == struct.pack("<Q", 0)
    assert k.syscall(a, "ioctl", ev, uapi.PERF_EVENT_IOC_ENABLE) == 0 and ev.state == EventState.ACTIVE
    pmu.advance(0, 30)
    k.syscall(a, "ioctl", ev, uapi.PERF_EVENT_IOC_DISABLE)
    assert ev.state == EventState.OFF and ev.count == 30 and pmu.events[0][1] is None
    pmu.advance(0, 30)
    k.syscall(a, "ioctl", ev, uapi.PERF_EVENT_IOC_RESET)
    assert ev.count == 0
    assert k.syscall(a, "ioctl", ev, uapi.PERF_EVENT_IOC_ID) == ev.id


def test_ioctl_group_flag(m):
    k, pmu, core, a = m
    lead = k.syscall(a, "perf_event_open", attr(), 0, -1)
    sib = k.syscall(a, "perf_event_open", attr(), 0, -1, lead)
    k.syscall(a, "ioctl", sib, uapi.PERF_EVENT_IOC_DISABLE)
    assert sib.state == EventState.OFF and lead.state == EventState.ACTIVE
    k.syscall(a, "ioctl", sib, uapi.PERF_EVENT_IOC_DISABLE, uapi.PERF_IOC_FLAG_GROUP)
    assert lead.state == sib.state == EventState.OFF
    k.syscall(a, "ioctl", lead, uapi.PERF_EVENT_IOC_ENABLE, uapi.PERF_IOC_FLAG_GROUP)
    assert lead.state == sib.state == EventState.ACTIVE


def test_ioctl_enable_of_a_running_task_elsewhere_goes_by_ipi(m):
    k, pmu, core, a = m
    b = k.spawn(101, cpu=1)
    ev = k.syscall(a, "perf_event_open", attr(disabled=1), 101, -1)
    k.ipis.clear()
    k.syscall(a, "ioctl", ev, uapi.PERF_EVENT_IOC_ENABLE)
    assert k.ipis == [(0, 1)] and ev.state == EventState.ACTIVE and ev.oncpu == 1
    k.switch(1, None)
    k.ipis.clear()
    k.syscall(a, "ioctl", ev, uapi.PERF_EVENT_IOC_DISABLE)  # b not running: IPI fails, done locally
    assert ev.state == EventState.OFF and k.ipis == [(0, 1)]
    assert b.perf_ctx.is_active == 0


def test_ioctl_period_restarts_the_event(m):
    k, pmu, core, a = m
    ev = k.syscall(a, "perf_event_open", attr(sample_period=1000), 0, -1)
    pmu.log.clear()
    k.syscall(a, "ioctl", ev, uapi.PERF_EVENT_IOC_PERIOD, 5000)
    assert ev.hw.sample_period == 5000 == ev.attr.sample_period and ev.hw.period_left == 0
    assert [e[0] for e in pmu.ops("stop", "start")] == ["stop", "start"]


@pytest.mark.parametrize("event_kw, request_, arg, pattern", [
    ({}, uapi.PERF_EVENT_IOC_PERIOD, 10, r"counting \(non-sampling\) event"),
    ({"sample_period": 10}, uapi.PERF_EVENT_IOC_PERIOD, 0, r"zero period"),
    ({"sample_period": 10}, uapi.PERF_EVENT_IOC_PERIOD, 1 << 63, r"not below 2\^63"),
    ({"freq": 1, "sample_freq": 10}, uapi.PERF_EVENT_IOC_PERIOD, 10**6, r"max_sample_rate"),
    ({}, uapi.PERF_EVENT_IOC_REFRESH, 1, r"sampling, non-inherited"),
    ({"sample_period": 10, "inherit": 1}, uapi.PERF_EVENT_IOC_REFRESH, 1, r"sampling, non-inherited"),
    ({}, uapi.PERF_EVENT_IOC_SET_FILTER, 0, r"no filter"),
])
def test_ioctl_einval(m, event_kw, request_, arg, pattern):
    k, pmu, core, a = m
    ev = k.syscall(a, "perf_event_open", attr(**event_kw), 0, -1)
    before = (snapshot(k, core), ev.hw.sample_period, ev.state, ev.event_limit)
    with pytest.raises(PerfError, match=pattern) as info:
        k.syscall(a, "ioctl", ev, request_, arg)
    assert info.value.errno == errno.EINVAL
    assert (snapshot(k, core), ev.hw.sample_period, ev.state, ev.event_limit) == before


def test_ioctl_unknown_request_enotty(m):
    k, pmu, core, a = m
    ev = k.syscall(a, "perf_event_open", attr(), 0, -1)
    with pytest.raises(PerfError, match=r"ENOTTY: ioctl request 0x1234") as info:
        k.syscall(a, "ioctl", ev, 0x1234)
    assert info.value.errno == errno.ENOTTY and ev.state == EventState.ACTIVE
    with pytest.raises(NotModelledError):
        k.syscall(a, "ioctl", ev, uapi.PERF_EVENT_IOC_PAUSE_OUTPUT, 0)
    assert k.syscall(a, "ioctl", ev, uapi.PERF_EVENT_IOC_SET_OUTPUT, -1) == 0  # pmulab.perf.sampling


def test_refresh_limits_overflows(m):
    k, pmu, core, a = m
    ev = k.syscall(a, "perf_event_open", attr(sample_period=100, disabled=1), 0, -1)
    k.syscall(a, "ioctl", ev, uapi.PERF_EVENT_IOC_REFRESH, 2)
    assert ev.state == EventState.ACTIVE and ev.event_limit == 2
    with k.on(0):
        assert core.perf_event_overflow(ev) == 0
        assert core.perf_event_overflow(ev) == 1
        core.tick(0)  # pending work disables it
    assert ev.state == EventState.OFF
