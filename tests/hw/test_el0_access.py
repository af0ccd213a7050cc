"""EL0 access rules of PMUSERENR_EL0 (and PMUACR_EL1/UEN on PMUv3p9), checked exhaustively.

The expected results below are an independent, plain transcription of the Arm ARM DDI 0487
D24.5 accessibility pseudocode (one MRS/MSR block per register); they do not call the code
under test.
"""

from __future__ import annotations

import itertools
import re

import pytest

from pmulab.errors import IllegalInstruction
from pmulab.hw import pmu, sysregs
from pmulab.hw.counters import CounterBank
from pmulab.hw.cpu import Cpu
from pmulab.hw.sysregs import SYSREGS, PmuVersion

ALL = sorted(SYSREGS)
assert len(ALL) == 79

# ---------------------------------------------------------------------------------------------
# Independent transcription of the Arm ARM (before PMUv3p9: no UEN).
# For each register: (bits enabling an EL0 read, bits enabling an EL0 write).
# "UNDEF" = UNDEFINED at EL0 (Linux: SIGILL); "ALWAYS" = EL0 may always.
UNDEF, ALWAYS = "UNDEF", "ALWAYS"


def spec_v3(name: str, write: bool):
    if re.fullmatch(r"PMEVCNTR\d+_EL0", name) or name == "PMXEVCNTR_EL0":
        return {"EN"} if write else {"EN", "ER"}
    if re.fullmatch(r"PMEVTYPER\d+_EL0", name) or name == "PMXEVTYPER_EL0":
        return {"EN"}
    table = {
        "PMCR_EL0": ({"EN"}, {"EN"}),
        "PMCNTENSET_EL0": ({"EN"}, {"EN"}),
        "PMCNTENCLR_EL0": ({"EN"}, {"EN"}),
        "PMOVSSET_EL0": ({"EN"}, {"EN"}),
        "PMOVSCLR_EL0": ({"EN"}, {"EN"}),
        "PMINTENSET_EL1": (UNDEF, UNDEF),
        "PMINTENCLR_EL1": (UNDEF, UNDEF),
        "PMSELR_EL0": ({"EN", "ER"}, {"EN", "ER"}),
        "PMSWINC_EL0": (UNDEF, {"EN", "SW"}),  # write-only: no MRS encoding at any EL
        "PMUSERENR_EL0": (ALWAYS, UNDEF),
        "PMUACR_EL1": (UNDEF, UNDEF),
        "PMCCNTR_EL0": ({"EN", "CR"}, {"EN"}),
        "PMCCFILTR_EL0": ({"EN"}, {"EN"}),
        "PMCEID0_EL0": ({"EN"}, UNDEF),  # read-only: no MSR encoding at any EL
        "PMCEID1_EL0": ({"EN"}, UNDEF),
    }
    return table[name][write]


BITS = {"EN": 1 << 0, "SW": 1 << 1, "CR": 1 << 2, "ER": 1 << 3, "UEN": 1 << 4}
COMBOS = [dict(zip(("EN", "SW", "CR", "ER"), c, strict=True)) for c in itertools.product((0, 1), repeat=4)]


def value_of(fields: dict) -> int:
    return sum(BITS[k] for k, v in fields.items() if v)


# ---------------------------------------------------------------------------------------------
def make_bank(version="v3p4", counters=31, cpus=2):
    return CounterBank(cpus, counters, version=PmuVersion.parse(version))


def snapshot(cpu: Cpu) -> dict:
    """The whole state of the bank, every CPU (its state arrays)."""
    return {k: v.tobytes() for k, v in cpu.bank.state_dict().items()}


def seed(cpu: Cpu):
    """Put distinctive values in the registers so that a wrongly executed access would show."""
    for n in range(cpu.counters):
        cpu.msr(f"PMEVCNTR{n}_EL0", 0x1000 + n)
        cpu.msr(f"PMEVTYPER{n}_EL0", 0x11 + n)
    cpu.msr("PMCCNTR_EL0", 0xC0FFEE)
    cpu.msr("PMCCFILTR_EL0", sysregs.PMCCFILTR.encode(P=1))
    cpu.msr("PMCNTENSET_EL0", 0x8000_0005)
    cpu.msr("PMOVSSET_EL0", 0x8000_0002)
    cpu.msr("PMINTENSET_EL1", 0x8000_0003)
    cpu.msr("PMSELR_EL0", 2)


