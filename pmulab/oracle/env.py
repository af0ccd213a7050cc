"""Setting up the oracle: QEMU, the cross compiler and Debian's arm64 kernel in a cache directory.

Models: nothing of the kernel; this is the tool chain of ``/work/shared/stack/qemu-oracle.md``:
``dpkg --add-architecture arm64``, ``apt-get install qemu-system-arm gcc-aarch64-linux-gnu
libc6-dev-arm64-cross cpio``, ``apt-get download`` of the kernel that ``linux-image-arm64:arm64``
depends on and of ``busybox-static:arm64``, ``dpkg-deb -x`` of both. Every step is skipped when
its result is already there (idempotent); progress goes to ``log`` (default: stderr).
Omits: non-Debian hosts (apt is required); kernels other than the distribution's arm64 flavour.
Pinned to: Debian 12 (QEMU 7.2, kernel 6.1, gcc 12).
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["OracleError", "Toolchain", "cache_dir", "setup", "find", "qemu_available", "TOOLS", "PACKAGES"]

#: Host packages the oracle installs with apt-get.
PACKAGES = ("qemu-system-arm", "gcc-aarch64-linux-gnu", "libc6-dev-arm64-cross", "cpio")
#: Commands that must be on PATH afterwards.
TOOLS = ("qemu-system-aarch64", "aarch64-linux-gnu-gcc", "cpio", "dpkg-deb")


class OracleError(RuntimeError):
    """The oracle could not run: set-up failure, guest hang, kernel panic, bad guest output.

    ``scenario`` and ``step`` name where it happened (None when not known); ``log`` is the
    path of the kept serial log, if any.
    """

    def __init__(self, message: str, scenario: str | None = None, step: int | None = None,
                 log: str | None = None):
        where = "".join([f"scenario {scenario}" if scenario else "", f", step {step}" if step is not None else ""])
        text = f"{where}: {message}" if where else message
        if log:
            text += f" (serial log kept in {log})"
        super().__init__(text)
        self.scenario, self.step, self.log = scenario, step, log


@dataclass(frozen=True)
class Toolchain:
    """Paths of a ready oracle set-up."""

    root: Path
    kernel: Path
    busybox: Path
    kernel_release: str
    qemu: str
    cc: str

    def qemu_version(self) -> str:
        out = subprocess.run([self.qemu, "--version"], capture_output=True, text=True, check=False).stdout
        return out.splitlines()[0].strip() if out else "unknown"


def cache_dir() -> Path:
    """``$PMULAB_ORACLE_CACHE`` or ``~/.cache/pmulab-oracle``."""
    env = os.environ.get("PMULAB_ORACLE_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "pmulab-oracle"


def qemu_available() -> bool:
    return shutil.which("qemu-system-aarch64") is not None


def _run(cmd: list[str], log: Callable[[str], None], what: str, cwd: Path | None = None) -> str:
    log(f"  $ {' '.join(cmd)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, env=env, check=False)
    except FileNotFoundError as exc:
        raise OracleError(f"{what}: {exc.filename} not found (is this a Debian host with apt?)") from None
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-6:])
        hint = ""
        if any(s in tail for s in ("Temporary failure", "Could not resolve", "Failed to fetch", "Unable to fetch",
                                   "Unable to locate", "Connection failed")):
            hint = " -- the package registry is not reachable from this machine (check network/apt sources)"
        raise OracleError(f"{what} failed (exit {proc.returncode}){hint}:\n{tail}")
    return proc.stdout


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def find(root: Path | None = None) -> Toolchain | None:
    """The set-up in ``root`` if it is complete, else None (nothing is installed or downloaded)."""
    root = root or cache_dir()
    kernels = sorted(glob.glob(str(root / "kpkg" / "boot" / "vmlinuz-*")))
    busybox = root / "bb" / "bin" / "busybox"
    qemu, cc = shutil.which("qemu-system-aarch64"), shutil.which("aarch64-linux-gnu-gcc")
    if not kernels or not busybox.exists() or not qemu or not cc or not shutil.which("cpio"):
        return None
    kernel = Path(kernels[-1])
    return Toolchain(root, kernel, busybox, kernel.name.removeprefix("vmlinuz-"), qemu, cc)


def setup(root: Path | None = None, log: Callable[[str], None] | None = None) -> Toolchain:
    """Install and download what is missing (about a minute the first time, instant after)."""
    log = log or _stderr
    root = root or cache_dir()
    root.mkdir(parents=True, exist_ok=True)
    steps = 4
    log(f"[1/{steps}] host packages: {', '.join(PACKAGES)}")
    if all(shutil.which(t) for t in TOOLS):
        log("  already installed")
    else:
        if os.geteuid() != 0:
            raise OracleError(f"installing {', '.join(PACKAGES)} needs root; run as root or install them yourself")
        archs = _run(["dpkg", "--print-foreign-architectures"], log, "dpkg")
        if "arm64" not in archs.split():
            _run(["dpkg", "--add-architecture", "arm64"], log, "dpkg --add-architecture arm64")
        _run(["apt-get", "update", "-qq"], log, "apt-get update")
        _run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *PACKAGES], log, "apt-get install")
    debs = root / "debs"
    debs.mkdir(exist_ok=True)
    log(f"[2/{steps}] Debian arm64 kernel and busybox-static packages")
    if glob.glob(str(debs / "linux-image-*_arm64.deb")) and glob.glob(str(debs / "busybox-static_*_arm64.deb")):
        log("  already downloaded")
    else:
        archs = _run(["dpkg", "--print-foreign-architectures"], log, "dpkg")
        if "arm64" not in archs.split():
            raise OracleError("dpkg has no arm64 architecture: run as root once so setup can add it")
        deps = _run(["apt-cache", "depends", "linux-image-arm64:arm64"], log, "apt-cache depends")
        kpkg = next((ln.split()[1] for ln in deps.splitlines() if "Depends: linux-image-" in ln), None)
        if kpkg is None:
            raise OracleError("apt-cache knows no linux-image-arm64:arm64 (run apt-get update with arm64 enabled)")
        _run(["apt-get", "download", kpkg, "busybox-static:arm64"], log, "apt-get download", cwd=debs)
    log(f"[3/{steps}] unpack")
    for pattern, dest in (("linux-image-*_arm64.deb", "kpkg"), ("busybox-static_*_arm64.deb", "bb")):
        if (root / dest).exists():
            log(f"  {dest}/ already unpacked")
            continue
        deb = sorted(glob.glob(str(debs / pattern)))[-1]
        tmp = root / f"{dest}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        _run(["dpkg-deb", "-x", deb, str(tmp)], log, f"dpkg-deb -x {Path(deb).name}")
        tmp.rename(root / dest)
    tc = find(root)
    if tc is None:
        raise OracleError(f"set-up in {root} is incomplete after installing (no kernel image or busybox)")
    log(f"[4/{steps}] ready: kernel {tc.kernel_release}, {tc.qemu_version()}")
    return tc
