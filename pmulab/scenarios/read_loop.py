"""The self-monitoring read loop under preemption, migration, overflow, multiplexing and reset.

Thread: Mark's point 2 is about whose CPU state a read relies on; these scenarios show what the
seqlock does and does not protect, on every design (spec §7 S5, S6, S8, S9, S14; Peter
Zijlstra, Aug 2021: "we must call RDPMC only for events that are currently active on *this*
CPU. Currently we rely on userspace to DTRT").

- S5: A is migrated between reading ``index`` and its ``mrs``; the stale ``mrs`` runs on the new
  CPU, reads another event's counter, the lock differs, the retry is correct.
- S6: A is preempted by C (own events, no user access) at the same point; C cannot read.
- S8: a 32-bit counter wraps while the task reads every tick: the documented sign extension is
  right across the wrap; zero extension is off by 2^32 before it.
- S9: 8 user events on 6 counters: the mapped one is sometimes off the PMU (index 0, fall back).
- S14: IOC_RESET publishes an offset against a zero-extended prev_count: the documented reader
  is off by exactly -2^32 until the next set_period.
Expected: the same on every design except S9's ``cap_user_rdpmc`` while inactive (v8's
``!!index`` in v8, v8-efc and lazy-trap; the event's flag in x86-mm, v5.17, pmuv3p9) and the
stale ``mrs`` of S5, which reads another event's live count everywhere but on pmuv3p9 (RAZ).
Kernel: perf_event_update_userpage, armpmu_event_set_period/update, perf_event_read.
"""

from __future__ import annotations

from dataclasses import dataclass

from pmulab import uapi
from pmulab.errors import IllegalInstruction
from pmulab.hw.events import ArmEvent
from pmulab.scenarios.base import Params, Run, Scenario, param
from pmulab.scenarios.common import SIGILL, busy, raw_attr, read_count, read_user, try_mrs, user_attr
from pmulab.scenarios.foreign_counters import _table
from pmulab.user import ReadLoop

__all__ = ["S5", "S6", "S8", "S9", "S14"]

_SAME = (True,) * 6


def _loop_until_mrs(task, page) -> ReadLoop:
    loop = ReadLoop(task, page, clock=None, scale=False)
    while loop.next_step != "mrs":
        loop.step()
    return loop


def _finish(run: Run, loop: ReadLoop) -> None:
    try:
        loop.step()
        run.observe("first_mrs", loop.history[-1].values.get("raw", loop.history[-1].values))
        run.observe("user_count", loop.run())
    except IllegalInstruction:
        run.observe("first_mrs", SIGILL)
        run.observe("user_count", SIGILL)
    run.observe("retries", loop.retries)


@dataclass(frozen=True)
class S5Params(Params):
    ticks: int = param(2, "ticks before the read", min=1, max=20)


def _s5(run: Run) -> None:
    m, p = run.machine, run.params
    a = m.spawn("A", uid=1000, cpu=0, workload=busy())
    root = m.spawn("root", uid=0, cpu=0)
    m.switch_to(0, a)
    run.note("root keeps a CPU-bound event on C1 (idx 1 there)")
    root.perf_event_open(raw_attr(ArmEvent.L1D_CACHE_REFILL, exclude_kernel=0), pid=-1, cpu=1)
    fd = a.perf_event_open(user_attr())
    page = a.mmap(fd)
    m.run(p.ticks)
    m.switch_to(0, a)  # round-robin may have handed C0 to root; A is the reader
    loop = _loop_until_mrs(a, page)
    run.note(f"A read lock/index ({page.index}); now A is migrated to C1 before its mrs", 0)
    m.migrate(a, 1)
    _finish(run, loop)
    run.observe("read", read_count(a, fd))


S5 = Scenario("S5", "migration between reading index and the mrs", "Mark's point 2 (whose CPU state)", S5Params, _s5,
              lambda r: {"stale_mrs_succeeds": r.obs["first_mrs"] != SIGILL, "lock_changed": r.obs["retries"] > 0,
                         "result_matches_read": r.obs["user_count"] == r.obs["read"]},
              _table(stale_mrs_succeeds=_SAME, lock_changed=_SAME, result_matches_read=_SAME), "result_matches_read")


def _s6(run: Run) -> None:
    m, p = run.machine, run.params
    a = m.spawn("A", uid=1000, cpu=0, workload=busy())
    c = m.spawn("C", uid=1001, cpu=0, workload=busy())
    c.perf_event_open(raw_attr(ArmEvent.BR_MIS_PRED))
    fd = a.perf_event_open(user_attr())
    page = a.mmap(fd)
    m.switch_to(0, a)
    m.run(p.ticks)
    m.switch_to(0, a)
    loop = _loop_until_mrs(a, page)
    run.note("A read lock/index; C (own events, no user access) preempts it on C0 and tries an mrs", 0)
    m.switch_to(0, c)
    run.observe("c_mrs", try_mrs(c, "PMEVCNTR0_EL0"))
    m.switch_to(0, a)
    _finish(run, loop)
    run.observe("read", read_count(a, fd))


S6 = Scenario("S6", "preemption between reading index and the mrs", "Mark's point 2 (sched_task toggling)",
              S5Params, _s6,
              lambda r: {"other_task_denied": r.obs["c_mrs"] == SIGILL,
                         "access_on_return": r.obs["first_mrs"] != SIGILL,
                         "lock_changed": r.obs["retries"] > 0,
                         "result_matches_read": r.obs["user_count"] == r.obs["read"]},
              _table(other_task_denied=_SAME, access_on_return=_SAME, lock_changed=_SAME, result_matches_read=_SAME),
              "result_matches_read")