def poke_value(reg) -> int:
    """A value whose write would visibly change the register (ones in every writable position)."""
    if reg.name == "PMSELR_EL0":
        return 5  # a different, implemented counter
    return reg.layout.valid_mask & ~reg.layout.reset if reg.layout.valid_mask else 1


# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("version", ["v3p4", "v3p5"])
@pytest.mark.parametrize("fields", COMBOS, ids=lambda f: "".join(k for k, v in f.items() if v) or "none")
def test_pmuserenr_truth_table_exhaustive(version, fields):
    """16 EN/SW/CR/ER combinations x all 79 registers x mrs/msr at EL0, against the transcription."""
    cpu = Cpu(make_bank(version), 0)
    seed(cpu)
    cpu.msr("PMUSERENR_EL0", value_of(fields))
    for name in ALL:
        reg = SYSREGS[name]
        for write in (False, True):
            spec = spec_v3(name, write)
            expect_ok = spec == ALWAYS or (spec != UNDEF and any(fields[b] for b in spec))
            before = snapshot(cpu)
            try:
                if write:
                    cpu.msr(name, poke_value(reg), el=0)
                else:
                    got = cpu.mrs(name, el=0)
            except IllegalInstruction as e:
                assert not expect_ok, f"{name} {'msr' if write else 'mrs'} trapped with {fields}"
                assert snapshot(cpu) == before, f"trapped {name} changed state"
                assert e.register == name and e.write == write and e.el == 0
                assert set(e.allowed_by) == (set() if spec == UNDEF else spec)
                continue
            assert expect_ok, f"{name} {'msr' if write else 'mrs'} succeeded with {fields}"
            if not write:
                assert got == cpu.bank.read(0, name)


def test_trap_changes_nothing_on_other_cpu_either():
    bank = make_bank()
    c0, c1 = Cpu(bank, 0), Cpu(bank, 1)
    seed(c0)
    seed(c1)
    before = snapshot(c0)
    for name in ("PMCR_EL0", "PMEVCNTR0_EL0", "PMCCNTR_EL0", "PMSELR_EL0", "PMCNTENCLR_EL0", "PMUSERENR_EL0"):
        with pytest.raises(IllegalInstruction):
            c1.msr(name, 0, el=0)
    assert snapshot(c0) == before


def test_linux_setting_er_cr_allows_reads_not_writes():
    """What Linux v5.17 sets for a user-access task: ER|CR (armv8pmu_enable_user_access)."""
    cpu = Cpu(make_bank(), 0)
    seed(cpu)
    cpu.msr("PMUSERENR_EL0", BITS["ER"] | BITS["CR"])
    assert cpu.mrs("PMEVCNTR3_EL0", el=0) == 0x1003
    assert cpu.mrs("PMCCNTR_EL0", el=0) == 0xC0FFEE
    cpu.msr("PMSELR_EL0", 5, el=0)  # ER also opens PMSELR writes (hence the zeroing in Linux)
    assert cpu.mrs("PMXEVCNTR_EL0", el=0) == 0x1005
    for name in ("PMEVCNTR3_EL0", "PMCCNTR_EL0", "PMXEVCNTR_EL0"):
        with pytest.raises(IllegalInstruction):
            cpu.msr(name, 0, el=0)
    assert cpu.mrs("PMEVCNTR3_EL0") == 0x1003


