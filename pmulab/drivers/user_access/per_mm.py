"""Per-address-space accounting shared by the mm-based designs (x86-mm, lazy-trap).

Models: ``mm->context.perf_rdpmc_allowed`` (x86) / ``mm->context.pmu_direct_access`` (arm64
v5..v7): a count, per ``mm_struct``, of user-readable events mapped into it, changed in
``pmu->event_mapped``/``event_unmapped`` (which run in the mapping task, so the mm passed in is
the caller's), and the "always there" context-switch hook those designs rely on
(``switch_mm_irqs_off`` on x86). The model has no switch_mm hook: it stands in with a per-CPU
``perf_sched_cb_inc`` on every CPU the PMU serves (done once, at the first event the design
sees; every CPU of the machine, not only the PMU's), so ``pmu->sched_task(ctx, sched_in=True)``
runs at every switch-in, and the design
looks at ``current``'s mm there.
Lazy TLB: a CPU that goes idle keeps the last task's mm as its ``active_mm`` (no switch_mm runs),
so its access, and the IPIs of ``mm_cpumask``, follow that mm until another task is switched in.
Omits: ``mm_cpumask``'s memory of CPUs the mm ran on earlier (approximated by the CPUs whose
active mm it is), mmap_lock.
Pinned to: x86 ``x86_pmu_event_mapped`` / ``cr4_update_pce_mm`` (v5.14); arm64 v5/v6
``refresh_pmuserenr`` (14 Jan / 11 Mar 2021).
"""

from __future__ import annotations

__all__ = ["PerMm"]


class PerMm:
    """Mixin for a ``Design``: ``mm_users`` per mm and a switch-in hook on every CPU."""

    def _mm_state(self) -> tuple[dict, dict, dict]:
        """(mm users by mm, hooked PMUs by name, active mm by CPU): this design instance's state."""
        state = self.__dict__.get("_per_mm")
        if state is None:
            state = self.__dict__["_per_mm"] = ({}, {}, {})
        return state

    def mm_users(self, mm) -> int:
        """``atomic_read(&mm->context.perf_rdpmc_allowed)``."""
        return self._mm_state()[0].get(mm, 0) if mm is not None else 0

    def add_mm_user(self, mm, delta: int) -> int:
        users = self._mm_state()[0]
        users[mm] = users.get(mm, 0) + delta
        return users[mm]

    def hook_switches(self, cpu_pmu) -> None:
        """Stand-in for the switch_mm hook: per-CPU sched_task callbacks on every CPU (switch_mm is
        not a PMU's: it runs on every CPU of the machine, whatever PMU type serves it)."""
        hooked = self._mm_state()[1]
        core = cpu_pmu.core
        if cpu_pmu.name in hooked or core is None:
            return
        first = not hooked
        hooked[cpu_pmu.name] = cpu_pmu
        if first:
            for cpu in range(cpu_pmu.kernel.ncpus):
                core.cpu_ctx(cpu).sched_cb_usage += 1

    def hooked_pmus(self) -> list:
        """The arm_pmus whose CPUs have the switch hook (those the design has seen events on)."""
        return list(self._mm_state()[1].values())

    def current_mm(self, cpu_pmu, cpu: int):
        """``cpu``'s ``active_mm``: the running task's mm, or on an idle CPU the last one (lazy TLB)."""
        task = cpu_pmu.kernel.current(cpu)
        active = self._mm_state()[2]
        if task is not None:
            active[cpu] = getattr(task, "mm", None)
        return active.get(cpu)

    @staticmethod
    def pmu_for(cpu_pmu, cpu: int):
        """The arm_pmu serving ``cpu`` (big.LITTLE: not necessarily ``cpu_pmu``)."""
        core = cpu_pmu.core
        for pmu in getattr(core, "pmus", [cpu_pmu]):
            if pmu.handles_cpu(cpu):
                return pmu
        return cpu_pmu