@dataclass(frozen=True)
class S8Params(Params):
    rate: int = param(0x30000000, "instructions per tick", min=1 << 20, max=0x7FFFFFFF)
    ticks: int = param(5, "ticks (reads once per tick)", min=1, max=30)


def _s8(run: Run) -> None:
    m, p = run.machine, run.params
    a = m.spawn("A", uid=1000, cpu=0, workload=busy(INST_RETIRED=p.rate))
    fd = a.perf_event_open(user_attr())
    page = a.mmap(fd)
    run.note("A counts 32-bit INST_RETIRED from 0x80000001; it reads every tick (sign- and zero-extending)", 0)
    good, zero_err = [], []
    for _ in range(p.ticks):
        m.run(1)
        doc, zext = read_user(a, page), read_user(a, page, "zero-extend")
        truth = read_count(a, fd)
        good.append(doc == truth)
        zero_err.append((zext - truth) % (1 << 64))
    run.observe("irqs", len(m.trace.actions("irq")))
    run.observe("sext_ok", all(good))
    run.observe("zero_extend_errors", zero_err)


S8 = Scenario("S8", "a 32-bit counter wraps while user space reads it", "the user page's pmc_width and offset",
              S8Params, _s8,
              lambda r: {"overflow_irq_taken": r.obs["irqs"] > 0, "sign_extending_reader_correct": r.obs["sext_ok"],
                         "zero_extending_reader_off_by_2_32": (1 << 32) in r.obs["zero_extend_errors"]},
              _table(overflow_irq_taken=_SAME, sign_extending_reader_correct=_SAME,
                     zero_extending_reader_off_by_2_32=_SAME), "sign_extending_reader_correct")


@dataclass(frozen=True)
class S9Params(Params):
    events: int = param(8, "user events opened (6 counters)", min=7, max=12)
    ticks: int = param(8, "ticks", min=2, max=40)


def _s9(run: Run) -> None:
    m, p = run.machine, run.params
    t = m.spawn("T", uid=1000, cpu=0, workload=busy())
    run.note(f"T opens {p.events} flexible INST_RETIRED events (config1=0x2) and maps only the last", 0)
    fds = [t.perf_event_open(user_attr()) for _ in range(p.events)]
    page = t.mmap(fds[-1])
    fallbacks = 0
    for _ in range(p.ticks):
        m.run(1)
        fallbacks += read_user(t, page) is None
    pages = m.trace.page_columns()
    inactive = [cap for idx, cap in zip(pages["index"], pages["cap_user_rdpmc"], strict=True) if idx == 0]
    run.observe("ticks_inactive", len(inactive))
    run.observe("cap_while_inactive", bool(inactive) and all(inactive))
    run.observe("fallbacks", fallbacks)
    out = uapi.parse_read(t.read(fds[-1]), t.fds[fds[-1]].attr.read_format)
    run.observe("running_lt_enabled", out.time_running < out.time_enabled)


S9 = Scenario("S9", "multiplexing: index 0 while the event is off the PMU", "what index 0 means to the reader",
              S9Params, _s9,
              lambda r: {"index_zero_sometimes": r.obs["ticks_inactive"] > 0,
                         "reader_falls_back": r.obs["fallbacks"] > 0,
                         "cap_user_rdpmc_while_inactive": r.obs["cap_while_inactive"],
                         "time_running_lt_enabled": r.obs["running_lt_enabled"]},
              _table(index_zero_sometimes=_SAME, reader_falls_back=_SAME,
                     cap_user_rdpmc_while_inactive=(False, False, True, False, True, True),
                     time_running_lt_enabled=_SAME), "cap_user_rdpmc_while_inactive")


@dataclass(frozen=True)
class S14Params(Params):
    before: int = param(2, "ticks before IOC_RESET", min=0, max=20)
    after: int = param(1, "ticks after IOC_RESET", min=1, max=20)


def _s14(run: Run) -> None:
    m, p = run.machine, run.params
    t = m.spawn("T", uid=1000, cpu=0, workload=busy())
    fd = t.perf_event_open(user_attr())
    page = t.mmap(fd)
    m.run(p.before)
    run.note("T issues PERF_EVENT_IOC_RESET: prev_count becomes a zero-extended raw value", 0)
    t.ioctl(fd, uapi.PERF_EVENT_IOC_RESET)
    m.run(p.after)
    doc, zext = read_user(t, page), read_user(t, page, "zero-extend")
    truth = read_count(t, fd)
    run.observe("sext_error", (doc - truth) % (1 << 64))
    run.observe("zext_error", (zext - truth) % (1 << 64))


S14 = Scenario("S14", "IOC_RESET and the sign-extending reader", "the offset the user page publishes",
               S14Params, _s14,
               lambda r: {"sign_extending_reader_off_by_minus_2_32": r.obs["sext_error"] == (1 << 64) - (1 << 32),
                          "zero_extending_reader_correct": r.obs["zext_error"] == 0},
               _table(sign_extending_reader_off_by_minus_2_32=_SAME, zero_extending_reader_correct=_SAME),
               "sign_extending_reader_off_by_minus_2_32")