# --- error messages -------------------------------------------------------------------------
def test_message_names_register_and_bits():
    cpu = Cpu(make_bank(), 0)
    with pytest.raises(IllegalInstruction, match=r"EL0 mrs PMEVCNTR3_EL0 trapped \(needs PMUSERENR_EL0\.EN or \.ER"):
        cpu.mrs("PMEVCNTR3_EL0", el=0)
    with pytest.raises(IllegalInstruction, match=r"EL0 msr PMSWINC_EL0 trapped \(needs PMUSERENR_EL0\.EN or \.SW"):
        cpu.msr("PMSWINC_EL0", 1, el=0)
    with pytest.raises(IllegalInstruction, match=r"EL0 mrs PMCCNTR_EL0 .*EN or \.CR.*PMUSERENR_EL0=0x8 \(.*ER=1"):
        cpu.msr("PMUSERENR_EL0", BITS["ER"])
        cpu.mrs("PMCCNTR_EL0", el=0)
    with pytest.raises(IllegalInstruction, match=r"msr PMCCNTR_EL0 .*needs PMUSERENR_EL0\.EN;"):
        cpu.msr("PMUSERENR_EL0", BITS["CR"])
        cpu.msr("PMCCNTR_EL0", 0, el=0)


def test_message_for_el1_only_and_undefined_registers():
    cpu = Cpu(make_bank(), 0)
    cpu.msr("PMUSERENR_EL0", BITS["EN"])
    with pytest.raises(IllegalInstruction, match=r"PMINTENSET_EL1.*UNDEFINED at EL0: PMINTENSET_EL1 is an EL1 reg"):
        cpu.mrs("PMINTENSET_EL1", el=0)
    with pytest.raises(IllegalInstruction, match=r"msr PMUSERENR_EL0.*UNDEFINED at EL0"):
        cpu.msr("PMUSERENR_EL0", 0xF, el=0)
    with pytest.raises(IllegalInstruction, match=r"mrs PMSWINC_EL0.*write-only"):
        cpu.mrs("PMSWINC_EL0", el=1)
    with pytest.raises(IllegalInstruction, match=r"msr PMCEID0_EL0.*read-only"):
        cpu.msr("PMCEID0_EL0", 0, el=1)
    with pytest.raises(IllegalInstruction, match=r"PMUACR_EL1.*does not exist before PMUv3p9"):
        cpu.mrs("PMUACR_EL1", el=1)


# --- EL1 and UNDEFINED ------------------------------------------------------------------------
@pytest.mark.parametrize("version", ["v3p4", "v3p5", "v3p9"])
def test_el1_always_allowed_except_undefined(version):
    cpu = Cpu(make_bank(version), 0)
    cpu.msr("PMUSERENR_EL0", 0)
    undefined = {("PMSWINC_EL0", False), ("PMCEID0_EL0", True), ("PMCEID1_EL0", True)}
    if version != "v3p9":
        undefined |= {("PMUACR_EL1", False), ("PMUACR_EL1", True)}
    for name in ALL:
        for write in (False, True):
            if (name, write) in undefined:
                with pytest.raises(IllegalInstruction, match="UNDEFINED"):
                    cpu.msr(name, 0) if write else cpu.mrs(name)
            elif write:
                cpu.msr(name, 0)
            else:
                assert isinstance(cpu.mrs(name), int)


def test_pmuacr_undefined_before_v3p9_at_every_el_changes_nothing():
    cpu = Cpu(make_bank("v3p5"), 0)
    cpu.msr("PMUSERENR_EL0", 0x1F)
    before = snapshot(cpu)
    for el in (0, 1):
        with pytest.raises(IllegalInstruction) as e:
            cpu.msr("PMUACR_EL1", 1, el=el)
        assert e.value.allowed_by == ()
    assert snapshot(cpu) == before


