"""Probing a scenario run for notebook 06: PMUSERENR_EL0 against the design's accounting, per step.

Models: nothing itself. ``probe_run`` runs a scenario as ``run_scenario`` does and, at every
narrated step, reads per CPU who runs, PMUSERENR_EL0 (EL1 ``mrs``) and what the design's own
accounting says it should be (``Design.expected_access``), plus ``nr_user`` and
``sched_cb_usage`` (``accounting``).
Omits: writing anything: the probes only read, so a probed run leaves the same trace as a plain one.
Pinned to: spec §7 S3, S4.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pmulab.hw.sysregs import PMUSERENR
from pmulab.scenarios import SCENARIOS
from pmulab.scenarios import leaks as leak_analysis
from pmulab.scenarios.base import Outcome, Run, check_design

__all__ = ["Probe", "probe_run", "accounting", "mismatches"]


@dataclass(frozen=True)
class Probe:
    """The machine at one narrated step: per CPU who runs, PMUSERENR_EL0, what the accounting says."""

    step: str  # the scenario's last note before this probe
    running: tuple  # task name per CPU ("idle" when none)
    pmuserenr: tuple  # raw PMUSERENR_EL0 per CPU (EL1 read)
    er: tuple  # PMUSERENR_EL0.ER per CPU (0/1)
    expected: tuple  # Design.expected_access per CPU: 1, 0, or None (no promise / nothing running)
    nr_user: int  # the design's nr_user, summed over task contexts (or per-mm counts for the mm designs)
    sched_cb_usage: int  # pmu->sched_cb_usage plus every cpuctx->sched_cb_usage

    @property
    def mismatched(self) -> list[int]:
        """CPUs where the hardware disagrees with the design's accounting."""
        return [c for c, (e, w) in enumerate(zip(self.er, self.expected, strict=True)) if w is not None and e != w]


def mismatches(probes: list[Probe]) -> list[tuple[int, int]]:
    """``(probe number, cpu)`` wherever PMUSERENR_EL0.ER disagrees with the design's accounting."""
    return [(i, c) for i, p in enumerate(probes) for c in p.mismatched]


def accounting(machine) -> tuple[int, int]:
    """``(nr_user, sched_cb_usage)`` as the machine's design keeps them (read only).

    nr_user: v8/v8-efc count mapped user events per context in the design (``users(ctx)``, the v8
    ``atomic_t nr_user`` of the context); x86-mm/lazy-trap count per mm (``mm_users``); v5.17 and
    pmuv3p9 use the perf core's ``ctx->nr_user`` (list_add_event/list_del_event).
    """
    design = machine.design
    tasks = list(machine.tasks)
    if hasattr(design, "mm_users"):
        mms = {id(t.mm): t.mm for t in tasks}
        nr = sum(design.mm_users(mm) for mm in mms.values())
    else:
        ctxs = {id(t.perf_ctx): t.perf_ctx for t in tasks if t.perf_ctx is not None}
        users = getattr(design, "users", None)
        nr = sum(users(c) if users is not None else c.nr_user for c in ctxs.values())
    cb = sum(getattr(p, "sched_cb_usage", 0) for p in machine.pmus)
    cb += sum(machine.perf.cpu_ctx(c).sched_cb_usage for c in range(machine.ncpus))
    return int(nr), int(cb)


def _probe(machine, step: str) -> Probe:
    running, values, er, expected = [], [], [], []
    for cpu in range(machine.ncpus):
        task = machine.sched.current(cpu)
        value = machine.cpu(cpu).mrs(PMUSERENR.name)
        running.append("idle" if task is None else task.name)
        values.append(value)
        er.append(int(PMUSERENR.decode(value)["ER"]))
        want = None
        if task is not None:
            with machine.on_cpu(cpu):
                want = machine.design.expected_access(machine.pmu_of(cpu), cpu)
        expected.append(None if want is None else int(bool(want)))
    nr, cb = accounting(machine)
    return Probe(step, tuple(running), tuple(values), tuple(er), tuple(expected), nr, cb)


@dataclass
class _ProbedRun(Run):
    """A scenario Run that also probes the machine at every note and observation of the scenario."""

    probes: list = field(default_factory=list)
    step: str = "start"

    def take(self) -> None:
        """Probe now, unless nothing changed since the last probe of the same step."""
        probe = _probe(self.machine, self.step)
        if not self.probes or self.probes[-1] != probe:
            self.probes.append(probe)

    def note(self, text: str, cpu: int | None = None) -> None:
        self.take()
        self.step = text
        super().note(text, cpu)

    def observe(self, name: str, value):
        self.take()
        return super().observe(name, value)


def probe_run(name: str, design: str, **params) -> tuple[Outcome, list[Probe]]:
    """Run scenario ``name`` on ``design`` as ``run_scenario`` does, probing at each narrated step.

    Returns the Outcome (same checks, expectation and trace as ``run_scenario``) and the probes;
    the last probe is taken after the scenario's final step.
    """
    sc = SCENARIOS[name]
    base = sc.build(sc.params(**params), check_design(design))
    run = _ProbedRun(base.machine, base.design, base.params)
    run.note(f"{sc.name} on design {design}: {sc.title}")
    sc.steps(run)
    run.take()
    run.probes.pop(0)  # the probe before anything happened (the machine as built)
    outcome = Outcome(sc.name, design, run.params, sc.checks(run), dict(sc.expected[design]),
                      leak_analysis.analyse(run.machine.trace), run)
    return outcome, run.probes
