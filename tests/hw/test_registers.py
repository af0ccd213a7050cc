"""EL1 register semantics of the counter core (both CounterBank and CounterBankRef).

Expected values are worked out by hand from the Arm ARM D24 register pages: W1S/W1C pairs
sharing one state, write-only actions, read-only and RES0 bits, RAZ/WI bits of unimplemented
counters, PMXEV* indirection through PMSELR_EL0.SEL, PMCEID0/1_EL0 contents, version gating.
"""

from __future__ import annotations

import numpy as np
import pytest

from pmulab.errors import IllegalInstruction
from pmulab.hw import sysregs
from pmulab.hw.counters import CounterBank
from pmulab.hw.counters_ref import CounterBankRef
from pmulab.hw.events import ArmEvent

ALL32, ALL64 = (1 << 32) - 1, (1 << 64) - 1
CYCLE_BIT = 1 << 31


@pytest.fixture(params=[CounterBank, CounterBankRef], ids=lambda c: c.__name__)
def Bank(request):
    return request.param


# --- construction -------------------------------------------------------------------------------
def test_attributes(Bank):
    b = Bank(3, 6, version="v3p5")
    assert (b.cpus, b.counters, b.version, b.long_counters) == (3, 6, sysregs.PmuVersion.V3P5, True)
    assert Bank(1, 2).version is sysregs.PmuVersion.V3P4 and not Bank(1, 2).long_counters
    assert Bank(1, 2, True).version is sysregs.PmuVersion.V3P5
    assert Bank(1, 2, version=sysregs.PmuVersion.V3P9).long_counters


@pytest.mark.parametrize("args,kw,exc", [
    ((0, 2), {}, ValueError), ((1, 32), {}, ValueError), ((1, -1), {}, ValueError), ((1.0, 2), {}, TypeError),
    ((1, 2), {"version": "v9"}, ValueError), ((1, 2, True), {"version": "v3p4"}, ValueError),
    ((1, 2, 1), {}, TypeError),
])
def test_bad_construction(Bank, args, kw, exc):
    with pytest.raises(exc):
        Bank(*args, **kw)


def test_reset_state(Bank):
    b = Bank(2, 6)
    pmcr = sysregs.PMCR.decode(b.read(1, "PMCR_EL0"))
    assert pmcr["N"] == 6 and pmcr["IMP"] == 0x41 and pmcr["E"] == 0
    assert not b.values.any() and not b.irq.any() and b.values.shape == (2, 32) and b.values.dtype == np.uint64


# --- SET/CLR pairs and RAZ/WI of unimplemented counters -----------------------------------------
@pytest.mark.parametrize("base,el", [("PMCNTEN", "EL0"), ("PMOVS", "EL0"), ("PMINTEN", "EL1")])
def test_set_clr_pairs_share_state(Bank, base, el):
    b = Bank(2, 4)
    s, c = f"{base}SET_{el}", f"{base}CLR_{el}"
    b.write(1, s, 0b0101 | CYCLE_BIT)
    assert b.read(1, s) == b.read(1, c) == 0b0101 | CYCLE_BIT
    b.write(1, s, 0b0010)  # W1S: zeros leave bits alone
    b.write(1, c, 0b0001 | CYCLE_BIT)  # W1C
    assert b.read(1, c) == 0b0110 and b.read(0, s) == 0
    view = {"PMCNTEN": b.pmcnten, "PMOVS": b.pmovs, "PMINTEN": b.pminten}[base]
    assert view.dtype == bool and np.flatnonzero(view[1]).tolist() == [1, 2]


@pytest.mark.parametrize("reg", ["PMCNTENSET_EL0", "PMOVSSET_EL0", "PMINTENSET_EL1"])
def test_unimplemented_counter_bits_raz_wi(Bank, reg):
    b = Bank(1, 2)
    b.write(0, reg, ALL64)
    assert b.read(0, reg) == 0b11 | CYCLE_BIT


