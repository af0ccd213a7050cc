"""The ONE place that lists what the oracle does not compare, and every known model/kernel difference.

Models: nothing; it is the ledger the acceptance criteria ask for: "every recorded observation
either matches the model, or is listed in one place with the reason it cannot match".

- ``NOT_COMPARED``: raw fields whose values depend on QEMU's clock, not on the kernel's logic; each
  is compared through a derived class instead (see ``pmulab.oracle.compare.derive``), or not at all.
- ``KNOWN_DIFFERENCES``: ``(scenario, step, field) -> reason`` for observations where the model and
  the recorded kernel disagree and the model is not (yet) fixed; the report names the model file.
- ``INEXPRESSIBLE``: explorer operations (``pmulab.sim.explore_ops``) with no lock-step counterpart
  on the guest, so counterexamples using them are not replayed on Linux (``pmulab.oracle.replay``).
- ``LOCKSTEP_LIMITS``: invariants whose violation the lock-step guest cannot show although Linux
  may have it, because the observer must be switched in to look.
Pinned to: the truths in oracle/truths/ (Linux 6.1.0 arm64, QEMU 7.2, cortex-a72).
"""

from __future__ import annotations

from types import MappingProxyType

__all__ = ["NOT_COMPARED", "KNOWN_DIFFERENCES", "INEXPRESSIBLE", "LOCKSTEP_LIMITS"]

_TIME = "QEMU's clock (host time, or instructions under -icount) sets it; the model's clock is its ticks"

#: field -> why its raw value is not compared (and what is compared instead).
NOT_COMPARED = MappingProxyType({
    "offset": "count - prev_count: the count is QEMU's; compared instead through read_self's agreement class",
    "lock": "how many times perf_event_update_userpage ran depends on timer ticks and switches; parity is compared",
    "time_enabled": _TIME + "; te_ge_tr (time_enabled >= time_running) is compared",
    "time_running": _TIME + "; te_ge_tr is compared",
    "value": "a counter's raw value is QEMU's; its class (value_class: 0, small, 2^31+n, bias+n) is compared, "
             "and PMUSERENR_EL0 / PMSELR_EL0 values are compared exactly",
    "self": "QEMU's count; compared as read_self's error class (ok, -2^32, other)",
    "read_before": "QEMU's count; compared through the error class",
    "read_after": "QEMU's count; compared through the error class",
    "retries": "whether the seqlock loop retried depends on interrupts landing inside it",
    "lock_stable": "guest-only: whether one pass saw the same lock twice (always true in the model)",
    "child_pid": "pids differ between a booted system and a fresh Machine",
    "scenario": "bookkeeping",
    "why": "the model's explanation text of an error",
})

#: (scenario, step, field) -> reason. Empty: every compared observation of the recorded truths matches.
KNOWN_DIFFERENCES: MappingProxyType = MappingProxyType({})

#: explorer operation -> why a counterexample using it is not replayed on Linux.
INEXPRESSIBLE = MappingProxyType({
    "irq": "an overflow interrupt at a chosen step: the explorer sets PMOVSSET_EL0 at EL1 and runs "
           "armv8pmu_handle_irq; from EL0 the guest can neither write PMOVSSET_EL0 (v5.17 never sets "
           "PMUSERENR_EL0.EN, so the msr traps) nor make a counter wrap at a known instant (QEMU's counts "
           "and a sampling period would decide when, not the op list)",
    "readloop (interleaved)": "a read loop cut by another task's operation: between two guest steps the "
           "worker sleeps, and being switched back in republishes the page (armpmu_start -> "
           "armpmu_event_set_period -> perf_event_update_userpage), so the lock always changes and the loop "
           "retries; a run of readloop steps with nothing in between is replayed as one read_self step "
           "(with a preceding RESET/mmap by the same task folded into its prelude)",
})

#: invariant -> what the lock-step replay cannot show (its verdict is then "does not happen" in lock-step).
LOCKSTEP_LIMITS = MappingProxyType({
    "accounting": "on v5.17 a denial with a user event in the context (sysctl 0 then 1 while the owner runs) "
                  "lasts only until the owner's next switch-in; the guest's observer is switched in to read "
                  "PMUSERENR_EL0, and armv8pmu_start re-grants ER|CR first, so the probe sees the grant",
})
