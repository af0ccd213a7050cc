"""The oracle's scenario library: operation lists the v5.17 design can express, run on both sides.

Each entry is a ``pmulab.sim.ops.OpList``; its ``doc`` says which scenario of the spec (§7) it
exercises and what the kernel functions involved are. All run with ``kernel.perf_user_access``
set as stated and ``kernel.perf_event_paranoid`` = 2 (Debian's default 3 is lowered first).

Models: spec §7 S1, S2, S3, S10, S11, S13, S14, S15, S16 and the open-time errno checks of
§3.1/§5.3 (Kernel: perf_event_open, perf_allow_kernel, perf_allow_cpu, perf_check_permission,
armv8pmu_map_event ... -> __armv8_pmuv3_map_event, armv8pmu_start, arch_perf_update_userpage).
Omits: timing-dependent scenarios (S5, S6, S8, S9: their outcome depends on when an interrupt or
a rotation lands, which a lock-step guest cannot pin down), S12 (QEMU has one CPU type), S4/S7
(v8 only).
Pinned to: Linux v5.17 (Debian's 6.1 carries it unchanged).
"""

from __future__ import annotations

from pmulab.sim.ops import OpList

__all__ = ["scenarios", "scenario", "names"]

_PERF_TYPE_HARDWARE = 0
_HW_CPU_CYCLES, _HW_INSTRUCTIONS = 0, 1


def _attr(config: int = _HW_CPU_CYCLES, config1: int = 2, **more: int) -> dict:
    """A hardware event counting at EL0 only (exclude_kernel: allowed at paranoid 2)."""
    return {"type": _PERF_TYPE_HARDWARE, "config": config, "config1": config1, "exclude_kernel": 1, **more}


def _s(op: str, task: str | None = None, **kw) -> dict:
    return {"op": op, **({"task": task} if task else {}), **kw}


def _mrs(task: str, reg: str) -> dict:
    return _s("mrs", task, reg=reg)


_ON = {"kernel.perf_user_access": 1, "kernel.perf_event_paranoid": 2}
_OFF = {"kernel.perf_user_access": 0, "kernel.perf_event_paranoid": 2}


