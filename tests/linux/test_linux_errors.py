"""Every errno path of perf_event_open, ioctl, mmap, read, close (and the sysctl write), each
with its errno and a message naming the check, and the machine unchanged afterwards
(``Machine.snapshot()`` before == after; the trace is the only thing that grows).

The world: two CPUs, ``perf_user_access = 1``, paranoid 2; T (uid 1000, CPU 0) with a mapped
user-read event ``e`` and a group ``g`` (leader) + ``s`` (sibling), a sampling event ``smp``,
an inherited event ``inh``; U (uid 1001, CPU 1); R (root, CPU 1) with a CPU-bound event ``cpu0``.
Every call is made by a task that is already running, so the switch-in that precedes a
system call is not part of what is compared.
"""

from __future__ import annotations

import errno
import re

import pytest

from pmulab import PerfError, uapi

from .helpers import BUSY, attr, machine

HW, RAW = uapi.PERF_TYPE_HARDWARE, uapi.PERF_TYPE_RAW
INST, CYC = uapi.PERF_COUNT_HW_INSTRUCTIONS, uapi.PERF_COUNT_HW_CPU_CYCLES


def world():
    m = machine(cpus=2, pmu="v3p4")
    t = m.spawn("T", uid=1000, cpu=0, workload=BUSY)
    u = m.spawn("U", uid=1001, cpu=1, workload=BUSY)
    r = m.spawn("R", uid=0, cpu=1, workload=BUSY)
    fds = {"e": t.perf_event_open(attr(config1=0x2))}
    t.mmap(fds["e"])
    fds["g"] = t.perf_event_open(attr(CYC))
    fds["s"] = t.perf_event_open(attr(INST), group_fd=fds["g"])
    fds["smp"] = t.perf_event_open(attr(sample_period=100000))
    fds["inh"] = t.perf_event_open(attr(inherit=1))
    fds["cpu0"] = r.perf_event_open(attr(INST, exclude_kernel=0), pid=-1, cpu=0)
    m.run(2)
    return m, {"T": t, "U": u, "R": r}, fds


def _open(who="T", pid=0, cpu=-1, group=None, flags=0, **kw):
    def call(m, tasks, fds):
        a = kw.pop("attr") if "attr" in kw else attr(**kw)
        return tasks[who].perf_event_open(a, pid=tasks[pid].pid if isinstance(pid, str) else pid, cpu=cpu,
                                          group_fd=fds[group] if isinstance(group, str) else (group or -1),
                                          flags=flags)
    call.who = who
    return call


def _sized(size, **kw):
    a = attr(**kw)
    a.size = size
    return a


