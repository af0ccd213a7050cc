"""Benchmark of sampling: the cost of one sample per tick per CPU, and the consumer's parse rates.

Models: (a) two Machines (design.md §2 API) with the same tasks and workloads, 2 tasks per CPU,
each task opening a CPU_CYCLES event (exclude_kernel) and an INST_RETIRED event on the 2 counters
of its CPU (no multiplexing); in one, CPU_CYCLES samples (IP|TID|TIME|PERIOD|ID) with
``sample_period`` equal to the EL0 cycles of one tick (jitter-free workloads), so every CPU's
running task overflows exactly once per tick (Kernel: armv8pmu_handle_irq -> perf_event_overflow ->
perf_event_output into the ring buffer of ``Task.mmap(fd, pages=1 + 2**n)``), and a consumer
(``pmulab.user.RingReader.read``: copy from data_tail to data_head, store data_tail, decode)
drains every ring every tick; in the other the same events only count. A third machine samples
without the consumer, to split the cost between the kernel side and the consumer.
(b) ``pmulab.user.parse_samples`` over SAMPLE records of one layout and ``parse_records`` over a
mixed stream, both built with ``pmulab.uapi.pack_sample`` / ``pack_record``.
Omits: frequency mode and throttling (the period is fixed; one sample per tick stays far below
max_samples_per_tick).
Pinned to: issue 11 (Performance): sampling <= 3x the machine without sampling; >= 1e6 SAMPLE
records/s of one layout; >= 2e5 records/s for a mixed stream.
"""

from __future__ import annotations

from .sizes import Sizes
from .timing import Figure, Section, medians, unavailable

__all__ = ["bench_sampling", "build_sampling_machine", "sample_stream", "mixed_stream", "CYCLES_PER_TICK"]

_TITLE = "Sampling: one sample per tick per CPU, and the consumer's parse rates"
#: EL0 CPU_CYCLES of a task per tick (4 ms at 2.5 GHz): also the sample period (one overflow per tick).
CYCLES_PER_TICK = 10_000_000
_RING_PAGES = 1 + 8  # user page + 2**3 data pages (32 KiB): room for many ticks of samples
_OVER_MAX, _SAMPLES_MIN, _MIXED_MIN = 3.0, 1e6, 2e5


def _sample_attr(uapi, PerfEventAttr, period: int):
    st = (uapi.PERF_SAMPLE_IP | uapi.PERF_SAMPLE_TID | uapi.PERF_SAMPLE_TIME | uapi.PERF_SAMPLE_PERIOD
          | uapi.PERF_SAMPLE_ID)
    return PerfEventAttr(type=uapi.PERF_TYPE_HARDWARE, config=uapi.PERF_COUNT_HW_CPU_CYCLES, exclude_kernel=1,
                         sample_period=period, sample_type=st if period else 0)


