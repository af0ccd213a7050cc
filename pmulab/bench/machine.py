"""Benchmark of the Machine loop: ``Machine.run`` ticks per second and how the cost grows.

Models: a busy 8-CPU arm64 box (design.md §2 API only): 16 tasks, two per CPU, each running a
workload heavy enough that 32-bit counters overflow every few ticks (PMU IRQs, Kernel:
armv8pmu_handle_irq -> armpmu_event_set_period), each opening its share of 48 task-bound,
user-readable hardware events (config1=0x2, exclude_kernel=1) on 2 counters per CPU, so the perf
core multiplexes them (Kernel: perf_rotate_context); each task mmaps its first event and reads it
from EL0 with the documented loop (``pmulab.user.read_self``) every 4 ticks, and with read()
every 8 ticks (``Machine.user_step``). The per-tick cost is compared with one
``CounterBank.count`` step of the same size (the hardware phase alone).
Omits: sampling records (the ring buffer is not mapped).
Pinned to: issue 8: per-tick cost <= 20x a CounterBank.count step; scaling exponents in CPUs
(tasks and events growing with them, 2 tasks and 6 events per CPU) and in events (8 CPUs).
"""

from __future__ import annotations

from pmulab.hw.counters import CounterBank

from .core import cycling
from .program import occurrences, program
from .sizes import Sizes
from .timing import Figure, Section, fit_exponent, medians, unavailable

__all__ = ["bench_machine", "build_machine", "COUNTERS"]

#: Event counters per CPU: fewer than a task's events, so the perf core multiplexes.
COUNTERS = 2
_TICK_MAX = 20.0
_RATES = {"INST_RETIRED": 2.0e8, "CPU_CYCLES": 2.5e8, "BR_RETIRED": 4.0e7, "BR_MIS_PRED": 2.0e6,
          "L1D_CACHE": 9.0e7, "L1D_CACHE_REFILL": 3.0e6, "BUS_CYCLES": 1.2e8, "STALL_FRONTEND": 5.0e7,
          "STALL_BACKEND": 6.0e7}


def _configs(uapi):
    return (uapi.PERF_COUNT_HW_INSTRUCTIONS, uapi.PERF_COUNT_HW_BRANCH_INSTRUCTIONS,
            uapi.PERF_COUNT_HW_BRANCH_MISSES, uapi.PERF_COUNT_HW_CACHE_REFERENCES,
            uapi.PERF_COUNT_HW_CACHE_MISSES, uapi.PERF_COUNT_HW_BUS_CYCLES)


def build_machine(cpus: int, tasks: int, nevents: int, seed: int = 0):
    """A Machine loaded as the module docstring says; ``nevents`` are spread over the tasks round robin."""
    from pmulab import Machine, PerfEventAttr, Workload, uapi
    from pmulab.user import read_self

    m = Machine(cpus=cpus, counters=COUNTERS, pmu="v3p4", design="v5.17", perf_user_access=1, seed=seed)
    fmt = uapi.PERF_FORMAT_TOTAL_TIME_ENABLED | uapi.PERF_FORMAT_TOTAL_TIME_RUNNING
    ts = []
    for i in range(tasks):
        scale = 1.0 + 0.1 * (i % 5)
        wl = Workload(el0={k: v * scale for k, v in _RATES.items()},
                      el1={k: v * 0.05 for k, v in _RATES.items()}, jitter=0.1)
        ts.append(m.spawn(f"w{i}", uid=1000, cpu=i % cpus, workload=wl))
    configs = _configs(uapi)
    fds: list[list[int]] = [[] for _ in ts]
    for e in range(nevents):
        i = e % len(ts)
        attr = PerfEventAttr(type=uapi.PERF_TYPE_HARDWARE, config=configs[(e // len(ts)) % len(configs)],
                             config1=0x2, exclude_kernel=1, read_format=fmt)
        fds[i].append(ts[i].perf_event_open(attr, pid=0, cpu=-1, group_fd=-1, flags=0))
    for t, fl in zip(ts, fds, strict=True):
        if fl:
            page = t.mmap(fl[0])
            m.user_step(lambda t=t, page=page: read_self(t, page), every=4)
            m.user_step(lambda t=t, fd=fl[0]: t.read(fd), every=8)
    m.run(5)  # warm up: every task scheduled once, pages written
    return m


def _tick_seconds(sizes: Sizes, cpus: int, tasks: int, nevents: int) -> float:
    m = build_machine(cpus, tasks, nevents)
    (t,) = medians([lambda: m.run(sizes.machine_ticks)], sizes.machine_repeat, [1])
    return t / sizes.machine_ticks


def bench_machine(sizes: Sizes) -> Section:
    """Ticks per second at the headline size, the ratio to one count step, and the two exponents."""
    title = "Machine loop: Machine.run"
    cpus, tasks, nev = sizes.machine_cpus, sizes.machine_tasks, sizes.machine_events
    try:
        t_tick = _tick_seconds(sizes, cpus, tasks, nev)
    except Exception as exc:  # the Machine is still being assembled by others: say why, do not crash
        return unavailable("machine", title, f"{type(exc).__name__}: {exc}",
                           notes=("Machine(cpus, ...).spawn/perf_event_open/mmap/run per design.md §2 failed",))
    bank = CounterBank(cpus, COUNTERS)
    program(bank)
    (t_count,) = medians([cycling(bank.count, occurrences(cpus, 16))], sizes.count_repeat, [sizes.count_number])
    ratio = t_tick / t_count
    figs = [
        Figure("ticks_per_s", 1.0 / t_tick, "ticks/s", f"Machine.run at {cpus} CPUs, {tasks} tasks, {nev} events"),
        Figure("tick_us", t_tick * 1e6, "us/tick", "time of one Machine tick"),
        Figure("count_us", t_count * 1e6, "us/step", f"one CounterBank.count step, {cpus} CPUs x {COUNTERS} counters"),
        Figure("tick_over_count", ratio, "x", "Machine tick / CounterBank.count step",
               f"<= {_TICK_MAX:g}x", ratio <= _TICK_MAX),
    ]
    per_cpu_tasks, per_task_events = max(1, tasks // cpus), max(1, nev // max(1, tasks))
    c_times = [_tick_seconds(sizes, c, per_cpu_tasks * c, per_cpu_tasks * per_task_events * c)
               for c in sizes.machine_cpu_sweep]
    e_times = [_tick_seconds(sizes, cpus, tasks, e) for e in sizes.machine_event_sweep]
    per_cpu = f"{per_cpu_tasks} tasks and {per_cpu_tasks * per_task_events} events per CPU"
    figs += [Figure(f"tick_us@{c}cpu", t * 1e6, "us/tick", f"{c} CPUs, {per_cpu}")
             for c, t in zip(sizes.machine_cpu_sweep, c_times, strict=True)]
    figs += [Figure(f"tick_us@{e}ev", t * 1e6, "us/tick", f"{cpus} CPUs, {tasks} tasks, {e} events")
             for e, t in zip(sizes.machine_event_sweep, e_times, strict=True)]
    k_cpu = fit_exponent(sizes.machine_cpu_sweep, c_times)
    k_ev = fit_exponent(sizes.machine_event_sweep, e_times)
    figs += [Figure("cpus_exponent", k_cpu, "exponent", "k in tick time ~ cpus**k (log-log least squares)"),
             Figure("events_exponent", k_ev, "exponent", "k in tick time ~ events**k (log-log least squares)")]
    return Section("machine", title, figures=tuple(figs))