def _build() -> dict[str, OpList]:
    lists = [
        OpList("S13", machine={"cpus": 1}, sysctl=_ON, doc=(
            "S13: stale ER|CR after the last counter is released. T opens and maps a user-read cycles "
            "event; U (another uid, no events) runs while T sleeps: armpmu_enable() finds used_mask empty "
            "and never calls armv8pmu_start(), so PMUSERENR_EL0 keeps ER|CR and U reads T's frozen PMCCNTR. "
            "Closing the event, exec, writing 1 to the sysctl change nothing; writing 0 clears it (IPI)."),
            steps=[
                _s("spawn", "T", uid=1000, cpu=0), _s("spawn", "U", uid=1001, cpu=0),
                _mrs("U", "PMUSERENR_EL0"),
                _s("open", "T", ev="e", attr=_attr()), _s("mmap", "T", ev="e"),
                _s("read_self", "T", ev="e"),
                _mrs("T", "PMUSERENR_EL0"), _mrs("T", "PMCCNTR_EL0"),
                _mrs("U", "PMUSERENR_EL0"), _mrs("U", "PMCCNTR_EL0"),
                _s("munmap", "T", ev="e"), _mrs("T", "PMUSERENR_EL0"),
                _s("close", "T", ev="e"), _mrs("T", "PMUSERENR_EL0"), _mrs("T", "PMCCNTR_EL0"),
                _s("exec", "T"), _mrs("T", "PMUSERENR_EL0"),
                _mrs("U", "PMUSERENR_EL0"), _mrs("U", "PMCCNTR_EL0"),
                _s("sysctl", name="kernel.perf_user_access", value=1), _mrs("U", "PMUSERENR_EL0"),
                _s("sysctl", name="kernel.perf_user_access", value=0), _mrs("U", "PMUSERENR_EL0"),
                _mrs("U", "PMCCNTR_EL0"),
            ]),
        OpList("S13-clear", machine={"cpus": 1}, sysctl=_ON, doc=(
            "S13, the way out: once any event is scheduled in a context with nr_user == 0, "
            "armv8pmu_start() writes PMUSERENR_EL0 = 0 (armv8pmu_disable_user_access)."),
            steps=[
                _s("spawn", "T", uid=1000, cpu=0), _s("spawn", "V", uid=1001, cpu=0),
                _s("open", "T", ev="e", attr=_attr()), _mrs("T", "PMUSERENR_EL0"), _s("close", "T", ev="e"),
                _mrs("V", "PMUSERENR_EL0"),
                _s("open", "V", ev="p", attr=_attr(config1=0)), _mrs("V", "PMUSERENR_EL0"),
                _mrs("V", "PMCCNTR_EL0"),
            ]),
        OpList("S13-2cpu", machine={"cpus": 2}, sysctl=_ON, doc=(
            "S13 on two CPUs: ER|CR is per CPU. A CPU that never ran a user-read event stays 0 "
            "(its tasks trap); the owner's CPU keeps ER|CR after the owner closed its event."),
            steps=[
                _s("spawn", "T", uid=1000, cpu=0), _s("spawn", "U", uid=1001, cpu=1),
                _s("spawn", "W", uid=1001, cpu=0),
                _s("open", "T", ev="e", attr=_attr()), _s("mmap", "T", ev="e"), _s("read_self", "T", ev="e"),
                _mrs("U", "PMUSERENR_EL0"), _mrs("U", "PMCCNTR_EL0"),
                _s("close", "T", ev="e"),
                _mrs("W", "PMUSERENR_EL0"), _mrs("W", "PMCCNTR_EL0"),
            ]),
        OpList("S14", machine={"cpus": 1}, sysctl=_ON, doc=(
            "S14: PERF_EVENT_IOC_RESET on an active 32-bit event: perf_event_read -> armpmu_event_update "
            "stores the zero-extended raw value in prev_count, perf_event_update_userpage publishes "
            "offset = -raw, and the documented sign-extending reader returns count - 2^32. Same after "
            "read() before the first mmap. Cycle counter and an event counter (INST_RETIRED). The hazard lasts "
            "until the next set_period: a reset in one step and a read in the next (the task slept and was "
            "switched back in) reads correctly."),
            steps=[
                _s("spawn", "T", uid=1000, cpu=0),
                _s("open", "T", ev="c", attr=_attr()), _s("mmap", "T", ev="c"), _s("read_self", "T", ev="c"),
                _s("read_self", "T", ev="c", prelude=["reset"]), _s("page", "T", ev="c"), _s("read_self", "T", ev="c"),
                _s("open", "T", ev="i", attr=_attr(config=_HW_INSTRUCTIONS)),
                _s("read_self", "T", ev="i", prelude=["read", "mmap"]), _s("read_self", "T", ev="i"),
                _s("ioctl", "T", ev="i", request="RESET"), _s("read_self", "T", ev="i"),
            ]),
        OpList("S15", machine={"cpus": 1}, sysctl=_ON, doc=(
            "S15: B opens a user-read event on A (same uid, ptrace allowed) and never maps it; the event "
            "joins A's context (nr_user = 1), so after A's next switch-in armv8pmu_start() gives A ER|CR."),
            steps=[
                _s("spawn", "A", uid=1000, cpu=0), _s("spawn", "B", uid=1000, cpu=0),
                _s("spawn", "C", uid=1000, cpu=0),
                _mrs("C", "PMUSERENR_EL0"), _mrs("A", "PMUSERENR_EL0"),
                _s("open", "B", ev="e", attr=_attr(), pid="A"),
                _mrs("A", "PMUSERENR_EL0"), _mrs("A", "PMCCNTR_EL0"),
            ]),
        OpList("S16", machine={"cpus": 2}, sysctl=_ON, doc=(
            "S16: A opens a user-read event with attr.inherit = 1 and forks K onto CPU 1; K's inherited "
            "event (inherit_event -> perf_event_alloc -> map_event sets the user-read flag) counts in "
            "K's context, so K gets ER|CR on CPU 1 without an fd of its own or a mapping."),
            steps=[
                _s("spawn", "A", uid=1000, cpu=0),
                _s("open", "A", ev="e", attr=_attr(inherit=1)), _s("fork", "A", child="K", cpu=1),
                _mrs("K", "PMUSERENR_EL0"), _mrs("K", "PMCCNTR_EL0"),
            ]),
        OpList("S16-noinherit", machine={"cpus": 2}, sysctl=_ON, doc=(
            "S16 control: without inherit the child has no perf context; CPU 1 never ran a user-read "
            "event, so PMUSERENR_EL0 reads 0 there and PMCCNTR_EL0 traps."),
            steps=[
                _s("spawn", "A", uid=1000, cpu=0),
                _s("open", "A", ev="e", attr=_attr()), _s("fork", "A", child="K", cpu=1),
                _mrs("K", "PMUSERENR_EL0"), _mrs("K", "PMCCNTR_EL0"),
            ]),
        OpList("S10", machine={"cpus": 1}, sysctl=_OFF, doc=(
            "S10: sysctl perf_user_access = 0 (the default): a user-read event opens (no check at open), "
            "its page has cap_user_rdpmc = 1 and pmc_width 32 but index 0 (armv8pmu_user_event_idx), "
            "armv8pmu_start() writes PMUSERENR_EL0 = 0, the reader falls back to read() and a raw mrs traps. "
            "Writing 1 takes effect at the next start() (the next switch-in)."),
            steps=[
                _s("spawn", "T", uid=1000, cpu=0),
                _s("open", "T", ev="e", attr=_attr()), _s("mmap", "T", ev="e"), _s("read_self", "T", ev="e"),
                _mrs("T", "PMUSERENR_EL0"), _mrs("T", "PMCCNTR_EL0"),
                _s("sysctl", name="kernel.perf_user_access", value=1),
                _s("page", "T", ev="e"), _mrs("T", "PMUSERENR_EL0"), _s("read_self", "T", ev="e"),
                _s("sysctl", name="kernel.perf_user_access", value=0),
                _s("page", "T", ev="e"), _mrs("T", "PMUSERENR_EL0"), _s("read_self", "T", ev="e"),
            ]),
        OpList("S11", machine={"cpus": 1}, sysctl=_ON, doc=(
            "S11: no PMUv3p5 (cortex-a72). 64-bit INST_RETIRED with user access -> EOPNOTSUPP at open; "
            "64-bit CPU_CYCLES opens and takes the cycle counter (index 32, pmc_width 64); while a root "
            "CPU-bound cycles event holds the cycle counter it cannot be scheduled (get_event_idx -> "
            "-EAGAIN): index 0, pmc_width 64, yet T has ER|CR and reads the root's live PMCCNTR (S1). "
            "config1 = 1 without user access: a chained pair, cap_user_rdpmc 0 and index 0."),
            steps=[
                _s("spawn", "T", uid=1000, cpu=0), _s("spawn", "R", uid=0, cpu=0),
                _s("open", "T", ev="i64", attr=_attr(config=_HW_INSTRUCTIONS, config1=3)),
                _s("open", "T", ev="c64", attr=_attr(config1=3)), _s("mmap", "T", ev="c64"),
                _s("close", "T", ev="c64"),
                _s("open", "R", ev="r", attr={"type": _PERF_TYPE_HARDWARE, "config": _HW_CPU_CYCLES},
                   pid=-1, cpu=0),
                _s("open", "T", ev="c64", attr=_attr(config1=3)), _s("mmap", "T", ev="c64"),
                _mrs("T", "PMUSERENR_EL0"), _mrs("T", "PMCCNTR_EL0"),
                _s("open", "T", ev="c32", attr=_attr(config1=2)), _s("mmap", "T", ev="c32"),
                _s("open", "T", ev="l", attr=_attr(config=_HW_INSTRUCTIONS, config1=1)), _s("mmap", "T", ev="l"),
            ]),
        OpList("S1", machine={"cpus": 1}, sysctl=_ON, doc=(
            "S1: root's CPU-bound INST_RETIRED event R sits in PMEVCNTR0 on CPU 0; unprivileged T opens "
            "a user-read cycles event (the cycle counter, index 32) and, with ER|CR, reads R's live "
            "PMEVCNTR0 although no page of T describes it."),
            steps=[
                _s("spawn", "R", uid=0, cpu=0), _s("spawn", "T", uid=1000, cpu=0),
                _s("open", "R", ev="r", attr={"type": _PERF_TYPE_HARDWARE, "config": _HW_INSTRUCTIONS},
                   pid=-1, cpu=0),
                _s("open", "T", ev="e", attr=_attr()), _s("mmap", "T", ev="e"),
                _mrs("T", "PMUSERENR_EL0"), _mrs("T", "PMEVCNTR0_EL0"), _s("read_self", "T", ev="e"),
            ]),
        OpList("S2", machine={"cpus": 1}, sysctl=_ON, doc=(
            "S2: root opens a plain task-bound event on T (PMEVCNTR0); T opens its own user-read event. "
            "Both live in T's context, so while T runs with ER|CR it reads root's counter."),
            steps=[
                _s("spawn", "T", uid=1000, cpu=0), _s("spawn", "R", uid=0, cpu=0),
                _s("open", "R", ev="adm", attr={"type": _PERF_TYPE_HARDWARE, "config": _HW_INSTRUCTIONS},
                   pid="T"),
                _s("open", "T", ev="e", attr=_attr()), _s("mmap", "T", ev="e"),
                _mrs("T", "PMUSERENR_EL0"), _mrs("T", "PMEVCNTR0_EL0"),
            ]),
        OpList("S3", machine={"cpus": 2}, sysctl=_ON, doc=(
            "S3 (final design): B on CPU 1 opens and maps a user-read event on A (CPU 0). mmap only maps "
            "the page: A gets ER|CR on CPU 0 at its next start(); CPU 1 stays 0, B's reader falls back "
            "(the event is not active on B's CPU: index 0) and B's raw mrs traps."),
            steps=[
                _s("spawn", "A", uid=1000, cpu=0), _s("spawn", "B", uid=1000, cpu=1),
                _s("open", "B", ev="e", attr=_attr(), pid="A"), _s("mmap", "B", ev="e"),
                _s("read_self", "B", ev="e"), _mrs("B", "PMUSERENR_EL0"), _mrs("B", "PMCCNTR_EL0"),
                _mrs("A", "PMUSERENR_EL0"), _mrs("A", "PMCCNTR_EL0"),
            ]),
        OpList("errno", machine={"cpus": 1}, sysctl=_ON, doc=(
            "Open-time checks: user read on a CPU-bound event -> EINVAL (__armv8_pmuv3_map_event: not "
            "PERF_ATTACH_TASK); pid -1 with cpu -1 -> EINVAL; unprivileged CPU-bound event at paranoid 2 -> "
            "EACCES (perf_allow_cpu); unprivileged kernel counting -> EACCES (perf_allow_kernel); another "
            "uid's task -> EACCES (perf_check_permission -> ptrace_may_access); user read bound to a task "
            "and a CPU is still task-bound -> opens; close of a closed handle -> EBADF."),
            steps=[
                _s("spawn", "R", uid=0, cpu=0), _s("spawn", "T", uid=1000, cpu=0), _s("spawn", "U", uid=1001, cpu=0),
                _s("open", "R", ev="cpu_user", attr=_attr(), pid=-1, cpu=0),
                _s("open", "R", ev="nowhere", attr=_attr(config1=0), pid=-1, cpu=-1),
                _s("open", "T", ev="cpu_plain", attr=_attr(config1=0), pid=-1, cpu=0),
                _s("open", "T", ev="kernel", attr={"type": _PERF_TYPE_HARDWARE, "config": _HW_CPU_CYCLES}),
                _s("open", "T", ev="other", attr=_attr(), pid="U"),
                _s("open", "T", ev="pinned_cpu", attr=_attr(), pid="self", cpu=0),
                _s("open", "R", ev="root_other", attr=_attr(), pid="U"),
            ]),
        OpList("plain-page", machine={"cpus": 1}, sysctl=_ON, doc=(
            "A plain event (config1 = 0) with the sysctl on: no user-read flag, so arch_perf_update_userpage "
            "leaves cap_user_rdpmc 0 and index 0; armv8pmu_start() sees nr_user == 0 and writes "
            "PMUSERENR_EL0 = 0, the reader falls back to read() and a raw mrs traps."),
            steps=[
                _s("spawn", "T", uid=1000, cpu=0),
                _s("open", "T", ev="p", attr=_attr(config1=0)), _s("mmap", "T", ev="p"),
                _s("read_self", "T", ev="p"), _mrs("T", "PMUSERENR_EL0"), _mrs("T", "PMCCNTR_EL0"),
                _s("read", "T", ev="p"), _s("run", ticks=2), _s("page", "T", ev="p"),
            ]),
        OpList("pmselr", machine={"cpus": 1}, sysctl=_ON, doc=(
            "ER grants EL0 write access to PMSELR_EL0, and the merged code never zeroes it (it writes "
            "PMUSERENR_EL0 twice; spec §5.4): T leaves a value there that U, and later a fresh user "
            "reader V, can read. Counter writes still need EN: an EL0 msr PMCCNTR_EL0 traps."),
            steps=[
                _s("spawn", "T", uid=1000, cpu=0), _s("spawn", "U", uid=1001, cpu=0),
                _s("spawn", "V", uid=1002, cpu=0),
                _s("open", "T", ev="e", attr=_attr()), _s("msr", "T", reg="PMSELR_EL0", value=3),
                _mrs("T", "PMSELR_EL0"), _s("msr", "T", reg="PMCCNTR_EL0", value=0),
                _mrs("U", "PMSELR_EL0"),
                _s("open", "V", ev="v", attr=_attr()), _mrs("V", "PMUSERENR_EL0"), _mrs("V", "PMSELR_EL0"),
            ]),
    ]
    return {o.name: o for o in lists}


def scenarios() -> dict[str, OpList]:
    """All oracle scenarios by name (fresh objects on every call: nothing module-level is mutable)."""
    return _build()


def names() -> list[str]:
    return list(_build())


def scenario(name: str) -> OpList:
    lists = _build()
    if name not in lists:
        raise ValueError(f"unknown oracle scenario {name!r} (known: {', '.join(lists)})")
    return lists[name]
