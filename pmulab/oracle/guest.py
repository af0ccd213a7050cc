"""The guest side: an operation list compiled for oracle/guest/pmulab_guest.c, the initramfs, the boot.

Models: nothing; it drives real Linux. ``compile_script`` turns an ``OpList`` into the guest's
line format (one step a line, ``key=value`` tokens, the attr as the hex of the 136-byte
``struct perf_event_attr`` that pmulab.uapi lays out, so the guest never parses attrs).
``boot`` packs busybox, the static guest and the scripts into a gzip newc initramfs, boots
QEMU (``-M virt``, PL011 console, ``-icount shift=0`` so INST_RETIRED exists and counts are
exact), and parses the marker lines of the serial log.
Omits: networking, disks, KVM (the host is x86_64: TCG only).
Pinned to: QEMU 7.2, Debian's arm64 6.1 kernel, the guest's protocol (marker "@@PMULAB@@ ").
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from pmulab.sim.ops import TICK_MS, OpList, ioctl_request

from .env import OracleError, Toolchain

__all__ = ["MARKER", "QEMU_CPU", "guest_source", "compile_script", "build_guest", "boot", "parse_log"]

MARKER = "@@PMULAB@@ "
#: pmulab ``pmu=`` -> QEMU ``-cpu`` (qemu-oracle.md: cortex-a72 has no 64-bit event counters).
QEMU_CPU = {"v3p4": "cortex-a72", "v3p5": "max,pauth-impdef=on"}
_BOOT_TIMEOUT_S = 60
_INIT = """#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
echo "@@PMULAB@@ {\\"event\\":\\"boot\\",\\"cpu_part\\":\\"$(grep -m1 'CPU part' /proc/cpuinfo | sed 's/.*: //')\\"}"
for f in /ops/*.ops; do /bin/pmulab_guest "$f"; done
echo "@@PMULAB@@ {\\"event\\":\\"done\\"}"
poweroff -f
"""


def guest_source() -> Path:
    """oracle/guest/pmulab_guest.c of the source tree (the oracle runs from a checkout)."""
    here = Path(__file__).resolve().parents[2] / "oracle" / "guest" / "pmulab_guest.c"
    if not here.exists():
        raise OracleError(f"guest source {here} not found (pmulab.oracle needs the repository checkout)")
    return here


def _pid_token(pid: Any) -> str:
    if pid == "self":
        return "0"
    if isinstance(pid, str):
        return f"@{pid}"
    return str(pid)


def compile_script(oplist: OpList) -> str:
    """The guest script of ``oplist`` (header sysctls first, as step -1)."""
    from pmulab.uapi import PerfEventAttr

    lines = [f"scenario {oplist.name}", f"slots {len(oplist.tasks)}"]
    for name, value in oplist.sysctl.items():
        lines.append(f"-1 sysctl name={name} value={value}")
    slots = {name: k for k, name in enumerate(oplist.tasks)}
    cpu_of: dict[str, int] = {}
    for i, s in enumerate(oplist.steps):
        op = s["op"]
        toks = [str(i), op]
        if "task" in s:
            toks.append(f"task={s['task']}")
        if op == "spawn":
            cpu_of[s["task"]] = s["cpu"]
            toks += [f"slot={slots[s['task']]}", f"uid={s['uid']}", f"cpu={s['cpu']}"]
        elif op == "open":
            attr = PerfEventAttr(**s["attr"]).to_bytes().hex()
            toks += [f"ev={s['ev']}", f"pid={_pid_token(s['pid'])}", f"cpu={s['cpu']}",
                     f"group={s['group'] or '-'}", f"flags={s['flags']}", f"attr={attr}"]
        elif op == "ioctl":
            req = ioctl_request(s["request"])
            argp = int(s["request"].removeprefix("PERF_EVENT_IOC_") in ("PERIOD", "ID"))
            toks += [f"ev={s['ev']}", f"req={req}", f"arg={s['arg']}", f"argp={argp}"]
        elif op == "mmap":
            toks += [f"ev={s['ev']}", f"pages={s['pages']}", f"write={int(s['write'])}"]
        elif op == "read_self":
            toks += [f"ev={s['ev']}"] + ([f"prelude={','.join(s['prelude'])}"] if s["prelude"] else [])
        elif "ev" in s:
            toks.append(f"ev={s['ev']}")
        elif op == "mrs":
            toks.append(f"reg={s['reg']}")
        elif op == "msr":
            toks += [f"reg={s['reg']}", f"value={s['value']}"]
        elif op == "fork":
            cpu = cpu_of[s["task"]] if s["cpu"] is None else s["cpu"]
            cpu_of[s["child"]] = cpu
            toks += [f"child={s['child']}", f"slot={slots[s['child']]}", f"cpu={cpu}"]
        elif op in ("switch", "migrate"):
            if op == "migrate":
                cpu_of[s["task"]] = s["cpu"]
            toks.append(f"cpu={s['cpu']}")
        elif op == "sysctl":
            toks += [f"name={s['name']}", f"value={s['value']}"]
        elif op == "run":
            toks.append(f"ms={s['ticks'] * TICK_MS}")
        lines.append(" ".join(toks))
    return "\n".join(lines) + "\n"


def build_guest(tc: Toolchain) -> Path:
    """Compile the guest statically (cached by the source's hash)."""
    src = guest_source()
    digest = hashlib.sha256(src.read_bytes()).hexdigest()[:16]
    out = tc.root / "build" / f"pmulab_guest-{digest}"
    if out.exists():
        return out
    out.parent.mkdir(exist_ok=True)
    proc = subprocess.run([tc.cc, "-static", "-O1", "-Wall", "-o", str(out) + ".tmp", str(src)],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise OracleError(f"building the guest failed:\n{proc.stderr.strip()}")
    os.replace(str(out) + ".tmp", out)
    return out


def _cpio_newc(entries: list[tuple[str, int, bytes]]) -> bytes:
    """A newc cpio archive (name, mode, data); directories have empty data."""
    out = bytearray()
    for ino, (name, mode, data) in enumerate([*entries, ("TRAILER!!!", 0, b"")], start=1):
        nb = name.encode() + b"\0"
        hdr = "070701" + "".join(f"{v:08x}" for v in (ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(nb), 0))
        out += hdr.encode() + nb
        out += b"\0" * (-len(out) % 4)
        out += data
        out += b"\0" * (-len(out) % 4)
    return bytes(out)


def _initramfs(tc: Toolchain, guest: Path, scripts: dict[str, str]) -> bytes:
    d, f, x = 0o040755, 0o100644, 0o100755
    entries = [(p, d, b"") for p in ("bin", "proc", "sys", "dev", "ops", "sbin", "usr", "usr/bin", "usr/sbin")]
    entries += [("init", x, _INIT.encode()), ("bin/busybox", x, tc.busybox.read_bytes()),
                ("bin/pmulab_guest", x, guest.read_bytes())]
    entries += [(f"ops/{k:02d}-{name}.ops", f, text.encode()) for k, (name, text) in enumerate(scripts.items())]
    return gzip.compress(_cpio_newc(entries), compresslevel=1)


def _run_qemu(cmd: list[str], timeout: float) -> tuple[str, bool]:
    """Run QEMU in its own process group; on timeout kill the group. Returns (serial output, hung)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
        return out.decode(errors="replace"), False
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        return out.decode(errors="replace"), True


def parse_log(text: str) -> list[dict[str, Any]]:
    """The JSON records of the marker lines of a serial log (other lines ignored)."""
    records = []
    for line in text.splitlines():
        k = line.find(MARKER)
        if k < 0:
            continue
        body = line[k + len(MARKER):].strip()
        try:
            records.append(json.loads(body))
        except json.JSONDecodeError:
            raise OracleError(f"unparsable guest output line: {body[:200]!r}") from None
    return records


def boot(tc: Toolchain, oplists: list[OpList], *, pmu: str = "v3p4", cpus: int = 1,
         timeout: float = _BOOT_TIMEOUT_S, log_dir: Path | None = None) -> dict[str, Any]:
    """Boot once with ``oplists`` (run in order) and return ``{"records": {name: [...]}, "meta": {...}}``.

    Raises OracleError naming the scenario and step on a hang (``timeout`` seconds for the whole
    boot), a kernel panic, or a guest error; the serial log is kept in ``log_dir``.
    """
    if pmu not in QEMU_CPU:
        raise OracleError(f"no QEMU CPU for pmu={pmu!r} (known: {', '.join(QEMU_CPU)})")
    guest = build_guest(tc)
    scripts = {o.name: compile_script(o) for o in oplists}
    log_dir = log_dir or (tc.root / "logs")
    log_dir.mkdir(parents=True, exist_ok=True)
    label = "+".join(o.name for o in oplists)[:80]
    log_path = log_dir / f"{label}.log"
    with tempfile.TemporaryDirectory(prefix="pmulab-oracle-") as tmp:
        initrd = Path(tmp) / "initrd.gz"
        initrd.write_bytes(_initramfs(tc, guest, scripts))
        cmd = [tc.qemu, "-M", "virt", "-cpu", QEMU_CPU[pmu], "-smp", str(cpus), "-m", "512", "-nographic",
               "-no-reboot", "-nic", "none", "-icount", "shift=0", "-kernel", str(tc.kernel), "-initrd", str(initrd),
               "-append", "console=ttyAMA0 rdinit=/init quiet panic=-1"]
        t0 = time.monotonic()
        out, hung = _run_qemu(cmd, timeout)
        seconds = time.monotonic() - t0
    log_path.write_text(out)
    records = parse_log(out)
    by_name: dict[str, list] = {o.name: [] for o in oplists}
    meta: dict[str, Any] = {"qemu_cpu": QEMU_CPU[pmu], "smp": cpus, "boot_seconds": round(seconds, 1),
                            "qemu": tc.qemu_version(), "log": str(log_path)}
    current = None
    for r in records:
        if r.get("event") == "boot":
            meta["cpu_part"] = r.get("cpu_part")
        elif r.get("event") == "begin":
            current = r["scenario"]
            meta["kernel"] = r.get("kernel")
            meta["ncpus"] = r.get("ncpus")
        elif r.get("event") in ("error", "fatal"):
            raise OracleError(f"guest error: {r.get('error')}", r.get("scenario", current), r.get("step"),
                              str(log_path))
        elif "step" in r and r["step"] >= 0 and r.get("scenario") in by_name:
            by_name[r["scenario"]].append(r)
    last = current
    nxt = None
    if last in by_name:
        nxt = by_name[last][-1]["step"] + 1 if by_name[last] else 0
    if re.search(r"Kernel panic|Internal error: Oops|BUG: ", out):
        raise OracleError("kernel panic/oops in the guest", last, nxt, str(log_path))
    if hung:
        raise OracleError(f"guest hung (no power-off within {timeout:.0f} s)", last, nxt, str(log_path))
    if not any(r.get("event") == "done" for r in records):
        raise OracleError("guest stopped before finishing", last, nxt, str(log_path))
    for o in oplists:
        if len(by_name[o.name]) != len(o.steps):
            raise OracleError(f"guest reported {len(by_name[o.name])} of {len(o.steps)} steps", o.name,
                              len(by_name[o.name]), str(log_path))
    return {"records": by_name, "meta": meta}


def clean_logs(log_dir: Path) -> None:
    shutil.rmtree(log_dir, ignore_errors=True)
