"""``pmulab explore``: exhaustive interleavings of a small machine, from the command line.

    pmulab explore --design v8 --cpus 2 --tasks 3 --depth 8 [--invariant NAME ...] [--ops all] [--json]

Prints a tqdm progress bar (on stderr) and a summary: states, transitions, seconds, states/s,
each invariant (holds / violated in k operations) and the shortest counterexample as a story;
``--json`` prints the same as JSON (``states``, ``transitions``, ``seconds``, ``violations``:
invariant -> shortest counterexample as a list of operations). Exit status 0 either way
(violations are findings, not errors); 2 for bad input.
Models: nothing in Linux (the front end of ``pmulab.sim.explore``).
"""

from __future__ import annotations

import argparse
import json
import sys

__all__ = ["add_parser", "configure", "main"]


def configure(p: argparse.ArgumentParser) -> None:
    """Add the explore arguments to ``p``."""
    p.add_argument("--design", default="v5.17", help="user-access design (default: v5.17)")
    p.add_argument("--cpus", type=int, default=2, help="CPUs (default: 2)")
    p.add_argument("--tasks", type=int, default=3, help="tasks A(uid 1000), B(1000), C(root), ... (default: 3)")
    p.add_argument("--counters", type=int, default=2, help="event counters per CPU (default: 2)")
    p.add_argument("--depth", type=int, default=6, help="longest operation list (default: 6)")
    p.add_argument("--max-events", type=int, default=1, help="events alive at once (default: 1)")
    p.add_argument("--invariant", action="append", default=None, metavar="NAME",
                   help="check only this invariant (repeatable; default: all)")
    p.add_argument("--ops", default=None,
                   help="comma-separated operation kinds, or 'all' (default: the default vocabulary)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


HELP = "explore every interleaving of a small machine; report invariant violations"


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``explore`` on an ``argparse`` subparsers object; the parser runs ``main``."""
    p = subparsers.add_parser("explore", help=HELP)
    configure(p)
    p.set_defaults(func=main)
    return p


def main(args: argparse.Namespace) -> int:
    """Run the search described by ``args``; print the summary; return the exit status."""
    from .explorer import explore

    ops = None if args.ops is None else ("all" if args.ops == "all" else tuple(args.ops.split(",")))
    bar = None
    progress = None
    if not args.no_progress:
        from tqdm import tqdm

        bar = tqdm(desc=f"explore {args.design}", unit=" states", file=sys.stderr, dynamic_ncols=True)

        def progress(states: int, transitions: int, level: int) -> None:
            bar.update(states - bar.n)
            bar.set_postfix(depth=level, transitions=transitions, refresh=False)
    try:
        r = explore(args.design, cpus=args.cpus, tasks=args.tasks, counters=args.counters, depth=args.depth,
                    invariants=args.invariant, ops=ops, max_events=args.max_events, progress=progress)
    except ValueError as exc:
        if bar is not None:
            bar.close()
        print(f"pmulab explore: {exc}", file=sys.stderr)
        return 2
    if bar is not None:
        bar.close()
    if args.json:
        print(json.dumps(r.to_dict(), indent=1, sort_keys=True))
    else:
        print(r.summary())
    return 0
