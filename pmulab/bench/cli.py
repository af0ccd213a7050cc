"""``pmulab bench``: run every benchmark, print the table, write the JSON.

Hook into the ``pmulab`` command with ``add_parser(subparsers)``; the parser's ``func`` default is
``main``. Standalone: ``python -m pmulab.bench [--json FILE] [--quick] [--only NAME ...]``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

__all__ = ["add_parser", "configure", "main"]

HELP = "run the performance benchmarks (counter core, trace mode, Machine loop, widgets, sampling, explorer)"


def configure(p: argparse.ArgumentParser) -> None:
    """Add the options of ``pmulab bench`` to ``p``."""
    p.add_argument("--json", type=Path, default=None, metavar="FILE", help="write the report as JSON to FILE")
    p.add_argument("--quick", action="store_true", help="tiny sizes (smoke test; the figures mean nothing)")
    p.add_argument("--only", nargs="+", default=None, metavar="NAME", help="run only these benchmarks")
    p.set_defaults(func=main)


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``bench`` on an ``add_subparsers()`` object; returns its parser."""
    p = subparsers.add_parser("bench", help=HELP, description=HELP)
    configure(p)
    return p


def main(args: argparse.Namespace) -> int:
    """Run the bench as ``args`` says; returns the exit status (0, or 2 on bad arguments)."""
    from .report import table
    from .suite import run

    try:
        doc = run(quick=args.quick, only=args.only, log=lambda s: print(s, file=sys.stderr, flush=True))
    except ValueError as exc:
        print(f"pmulab bench: {exc}", file=sys.stderr)
        return 2
    print(table(doc))
    if args.json is not None:
        args.json.write_text(json.dumps(doc, indent=1) + "\n")
        print(f"wrote {args.json}", file=sys.stderr)
    return 0


def _standalone(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pmulab bench", description=HELP)
    configure(parser)
    return main(parser.parse_args(argv))
