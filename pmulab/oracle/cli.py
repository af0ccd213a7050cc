"""``pmulab oracle [SCENARIO...] [--live] [--record] [--cpu cortex-a72|max]``.

``pmulab oracle --replay-explore [--design v5.17] [--depth N] [--invariant NAME] [--ops all]``: run
the explorer, boot each counterexample on the real kernel, print the model-vs-kernel table and a
verdict line per invariant (``pmulab.oracle.replay``). ``--record-explore`` rewrites
oracle/truths/explore-*.json.

Without ``--live``: the model against the recorded truths (no QEMU). ``--live``: set up (if
needed), boot the real kernel, compare with the model. ``--record``: boot and rewrite the
truth files. The integrator hooks it into pmulab/cli.py with ``oracle_cli.add_parser(subparsers)``;
the parser's ``func`` is ``main``.
"""

from __future__ import annotations

import argparse
import sys

__all__ = ["add_parser", "main"]

_CPU_TO_PMU = {"cortex-a72": "v3p4", "max": "v3p5"}


HELP = "compare the model with real arm64 Linux under QEMU (recorded truths, or --live)"


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("oracle", help=HELP, description=__doc__.split("\n\n")[0])
    configure(p)
    return p


def configure(p: argparse.ArgumentParser) -> None:
    """Add the options of ``pmulab oracle`` to ``p``."""
    p.add_argument("scenarios", nargs="*", help="scenario names (default: all)")
    p.add_argument("--live", action="store_true", help="boot the real kernel now (sets up QEMU if needed)")
    p.add_argument("--record", action="store_true", help="boot and rewrite oracle/truths/*.json")
    p.add_argument("--cpu", choices=sorted(_CPU_TO_PMU), default="cortex-a72",
                   help="QEMU CPU (max = PMUv3p5 64-bit counters); recorded truths are cortex-a72")
    p.add_argument("--jobs", type=int, default=2, help="QEMU boots in parallel")
    p.add_argument("--all-cells", action="store_true", help="print matching cells too")
    p.add_argument("--replay-explore", action="store_true",
                   help="boot the explorer's counterexamples on the real kernel (verdict per invariant)")
    p.add_argument("--record-explore", action="store_true", help="boot and rewrite oracle/truths/explore-*.json")
    p.add_argument("--design", default="v5.17", help="design searched by --replay-explore (the kernel carries v5.17)")
    p.add_argument("--depth", type=int, default=3, help="search depth for --replay-explore")
    p.add_argument("--invariant", action="append", default=None, help="invariant(s) for --replay-explore")
    p.add_argument("--ops", default=None,
                   help="explorer vocabulary for --replay-explore: 'all' or comma-separated kinds")
    p.set_defaults(func=main)


def main(args) -> int:
    from .env import OracleError, setup
    from .replay import EXPLORE_TRUTHS
    from .scenarios import scenarios
    from .truths import check, load_all, record, run_live

    if getattr(args, "replay_explore", False) or getattr(args, "record_explore", False):
        return _explore_main(args)
    lib = scenarios()
    recorded_only = [] if args.live or args.record else [e.name for e in EXPLORE_TRUTHS]  # explorer replays
    names = args.scenarios or [*lib, *recorded_only]
    bad = [n for n in names if n not in lib and n not in recorded_only]
    if bad:
        print(f"unknown scenario(s): {', '.join(bad)} (known: {', '.join(lib)})", file=sys.stderr)
        return 2
    try:
        if args.record:
            tc = setup()
            for path in record(tc, names, jobs=args.jobs):
                print(f"recorded {path}")
            return 0
        if args.live:
            tc = setup()
            pmu = _CPU_TO_PMU[args.cpu]
            lists = []
            for n in names:
                o = lib[n]
                o.machine["pmu"] = pmu
                lists.append(o)
            live = run_live(tc, lists, jobs=args.jobs)
            results = []
            for o in lists:
                truth = {"oplist": o.to_dict(), "records": live[o.name]["records"]}
                results.append(check(o.name, truth))
        else:
            truths = load_all()
            results = [check(n, truths[n]) for n in names if n in truths]
            missing = [n for n in names if n not in truths]
            if missing:
                print(f"no recorded truth for: {', '.join(missing)} (run with --record)", file=sys.stderr)
    except OracleError as exc:
        print(f"oracle: {exc}", file=sys.stderr)
        return 1
    failed = 0
    for r in results:
        cells = r.cells if args.all_cells else [c for c in r.cells if not c.match]
        print(_table(r, cells) if cells else f"== {r.name}")
        print(f"   {len(r.cells)} cells compared, {len(r.cells) - len(r.mismatches)} agree"
              f"{'' if r.ok else f', {len(r.mismatches)} MISMATCH'}")
        failed += not r.ok
    return 1 if failed else 0


def _explore_main(args) -> int:
    from .env import OracleError, setup
    from .replay import record_explore, replay_explore

    try:
        if args.record_explore:
            for path in record_explore(setup()):
                print(f"recorded {path}")
            return 0
        ops = None if args.ops is None else ("all" if args.ops == "all" else tuple(args.ops.split(",")))
        replays, skipped = replay_explore(args.design, depth=args.depth, invariants=args.invariant, ops=ops,
                                          jobs=args.jobs)
    except (OracleError, ValueError) as exc:
        print(f"oracle: {exc}", file=sys.stderr)
        return 1 if isinstance(exc, OracleError) else 2
    if not replays and not skipped:
        print(f"the explorer found no violation on {args.design} at depth {args.depth}")
    bad = 0
    for r in replays:
        print(f"explorer: {' ; '.join(' '.join(map(str, op)) for op in r.explore_ops)}  => {r.message}")
        print(r.table())
        bad += not r.agree
    for inv, why in skipped.items():
        print(f"{inv}: not replayed ({why})")
    print()
    for r in replays:
        print(r.verdict)
    return 1 if bad else 0


def _table(result, cells) -> str:
    from .compare import table

    return table(result.name, result.oplist.steps, cells)


if __name__ == "__main__":  # python -m pmulab.oracle.cli
    parser = argparse.ArgumentParser(prog="pmulab")
    sub = parser.add_subparsers(required=True)
    add_parser(sub)
    ns = parser.parse_args()
    sys.exit(ns.func(ns))
