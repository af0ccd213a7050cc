"""``pmulab oracle [SCENARIO...] [--live] [--record] [--cpu cortex-a72|max]``.

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
    p.set_defaults(func=main)


def main(args) -> int:
    from .env import OracleError, setup
    from .scenarios import scenarios
    from .truths import check, load_all, record, run_live

    lib = scenarios()
    names = args.scenarios or list(lib)
    bad = [n for n in names if n not in lib]
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


def _table(result, cells) -> str:
    from .compare import table

    return table(result.name, result.oplist.steps, cells)


if __name__ == "__main__":  # python -m pmulab.oracle.cli
    parser = argparse.ArgumentParser(prog="pmulab")
    sub = parser.add_subparsers(required=True)
    add_parser(sub)
    ns = parser.parse_args()
    sys.exit(ns.func(ns))
