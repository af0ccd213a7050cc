"""perf_event_open: every refusal (errno, message, nothing changed) and what a success sets up."""

from __future__ import annotations

import errno

import pytest

from pmulab import uapi
from pmulab.errors import NotModelledError, PerfError
from pmulab.perf.api import ATTACH_TASK, EventState

from .fakes import attr, machine, snapshot


def refused(k, core, task, err, pattern, *args, **kw):
    before = snapshot(k, core)
    with pytest.raises(PerfError, match=pattern) as info:
        k.syscall(task, "perf_event_open", *args, **kw)
    assert info.value.errno == err
    assert snapshot(k, core) == before
    return info.value


@pytest.fixture
def m():
    k, pmus, core = machine(ncpus=2, counters=4, paranoid=2)
    user = k.spawn(100, uid=1000, cpu=0)
    root = k.spawn(1, uid=0, cpu=1)
    return k, pmus, core, user, root


def test_unknown_flags_einval(m):
    k, _, core, user, _ = m
    refused(k, core, user, errno.EINVAL, r"EINVAL: flags 0x10 .*PERF_FLAG_ALL", attr(), 0, -1, None, 0x10)


def test_attr_size_e2big_writes_back_kernel_size(m):
    k, _, core, user, _ = m
    a = attr(size=32)
    refused(k, core, user, errno.E2BIG, r"attr.size 32 is below PERF_ATTR_SIZE_VER0", a, 0, -1)
    assert a.size == uapi.PERF_ATTR_SIZE_VER7  # the v5.17 kernel's struct size


def test_attr_beyond_v517_struct_e2big(m):
    k, _, core, user, _ = m
    refused(k, core, user, errno.E2BIG, r"beyond the kernel's 128-byte struct", attr(config3=1), 0, -1)


@pytest.mark.parametrize("field, value, pattern", [
    ("reserved_1", 1, r"__reserved_1 is not zero"),
    ("read_format", 1 << 5, r"read_format 0x20 has bits at or above PERF_FORMAT_MAX"),
    ("sample_type", 1 << 30, r"sample_type .* PERF_SAMPLE_MAX"),
    ("sample_period", 1 << 63, r"sample_period 0x8000000000000000 has bit 63"),
])
def test_attr_fields_einval(m, field, value, pattern):
    k, _, core, user, _ = m
    refused(k, core, user, errno.EINVAL, pattern, attr(**{field: value}), 0, -1)


def test_sample_freq_above_max_rate(m):
    k, _, core, user, _ = m
    refused(k, core, user, errno.EINVAL, r"sample_freq 100001 > kernel.perf_event_max_sample_rate",
            attr(freq=1, sample_freq=100001), 0, -1)


def test_kernel_counting_needs_privilege_at_paranoid_2(m):
    k, _, core, user, root = m
    refused(k, core, user, errno.EACCES, r"exclude_kernel=0.*paranoid=2 > 1.*perf_allow_kernel",
            attr(exclude_kernel=0), 0, -1)
    k.syscall(root, "perf_event_open", attr(exclude_kernel=0), 0, -1)
    k.sysctls["kernel.perf_event_paranoid"] = 1
    k.syscall(user, "perf_event_open", attr(exclude_kernel=0), 0, -1)


def test_pid_and_cpu_both_minus_one(m):
    k, _, core, user, _ = m
    refused(k, core, user, errno.EINVAL, r"pid=-1 and cpu=-1", attr(), -1, -1)


@pytest.mark.parametrize("pid, cpu", [(0, 2), (0, -2), (-1, 7)])
def test_cpu_out_of_range(m, pid, cpu):
    k, _, core, _, root = m
    refused(k, core, root, errno.EINVAL, rf"cpu {cpu} is not a possible CPU", attr(), pid, cpu)


def test_no_such_pid(m):
    k, _, core, user, _ = m
    refused(k, core, user, errno.ESRCH, r"no task with pid 4242", attr(), 4242, -1)