def test_unimplemented_counters_are_undefined():
    """Arm ARM: n >= PMCR_EL0.N (or PMSELR_EL0.SEL >= N) is UNDEFINED with FEAT_FGT (model's choice)."""
    cpu = Cpu(make_bank(counters=6), 0)
    cpu.msr("PMUSERENR_EL0", BITS["EN"])
    for el in (0, 1):
        assert cpu.mrs("PMEVCNTR5_EL0", el=el) == 0
        for name in ("PMEVCNTR6_EL0", "PMEVTYPER30_EL0"):
            with pytest.raises(IllegalInstruction, match=r"not implemented: PMCR_EL0\.N=6"):
                cpu.mrs(name, el=el)
    cpu.msr("PMSELR_EL0", 6)
    with pytest.raises(IllegalInstruction, match=r"PMSELR_EL0\.SEL=6 is not implemented"):
        cpu.mrs("PMXEVCNTR_EL0", el=1)
    with pytest.raises(IllegalInstruction, match=r"PMSELR_EL0\.SEL=6"):
        cpu.msr("PMXEVTYPER_EL0", 0, el=0)
    cpu.msr("PMSELR_EL0", 31)
    with pytest.raises(IllegalInstruction, match=r"SEL=31 is UNDEFINED"):
        cpu.mrs("PMXEVCNTR_EL0", el=1)
    cpu.msr("PMXEVTYPER_EL0", sysregs.PMCCFILTR.encode(U=1), el=0)  # SEL=31: PMXEVTYPER is PMCCFILTR
    assert cpu.mrs("PMCCFILTR_EL0") == sysregs.PMCCFILTR.encode(U=1)


def test_indirect_registers_use_the_selected_counter():
    cpu = Cpu(make_bank(), 0)
    seed(cpu)
    cpu.msr("PMUSERENR_EL0", BITS["ER"])
    cpu.msr("PMSELR_EL0", 7, el=0)
    assert cpu.mrs("PMXEVCNTR_EL0", el=0) == 0x1007
    with pytest.raises(IllegalInstruction, match="PMXEVTYPER_EL0"):
        cpu.mrs("PMXEVTYPER_EL0", el=0)


# --- PMUv3p9: UEN and PMUACR_EL1 -------------------------------------------------------------
def acr_bit_of(name: str, sel: int):
    """PMUACR_EL1 bit governing ``name`` (Arm ARM PMUACR_EL1: P<m> for counter m, C for the cycle counter)."""
    m = re.fullmatch(r"PMEV(?:CNTR|TYPER)(\d+)_EL0", name)
    if m:
        return int(m.group(1))
    if name in ("PMCCNTR_EL0", "PMCCFILTR_EL0"):
        return 31
    if name in ("PMXEVCNTR_EL0", "PMXEVTYPER_EL0"):
        return sel
    return None


def spec_v3p9(name: str, write: bool, f: dict, acr: int, sel: int) -> str:
    """Outcome per the PMUv3p9 pseudocode: 'trap', 'undef', 'ok', 'raz', 'wi' or 'masked'."""
    base = spec_v3(name, write)
    if base == UNDEF:
        return "undef"
    if base == ALWAYS:
        return "ok"
    if name == "PMCR_EL0":  # trapped if EN == 0 || UEN == 1
        return "trap" if (not f["EN"] or f["UEN"]) else "ok"
    if not (f["UEN"] or any(f[b] for b in base)):
        return "trap"
    if not f["UEN"]:
        return "ok"
    bit = acr_bit_of(name, sel)
    if bit is not None:
        if not (acr >> bit) & 1:
            return "wi" if write else "raz"
        ro = f["CR"] if bit == 31 else f["ER"]
        return "wi" if (write and ro) else "ok"
    if name in ("PMCNTENSET_EL0", "PMCNTENCLR_EL0", "PMOVSSET_EL0", "PMOVSCLR_EL0", "PMSWINC_EL0"):
        return "masked"
    return "ok"  # PMSELR_EL0, PMCEID<n>_EL0


OUTCOME_NAMES = {"trap": pmu.Outcome.TRAP, "undef": pmu.Outcome.UNDEFINED, "ok": pmu.Outcome.ALLOW,
                 "raz": pmu.Outcome.RAZ, "wi": pmu.Outcome.WI, "masked": pmu.Outcome.MASKED}


@pytest.mark.parametrize("acr", [0, 0x8000_0005, 0xFFFF_FFFF], ids=["acr0", "acrP0P2C", "acrall"])
@pytest.mark.parametrize("uen_fields", [dict(zip(("EN", "SW", "CR", "ER", "UEN"), c, strict=True))
                                        for c in itertools.product((0, 1), repeat=5)],
                         ids=lambda f: "".join(k for k, v in f.items() if v) or "none")
