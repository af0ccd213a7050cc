"""Hypothesis stateful tests: random system-call / scheduling sequences on small machines.

Machines: 2 CPUs, 2-4 event counters, PMUv3p4 or PMUv3p5, design v5.17, paranoid 1, two or
three tasks (one of them root, who may open CPU-bound events). Rules: open (self / another
task / CPU-bound; counting, user-read 32/64-bit, sampling; pinned or flexible; enabled or
not), mmap, munmap, ioctl (ENABLE, DISABLE, RESET, PERIOD, REFRESH), read, close, fork, exec,
migrate, run, sysctl ``kernel.perf_user_access``, and the self-monitoring read.
Invariants:
- only PerfError / IllegalInstruction escape a rule;
- time_running <= time_enabled (event totals, read() with TOTAL_TIME_*, mapped pages);
- an event's count (perf_event_count) never goes down, except across IOC_RESET;
- read_self, when it returns a value, equals read() at the same instant for the same task,
  except in the S14 window (a 32-bit event whose page was published after ``prev_count`` was
  overwritten by armpmu_event_update with the zero-extended raw value: the documented reader
  is then off by exactly -2^32, as observed on real Linux 6.1);
- at every armv8pmu_start(): PMUSERENR_EL0 == ER|CR iff sysctl and the CPU's scheduled-in task
  context has nr_user > 0 (else 0), that task context belongs to the task current there, and
  when access is granted every counter outside used_mask reads 0 (spec §7, final invariant).
"""

from __future__ import annotations

import hypothesis.strategies as st
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from pmulab import IllegalInstruction, Machine, PerfError, uapi
from pmulab.drivers.arm_pmuv3 import CYCLE_IDX, EVT_64BIT, count_register, counter_of
from pmulab.hw.sysregs import PMUSERENR
from pmulab.perf.api import EventState
from pmulab.perf.read import perf_event_count
from pmulab.user import read_self

from .helpers import BUSY, attr

ER_CR = PMUSERENR.encode(ER=1, CR=1)
FMT = uapi.PERF_FORMAT_TOTAL_TIME_ENABLED | uapi.PERF_FORMAT_TOTAL_TIME_RUNNING
KINDS = {
    "inst": dict(config=uapi.PERF_COUNT_HW_INSTRUCTIONS),
    "cyc": dict(config=uapi.PERF_COUNT_HW_CPU_CYCLES),
    "inst-user32": dict(config=uapi.PERF_COUNT_HW_INSTRUCTIONS, config1=0x2),
    "cyc-user64": dict(config=uapi.PERF_COUNT_HW_CPU_CYCLES, config1=0x3),
    "inst-user64": dict(config=uapi.PERF_COUNT_HW_INSTRUCTIONS, config1=0x3),
    "inst-long": dict(config=uapi.PERF_COUNT_HW_INSTRUCTIONS, config1=0x1),
    "sampling": dict(config=uapi.PERF_COUNT_HW_INSTRUCTIONS, sample_period=3000),
}
IOCTLS = ["ENABLE", "DISABLE", "RESET", "PERIOD", "REFRESH"]
_U64 = (1 << 64) - 1


