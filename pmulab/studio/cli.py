"""``pmulab grade``: the report card of a design from the command line.

``pmulab grade v8`` grades a built-in design; ``pmulab grade mymodule:MyDesign`` imports
``mymodule`` (the current directory is on the path) and grades its ``MyDesign`` class;
``--json`` prints ``card.to_dict()``; ``--no-explore`` skips the explorer; ``--table`` prints
the six built-in designs side by side (the README table). Exit status 0 when the card was
produced (whatever it says), 2 when the design could not be found.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from typing import Any

__all__ = ["HELP", "configure", "main", "load_design"]

HELP = "grade a user-access design (name or module:Class): safety per scenario, invariants, explorer, cost"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("design", nargs="?", default=None,
                        help="a built-in design name (v8, v5.17, ...) or module:Class of a Design subclass")
    parser.add_argument("--json", action="store_true", help="print the card as JSON")
    parser.add_argument("--no-explore", action="store_true", help="skip the explorer (faster; no counterexample)")
    parser.add_argument("--pmu", default=None, choices=("v3p4", "v3p5", "v3p9"), help="PMU version for every run")
    parser.add_argument("--table", action="store_true", help="print the built-in designs' cards as a Markdown table")


def load_design(spec: str) -> Any:
    """A design name as is, or the class named by ``module:Class`` (ValueError if not found)."""
    from pmulab.drivers.user_access import DESIGNS, Design

    if ":" not in spec:
        if spec not in DESIGNS:
            raise ValueError(f"unknown design {spec!r}; use a name in {list(DESIGNS)} or module:Class")
        return spec
    module, _, name = spec.partition(":")
    if "" not in sys.path and "." not in sys.path:
        sys.path.insert(0, "")
    try:
        obj = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"cannot load {spec!r}: {exc}") from exc
    if not (isinstance(obj, type) and issubclass(obj, Design)):
        raise ValueError(f"{spec!r} is not a pmulab.drivers.user_access.Design subclass")
    return obj


def main(args: argparse.Namespace) -> int:
    from pmulab.studio import cards, grade, readme_table

    explorer = None if args.no_explore else {}
    if args.table:
        print(readme_table(cards(pmu=args.pmu, explorer=explorer)))
        return 0
    if args.design is None:
        print("pmulab grade: give a design (name or module:Class) or --table", file=sys.stderr)
        return 2
    try:
        design = load_design(args.design)
    except ValueError as exc:
        print(f"pmulab grade: {exc}", file=sys.stderr)
        return 2
    card = grade(design, pmu=args.pmu, explorer=explorer)
    print(json.dumps(card.to_dict(), indent=1) if args.json else card.summary())
    return 0