def test_cpu_bound_needs_privilege_when_paranoid(m):
    k, _, core, user, root = m
    k.sysctls["kernel.perf_event_paranoid"] = 1
    refused(k, core, user, errno.EACCES, r"CPU-bound event.*perf_allow_cpu", attr(), -1, 0)
    k.syscall(root, "perf_event_open", attr(), -1, 0)
    k.sysctls["kernel.perf_event_paranoid"] = 0
    ev = k.syscall(user, "perf_event_open", attr(), -1, 1)
    assert ev.ctx is core.cpu_ctx(1).ctx and ev.target is None


def test_other_users_task_needs_ptrace(m):
    k, _, core, user, root = m
    other = k.spawn(200, uid=2000, cpu=1, run=False)
    refused(k, core, user, errno.EACCES, r"task 200 .* may not ptrace it \(perf_check_permission\)",
            attr(), 200, -1)
    same = k.spawn(300, uid=1000, cpu=1, run=False)
    assert k.syscall(user, "perf_event_open", attr(), 300, -1).target is same
    assert k.syscall(root, "perf_event_open", attr(), 200, -1).target is other


def test_check_order_kernel_permission_before_pid_lookup(m):
    k, _, core, user, _ = m
    refused(k, core, user, errno.EACCES, r"perf_allow_kernel", attr(exclude_kernel=0), 4242, -1)
    refused(k, core, user, errno.EINVAL, r"flags", attr(exclude_kernel=0), 4242, -1, None, 0x100)


def test_check_order_pmu_before_cpu_permission(m):
    """find_get_context (perf_allow_cpu) runs after perf_event_alloc's PMU init."""
    k, _, core, user, _ = m
    refused(k, core, user, errno.EOPNOTSUPP, r"0xdead", attr(config=0xDEAD), -1, 0)


def test_unknown_type_enoent(m):
    k, _, core, user, _ = m
    refused(k, core, user, errno.ENOENT, r"no PMU accepts attr.type=77", attr(type=77), 0, -1)


def test_driver_error_propagates(m):
    k, _, core, user, root = m
    refused(k, core, root, errno.EINVAL, r"user access needs a task-bound event", attr(config1=2), -1, 0)


def test_group_checks(m):
    k, _, core, user, root = m
    lead = k.syscall(user, "perf_event_open", attr(), 0, -1)
    refused(k, core, user, errno.EINVAL, r"only a group leader can be exclusive or pinned",
            attr(pinned=1), 0, -1, lead)
    refused(k, core, user, errno.EINVAL, r"attr.inherit differs", attr(inherit=1), 0, -1, lead)
    refused(k, core, user, errno.EINVAL, r"leader is on cpu -1, the new event on cpu 0", attr(), 0, 0, lead)
    sib = k.syscall(user, "perf_event_open", attr(), 0, -1, lead)
    assert lead.siblings == [sib] and sib.group_leader is lead
    refused(k, core, user, errno.EINVAL, r"itself a sibling", attr(), 0, -1, sib)
    k.sysctls["kernel.perf_event_paranoid"] = 0
    cpu_lead = k.syscall(root, "perf_event_open", attr(), -1, 0)
    refused(k, core, root, errno.EINVAL, r"not bound to the same task/CPU", attr(), 100, 0, cpu_lead)
    # a full group is refused by the PMU's validation (4 counters)
    k.syscall(user, "perf_event_open", attr(), 0, -1, lead)
    k.syscall(user, "perf_event_open", attr(), 0, -1, lead)
    refused(k, core, user, errno.EINVAL, r"group of 5 does not fit", attr(), 0, -1, lead)


def test_no_group_flag_ignores_leader(m):
    k, _, core, user, _ = m
    lead = k.syscall(user, "perf_event_open", attr(), 0, -1)
    ev = k.syscall(user, "perf_event_open", attr(pinned=1), 0, -1, lead, uapi.PERF_FLAG_FD_NO_GROUP)
    assert ev.is_group_leader and lead.siblings == []


