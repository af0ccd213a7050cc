"""CLI halves for ``pmulab scenarios [--design D]`` and ``pmulab run S7 --design v8``.

The integrator wires them into pmulab/cli.py: ``add_parser(subparsers)`` adds ``scenarios``;
``add_run_arguments(parser)`` adds the optional SCENARIO positional to ``run``; ``main(args)``
prints the matrix (exit 1 on any mismatch); ``run_main(args)`` prints one run's story (exit 1
if it disagrees with the expectation), or returns None when no scenario was named (the demo).
"""

from __future__ import annotations

import argparse

from pmulab.scenarios.base import DESIGN_NAMES
from pmulab.scenarios.registry import SCENARIOS, run_scenario

__all__ = ["HELP", "configure", "add_parser", "add_run_arguments", "main", "run_main", "format_matrix"]

HELP = "run S1..S16 on every user-access design: the scenario x design matrix (observed, expected)"


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("scenarios", help=HELP, description=HELP)
    configure(p)
    return p


def configure(p: argparse.ArgumentParser) -> None:
    """Add the options of ``pmulab scenarios`` to ``p``."""
    p.add_argument("--design", action="append", choices=DESIGN_NAMES, help="only this design (repeatable)")
    p.add_argument("--scenario", action="append", choices=list(SCENARIOS), help="only this scenario (repeatable)")


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenario", nargs="?", choices=list(SCENARIOS), help="run this scenario and print its story")


def format_matrix(designs, scenarios) -> tuple[str, bool]:
    """The matrix as text (cell: observed headline / expected, then ✓ or ✗) and whether all agree."""
    width = 14
    lines = ["scenario " + "".join(f"{d:<{width}}" for d in designs)]
    ok_all = True
    for s in scenarios:
        sc = SCENARIOS[s]
        cells = []
        for d in designs:
            o = run_scenario(s, d)
            ok_all &= o.ok
            cells.append(f"{'yes' if o.checks[sc.headline] else 'no'}/{'yes' if o.expected[sc.headline] else 'no'} "
                         f"{'✓' if o.ok else '✗'}".ljust(width))
        lines.append(f"{s:<9}" + "".join(cells) + f"  {sc.headline}")
    lines.append("cell: observed/expected of the headline check; ✓ = every check as expected")
    return "\n".join(lines), ok_all


def main(args: argparse.Namespace) -> int:
    designs = args.design or list(DESIGN_NAMES)
    scenarios = args.scenario or list(SCENARIOS)
    text, ok = format_matrix(designs, scenarios)
    print(text)
    return 0 if ok else 1


def run_main(args: argparse.Namespace) -> int | None:
    if getattr(args, "scenario", None) is None:
        return None
    o = run_scenario(args.scenario, args.design)
    print(f"{o.scenario} on {o.design}: {SCENARIOS[o.scenario].title}")
    print("\n".join(o.story))
    for name, value in o.checks.items():
        want = o.expected[name]
        print(f"  {'✓' if value == want else '✗'} {name}: {value} (expected {want})")
    print(f"  leaks: {dict(o.leak.counts)}")
    return 0 if o.ok else 1
