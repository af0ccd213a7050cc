"""``pmulab record``: sample a demo workload on the model and print a perf-report-like table.

Models: ``perf record -e <event> -c <period> | -F <freq>`` followed by ``perf report --sort symbol``
(and ``perf report -D`` for ``--raw``): a Machine runs a task with the demo code profile
(``pmulab.sim.profile.demo_profile``), one sampling event on it with a 1 + 2^n page mapping, a
consumer that drains the ring buffer every ``--consume-every`` ticks, then ``pmulab.user.report``.
The integrator wires ``add_parser(subparsers)`` / ``main(args)`` into pmulab/cli.py.
"""

from __future__ import annotations

import argparse

__all__ = ["HELP", "add_parser", "configure", "main", "record"]

HELP = "sample a demo workload on the model (perf record + perf report)"
_EVENTS = {"instructions": "PERF_COUNT_HW_INSTRUCTIONS", "cycles": "PERF_COUNT_HW_CPU_CYCLES"}


def configure(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    p.add_argument("-e", "--event", choices=sorted(_EVENTS), default="cycles")
    g = p.add_mutually_exclusive_group()
    g.add_argument("-c", "--period", type=int, default=None, help="sample period (default 20000)")
    g.add_argument("-F", "--freq", type=int, default=None, help="samples per second (frequency mode)")
    p.add_argument("--ticks", type=int, default=50, help="timer ticks to run (4 ms each)")
    p.add_argument("--pages", type=int, default=8, help="data pages (a power of two)")
    p.add_argument("--consume-every", type=int, default=1, help="ticks between ring-buffer reads")
    p.add_argument("--skid", type=int, default=0, help="instructions of IRQ skid")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--raw", action="store_true", help="print every record (like perf report -D)")
    return p


def add_parser(subparsers) -> argparse.ArgumentParser:
    return configure(subparsers.add_parser("record", help=HELP, description=HELP))


def record(event: str = "cycles", period: int | None = None, freq: int | None = None, ticks: int = 50,
           pages: int = 8, consume_every: int = 1, skid: int = 0, seed: int = 0):
    """Run the demo; return ``(records, report, machine)``."""
    from pmulab import Machine, PerfEventAttr, Workload, uapi
    from pmulab.sim.profile import demo_profile
    from pmulab.user import RingReader, report

    profile = demo_profile(skid)
    m = Machine(cpus=2, seed=seed)
    t = m.spawn("demo", cpu=0, workload=Workload(el0={"INST_RETIRED": 400_000, "CPU_CYCLES": 600_000},
                                                 el1={"INST_RETIRED": 40_000, "CPU_CYCLES": 90_000},
                                                 jitter=0.1, profile=profile))
    st = (uapi.PERF_SAMPLE_IP | uapi.PERF_SAMPLE_TID | uapi.PERF_SAMPLE_TIME | uapi.PERF_SAMPLE_CPU
          | uapi.PERF_SAMPLE_PERIOD | uapi.PERF_SAMPLE_ID)
    attr = PerfEventAttr(type=uapi.PERF_TYPE_HARDWARE, config=getattr(uapi, _EVENTS[event]), exclude_kernel=1,
                         sample_type=st, sample_id_all=1, task=1, comm=1)
    if freq:
        attr.freq, attr.sample_freq = 1, freq
    else:
        attr.sample_period = period or 20_000
    fd = t.perf_event_open(attr, pid=0, cpu=-1)
    page = t.mmap(fd, pages=1 + pages)
    reader = RingReader(t, page, attr)
    records: list = []
    m.user_step(lambda: records.extend(reader.read()), every=max(1, consume_every))
    m.run(ticks)
    records.extend(reader.read())
    return records, report(records, profile.symbols()), m


def main(args: argparse.Namespace) -> int:
    records, rep, _ = record(args.event, args.period, args.freq, args.ticks, args.pages, args.consume_every,
                             args.skid, args.seed)
    if args.raw:
        for r in records:
            print(f"{r.offset:#010x} {r!r}")
        print()
    print(rep.table())
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main(configure(argparse.ArgumentParser(prog="pmulab record")).parse_args()))
