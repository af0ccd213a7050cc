"""The Machine as the kernel's host: construction, Kernel services, sysctls, time, trace."""

from __future__ import annotations

import errno

import numpy as np
import pytest

from pmulab import Machine, PerfError, Workload

WL = Workload(el0={"INST_RETIRED": 800, "CPU_CYCLES": 1000}, el1={"CPU_CYCLES": 100})


@pytest.mark.parametrize("kw, exc", [
    ({"cpus": "2"}, TypeError),
    ({"cpus": 0}, ValueError),
    ({"counters": 32}, ValueError),
    ({"pmu": "v3p7"}, ValueError),
    ({"design": "v99"}, ValueError),
    ({"design": 3}, TypeError),
    ({"seed": "x"}, TypeError),
    ({"clusters": [("a53", 2)]}, TypeError),
    ({"clusters": []}, ValueError),
    ({"clusters": [("a53", 2, 6), ("a53", 2, 6)]}, ValueError),
    ({"clusters": [("a53", 2, 6)], "cpus": 3}, ValueError),
    ({"perf_user_access": 2}, PerfError),
    ({"perf_event_paranoid": "2"}, TypeError),
    ({"timeslice": 0}, ValueError),
])
def test_bad_construction(kw, exc):
    with pytest.raises(exc):
        Machine(**kw)


def test_defaults_and_step_order():
    m = Machine()
    assert m.ncpus == 2 and len(m.pmus) == 1
    assert m.sysctl("kernel.perf_user_access") == 0
    assert m.sysctl("kernel.perf_event_paranoid") == 2
    assert m.sysctl("kernel.perf_event_max_sample_rate") == 100000
    assert len(m.step_order) == 6 and m.step_order[0].startswith("workloads")
    assert m.step_order[-1].startswith("trace")
    assert m.cpu(0).mrs("PMCR_EL0") >> 11 & 0x1F == 6  # PMCR_EL0.N = counters, raw EL1 access
    with pytest.raises(ValueError):
        m.cpu(2)


def test_this_cpu_and_ipis():
    m = Machine(cpus=3)
    with pytest.raises(RuntimeError):
        m.this_cpu()
    seen = []
    with m.on_cpu(0):
        assert m.this_cpu() == 0
        assert m.smp_call(2, lambda: seen.append(m.this_cpu()) or 7) == 7
        m.smp_call(0, lambda: seen.append(m.this_cpu()))  # local: not an IPI
        assert m.this_cpu() == 0
    assert seen == [2, 0]
    ipis = m.trace.actions("ipi")
    assert len(ipis) == 1 and ipis[0]["cpu"] == 2 and ipis[0]["source"] == 0 and m.ipis == 1
    with pytest.raises(ValueError):
        m.smp_call(5, lambda: None)


def test_time_advances_one_tick_per_step():
    m = Machine()
    assert m.now() == 0
    m.run(3)
    assert m.now() == 3 * 4_000_000 and m.jiffies == 3
    assert m.trace.columns()["time"] == [4_000_000, 8_000_000, 12_000_000]
    with pytest.raises(TypeError):
        m.run(1.0)
    with pytest.raises(ValueError):
        m.run(-1)


def test_sysctl_writes():
    m = Machine(cpus=2, perf_user_access=1)
    assert m.sysctl("kernel.perf_event_paranoid", -1) == -1
    with pytest.raises(PerfError) as e:
        m.sysctl("kernel.perf_user_access", 2)
    assert e.value.errno == errno.EINVAL and m.sysctl("kernel.perf_user_access") == 1
    with pytest.raises(ValueError, match="perf_event_paranoid"):
        m.sysctl("kernel.perf_event_paranod")
    with pytest.raises(TypeError):
        m.sysctl("kernel.perf_user_access", "0")
    m.sysctl("kernel.perf_user_access", 0)  # the handler IPIs every other CPU (v5.17)
    assert m.sysctl("kernel.perf_user_access") == 0
    assert [a["cpu"] for a in m.trace.actions("ipi")] == [1]
    assert m.trace.actions("sysctl")[-1]["old"] == 1


