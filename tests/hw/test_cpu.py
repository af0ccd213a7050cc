"""The per-CPU mrs/msr front end: argument checking, EL1 pass-through, views, per-CPU state."""

from __future__ import annotations

import pytest

from pmulab.errors import IllegalInstruction
from pmulab.hw import pmu, sysregs
from pmulab.hw.counters import CounterBank
from pmulab.hw.cpu import Cpu
from pmulab.hw.sysregs import PMUSERENR, PmuVersion


def bank(version="v3p4", counters=6, cpus=2):
    return CounterBank(cpus, counters, version=PmuVersion.parse(version))


def test_construction_checks_index():
    b = bank()
    assert Cpu(b, 1).index == 1
    with pytest.raises(ValueError, match="out of range"):
        Cpu(b, 2)
    with pytest.raises(ValueError, match="out of range"):
        Cpu(b, -1)
    with pytest.raises(TypeError):
        Cpu(b, "0")
    with pytest.raises(TypeError):
        Cpu(b, True)
    assert repr(Cpu(b, 0)) == "Cpu(0, v3p4)"
    assert Cpu(bank("v3p9"), 0).version is PmuVersion.V3P9
    assert Cpu(b, 0).counters == 6


@pytest.mark.parametrize("el", [2, -1, True, False, "0", 1.0, None])
def test_el_must_be_0_or_1(el):
    b = bank()
    cpu = Cpu(b, 0)
    before = {k: v.tobytes() for k, v in b.state_dict().items()}
    with pytest.raises(ValueError, match="el must be 0"):
        cpu.mrs("PMUSERENR_EL0", el=el)
    with pytest.raises(ValueError, match="el must be 0"):
        cpu.msr("PMCR_EL0", 1, el=el)
    with pytest.raises(ValueError, match="el must be 0"):
        pmu.decide("PMCR_EL0", False, el)
    assert {k: v.tobytes() for k, v in b.state_dict().items()} == before


def test_el1_goes_straight_to_the_bank():
    b = bank()
    cpu = Cpu(b, 1)
    cpu.msr("PMEVCNTR2_EL0", 1234)
    assert b.read(1, "PMEVCNTR2_EL0") == 1234
    b.write(1, "PMCCNTR_EL0", 99)
    assert cpu.mrs("PMCCNTR_EL0") == 99
    assert cpu.mrs("PMCR_EL0") == b.read(1, "PMCR_EL0")
    assert sysregs.PMCR["N"].get(cpu.mrs("PMCR_EL0")) == 6


def test_bad_values_and_names_change_nothing():
    b = bank()
    cpu = Cpu(b, 0)
    cpu.msr("PMUSERENR_EL0", PMUSERENR.encode(EN=1))
    before = {k: v.tobytes() for k, v in b.state_dict().items()}
    for el in (0, 1):
        with pytest.raises(ValueError, match="out of range"):
            cpu.msr("PMCCNTR_EL0", -1, el=el)
        with pytest.raises(ValueError, match="out of range"):
            cpu.msr("PMCCNTR_EL0", 1 << 64, el=el)
        with pytest.raises(TypeError):
            cpu.msr("PMCCNTR_EL0", "1", el=el)
        with pytest.raises(ValueError, match="did you mean PMCCNTR_EL0"):
            cpu.mrs("PMCCNTR_EL1", el=el)
    assert {k: v.tobytes() for k, v in b.state_dict().items()} == before


def test_each_cpu_has_its_own_pmuserenr():
    b = bank()
    c0, c1 = Cpu(b, 0), Cpu(b, 1)
    c1.msr("PMUSERENR_EL0", PMUSERENR.encode(ER=1))
    c1.msr("PMEVCNTR0_EL0", 5)
    assert c1.mrs("PMEVCNTR0_EL0", el=0) == 5
    with pytest.raises(IllegalInstruction, match="PMEVCNTR0_EL0"):
        c0.mrs("PMEVCNTR0_EL0", el=0)


def test_pmuserenr_fields_view():
    cpu = Cpu(bank("v3p9"), 0)
    assert cpu.pmuserenr_fields() == {"EN": 0, "SW": 0, "CR": 0, "ER": 0, "UEN": 0}
    cpu.msr("PMUSERENR_EL0", PMUSERENR.encode(CR=1, ER=1, UEN=1))
    assert cpu.pmuserenr_fields() == {"EN": 0, "SW": 0, "CR": 1, "ER": 1, "UEN": 1}
    assert cpu.mrs("PMUSERENR_EL0", el=0) == PMUSERENR.encode(CR=1, ER=1, UEN=1)  # always readable


def test_check_reports_faults_without_raising_and_decide_raises():
    cpu = Cpu(bank(), 0)
    d = cpu.check("PMCCNTR_EL0", False, 0)
    assert d.outcome is pmu.Outcome.TRAP and d.allowed_by == ("EN", "CR") and not d.permitted
    with pytest.raises(IllegalInstruction) as e:
        cpu.decide("PMCCNTR_EL0", False, 0)
    assert e.value.allowed_by == ("EN", "CR") and e.value.register == "PMCCNTR_EL0" and e.value.el == 0
    assert cpu.check("PMCCNTR_EL0", False, 1).outcome is pmu.Outcome.ALLOW


def test_software_increment_from_el0_is_filtered_as_el0():
    """PMSWINC_EL0 written at EL0 raises SW_INCR at EL0: a counter excluding EL0 (U=1) must not count it."""
    b = bank()
    cpu = Cpu(b, 0)
    cpu.msr("PMEVTYPER0_EL0", sysregs.PMEVTYPER.encode(evtCount=0, U=1))
    cpu.msr("PMEVTYPER1_EL0", sysregs.PMEVTYPER.encode(evtCount=0))
    cpu.msr("PMCNTENSET_EL0", 0b11)
    cpu.msr("PMCR_EL0", sysregs.PMCR.encode(E=1))
    cpu.msr("PMUSERENR_EL0", PMUSERENR.encode(SW=1))
    cpu.msr("PMSWINC_EL0", 0b11, el=0)
    assert cpu.mrs("PMEVCNTR0_EL0") == 0
    assert cpu.mrs("PMEVCNTR1_EL0") == 1
    cpu.msr("PMSWINC_EL0", 0b11, el=1)
    assert cpu.mrs("PMEVCNTR0_EL0") == 1