OPEN = [
    ("flags", _open(flags=0x80), errno.EINVAL, r"outside PERF_FLAG_ALL"),
    ("size-small", _open(attr=_sized(8)), errno.E2BIG, r"attr\.size 8 is below PERF_ATTR_SIZE_VER0"),
    ("size-page", _open(attr=_sized(4097)), errno.E2BIG, r"above PAGE_SIZE"),
    ("reserved", _open(reserved_1=1), errno.EINVAL, r"attr\.__reserved_1 is not zero"),
    ("sample_type", _open(sample_type=uapi.PERF_SAMPLE_MAX), errno.EINVAL, r"sample_type .* PERF_SAMPLE_MAX"),
    ("read_format", _open(read_format=uapi.PERF_FORMAT_MAX), errno.EINVAL, r"read_format .* PERF_FORMAT_MAX"),
    ("kernel", _open(exclude_kernel=0), errno.EACCES, r"exclude_kernel=0: perf_event_paranoid=2 > 1 .*"
                                                      r"perf_allow_kernel"),
    ("namespaces", _open(namespaces=1), errno.EACCES, r"namespaces needs perfmon_capable"),
    ("freq", _open(freq=1, sample_freq=200000), errno.EINVAL, r"sample_freq 200000 > .*max_sample_rate"),
    ("period63", _open(sample_period=1 << 63), errno.EINVAL, r"bit 63"),
    ("phys_addr", _open(sample_period=1000, sample_type=uapi.PERF_SAMPLE_PHYS_ADDR), errno.EACCES,
     r"PERF_SAMPLE_PHYS_ADDR: .*perf_allow_kernel"),
    ("cgroup", _open(pid=-1, flags=uapi.PERF_FLAG_PID_CGROUP), errno.EINVAL, r"PERF_FLAG_PID_CGROUP needs"),
    ("no-task", _open(pid=4242), errno.ESRCH, r"no task with pid 4242"),
    ("inherit-vs-leader", _open(group="g", inherit=1), errno.EINVAL, r"inherit differs from the group leader"),
    ("no-task-no-cpu", _open(who="R", pid=-1, cpu=-1), errno.EINVAL, r"pid=-1 and cpu=-1"),
    ("bad-cpu", _open(cpu=7), errno.EINVAL, r"cpu 7 is not a possible CPU"),
    ("sigtrap", _open(who="R", pid=-1, cpu=0, sigtrap=1), errno.EINVAL, r"sigtrap needs a task-bound event"),
    ("inherit-sample-read", _open(inherit=1, sample_period=1000, sample_type=uapi.PERF_SAMPLE_READ),
     errno.EINVAL, r"inherit with PERF_SAMPLE_READ"),
    ("type", _open(type=99), errno.ENOENT, r"no PMU accepts attr\.type=99"),
    ("hw-range", _open(config=uapi.PERF_COUNT_HW_MAX), errno.EINVAL, r"config out of range"),
    ("hw-unmapped", _open(config=uapi.PERF_COUNT_HW_REF_CPU_CYCLES), errno.ENOENT,
     r"no PMU accepts attr\.type=0 config=0x9"),
    ("chain", _open(type=RAW, config=0x1E), errno.EINVAL, r"CHAIN \(0x1e\) cannot be opened"),
    ("rdpmc-cpu-bound", _open(who="R", pid=-1, cpu=0, config1=0x2), errno.EINVAL,
     r"config1 rdpmc requires a task-bound event"),
    ("rdpmc-64", _open(config1=0x3), errno.EOPNOTSUPP, r"rdpmc with long needs 64-bit event counters"),
    ("exclude_idle", _open(exclude_idle=1), errno.EOPNOTSUPP, r"does not support this mode exclusion"),
    ("branch", _open(sample_period=1000, sample_type=uapi.PERF_SAMPLE_BRANCH_STACK), errno.EOPNOTSUPP,
     r"branch stack"),
    ("cpu-event", _open(pid=-1, cpu=0), errno.EACCES, r"CPU-bound event: .*perf_allow_cpu"),
    ("nested-group", _open(group="s"), errno.EINVAL, r"group_fd is itself a sibling"),
    ("group-cpu", _open(who="R", pid=-1, cpu=1, group="cpu0"), errno.EINVAL, r"group leader is on cpu 0"),
    ("group-other-task", _open(who="R", pid="U", group="cpu0", cpu=0), errno.EINVAL,
     r"not bound to the same task/CPU"),
    ("pinned-sibling", _open(group="g", pinned=1), errno.EINVAL, r"only a group leader can be exclusive or pinned"),
    ("ptrace", _open(who="U", pid="T"), errno.EACCES, r"may not ptrace it \(perf_check_permission\)"),
    ("group-fd", _open(group=77), errno.EBADF, r"fd 77 is not an open perf event fd"),
]


def _call(who, method, fd_name, *args, **kw):
    def call(m, tasks, fds):
        fd = fds.get(fd_name, fd_name)
        return getattr(tasks[who], method)(fd, *args, **kw)
    call.who = who
    return call


IOC = uapi
OTHERS = [
    ("ioctl-badfd", _call("T", "ioctl", 55, IOC.PERF_EVENT_IOC_ENABLE), errno.EBADF, r"fd 55 is not an open"),
    ("ioctl-notty", _call("T", "ioctl", "e", 0x1234), errno.ENOTTY, r"not a perf event ioctl"),
    ("ioctl-filter", _call("T", "ioctl", "e", IOC.PERF_EVENT_IOC_SET_FILTER), errno.EINVAL,
     r"SET_FILTER: hardware events take no filter"),
    ("refresh-counting", _call("T", "ioctl", "e", IOC.PERF_EVENT_IOC_REFRESH, 1), errno.EINVAL,
     r"REFRESH needs a sampling, non-inherited event"),
    ("period-counting", _call("T", "ioctl", "e", IOC.PERF_EVENT_IOC_PERIOD, 1000), errno.EINVAL,
     r"PERIOD on a counting"),
    ("period-zero", _call("T", "ioctl", "smp", IOC.PERF_EVENT_IOC_PERIOD, 0), errno.EINVAL, r"zero period"),
    ("period-63", _call("T", "ioctl", "smp", IOC.PERF_EVENT_IOC_PERIOD, 1 << 63), errno.EINVAL,
     r"not below 2\^63"),
    ("mmap-badfd", _call("T", "mmap", 60), errno.EBADF, r"fd 60 is not an open"),
    ("mmap-inherit", _call("T", "mmap", "inh"), errno.EINVAL, r"mmap of an inherited per-task event"),
    ("mmap-pages", _call("T", "mmap", "smp", 4), errno.EINVAL, r"mmap of 4 pages: must be 1 \+ 2\^n"),
    ("mmap-resize", _call("T", "mmap", "e", 3), errno.EINVAL, r"already mapped with 0 data pages, not 2"),
    ("munmap-badfd", _call("T", "munmap", 61), errno.EBADF, r"fd 61 is not an open"),
    ("read-badfd", _call("T", "read", 62), errno.EBADF, r"fd 62 is not an open"),
    ("read-enospc", _call("T", "read", "e", 7), errno.ENOSPC, r"buffer of 7 bytes .* read_size 8"),
    ("read-group-enospc", _call("T", "read", "s", 16), errno.ENOSPC, r"read_size"),
    ("close-badfd", _call("T", "close", 63), errno.EBADF, r"fd 63 is not an open"),
    ("close-other-table", _call("U", "close", "e"), errno.EBADF, r"is not an open perf event fd of task"),
]