def test_idle_cpus_count_nothing_busy_cpus_count_their_workload():
    m = Machine(cpus=2)
    for c in range(2):  # enable the cycle counter by hand (raw EL1), no kernel involvement
        m.cpu(c).msr("PMCNTENSET_EL0", 1 << 31)
        m.cpu(c).msr("PMCR_EL0", 1)
    m.spawn("busy", cpu=0, workload=WL, affinity={0})
    m.run(4)
    ccnt = m.trace.columns()["counters"][:, :, 31]
    assert ccnt[:, 0].tolist() == [1100, 2200, 3300, 4400]  # EL0 + EL1 cycles
    assert ccnt[:, 1].tolist() == [0, 0, 0, 0]  # idle CPU: no cycles


def test_same_seed_same_trace_byte_for_byte():
    def build(seed):
        m = Machine(cpus=2, seed=seed, perf_user_access=1)
        wl = Workload(el0={"INST_RETIRED": 800, "CPU_CYCLES": 1000}, jitter=0.3)
        for c in range(2):
            m.cpu(c).msr("PMCNTENSET_EL0", 1 << 31)
            m.cpu(c).msr("PMCR_EL0", 1)
        a = m.spawn("A", cpu=0, workload=wl)
        m.spawn("B", cpu=0, workload=wl)
        m.run(5)
        a.fork()
        m.run(5)
        return m.trace.to_json()

    assert build(3) == build(3)
    assert build(3) != build(4)


def test_two_machines_share_nothing():
    m1, m2 = Machine(seed=0), Machine(seed=0)
    a = m1.spawn("A", workload=WL)
    b = m2.spawn("B")
    assert a.pid == b.pid == 100  # pid numbering is per machine
    m1.run(3)
    assert m2.jiffies == 0 and len(m2.trace) == 0 and m2.tasks == [b]
    with pytest.raises(TypeError):
        m2.switch_to(0, a)  # a task of another machine


def test_user_steps_run_after_the_scheduler_tick_and_before_the_trace_row():
    m = Machine()
    seen = []
    step = m.user_step(lambda: seen.append((m.jiffies, len(m.trace))) or m.jiffies, every=2, count=2)
    m.run(6)
    assert seen == [(2, 1), (4, 3)]  # time already advanced, row of this tick not yet written
    assert step.results == [2, 4] and not step.active
    with pytest.raises(ValueError):
        m.user_step(lambda: None, every=0)
    with pytest.raises(TypeError):
        m.user_step(3)


def test_heterogeneous_clusters_get_one_pmu_type_each():
    m = Machine(clusters=[("cortex-a53", 2, 6), ("cortex-a72", 2, 4)])
    assert m.ncpus == 4 and len(m.pmus) == 2
    a53, a72 = m.pmus
    assert a53.type != a72.type and a53.type >= 6 and a72.type >= 6
    assert m.pmu_of(1) is a53 and m.pmu_of(2) is a72
    assert a53.name == "armv8_cortex_a53" and a72.name == "armv8_cortex_a72"
    assert m.cpu(3).mrs("PMCR_EL0") >> 11 & 0x1F == 4
    assert m.cpu(0).mrs("PMCR_EL0") >> 11 & 0x1F == 6


def test_trace_records_pmuserenr_and_counters_shape():
    m = Machine(cpus=2)
    m.cpu(1).msr("PMUSERENR_EL0", 0b1101)
    m.run(2)
    cols = m.trace.columns()
    assert cols["counters"].shape == (2, 2, 32)
    assert cols["pmuserenr"][:, 1].tolist() == [0b1101, 0b1101]
    recs = m.trace.to_records()
    assert [r["kind"] for r in recs] == ["tick", "tick"]
    assert np.all(cols["pmuserenr"][:, 0] == 0)