def build_sampling_machine(cpus: int, sampling: bool, consume: bool = True, tasks_per_cpu: int = 2):
    """The Machine of (a) in the module docstring; returns ``(machine, samples)`` where ``samples``
    is the list the consumer appends each tick's record count to (empty without sampling or consumer)."""
    from pmulab import Machine, PerfEventAttr, Workload, uapi
    from pmulab.user import RingReader

    m = Machine(cpus=cpus, counters=2, pmu="v3p4", design="v5.17", perf_user_access=1, seed=0)
    inst = PerfEventAttr(type=uapi.PERF_TYPE_HARDWARE, config=uapi.PERF_COUNT_HW_INSTRUCTIONS, exclude_kernel=1)
    readers = []
    for i in range(cpus * tasks_per_cpu):
        wl = Workload(el0={"CPU_CYCLES": CYCLES_PER_TICK, "INST_RETIRED": CYCLES_PER_TICK * (1 + i % 3) // 2},
                      el1={"CPU_CYCLES": CYCLES_PER_TICK // 20, "INST_RETIRED": CYCLES_PER_TICK // 40})
        t = m.spawn(f"s{i}", uid=1000, cpu=i % cpus, workload=wl)
        attr = _sample_attr(uapi, PerfEventAttr, CYCLES_PER_TICK if sampling else 0)
        fd = t.perf_event_open(attr, pid=0, cpu=-1, group_fd=-1, flags=0)
        t.perf_event_open(inst, pid=0, cpu=-1, group_fd=-1, flags=0)
        if sampling:
            page = t.mmap(fd, pages=_RING_PAGES)
            readers.append(RingReader(t, page, attr))
    samples: list[int] = []
    if readers and consume:
        m.user_step(lambda: samples.append(sum(len(r.read()) for r in readers)), every=1, name="consumer")
    m.run(4)  # warm up: every task scheduled, every ring written
    return m, samples


def sample_stream(count: int, distinct: int = 512):
    """``(attr, bytes)``: ``count`` SAMPLE records of one layout (``distinct`` packed ones, repeated)."""
    from pmulab import uapi
    from pmulab.uapi import PerfEventAttr, pack_sample

    attr = _sample_attr(uapi, PerfEventAttr, CYCLES_PER_TICK)
    recs = [pack_sample(attr, misc=uapi.PERF_RECORD_MISC_USER, ip=0x400000 + 4 * i, pid=100 + i % 7, tid=100 + i % 7,
                        time=4_000_000 * i, period=CYCLES_PER_TICK, id=11) for i in range(min(count, distinct))]
    reps, rest = divmod(count, len(recs))
    return attr, b"".join(recs) * reps + b"".join(recs[:rest])


def mixed_stream(count: int, distinct: int = 512):
    """``(attr, bytes)``: ``count`` records cycling SAMPLE, SWITCH, COMM, MMAP2, FORK, EXIT, THROTTLE,
    UNTHROTTLE, LOST (``attr.sample_id_all``: every non-SAMPLE record carries the sample_id trailer)."""
    from pmulab import uapi
    from pmulab.uapi import PerfEventAttr, PerfRecord, pack_record, pack_sample

    attr = _sample_attr(uapi, PerfEventAttr, CYCLES_PER_TICK)
    attr = PerfEventAttr(**{**{f: getattr(attr, f) for f in ("type", "config", "exclude_kernel", "sample_period",
                                                             "sample_type")}, "sample_id_all": 1})
    recs = []
    for i in range(min(count, distinct)):
        sid = {"pid": 100 + i % 7, "tid": 100 + i % 7, "time": 4_000_000 * i, "id": 11}
        kind = i % 9
        if kind in (0, 1, 2):  # samples dominate a real stream
            recs.append(pack_sample(attr, misc=uapi.PERF_RECORD_MISC_USER, ip=0x400000 + 4 * i, pid=sid["pid"],
                                    tid=sid["tid"], time=sid["time"], period=CYCLES_PER_TICK, id=11))
        elif kind == 3:
            recs.append(pack_record(PerfRecord.SWITCH, attr, misc=uapi.PERF_RECORD_MISC_SWITCH_OUT, sample_id=sid))
        elif kind == 4:
            recs.append(pack_record(PerfRecord.COMM, attr, pid=sid["pid"], tid=sid["tid"], comm=f"task{i % 7}",
                                    sample_id=sid))
        elif kind == 5:
            recs.append(pack_record(PerfRecord.MMAP2, attr, pid=sid["pid"], tid=sid["tid"], addr=0x400000, len=1 << 20,
                                    pgoff=0, filename="/usr/bin/prog", sample_id=sid))
        elif kind == 6:
            recs.append(pack_record(PerfRecord.FORK, attr, pid=sid["pid"], ppid=1, tid=sid["tid"], ptid=1,
                                    time=sid["time"], sample_id=sid))
        elif kind == 7:
            recs.append(pack_record(PerfRecord.THROTTLE if i % 2 else PerfRecord.UNTHROTTLE, attr, time=sid["time"],
                                    id=11, stream_id=11, sample_id=sid))
        else:
            recs.append(pack_record(PerfRecord.LOST, attr, id=11, lost=i, sample_id=sid))
    reps, rest = divmod(count, len(recs))
    return attr, b"".join(recs) * reps + b"".join(recs[:rest])


def bench_sampling(sizes: Sizes) -> Section:
    """(a) tick time with and without sampling (alternating blocks) and its ratio; (b) the two parse rates."""
    from pmulab.user import parse_records, parse_samples

    cpus, ticks = sizes.sampling_cpus, sizes.sampling_ticks
    try:
        plain, _ = build_sampling_machine(cpus, sampling=False)
        samp, got = build_sampling_machine(cpus, sampling=True)
        quiet, _ = build_sampling_machine(cpus, sampling=True, consume=False)
    except Exception as exc:  # sampling belongs to others: report, do not crash the whole bench
        return unavailable("sampling", _TITLE, f"{type(exc).__name__}: {exc}")
    seen = len(got)
    t_plain, t_samp, t_quiet = medians([lambda: plain.run(ticks), lambda: samp.run(ticks), lambda: quiet.run(ticks)],
                                       sizes.sampling_repeat, [1, 1, 1])
    t_plain, t_samp, t_quiet = t_plain / ticks, t_samp / ticks, t_quiet / ticks
    per_tick = sum(got[seen:]) / max(1, len(got) - seen)
    ratio = t_samp / t_plain
    n1, n2 = sizes.parse_samples, sizes.parse_mixed
    attr1, data1 = sample_stream(n1)
    attr2, data2 = mixed_stream(n2)
    if len(parse_samples(data1, attr1)) != n1 or len(parse_records(data2, attr2)) != n2:
        raise AssertionError("the parsers did not return one record per packed record")
    t1, t2 = medians([lambda: parse_samples(data1, attr1), lambda: parse_records(data2, attr2)],
                     sizes.parse_repeat, [1, 1])
    r1, r2 = n1 / t1, n2 / t2
    where = f"{cpus} CPUs, {2 * cpus} tasks"
    figs = (
        Figure("tick_us_plain", t_plain * 1e6, "us/tick", f"Machine.run, {where}, 2 counting events per task"),
        Figure("tick_us_sampling", t_samp * 1e6, "us/tick",
               "the same machine with CPU_CYCLES sampling once per tick per CPU, every ring drained every tick"),
        Figure("tick_us_no_consumer", t_quiet * 1e6, "us/tick", "sampling machine without the consumer (kernel side)"),
        Figure("samples_per_tick", per_tick, "records/tick", f"records the consumer read per tick (expected {cpus})"),
        Figure("sampling_over_plain", ratio, "x", "sampling tick / counting tick", f"<= {_OVER_MAX:g}x",
               ratio <= _OVER_MAX),
        Figure("us_per_sample", (t_samp - t_plain) * 1e6 / max(per_tick, 1e-9), "us/sample",
               "extra tick time per sample (IRQ + output + consumer)"),
        Figure("consumer_share", max(t_samp - t_quiet, 1e-9) / max(t_samp - t_plain, 1e-9), "fraction",
               "part of the extra time spent in the consumer (RingReader.read)"),
        Figure("parse_samples_per_s", r1, "records/s", f"parse_samples over {n1:,} SAMPLE records of one layout",
               f">= {_SAMPLES_MIN:.0e}/s", r1 >= _SAMPLES_MIN),
        Figure("parse_records_per_s", r2, "records/s", f"parse_records over {n2:,} mixed records (9 types)",
               f">= {_MIXED_MIN:.0e}/s", r2 >= _MIXED_MIN),
    )
    return Section("sampling", _TITLE, figures=figs,
                   notes=(f"stream sizes: {len(data1):,} B of samples, {len(data2):,} B mixed",))
