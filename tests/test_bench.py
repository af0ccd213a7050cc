"""Smoke test of ``pmulab bench`` at --quick sizes: it runs, and its JSON has the documented shape.

No timing assertions: only that every benchmark reports, every figure is a finite number
(positive, except fitted exponents, which may be any sign at tiny sizes), and the CLI writes
the same document it prints.
"""

from __future__ import annotations

import argparse
import json
import math

import numpy as np
import pytest

from pmulab.bench import BENCHMARKS, cli, run
from pmulab.bench.core import lower_bound_step
from pmulab.bench.program import occurrences
from pmulab.bench.sampling import mixed_stream, sample_stream
from pmulab.bench.sizes import QUICK
from pmulab.bench.timing import fit_exponent, medians
from pmulab.bench.widgets import toggle_values
from pmulab.hw import sysregs
from pmulab.hw.counters import CounterBank
from pmulab.hw.events import ArmEvent


@pytest.fixture(scope="module")
def doc(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench") / "bench.json"
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    cli.add_parser(sub)
    args = parser.parse_args(["bench", "--quick", "--json", str(out)])
    assert args.func(args) == 0
    return json.loads(out.read_text())


def test_every_benchmark_reports(doc):
    assert doc["schema"] == "pmulab-bench/1"
    assert [s["name"] for s in doc["sections"]] == [n for n, _ in BENCHMARKS]
    for s in doc["sections"]:
        assert s["status"] == "ok" or s["status"].startswith("unavailable: ")
        assert s["status"] != "ok" or s["figures"], s["name"]


def test_figures_are_finite_and_positive(doc):
    seen = 0
    for s in doc["sections"]:
        for f in s["figures"]:
            assert set(f) == {"name", "value", "unit", "target", "met", "meaning"}
            assert isinstance(f["value"], float) and math.isfinite(f["value"]), f
            if f["unit"] != "exponent":
                assert f["value"] > 0, f
            assert (f["met"] is None) == (f["target"] == ""), f
            seen += 1
    names = {f["name"] for s in doc["sections"] for f in s["figures"]}
    assert {"count_us@1cpu", "speedup_vs_ref@1cpu", "over_floor@1cpu", "steps_exponent", "peak_MiB@max",
            "trace_bytes_per_tick"} <= names
    assert seen >= 20


def test_meta_records_the_host(doc):
    m = doc["meta"]
    assert m["quick"] is True and m["cores"] >= 1 and m["numpy"] == np.__version__
    assert all(k.startswith(("OPENBLAS_", "OMP_", "MKL_")) for k in m["env"])


def test_the_two_counter_banks_agree_on_the_bench_program(doc):
    (core,) = [s for s in doc["sections"] if s["name"] == "counter_core"]
    assert any("agree on the benchmark program" in n for n in core["notes"])


def test_trace_memory_figures_are_exact_sizes(doc):
    (trace,) = [s for s in doc["sections"] if s["name"] == "trace"]
    f = {x["name"]: x["value"] for x in trace["figures"]}
    assert f["trace_bytes_per_tick"] == QUICK.trace_cpus * 32 * 8
    assert f["input_bytes_per_tick"] == QUICK.trace_cpus * 2 * 64 * 8


def test_lower_bound_counts_what_the_bank_counts():
    """On a program without CHAIN or the divider, the floor computes exactly what CounterBank does."""
    bank = CounterBank(2, 4)
    for cpu in range(2):
        bank.write(cpu, "PMCR_EL0", sysregs.PMCR["E"].mask)
        bank.write(cpu, "PMCNTENSET_EL0", bank.implemented & ~0b100)
        for k, (evt, filt) in enumerate([(ArmEvent.INST_RETIRED, 0), (ArmEvent.L1D_CACHE, sysregs.PMEVTYPER["U"].mask),
                                         (ArmEvent.BR_RETIRED, 0), (ArmEvent.LD_RETIRED, sysregs.PMEVTYPER["P"].mask)]):
            bank.write(cpu, f"PMEVTYPER{k}_EL0", int(evt) | filt)
            bank.write(cpu, f"PMEVCNTR{k}_EL0", 2**32 - 3000)
    floor = lower_bound_step(bank)
    occ = occurrences(2, 3)
    for s in range(3):
        floor(occ[s])
        bank.count(occ[s])
    assert np.array_equal(floor.values, bank.values) and np.array_equal(floor.pmovs, bank.pmovs)
    assert bank.pmovs.any() and not bank.pmovs[:, 2].any()


def test_unknown_benchmark_is_refused():
    with pytest.raises(ValueError, match="unknown benchmark"):
        run(quick=True, only=["nope"])


def test_widgets_time_every_scenario_explorer(doc):
    from pmulab.scenarios import SCENARIOS

    (w,) = [s for s in doc["sections"] if s["name"] == "widgets"]
    assert w["status"] == "ok"
    names = [f["name"] for f in w["figures"]]
    assert names == [f"{k}@{n}" for n in SCENARIOS for k in ("change_ms", "design_ms")]
    assert all(f["target"] == "<= 50 ms" for f in w["figures"])


def test_toggle_values_stay_in_range():
    import ipywidgets as widgets

    assert toggle_values(widgets.IntSlider(value=5, min=0, max=5)) == [(5, 4)]
    assert toggle_values(widgets.IntSlider(value=2, min=0, max=9)) == [(2, 3), (2, 1)]
    assert toggle_values(widgets.Checkbox(value=False)) == [(False, True)]
    assert toggle_values(widgets.Dropdown(options=[("a", 0), ("b", 1), ("c", 2)], value=1)) == [(1, 2), (1, 0)]


def test_sampling_section(doc):
    (s,) = [x for x in doc["sections"] if x["name"] == "sampling"]
    f = {x["name"]: x for x in s["figures"]}
    assert f["samples_per_tick"]["value"] == QUICK.sampling_cpus  # one sample per tick per CPU
    assert {"sampling_over_plain", "parse_samples_per_s", "parse_records_per_s"} <= set(f)
    assert all(f[n]["met"] is not None for n in ("sampling_over_plain", "parse_samples_per_s", "parse_records_per_s"))


def test_parse_streams_hold_the_records_they_say():
    from pmulab.uapi import PerfRecord
    from pmulab.user import parse_records, parse_samples

    attr, data = sample_stream(700, distinct=64)
    arr = parse_samples(data, attr)
    assert len(arr) == 700 and arr["period"][0] == arr["period"][-1] > 0
    assert arr["ip"][64] == arr["ip"][0] and arr["ip"][1] != arr["ip"][0]
    attr, data = mixed_stream(90, distinct=45)
    recs = parse_records(data, attr)
    assert len(recs) == 90
    assert {PerfRecord.SAMPLE, PerfRecord.SWITCH, PerfRecord.COMM, PerfRecord.MMAP2, PerfRecord.LOST} <= {
        r.type for r in recs}


def test_explore_section(doc):
    (s,) = [x for x in doc["sections"] if x["name"] == "explore"]
    assert s["status"] == "ok"
    f = {x["name"]: x for x in s["figures"]}
    for d in QUICK.explore_designs:
        assert f[f"states@{d}"]["value"] >= 1 and f[f"transitions@{d}"]["value"] >= 1
        assert f[f"seconds@{d}"]["target"] == "< 60 s" and f[f"peak_MiB@{d}"]["target"] == "< 2048 MiB"
    assert any("exhausted" in n for n in s["notes"])


def test_timing_helpers():
    calls = []
    (t,) = medians([lambda: calls.append(1)], 3, [4])
    assert len(calls) == 12 and t > 0
    assert fit_exponent([1, 10, 100], [2, 20, 200]) == pytest.approx(1.0)
    assert fit_exponent([1, 10, 100], [5, 5, 5]) == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError):
        medians([lambda: None], 0, [1])