def test_cgroup_flag(m):
    k, _, core, _, root = m
    refused(k, core, root, errno.EINVAL, r"PERF_FLAG_PID_CGROUP", attr(), 0, -1, None, uapi.PERF_FLAG_PID_CGROUP)
    with pytest.raises(NotModelledError):
        k.syscall(root, "perf_event_open", attr(), 5, 0, None, uapi.PERF_FLAG_PID_CGROUP)


def test_exited_task_esrch(m):
    k, _, core, user, root = m
    victim = k.spawn(400, uid=1000, cpu=0)
    with k.on(0):
        core.exit(victim)
    k.switch(0, user)
    refused(k, core, user, errno.ESRCH, r"exiting", attr(), 400, -1)


def test_target_and_attach_state_before_event_init(m):
    k, pmus, core, user, root = m
    k.syscall(user, "perf_event_open", attr(), 0, -1)
    assert pmus[0].init_seen[-1] == (user, ATTACH_TASK, user)
    k.sysctls["kernel.perf_event_paranoid"] = 0
    k.syscall(root, "perf_event_open", attr(), -1, 1)
    assert pmus[0].init_seen[-1] == (None, 0, None)


def test_success_installs_in_task_context(m):
    k, pmus, core, user, _ = m
    ev = k.syscall(user, "perf_event_open", attr(config1=2), 0, -1)
    ctx = user.perf_ctx
    assert ev.id == 1 and ev.owner is user and ev.ctx is ctx and ev.state == EventState.ACTIVE
    assert ctx.nr_events == ctx.nr_user == 1 and core.cpu_ctx(0).task_ctx is ctx
    assert ev.oncpu == 0 and ev.hw.idx == 1
    ev2 = k.syscall(user, "perf_event_open", attr(disabled=1), 0, -1)
    assert ev2.id == 2 and ev2.state == EventState.OFF and ctx.nr_user == 1
    assert k.ipis == []  # all on the caller's own CPU


def test_event_on_running_task_elsewhere_is_installed_by_ipi(m):
    k, pmus, core, user, _ = m
    peer = k.spawn(500, uid=1000, cpu=1)
    ev = k.syscall(user, "perf_event_open", attr(), 500, -1)
    assert (0, 1) in k.ipis and ev.state == EventState.ACTIVE and ev.oncpu == 1
    assert core.cpu_ctx(1).task_ctx is peer.perf_ctx


def test_event_on_sleeping_task_is_added_locally(m):
    k, pmus, core, user, _ = m
    sleeper = k.spawn(600, uid=1000, cpu=1, run=False)
    ev = k.syscall(user, "perf_event_open", attr(), 600, -1)
    # the IPI finds the task not running (-ESRCH), then the event is added under ctx->lock
    assert ev.state == EventState.INACTIVE and ev.ctx is sleeper.perf_ctx and not ev.ctx.is_active
    assert pmus[0].ops("add") == []
    k.switch(1, sleeper)
    assert ev.state == EventState.ACTIVE and ev.oncpu == 1


def test_pmu_lookup_order_and_own_type():
    k, pmus, core = machine(ncpus=2, npmus=2, pmu_cpus=[{0}, {1}], paranoid=0)
    root = k.spawn(1, uid=0, cpu=0)
    hw = k.syscall(root, "perf_event_open", attr(), -1, 1)  # fake0 says ENOENT for CPU 1
    assert hw.pmu is pmus[1]
    own = k.syscall(root, "perf_event_open", attr(type=8), 0, -1)
    assert own.pmu is pmus[0] and len(pmus[1].init_seen) == 1  # only the PMU of that type was asked
    with pytest.raises(PerfError, match="cpu 1 not supported") as info:
        k.syscall(root, "perf_event_open", attr(type=8), -1, 1)
    assert info.value.errno == errno.ENOENT