def test_v3p9_outcomes_exhaustive(uen_fields, acr):
    """32 EN/SW/CR/ER/UEN combinations x 79 registers x mrs/msr x three PMUACR_EL1 values."""
    bank = make_bank("v3p9")
    cpu = Cpu(bank, 0)
    seed(cpu)
    cpu.msr("PMUACR_EL1", acr)
    cpu.msr("PMUSERENR_EL0", value_of(uen_fields))
    sel = 2
    for name in ALL:
        reg = SYSREGS[name]
        for write in (False, True):
            expected = OUTCOME_NAMES[spec_v3p9(name, write, uen_fields, acr, sel)]
            assert cpu.check(name, write, 0).outcome is expected, (name, write)
            before = snapshot(cpu)
            if expected.faults:
                with pytest.raises(IllegalInstruction):
                    cpu.msr(name, poke_value(reg), el=0) if write else cpu.mrs(name, el=0)
                assert snapshot(cpu) == before
            elif expected is pmu.Outcome.WI:
                cpu.msr(name, poke_value(reg), el=0)
                assert snapshot(cpu) == before, f"ignored write to {name} changed state"
            elif expected is pmu.Outcome.RAZ:
                assert cpu.bank.read(0, name) != 0 or name.startswith("PMEVTYPER")
                assert cpu.mrs(name, el=0) == 0


def test_v3p9_linux_setting_own_counter_readable_others_raz():
    """Linux >= 6.13 on PMUv3p9: PMUSERENR = ER|CR|UEN, PMUACR_EL1 = the task's counters."""
    cpu = Cpu(make_bank("v3p9"), 0)
    seed(cpu)
    cpu.msr("PMUACR_EL1", sysregs.PMUACR.encode(P0=1, C=1))
    cpu.msr("PMUSERENR_EL0", BITS["ER"] | BITS["CR"] | BITS["UEN"])
    assert cpu.mrs("PMEVCNTR0_EL0", el=0) == 0x1000
    assert cpu.mrs("PMEVCNTR1_EL0", el=0) == 0  # another task's counter: RAZ, no trap
    assert cpu.mrs("PMCCNTR_EL0", el=0) == 0xC0FFEE
    cpu.msr("PMEVCNTR0_EL0", 7, el=0)  # ER=1 under UEN: write ignored, not trapped
    assert cpu.mrs("PMEVCNTR0_EL0") == 0x1000
    assert cpu.mrs("PMCNTENSET_EL0", el=0) == 0x8000_0001  # bit 2 hidden: P2 not in PMUACR_EL1
    cpu.msr("PMCNTENCLR_EL0", 0xFFFF_FFFF, el=0)  # RO under ER/CR: nothing cleared
    assert cpu.mrs("PMCNTENSET_EL0") == 0x8000_0005
    cpu.msr("PMSELR_EL0", 1, el=0)
    assert cpu.mrs("PMXEVCNTR_EL0", el=0) == 0  # selected counter 1 is not in PMUACR_EL1
    cpu.msr("PMSELR_EL0", 0, el=0)
    assert cpu.mrs("PMXEVCNTR_EL0", el=0) == 0x1000
    with pytest.raises(IllegalInstruction, match=r"UEN=1 traps PMCR_EL0"):
        cpu.mrs("PMCR_EL0", el=0)