def test_pmuacr_only_on_v3p9(Bank):
    for v in ("v3p4", "v3p5"):
        b = Bank(1, 2, version=v)
        with pytest.raises(IllegalInstruction, match="UNDEFINED") as e:
            b.read(0, "PMUACR_EL1")
        assert e.value.el == 1
        with pytest.raises(IllegalInstruction):
            b.write(0, "PMUACR_EL1", 1)
    b = Bank(1, 2, version="v3p9")
    b.write(0, "PMUACR_EL1", ALL64)
    assert b.read(0, "PMUACR_EL1") == 0b11 | CYCLE_BIT and b.pmuacr[0].sum() == 3


@pytest.mark.parametrize("version,uen", [("v3p4", 0), ("v3p5", 0), ("v3p9", 1)])
def test_pmuserenr_uen_res0_before_v3p9(Bank, version, uen):
    b = Bank(1, 1, version=version)
    b.write(0, "PMUSERENR_EL0", ALL64)
    assert sysregs.PMUSERENR.decode(b.read(0, "PMUSERENR_EL0")) == {"EN": 1, "SW": 1, "CR": 1, "ER": 1, "UEN": uen}
    assert int(b.pmuserenr[0]) == b.read(0, "PMUSERENR_EL0")


# --- PMCR_EL0 ----------------------------------------------------------------------------------------
class TestPmcr:
    def test_p_resets_event_counters_only_and_reads_zero(self, Bank):
        b = Bank(1, 3)
        for n in range(3):
            b.write(0, f"PMEVCNTR{n}_EL0", 100 + n)
        b.write(0, "PMCCNTR_EL0", 7)
        b.write(0, "PMOVSSET_EL0", 0b1)
        b.write(0, "PMCR_EL0", sysregs.PMCR.encode(P=1, E=1))
        assert [b.read(0, f"PMEVCNTR{n}_EL0") for n in range(3)] == [0, 0, 0]
        assert b.read(0, "PMCCNTR_EL0") == 7 and b.read(0, "PMOVSSET_EL0") == 1  # flags survive a reset
        assert sysregs.PMCR.decode(b.read(0, "PMCR_EL0"))["P"] == 0
        assert sysregs.PMCR["E"].get(b.read(0, "PMCR_EL0")) == 1

    def test_c_resets_cycle_counter_only(self, Bank):
        b = Bank(1, 1)
        b.write(0, "PMEVCNTR0_EL0", 5)
        b.write(0, "PMCCNTR_EL0", 7)
        b.write(0, "PMCR_EL0", sysregs.PMCR.encode(C=1))
        assert (b.read(0, "PMEVCNTR0_EL0"), b.read(0, "PMCCNTR_EL0")) == (5, 0)
        assert sysregs.PMCR["C"].get(b.read(0, "PMCR_EL0")) == 0

    def test_rw_fields_stored_ro_fields_kept(self, Bank):
        b = Bank(1, 5, version="v3p5")
        b.write(0, "PMCR_EL0", ALL64)
        f = sysregs.PMCR.decode(b.read(0, "PMCR_EL0"))
        assert f == {"E": 1, "P": 0, "C": 0, "D": 1, "X": 1, "DP": 1, "LC": 1, "LP": 1, "N": 5, "IDCODE": 0,
                     "IMP": 0x41}
        assert b.read(0, "PMCR_EL0") & ~sysregs.PMCR.valid_mask == 0  # RES0 bits stay 0

    def test_lp_res0_without_long_counters(self, Bank):
        b = Bank(1, 2, version="v3p4")
        b.write(0, "PMCR_EL0", sysregs.PMCR.encode(LP=1, LC=1))
        f = sysregs.PMCR.decode(b.read(0, "PMCR_EL0"))
        assert (f["LP"], f["LC"]) == (0, 1)

    def test_pmcr_view(self, Bank):
        b = Bank(2, 2)
        b.write(1, "PMCR_EL0", 1)
        assert [int(v) for v in b.pmcr] == [b.read(0, "PMCR_EL0"), b.read(1, "PMCR_EL0")]


# --- counters, types, widths ----------------------------------------------------------------------
@pytest.mark.parametrize("version,stored", [("v3p4", 5), ("v3p5", 2**40 + 5)])
def test_event_counter_width(Bank, version, stored):
    b = Bank(1, 1, version=version)
    b.write(0, "PMEVCNTR0_EL0", 2**40 + 5)
    b.write(0, "PMCCNTR_EL0", 2**40 + 5)
    assert b.read(0, "PMEVCNTR0_EL0") == stored and b.read(0, "PMCCNTR_EL0") == 2**40 + 5


