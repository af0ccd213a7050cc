"""The ``pmulab`` command.

Subcommands (each a ``Command`` in ``COMMANDS``; adding one = one function pair + one entry):

- ``pmulab run``: a small demo machine: one task opens a user-readable INST_RETIRED event,
  mmaps it, runs, reads it from user space with the documented read loop and with read();
  prints a readable trace.
- ``pmulab run S7 --design v8``: run one review scenario on one design and print its story.
- ``pmulab scenarios [--design D]``: the scenario x design matrix; exit 1 on any mismatch.
- ``pmulab explore --design v8 --depth 8``: search every interleaving for invariant violations.
- ``pmulab grade NAME|module:Class``: the report card of a user-access design (safety and cost).
- ``pmulab record [--raw]``: sample a demo workload and print a perf-report-like table.
- ``pmulab oracle [SCENARIO...] [--live]``: the model against real arm64 Linux under QEMU.
- ``pmulab bench``: the performance benchmarks (``pmulab.bench``).
- ``pmulab lab``: start JupyterLab on the notebooks (same flags as ``make lab``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pmulab.bench import cli as bench_cli
from pmulab.oracle import cli as oracle_cli
from pmulab.scenarios import cli as scenarios_cli
from pmulab.sim import explore_cli, record_cli
from pmulab.studio import cli as grade_cli

__all__ = ["main", "COMMANDS", "Command", "build_parser", "lab_command", "demo"]


@dataclass(frozen=True)
class Command:
    """One subcommand: ``configure(parser)`` adds its arguments, ``run(args) -> exit status``."""

    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


# -- pmulab run ------------------------------------------------------------------------------------
def _configure_run(p: argparse.ArgumentParser) -> None:
    scenarios_cli.add_run_arguments(p)
    p.add_argument("--design", default="v5.17", help="user-access design (default: v5.17)")
    p.add_argument("--ticks", type=int, default=5, help="ticks to run (4 ms each; default: 5)")
    p.add_argument("--seed", type=int, default=0, help="seed of the machine (default: 0)")
    p.add_argument("--pmu", default="v3p4", choices=("v3p4", "v3p5", "v3p9"), help="PMU version (default: v3p4)")
    p.add_argument("--user-access", type=int, default=1, choices=(0, 1),
                   help="initial kernel.perf_user_access (default: 1)")
    p.add_argument("--json", action="store_true", help="print the trace as JSON instead of text")


def demo(design: str = "v5.17", ticks: int = 5, seed: int = 0, pmu: str = "v3p4", user_access: int = 1):
    """Build and run the demo; return ``(machine, task, fd, page, user_value, read_value)``."""
    from pmulab import Machine, PerfEventAttr, Workload, uapi
    from pmulab.user import read_self

    m = Machine(cpus=2, counters=6, pmu=pmu, design=design, perf_user_access=user_access, seed=seed)
    t = m.spawn("selfmon", uid=1000, cpu=0, workload=Workload(el0={"INST_RETIRED": 800, "CPU_CYCLES": 1000},
                                                                 el1={"INST_RETIRED": 50, "CPU_CYCLES": 80}))
    attr = PerfEventAttr(type=uapi.PERF_TYPE_HARDWARE, config=uapi.PERF_COUNT_HW_INSTRUCTIONS, config1=0x2,
                         exclude_kernel=1, read_format=uapi.PERF_FORMAT_TOTAL_TIME_ENABLED
                         | uapi.PERF_FORMAT_TOTAL_TIME_RUNNING)
    fd = t.perf_event_open(attr, pid=0, cpu=-1, group_fd=-1, flags=0)
    page = t.mmap(fd)
    m.run(ticks)
    user_value = read_self(t, page)
    read_value = uapi.parse_read(t.read(fd), attr.read_format)
    return m, t, fd, page, user_value, read_value


def _run(args: argparse.Namespace) -> int:
    from pmulab.errors import IllegalInstruction, PerfError

    status = scenarios_cli.run_main(args)
    if status is not None:
        return status
    if args.ticks < 0:
        print("pmulab run: --ticks must be >= 0", file=sys.stderr)
        return 2
    try:
        m, t, fd, page, user_value, read_value = demo(args.design, args.ticks, args.seed, args.pmu, args.user_access)
    except (PerfError, IllegalInstruction, ValueError) as exc:
        print(f"pmulab run: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(m.trace.to_json())
        return 0
    print(f"{m!r}")
    print(f"task {t.pid} ({t.name}) opened INST_RETIRED (config1=0x2, exclude_kernel=1) as fd {fd} and mmapped it")
    print(m.trace.format(counters=2))
    print(f"user page: lock={page.lock} index={page.index} offset={page.offset:#x} pmc_width={page.pmc_width} "
          f"cap_user_rdpmc={page.cap_user_rdpmc}")
    how = "fell back (index 0): use read()" if user_value is None else f"{user_value}"
    print(f"user-space read (mrs, seqlock loop): {how}")
    print(f"read() syscall: {read_value}")
    return 0


# -- pmulab lab ------------------------------------------------------------------------------------
def _notebooks_dir() -> Path:
    """The repository's notebooks/ next to the installed (editable) package, else ./notebooks."""
    here = Path(__file__).resolve().parent.parent / "notebooks"
    return here if here.is_dir() else Path.cwd() / "notebooks"


def _configure_lab(p: argparse.ArgumentParser) -> None:
    p.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8888)), help="port (default: 8888)")
    p.add_argument("--notebooks", type=Path, default=None, help="notebook directory (default: the repository's)")
    p.add_argument("--dry-run", action="store_true", help="print the command instead of running it")


def lab_command(port: int = 8888, notebooks: Path | None = None) -> list[str]:
    """The JupyterLab command line of ``make lab``."""
    root = notebooks if notebooks is not None else _notebooks_dir()
    jupyter = shutil.which("jupyter", path=str(Path(sys.executable).parent)) or shutil.which("jupyter") or "jupyter"
    return [jupyter, "lab", "--no-browser", "--allow-root", "--ip=127.0.0.1", f"--port={port}",
            f"--ServerApp.root_dir={root}"]


def _lab(args: argparse.Namespace) -> int:
    cmd = lab_command(args.port, args.notebooks)
    if args.dry_run:
        print(" ".join(cmd))
        return 0
    if not Path(cmd[-1].split("=", 1)[1]).is_dir():
        print(f"pmulab lab: no notebooks directory at {cmd[-1].split('=', 1)[1]}", file=sys.stderr)
        return 2
    print("Opening JupyterLab on the notebooks (the URL with its token follows; Ctrl-C stops it)")
    try:
        return subprocess.call(cmd)
    except KeyboardInterrupt:
        return 0


def _command(module) -> Command:
    """A subcommand defined in another package by ``HELP``, ``configure(parser)`` and ``main(args)``."""
    return Command(module.HELP, module.configure, module.main)


#: Subcommands by name.
COMMANDS: dict[str, Command] = {
    "run": Command("run a small demo machine and print its trace", _configure_run, _run),
    "lab": Command("start JupyterLab on the notebooks", _configure_lab, _lab),
    "scenarios": _command(scenarios_cli),
    "explore": _command(explore_cli),
    "grade": _command(grade_cli),
    "record": _command(record_cli),
    "oracle": _command(oracle_cli),
    "bench": _command(bench_cli),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pmulab", description="Arm PMUv3 and Linux perf teaching lab")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, cmd in COMMANDS.items():
        cmd.configure(sub.add_parser(name, help=cmd.help, description=cmd.help))
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``pmulab`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    return COMMANDS[args.command].run(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