def _sysctl(m, tasks, fds):
    return m.sysctl("kernel.perf_user_access", 2)


@pytest.mark.parametrize(("name", "call", "code", "msg"), OPEN + OTHERS + [("sysctl", _sysctl, errno.EINVAL,
                                                                          r"must be \[0, 1\], got 2")],
                         ids=[c[0] for c in OPEN + OTHERS] + ["sysctl"])
def test_error_changes_nothing(name, call, code, msg):
    m, tasks, fds = world()
    if name == "read-group-enospc":  # a GROUP read of g+s needs 8 + 2*8 = 24 bytes
        fds["s"] = tasks["T"].perf_event_open(attr(INST, read_format=uapi.PERF_FORMAT_GROUP), group_fd=fds["g"])
    caller = tasks[getattr(call, "who", "T")]
    m.switch_to(caller.cpu, caller)  # the caller must already be running: compare the syscall alone
    before = m.snapshot()
    trace_len = len(m.trace.kinds())
    with pytest.raises(PerfError) as exc:
        call(m, tasks, fds)
    assert exc.value.errno == code, exc.value
    assert re.search(msg, str(exc.value)), str(exc.value)
    after = m.snapshot()
    assert after == before, after.diff(before)
    assert len(m.trace.kinds()) > trace_len or name == "sysctl"  # the error is recorded, nothing else moved


def test_group_that_does_not_fit():
    """validate_group: a 7th INST member does not fit 6 event counters -> EINVAL, nothing changes."""
    m, tasks, fds = world()
    t = tasks["T"]
    lead = t.perf_event_open(attr())
    for _ in range(5):
        t.perf_event_open(attr(), group_fd=lead)
    before = m.snapshot()
    with pytest.raises(PerfError, match=r"group does not fit on the PMU's counters") as exc:
        t.perf_event_open(attr(), group_fd=lead)
    assert exc.value.errno == errno.EINVAL and m.snapshot() == before


def test_read_size_of_a_huge_group():
    """perf_event_validate_size: a group whose read() exceeds 16 KiB -> E2BIG (members disabled, so they fit)."""
    m, tasks, fds = world()
    t = tasks["T"]
    fmt = uapi.PERF_FORMAT_GROUP | uapi.PERF_FORMAT_ID | uapi.PERF_FORMAT_LOST
    lead = t.perf_event_open(attr(disabled=1, read_format=fmt))
    with pytest.raises(PerfError, match=r"would exceed 16 KiB") as exc:
        for _ in range(1000):
            t.perf_event_open(attr(disabled=1, read_format=fmt), group_fd=lead)
    assert exc.value.errno == errno.E2BIG
    n = len(t.fds)
    before = m.snapshot()
    with pytest.raises(PerfError):
        t.perf_event_open(attr(disabled=1, read_format=fmt), group_fd=lead)
    assert m.snapshot() == before and len(t.fds) == n


def test_snapshot_is_deterministic_and_sensitive():
    a, _, _ = world()
    b, tb, fb = world()
    assert a.snapshot() == b.snapshot() and hash(a.snapshot()) == hash(b.snapshot())
    tb["T"].ioctl(fb["e"], uapi.PERF_EVENT_IOC_RESET)
    assert a.snapshot() != b.snapshot()
    assert any("count" in p for p in b.snapshot().diff(a.snapshot()))