def test_evtyper_and_ccfiltr_res0_bits(Bank):
    b = Bank(1, 1)
    b.write(0, "PMEVTYPER0_EL0", ALL64)
    b.write(0, "PMCCFILTR_EL0", ALL64)
    assert b.read(0, "PMEVTYPER0_EL0") == sysregs.PMEVTYPER.valid_mask == 0xFC00FFFF
    assert b.read(0, "PMCCFILTR_EL0") == sysregs.PMCCFILTR.valid_mask == 0xFC000000
    assert int(b.evtype[0, 0]) == 0xFC00FFFF and int(b.evtype[0, 31]) == 0xFC000000


@pytest.mark.parametrize("name", ["PMEVCNTR2_EL0", "PMEVTYPER2_EL0", "PMEVCNTR30_EL0", "PMEVTYPER30_EL0"])
def test_unimplemented_counter_registers_undefined(Bank, name):
    b = Bank(1, 2)
    before = b.state_dict()
    with pytest.raises(IllegalInstruction, match="not implemented") as e:
        b.read(0, name)
    assert e.value.el == 1 and not e.value.write
    with pytest.raises(IllegalInstruction, match="not implemented"):
        b.write(0, name, 1)
    assert all(np.array_equal(before[k], v) for k, v in b.state_dict().items())


def test_no_event_counters_still_has_cycle_counter(Bank):
    b = Bank(1, 0)
    b.write(0, "PMCCNTR_EL0", 3)
    assert b.read(0, "PMCCNTR_EL0") == 3
    with pytest.raises(IllegalInstruction):
        b.read(0, "PMEVCNTR0_EL0")


# --- PMSELR_EL0 and the PMXEV* indirection ----------------------------------------------------------
class TestIndirect:
    def test_selects_counter_n(self, Bank):
        b = Bank(1, 4)
        b.write(0, "PMSELR_EL0", 2)
        b.write(0, "PMXEVTYPER_EL0", ArmEvent.INST_RETIRED)
        b.write(0, "PMXEVCNTR_EL0", 77)
        assert b.read(0, "PMEVTYPER2_EL0") == ArmEvent.INST_RETIRED and b.read(0, "PMEVCNTR2_EL0") == 77
        b.write(0, "PMEVCNTR2_EL0", 78)
        assert b.read(0, "PMXEVCNTR_EL0") == 78 and b.read(0, "PMSELR_EL0") == 2

    def test_sel_31_pmxevtyper_is_pmccfiltr(self, Bank):
        b = Bank(1, 4)
        b.write(0, "PMSELR_EL0", 31)
        b.write(0, "PMXEVTYPER_EL0", sysregs.PMEVTYPER.encode(U=1, evtCount=0x11))
        assert b.read(0, "PMCCFILTR_EL0") == sysregs.PMCCFILTR.encode(U=1)  # no evtCount in PMCCFILTR
        assert b.read(0, "PMXEVTYPER_EL0") == sysregs.PMCCFILTR.encode(U=1)

    def test_sel_31_pmxevcntr_undefined(self, Bank):
        b = Bank(1, 4)
        b.write(0, "PMSELR_EL0", 31)
        with pytest.raises(IllegalInstruction, match="SEL=31"):
            b.read(0, "PMXEVCNTR_EL0")
        with pytest.raises(IllegalInstruction, match="SEL=31"):
            b.write(0, "PMXEVCNTR_EL0", 1)

    def test_sel_beyond_n_undefined(self, Bank):
        b = Bank(1, 4)
        b.write(0, "PMSELR_EL0", 4)
        for name in ("PMXEVCNTR_EL0", "PMXEVTYPER_EL0"):
            with pytest.raises(IllegalInstruction, match="not implemented"):
                b.read(0, name)

    def test_pmselr_keeps_five_bits(self, Bank):
        b = Bank(1, 1)
        b.write(0, "PMSELR_EL0", 0xFFF)
        assert b.read(0, "PMSELR_EL0") == 31 and int(b.pmselr[0]) == 31


