"""Ownership strip and user-page panel, headless: what they show, that they follow the model, never change it."""

from __future__ import annotations

import numpy as np

from pmulab import uapi
from pmulab.hw.sysregs import PMUSERENR
from pmulab.viz import compare_pages, ownership_strip, page_panel


def fingerprint(m):
    """Everything a view could disturb: the trace, every counter and PMUSERENR_EL0 of every CPU."""
    regs = [(m.cpu(c).mrs("PMUSERENR_EL0"), [m.cpu(c).mrs(f"PMEVCNTR{n}_EL0") for n in range(4)]) for c in range(2)]
    return m.trace.to_json(), regs, m.jiffies


def test_strip_shows_who_runs_and_what_el0_may_read(machine):
    before = fingerprint(machine.m)
    strip = ownership_strip(machine.m, title="after 3 ticks")
    assert fingerprint(machine.m) == before  # a view never writes to the model
    cpu0, cpu1 = strip.rows
    assert (cpu0.current, cpu0.name, cpu1.current) == (machine.t.pid, "T", machine.u.pid)
    assert cpu0.fields["ER"] == 1 and cpu0.pmuserenr == PMUSERENR.encode(ER=1, CR=1)
    assert cpu1.pmuserenr == 0  # U has no user-readable event: EL0 access stays off
    c0 = cpu0.counters[0]
    assert (c0.register, c0.readable, c0.owner) == ("PMEVCNTR0_EL0", True, machine.t.pid)
    assert c0.kind(cpu0.current) == "own"
    assert {c.kind(cpu0.current) for c in cpu0.counters[1:]} == {"zero"}  # v5.17 clears unused counters
    assert {c.kind(cpu1.current) for c in cpu1.counters} == {"closed"}
    assert cpu0.leaks == [] and cpu1.leaks == []
    assert 'data-cpu="0"' in strip.html.value and 'data-kind="own"' in strip.html.value


def test_strip_marks_a_cpu_bound_event_readable_at_el0_as_a_leak(machine, instructions):
    m = machine.m
    root = m.spawn("root", uid=0, cpu=1)
    root.perf_event_open(instructions(config1=0), pid=-1, cpu=1)  # CPU-bound: counts whoever runs on CPU 1
    m.switch_to(1, machine.u)
    m.run(2)
    strip = ownership_strip(m)
    assert 'data-kind="leak"' not in strip.html.value
    m.cpu(1).msr("PMUSERENR_EL0", PMUSERENR.encode(ER=1))  # raw hardware: what v8 would leave set
    rows = strip.update()
    cpu1 = rows[1]
    leaked = [c for c in cpu1.counters if c.kind(cpu1.current) == "leak"]
    assert leaked and leaked[0].owner is None and leaked[0].event is not None
    assert leaked[0].counter in cpu1.leaks
    assert 'data-kind="leak"' in strip.html.value


def test_page_panel_reads_the_live_page(machine):
    panel = page_panel(machine.page, "T's page")
    snap = dict(panel.snapshot)
    assert snap["index"] == 1 and snap["cap_user_rdpmc"] == 1 and snap["pmc_width"] == 32
    assert 'data-index="1"' in panel.html.value and "read counter 0" in panel.html.value
    html0 = panel.html.value
    machine.t.ioctl(machine.fd, uapi.PERF_EVENT_IOC_DISABLE)  # the kernel republishes the page: index 0
    panel.update()
    assert panel.snapshot["index"] == 0 and panel.snapshot["lock"] > snap["lock"]
    assert panel.html.value != html0 and "use read()" in panel.html.value


def test_page_comparison_marks_differing_fields(machine):
    other = uapi.MmapPage.new()
    other.lock, other.index, other.cap_bit0_is_deprecated = machine.page.lock, 0, 1
    cmp = compare_pages(machine.page, other)
    diff = cmp.differences()
    assert "index" in diff and "cap_user_rdpmc" in diff and "lock" not in diff
    assert 'data-field="index" data-differs="1"' in cmp.left.html.value
    assert "index" in cmp.diff.value
    empty = compare_pages(machine.page, None)
    assert empty.differences() == [] and 'data-empty="1"' in empty.right.html.value


def test_page_panel_field_list_is_the_struct_order():
    from pmulab.viz.pagepanel import FIELDS

    names = [n for n, *_ in uapi.MmapPage._fields_]
    assert list(FIELDS) == [n for n in names if n in FIELDS]
    assert FIELDS[:4] == ("version", "compat_version", "lock", "index") and "pmc_width" in FIELDS
    assert np.all([not f.startswith("data_") for f in FIELDS])


def test_trace_strip_slides_through_the_recorded_ticks(machine):
    from pmulab.viz import trace_strip

    m = machine.m
    m.switch_to(0, machine.u)  # T is switched out: v5.17 turns EL0 access off on CPU 0
    m.run(1)
    before = fingerprint(m)
    ts = trace_strip(m.trace, counters=4)
    assert ts.tick.max == 3 and ts.tick.value == 3
    assert 'data-tick="4"' in ts.html.value and "pid 101" in ts.html.value.split('data-cpu="1"')[0]
    ts.tick.value = 0  # tick 1: T ran on CPU 0 with ER|CR set, U on CPU 1 without
    cpu0, cpu1 = ts.html.value.split('<tr data-cpu="0">')[1].split('<tr data-cpu="1">')
    assert 'data-tick="1"' in ts.html.value and "pid 100" in cpu0
    assert 'data-open="1"' in cpu0 and 'data-open="1"' not in cpu1
    assert ts.readable(PMUSERENR.encode(ER=1))[0] and not any(ts.readable(0))
    assert fingerprint(m) == before and ts.guard.shown == ""
