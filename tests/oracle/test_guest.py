"""The guest side without QEMU: the compiled script, the log parser, hang/panic/guest errors (fake QEMU)."""

from __future__ import annotations

import gzip
import os
import stat
from pathlib import Path

import pytest

from pmulab.oracle.env import OracleError, Toolchain
from pmulab.oracle.guest import MARKER, _cpio_newc, _initramfs, boot, compile_script, guest_source, parse_log
from pmulab.oracle.scenarios import scenario
from pmulab.sim.ops import OpList


def test_compile_script_resolves_tasks_slots_and_attr():
    text = compile_script(scenario("S15"))
    lines = text.splitlines()
    assert lines[:2] == ["scenario S15", "slots 3"]
    assert "-1 sysctl name=kernel.perf_user_access value=1" in lines
    assert "0 spawn task=A slot=0 uid=1000 cpu=0" in lines
    open_line = next(ln for ln in lines if " open " in ln)
    assert "pid=@A" in open_line and "cpu=-1" in open_line and "group=-" in open_line
    attr = bytes.fromhex(open_line.split("attr=")[1])
    assert len(attr) == 136 and attr[4:8] == (136).to_bytes(4, "little")


def test_compile_fork_run_and_prelude():
    ol = OpList("f", machine={"cpus": 2}, steps=[
        {"op": "spawn", "task": "A", "cpu": 0},
        {"op": "open", "task": "A", "ev": "e", "attr": {"config1": 2, "exclude_kernel": 1}},
        {"op": "read_self", "task": "A", "ev": "e", "prelude": ["read", "mmap"]},
        {"op": "fork", "task": "A", "child": "K", "cpu": 1}, {"op": "fork", "task": "A", "child": "L"},
        {"op": "run", "ticks": 3}, {"op": "ioctl", "task": "A", "ev": "e", "request": "RESET"}])
    lines = compile_script(ol).splitlines()
    assert "2 read_self task=A ev=e prelude=read,mmap" in lines
    assert "3 fork task=A child=K slot=1 cpu=1" in lines
    assert "4 fork task=A child=L slot=2 cpu=0" in lines  # default: the parent's CPU
    assert "5 run ms=12" in lines
    assert "6 ioctl task=A ev=e req=9219 arg=0 argp=0" in lines


def test_guest_source_is_in_the_repo():
    src = guest_source().read_text()
    assert "sched_setaffinity" in src and "SIGILL" in src and "pmuserenr_el0" in src and MARKER.strip() in src


def test_parse_log_ignores_kernel_noise():
    log = f"[    0.1] booting\n{MARKER}{{\"step\": 1, \"op\": \"mrs\"}}\nrandom\n"
    assert parse_log(log) == [{"step": 1, "op": "mrs"}]
    with pytest.raises(OracleError, match="unparsable"):
        parse_log(f"{MARKER}{{broken\n")


def test_cpio_newc_layout():
    data = _cpio_newc([("init", 0o100755, b"#!/bin/sh\n")])
    assert data.startswith(b"070701") and b"init\0" in data and b"TRAILER!!!" in data
    assert len(data) % 4 == 0


def _fake_toolchain(tmp: Path, qemu_body: str) -> Toolchain:
    qemu = tmp / "qemu"
    qemu.write_text('#!/bin/sh\n[ "$1" = --version ] && { echo "QEMU emulator version 0"; exit 0; }\n' + qemu_body)
    cc = tmp / "cc"
    cc.write_text('#!/bin/sh\nwhile [ "$1" != "-o" ]; do shift; done; echo guest > "$2"\n')
    for p in (qemu, cc):
        p.chmod(p.stat().st_mode | stat.S_IEXEC)
    bb = tmp / "busybox"
    bb.write_bytes(b"bb")
    return Toolchain(tmp, tmp / "Image", bb, "6.1.0-test", str(qemu), str(cc))


def test_initramfs_holds_init_guest_and_scripts(tmp_path):
    tc = _fake_toolchain(tmp_path, "")
    guest = tmp_path / "g"
    guest.write_bytes(b"ELF")
    blob = gzip.decompress(_initramfs(tc, guest, {"S13": "scenario S13\n"}))
    assert b"ops/00-S13.ops\0" in blob and b"bin/pmulab_guest\0" in blob and b"rdinit" not in blob


def test_hang_names_scenario_and_step_and_keeps_log(tmp_path):
    out = f'echo \'{MARKER}{{"scenario":"S13","event":"begin","kernel":"6.1"}}\'\n' \
          f'echo \'{MARKER}{{"scenario":"S13","step":0,"op":"spawn","task":"T","errno":null}}\'\nsleep 30\n'
    tc = _fake_toolchain(tmp_path, out)
    with pytest.raises(OracleError, match=r"scenario S13, step 1: guest hung") as ei:
        boot(tc, [scenario("S13")], timeout=1, log_dir=tmp_path / "logs")
    assert ei.value.log and os.path.exists(ei.value.log) and "spawn" in Path(ei.value.log).read_text()


def test_panic_is_reported(tmp_path):
    out = f'echo \'{MARKER}{{"scenario":"S15","event":"begin"}}\'\necho "Kernel panic - not syncing: x"\n'
    tc = _fake_toolchain(tmp_path, out)
    with pytest.raises(OracleError, match=r"scenario S15, step 0: kernel panic"):
        boot(tc, [scenario("S15")], timeout=5, log_dir=tmp_path / "logs")


def test_guest_error_record_is_reported(tmp_path):
    out = f'echo \'{MARKER}{{"scenario":"S15","step":4,"event":"error","error":"worker died"}}\'\n'
    tc = _fake_toolchain(tmp_path, out)
    with pytest.raises(OracleError, match=r"scenario S15, step 4: guest error: worker died"):
        boot(tc, [scenario("S15")], timeout=5, log_dir=tmp_path / "logs")


def test_unknown_cpu_is_refused(tmp_path):
    tc = _fake_toolchain(tmp_path, "")
    with pytest.raises(OracleError, match="no QEMU CPU"):
        boot(tc, [scenario("S15")], pmu="v3p9", log_dir=tmp_path)