# --- identification and access kinds ----------------------------------------------------------------
def test_pmceid_bitmaps(Bank):
    b = Bank(1, 1)
    id0, id1 = b.read(0, "PMCEID0_EL0"), b.read(0, "PMCEID1_EL0")
    assert id0 == sum(1 << e for e in ArmEvent if e < 32) == ALL32  # 0x00..0x1F all declared
    assert id1 == 0b11111  # 0x20..0x24
    assert id0 >> 32 == id1 >> 32 == 0  # no extended (0x4000+) events
    assert (id0 >> ArmEvent.CHAIN & 1, id1 >> (ArmEvent.STALL_BACKEND - 32) & 1) == (1, 1)


@pytest.mark.parametrize("name", ["PMCEID0_EL0", "PMCEID1_EL0"])
def test_read_only_registers_undefined_on_write(Bank, name):
    with pytest.raises(IllegalInstruction, match="read-only") as e:
        Bank(1, 1).write(0, name, 0)
    assert e.value.write and e.value.el == 1


def test_pmswinc_read_undefined(Bank):
    with pytest.raises(IllegalInstruction, match="write-only") as e:
        Bank(1, 1).read(0, "PMSWINC_EL0")
    assert e.value.register == "PMSWINC_EL0" and e.value.el == 1 and e.value.allowed_by == ()


def test_every_declared_register_reachable(Bank):
    b = Bank(1, sysregs.MAX_EVENT_COUNTERS, version="v3p9")
    for name, reg in sysregs.SYSREGS.items():
        if reg.readable:
            assert isinstance(b.read(0, name), int), name
        if reg.writable and name != "PMSWINC_EL0":
            b.write(0, name, 0)


# --- Python misuse: errors, and nothing changes ----------------------------------------------------------
@pytest.mark.parametrize("cpu,name,value,exc,pattern", [
    (2, "PMCR_EL0", 1, ValueError, "cpu 2 out of range"),
    (-1, "PMCR_EL0", 1, ValueError, "out of range"),
    ("0", "PMCR_EL0", 1, TypeError, "cpu must be an int"),
    (0, "PMCNTENSET", 1, ValueError, "did you mean PMCNTENSET_EL0"),
    (0, 42, 1, TypeError, "register name"),
    (0, "PMCR_EL0", 2**64, ValueError, "out of range"),
    (0, "PMCR_EL0", -1, ValueError, "out of range"),
    (0, "PMCR_EL0", 1.0, TypeError, "must be an int"),
    (0, "PMCR_EL0", True, TypeError, "must be an int"),
])
def test_bad_access_changes_nothing(Bank, cpu, name, value, exc, pattern):
    b = Bank(2, 2)
    b.write(0, "PMEVCNTR0_EL0", 9)
    before = b.state_dict()
    with pytest.raises(exc, match=pattern):
        b.write(cpu, name, value)
    assert all(np.array_equal(before[k], v) for k, v in b.state_dict().items())


def test_bad_el_rejected(Bank):
    with pytest.raises(ValueError, match="el"):
        Bank(1, 1).write(0, "PMSWINC_EL0", 1, el=2)


def test_views_are_read_only_and_live(Bank):
    b = Bank(1, 1)
    v = b.values
    with pytest.raises(ValueError):
        v[0, 0] = 1
    b.write(0, "PMEVCNTR0_EL0", 4)
    assert int(b.values[0, 0]) == 4
    if Bank is CounterBank:  # the vectorised bank hands out views of its own arrays
        assert int(v[0, 0]) == 4


def test_state_dict_is_a_copy_and_copy_is_independent(Bank):
    b = Bank(1, 1)
    s = b.state_dict()
    s["values"][0, 0] = 99
    c = b.copy()
    c.write(0, "PMEVCNTR0_EL0", 5)
    assert b.read(0, "PMEVCNTR0_EL0") == 0 and c.read(0, "PMEVCNTR0_EL0") == 5
    assert set(s) == {"values", "evtype", "pmcnten", "pmovs", "pminten", "pmuacr", "pmcr", "pmselr", "pmuserenr",
                      "prescale"}