class LinuxModel(RuleBasedStateMachine):
    """Random programs on a small v5.17 machine; invariants checked after every step."""

    @initialize(pmu=st.sampled_from(["v3p4", "v3p5"]), counters=st.integers(2, 4), ntasks=st.integers(2, 3),
                sysctl=st.sampled_from([1, 1, 0]))
    def setup(self, pmu, counters, ntasks, sysctl):
        self.m = Machine(cpus=2, counters=counters, pmu=pmu, perf_user_access=sysctl, perf_event_paranoid=1)
        self.tasks = [self.m.spawn(f"T{i}", uid=0 if i == ntasks - 1 else 1000, cpu=i % 2, workload=BUSY)
                      for i in range(ntasks)]
        self.fds: list[tuple] = []  # (task, fd)
        self.last: dict[int, int] = {}  # event id -> last count seen
        self.starts = 0
        for pmu_ in self.m.pmus:
            pmu_.start_hooks.append(self.check_start)
        for t in self.tasks[:-1]:  # every self-monitoring task starts with one mapped user-read event
            self.open_user(t, "inst-user32")

    def open_user(self, t, kind):
        fd = self.do(t.perf_event_open, attr(read_format=FMT, **KINDS[kind]))
        if fd is not None:
            self.fds.append((t, fd))
            self.do(t.mmap, fd)

    # ------------------------------------------------------------------ the start() invariant
    def check_start(self, cpu_pmu):
        m, cpu = self.m, self.m.this_cpu()
        self.starts += 1
        task_ctx = m.perf.cpu_ctx(cpu).task_ctx
        cur = m.sched.current(cpu)
        assert task_ctx is None or (cur is not None and cur.perf_ctx is task_ctx), \
            f"cpu{cpu}: scheduled-in task context is not the current task's"
        want = bool(m.sysctl("kernel.perf_user_access") and task_ctx is not None and task_ctx.nr_user > 0)
        got = m.cpu(cpu).mrs("PMUSERENR_EL0")
        assert got == (ER_CR if want else 0), f"cpu{cpu}: PMUSERENR {got:#x} at start(), want access={want}"
        if want:
            used = cpu_pmu.hw_events[cpu].used_mask
            for idx in range(cpu_pmu.num_events):
                if not used >> idx & 1:
                    reg = count_register(counter_of(idx if idx else CYCLE_IDX))
                    assert m.cpu(cpu).mrs(reg) == 0, f"cpu{cpu}: unused {reg} not cleared at start()"

    # ------------------------------------------------------------------------- helpers
    def alive(self):
        return [t for t in self.tasks if t.state != "exited"]

    def live_fds(self):
        return [(t, fd) for t, fd in self.fds if t.state != "exited" and fd in t.files]

    def do(self, fn, *args, **kw):
        try:
            return fn(*args, **kw)
        except (PerfError, IllegalInstruction):
            return None

    def events(self):
        seen = {}
        for e in self.m.perf.events:
            seen[e.id] = e
            for c in e.children:
                seen[c.id] = c
        return seen

    # ------------------------------------------------------------------------------ rules
    @rule(data=st.data(), kind=st.sampled_from(sorted(KINDS)), whom=st.sampled_from(["self", "other", "cpu"]),
          pinned=st.booleans(), disabled=st.booleans(), inherit=st.booleans())
    def open(self, data, kind, whom, pinned, disabled, inherit):
        t = data.draw(st.sampled_from(self.alive()))
        pid, cpu = 0, -1
        if whom == "other":
            pid = data.draw(st.sampled_from(self.alive())).pid
        elif whom == "cpu":
            pid, cpu = -1, data.draw(st.integers(0, 1))
        a = attr(read_format=FMT, pinned=int(pinned), disabled=int(disabled), inherit=int(inherit), **KINDS[kind])
        fd = self.do(t.perf_event_open, a, pid=pid, cpu=cpu)
        if fd is not None:
            self.fds.append((t, fd))

    @rule(data=st.data(), kind=st.sampled_from(["inst-user32", "cyc-user64", "inst-user64"]))
    def open_self_monitoring(self, data, kind):
        self.open_user(data.draw(st.sampled_from(self.alive())), kind)

    @precondition(lambda self: self.live_fds())
    @rule(data=st.data())
    def mmap(self, data):
        t, fd = data.draw(st.sampled_from(self.live_fds()))
        self.do(t.mmap, fd)

    @precondition(lambda self: any(t.mm.mapping_of(t.files[fd].event) for t, fd in self.live_fds()))
    @rule(data=st.data())
    def munmap(self, data):
        t, fd = data.draw(st.sampled_from([(t, fd) for t, fd in self.live_fds() if t.mm.mapping_of(t.files[fd].event)]))
        self.do(t.munmap, fd)

    @precondition(lambda self: self.live_fds())
    @rule(data=st.data(), request=st.sampled_from(IOCTLS), group=st.booleans())
    def ioctl(self, data, request, group):
        t, fd = data.draw(st.sampled_from(self.live_fds()))
        code = getattr(uapi, f"PERF_EVENT_IOC_{request}")
        arg = {"PERIOD": 2000, "REFRESH": 2}.get(request, uapi.PERF_IOC_FLAG_GROUP if group else 0)
        event = t.files[fd].event
        if self.do(t.ioctl, fd, code, arg) is not None and request == "RESET":
            leader = event.group_leader
            hit = [leader, *leader.siblings] if group else [event]
            for e in hit:
                for x in (e, *e.children):
                    self.last.pop(x.id, None)

    @precondition(lambda self: self.live_fds())
    @rule(data=st.data())
    def read(self, data):
        t, fd = data.draw(st.sampled_from(self.live_fds()))
        raw = self.do(t.read, fd)
        if raw:
            r = uapi.parse_read(raw, FMT)
            assert r.time_running <= r.time_enabled

    @precondition(lambda self: self.live_fds())
    @rule(data=st.data())
    def close(self, data):
        t, fd = data.draw(st.sampled_from(self.live_fds()))
        self.do(t.close, fd)

    @precondition(lambda self: len(self.alive()) < 4)
    @rule(data=st.data())
    def fork(self, data):
        t = data.draw(st.sampled_from(self.alive()))
        child = self.do(t.fork)
        if child is not None:
            self.tasks.append(child)
            self.fds += [(child, fd) for fd in child.files]

    @rule(data=st.data())
    def exec(self, data):
        self.do(data.draw(st.sampled_from(self.alive())).exec)

    @rule(data=st.data(), cpu=st.integers(0, 1))
    def migrate(self, data, cpu):
        self.m.migrate(data.draw(st.sampled_from(self.alive())), cpu)

    @rule(ticks=st.integers(1, 3))
    def run(self, ticks):
        self.m.run(ticks)

    @rule(value=st.integers(0, 1))
    def sysctl(self, value):
        self.m.sysctl("kernel.perf_user_access", value)

    @precondition(lambda self: any(t.mm.mapping_of(t.files[fd].event) for t, fd in self.live_fds()))
    @rule(data=st.data())
    def read_self(self, data):
        t, fd = data.draw(st.sampled_from([(t, fd) for t, fd in self.live_fds() if t.mm.mapping_of(t.files[fd].event)]))
        event = t.files[fd].event
        page = t.mm.mapping_of(event).page
        user = self.do(read_self, t, page, clock=None, scale=False)
        if user is None or event.target is not t:
            return
        syscall = uapi.parse_read(t.read(fd), FMT).value
        if user == syscall:
            return
        s14 = not event.hw.flags & EVT_64BIT and event.hw.prev_count < 1 << 32
        assert s14 and (user - syscall) & _U64 == (-(1 << 32)) & _U64, \
            f"read_self {user:#x} != read() {syscall:#x} for event {event.id}"

    # ------------------------------------------------------------------------- invariants
    @invariant()
    def times_and_counts(self):
        if not hasattr(self, "m"):
            return
        for eid, e in self.events().items():
            assert e.total_time_running <= e.total_time_enabled, f"event {eid}: running > enabled"
            if e.page is not None:
                assert e.page.time_running <= e.page.time_enabled
            if e.state == EventState.DEAD:
                continue
            now = perf_event_count(e)
            assert now >= self.last.get(eid, 0), f"event {eid}: count went down {self.last.get(eid)} -> {now}"
            self.last[eid] = now


LinuxModel.TestCase.settings = settings(max_examples=80, stateful_step_count=25, deadline=None,
                                        suppress_health_check=[HealthCheck.too_slow])
TestLinuxModel = LinuxModel.TestCase