def test_v3p9_uen_without_er_lets_el0_write_its_counters_masked_controls():
    cpu = Cpu(make_bank("v3p9"), 0)
    seed(cpu)
    cpu.msr("PMCNTENCLR_EL0", 0xFFFF_FFFF)
    cpu.msr("PMUACR_EL1", sysregs.PMUACR.encode(P0=1, P2=1))
    cpu.msr("PMUSERENR_EL0", BITS["UEN"])
    cpu.msr("PMEVCNTR2_EL0", 5, el=0)
    assert cpu.mrs("PMEVCNTR2_EL0") == 5
    cpu.msr("PMCNTENSET_EL0", 0xFFFF_FFFF, el=0)
    assert cpu.mrs("PMCNTENSET_EL0") == 0b101  # only P0 and P2 took effect
    cpu.msr("PMCCNTR_EL0", 1, el=0)  # C=0: ignored
    assert cpu.mrs("PMCCNTR_EL0") == 0xC0FFEE
    assert cpu.check("PMSWINC_EL0", True, 0).mask == 0b101  # SW=0: only PMUACR counters
    cpu.msr("PMUSERENR_EL0", BITS["UEN"] | BITS["SW"])
    assert cpu.check("PMSWINC_EL0", True, 0).mask == SYSREGS["PMSWINC_EL0"].layout.action_mask


def test_v3p9_uen_overrides_en():
    """EN is ignored when UEN=1: PMUACR_EL1 still hides counters and PMCR_EL0 traps."""
    cpu = Cpu(make_bank("v3p9"), 0)
    seed(cpu)
    cpu.msr("PMUACR_EL1", 0)
    cpu.msr("PMUSERENR_EL0", BITS["EN"] | BITS["UEN"])
    assert cpu.mrs("PMEVCNTR0_EL0", el=0) == 0
    with pytest.raises(IllegalInstruction, match=r"PMCR_EL0.*needs PMUSERENR_EL0\.EN with UEN=0"):
        cpu.msr("PMCR_EL0", 1, el=0)


def test_uen_bit_is_ignored_before_v3p9():
    cpu = Cpu(make_bank("v3p5"), 0)
    cpu.msr("PMUSERENR_EL0", BITS["UEN"])
    assert cpu.pmuserenr_fields()["UEN"] == 0
    with pytest.raises(IllegalInstruction, match=r"needs PMUSERENR_EL0\.EN or \.ER;"):
        cpu.mrs("PMEVCNTR0_EL0", el=0)


# --- the table for the notebook ---------------------------------------------------------------
def test_truth_table_covers_every_combination_and_family():
    families = {re.sub(r"\d+_EL0$", "<n>_EL0", n) if re.fullmatch(r"PMEV(CNTR|TYPER)\d+_EL0", n) else n for n in ALL}
    rows = pmu.truth_table("v3p4")
    assert {r.register for r in rows} == families
    assert len(rows) == 16 * len(families) * 2
    assert len({(r.EN, r.SW, r.CR, r.ER, r.register, r.write) for r in rows}) == len(rows)
    for r in rows:
        spec = spec_v3(r.register.replace("<n>", "0"), r.write)
        ok = spec == ALWAYS or (spec != UNDEF and any(getattr(r, b) for b in spec))
        assert (r.outcome is pmu.Outcome.ALLOW) == ok, r
    rows9 = pmu.truth_table("v3p9")
    assert len(rows9) == 32 * 2 * len(families) * 2
    fields = ("EN", "SW", "CR", "ER", "UEN")
    for r in rows9:
        f = {k: getattr(r, k) for k in fields}
        want = spec_v3p9(r.register.replace("<n>", "0"), r.write, f, 0xFFFF_FFFF if r.acr else 0, 0)
        assert r.outcome is OUTCOME_NAMES[want], r


def test_el0_permits_and_allowed_by():
    reg = SYSREGS["PMCCNTR_EL0"]
    assert pmu.el0_permits(reg, False, BITS["CR"])
    assert not pmu.el0_permits(reg, True, BITS["CR"])
    assert pmu.allowed_by(reg, False) == ("EN", "CR")
    assert pmu.allowed_by(reg, False, "v3p9") == ("EN", "CR", "UEN")
    assert pmu.allowed_by(SYSREGS["PMCR_EL0"], False, "v3p9") == ("EN",)
    assert pmu.el0_permits("PMEVCNTR4_EL0", False, BITS["UEN"], 0, "v3p9")  # permitted, but RAZ
    assert pmu.decide("PMEVCNTR4_EL0", False, 0, BITS["UEN"], 0, "v3p9").outcome is pmu.Outcome.RAZ
