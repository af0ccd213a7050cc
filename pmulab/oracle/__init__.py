"""The real arm64 kernel as an oracle: the same operation list on the model and on Linux under QEMU.

Models: nothing itself; it runs ``pmulab.sim.ops`` lists on Debian's arm64 kernel (6.1, which
carries the v5.17 user-access design: armv8pmu_start, armv8pmu_enable_user_access,
armv8pmu_user_event_idx, arch_perf_update_userpage, armv8pmu_proc_user_access_handler) booted
under QEMU, and compares the observations with the model's cell by cell.
Omits: anything QEMU decides rather than the kernel (raw counts and times; see ``known``).
Pinned to: Linux 6.1 arm64 (Debian 12), QEMU 7.2, ``-cpu cortex-a72`` (PMUv3p4, 6 counters).

- ``env.setup()`` / ``env.find()``: QEMU, the cross compiler, the kernel and busybox in the cache.
- ``scenarios.scenarios()``: the oracle's op lists (S1, S2, S3, S10, S11, S13*, S14, S15, S16*, errno, ...).
- ``guest.boot(tc, oplists)``: one boot, the guest's records.
- ``truths.record(tc)`` / ``truths.check(name)``: recorded truths in oracle/truths/, model vs kernel.
- ``compare``: derived classes and the cell-by-cell table; ``known``: the one list of what is not compared.
- ``view``: plain data for the notebook's side-by-side view and figure.
- ``replay``: the explorer's v5.17 counterexamples booted on Linux with a probe and a verdict per
  invariant (``replay_explore``, ``replay_counterexample``; ``recorded_replays()`` for Binder).
"""

from .env import OracleError

__all__ = ["OracleError"]
