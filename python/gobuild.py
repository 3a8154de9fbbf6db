"""Compiling the unmirror CLI for a wheel, and the facts about the binary
that name the wheel: its Go module version (in PEP 440 form) and the
platform tags it satisfies. Used by hatch_build.py and the tests; it imports
nothing outside the standard library.

Version: the Go module version that ``go build -buildvcs=true`` stamps into
the binary (what ``unmirror --version`` prints), written in PEP 440 form by
:func:`pep440`. Go derives it from git: the tag ``vX.Y.Z`` on the commit, else
a pseudo-version from the commit's time and hash, with ``+dirty`` when the
tree has uncommitted changes. Go stamps it only when ``.git`` is a directory
(a clone, not a ``git worktree`` or an export); build.sh builds from a clone.

Platform tags come from the binary, not from a table: a Linux binary must be
static (no ELF interpreter, no dynamic section), so it runs on any glibc or
musl system Go supports (manylinux2014 and musllinux_1_1, both with a kernel
newer than Go's minimum 3.2); a macOS binary's tag carries the minimum macOS
version the Go linker wrote into its LC_BUILD_VERSION command (12.0 for Go 1.26).
"""

from __future__ import annotations

import os
import re
import struct
import subprocess
from typing import Dict, Tuple

MODULE = "github.com/unmirror/unmirror"
PACKAGE = MODULE + "/examples/unmirror"

# GOARCH -> the machine name in Python platform tags, per GOOS.
ARCHES = {
    "linux": {"amd64": "x86_64", "arm64": "aarch64"},
    "darwin": {"amd64": "x86_64", "arm64": "arm64"},
    "windows": {"amd64": "amd64"},
}

# Instruction-set levels pinned to the baseline of each architecture, so that
# a GOAMD64/GOARM64 in the builder's environment cannot change the binary.
ARCH_LEVEL = {"amd64": ("GOAMD64", "v1"), "arm64": ("GOARM64", "v8.0")}


def repo_root(python_dir: str) -> str:
    """The Go module root: the parent of python/."""
    root = os.path.dirname(os.path.abspath(python_dir))
    gomod = os.path.join(root, "go.mod")
    try:
        with open(gomod, encoding="utf-8") as f:
            first = f.readline().split()
    except FileNotFoundError:
        raise RuntimeError(f"unmirror wheel: no {gomod}: the wheel is built from a clone of the "
                           "repository (python/build.sh), not from python/ alone or an sdist") from None
    if first != ["module", MODULE]:
        raise RuntimeError(f"unmirror wheel: {gomod} is not the module {MODULE}")
    return root


def target() -> Tuple[str, str]:
    """(GOOS, GOARCH) of the wheel to build: UNMIRROR_TARGET or the host's."""
    spec = os.environ.get("UNMIRROR_TARGET", "")
    if not spec:
        out = subprocess.run(["go", "env", "GOOS", "GOARCH"], check=True,
                             capture_output=True, text=True).stdout.split()
        spec = "/".join(out)
    goos, _, goarch = spec.partition("/")
    if goarch not in ARCHES.get(goos, {}):
        supported = ", ".join(f"{o}/{a}" for o, m in ARCHES.items() for a in m)
        raise RuntimeError(f"unmirror wheel: UNMIRROR_TARGET={spec!r}: not one of {supported}")
    return goos, goarch


def go_build(root: str, goos: str, goarch: str, out_dir: str) -> str:
    """Compiles the CLI for goos/goarch into out_dir and returns its path.

    The flags make the binary depend only on the source tree, the commit and
    the Go toolchain: no cgo, paths trimmed, VCS stamping on (the version),
    no symbol table or DWARF (smaller; panics still print stack traces).
    """
    name = "unmirror.exe" if goos == "windows" else "unmirror"
    out = os.path.join(out_dir, name)
    level_var, level = ARCH_LEVEL[goarch]
    env = dict(os.environ, CGO_ENABLED="0", GOOS=goos, GOARCH=goarch,
               GOFLAGS="-mod=readonly", **{level_var: level})
    for var in ("GOEXPERIMENT", "GOAMD64", "GOARM64"):
        if var != level_var:
            env.pop(var, None)
    subprocess.run(["go", "build", "-trimpath", "-buildvcs=true", "-ldflags=-s -w",
                    "-o", out, "./examples/unmirror"], cwd=root, env=env, check=True)
    return out


def build_info(binary: str) -> Dict[str, str]:
    """The binary's Go build information (``go version -m``): "mod" is the
    main module's version, the "build" settings are keyed by name."""
    text = subprocess.run(["go", "version", "-m", binary], check=True,
                          capture_output=True, text=True).stdout
    info: Dict[str, str] = {}
    for line in text.splitlines():
        fields = line.strip().split("\t")
        if len(fields) >= 3 and fields[0] == "mod" and fields[1] == MODULE:
            info["mod"] = fields[2]
        elif len(fields) == 2 and fields[0] == "build" and "=" in fields[1]:
            key, _, value = fields[1].partition("=")
            info[key] = value
    return info


_PSEUDO = re.compile(r"^(?P<pre>.*?)\.?(?P<ts>\d{14})-(?P<rev>[0-9a-f]{12})$")
_PRE = re.compile(r"^(?P<kind>alpha|beta|rc|a|b)\.?(?P<n>\d+)$")


def pep440(go_version: str) -> str:
    """Writes a Go module version in PEP 440 form.

    vX.Y.Z                          -> X.Y.Z
    vX.Y.Z-rc.N (alpha, beta)       -> X.Y.ZrcN (aN, bN)
    vX.Y.Z-TS-REV   (no tag before) -> X.Y.Z.devTS+gREV
    vX.Y.Z-0.TS-REV (after a tag)   -> X.Y.Z.devTS+gREV
    vX.Y.Z-PRE.0.TS-REV             -> X.Y.ZPRE.post0.devTS+gREV
    a "+dirty" suffix adds ".dirty" to the local label.

    The pseudo-versions sort as Go sorts them (a dev release of X.Y.Z comes
    before X.Y.Z). Anything else ("(devel)", "+incompatible") is an error.
    """
    m = re.match(r"^v(\d+\.\d+\.\d+)(?:-([0-9A-Za-z.-]+))?(?:\+(dirty))?$", go_version)
    if not m:
        raise ValueError(f"unmirror wheel: Go module version {go_version!r} has no PEP 440 form"
                         " (go build stamps a version only in a git clone: .git must be a directory)")
    base, suffix, dirty = m.group(1), m.group(2), m.group(3)
    local = []
    if suffix is None:
        version = base
    else:
        pseudo = _PSEUDO.match(suffix)
        if pseudo:
            pre = pseudo.group("pre")
            version = f"{base}.dev{pseudo.group('ts')}"
            if pre not in ("", "0"):
                if not pre.endswith(".0"):
                    raise ValueError(f"unmirror wheel: malformed pseudo-version {go_version!r}")
                version = f"{base}{_pre(pre[:-2], go_version)}.post0.dev{pseudo.group('ts')}"
            local.append("g" + pseudo.group("rev"))
        else:
            version = base + _pre(suffix, go_version)
    if dirty:
        local.append("dirty")
    return version + ("+" + ".".join(local) if local else "")


def _pre(pre: str, go_version: str) -> str:
    m = _PRE.match(pre)
    if not m:
        raise ValueError(f"unmirror wheel: pre-release {pre!r} of {go_version!r} has no PEP 440 form")
    kind = {"alpha": "a", "beta": "b"}.get(m.group("kind"), m.group("kind"))
    return f"{kind}{int(m.group('n'))}"


def elf_is_static(binary: str) -> bool:
    """Reports whether a 64-bit little-endian ELF file has neither a program
    interpreter (PT_INTERP) nor a dynamic section (PT_DYNAMIC)."""
    with open(binary, "rb") as f:
        head = f.read(64)
        if head[:4] != b"\x7fELF" or head[4] != 2 or head[5] != 1:
            raise ValueError(f"unmirror wheel: {binary} is not a 64-bit little-endian ELF file")
        phoff, = struct.unpack_from("<Q", head, 32)
        phentsize, phnum = struct.unpack_from("<HH", head, 54)
        f.seek(phoff)
        table = f.read(phentsize * phnum)
    types = {struct.unpack_from("<I", table, i * phentsize)[0] for i in range(phnum)}
    return not types & {2, 3}


def macho_min_os(binary: str) -> Tuple[int, int]:
    """The minimum macOS version (major, minor) in a 64-bit Mach-O file's
    LC_BUILD_VERSION (or LC_VERSION_MIN_MACOSX) load command."""
    with open(binary, "rb") as f:
        head = f.read(32)
        magic, _, _, _, ncmds, sizeofcmds = struct.unpack_from("<IiiIII", head)
        if magic != 0xFEEDFACF:
            raise ValueError(f"unmirror wheel: {binary} is not a 64-bit little-endian Mach-O file")
        cmds = f.read(sizeofcmds)
    off = 0
    for _ in range(ncmds):
        cmd, size = struct.unpack_from("<II", cmds, off)
        if cmd == 0x32:  # LC_BUILD_VERSION: platform, minos, sdk, ntools
            packed, = struct.unpack_from("<I", cmds, off + 12)
            return packed >> 16, (packed >> 8) & 0xFF
        if cmd == 0x24:  # LC_VERSION_MIN_MACOSX: version, sdk
            packed, = struct.unpack_from("<I", cmds, off + 8)
            return packed >> 16, (packed >> 8) & 0xFF
        off += size
    raise ValueError(f"unmirror wheel: {binary} names no minimum macOS version")


def platform_tag(binary: str, goos: str, goarch: str) -> str:
    """The wheel platform tag(s) the binary satisfies (see the module doc)."""
    arch = ARCHES[goos][goarch]
    if goos == "linux":
        if not elf_is_static(binary):
            raise RuntimeError(f"unmirror wheel: {binary} is dynamically linked; it needs CGO_ENABLED=0")
        return f"manylinux_2_17_{arch}.manylinux2014_{arch}.musllinux_1_1_{arch}"
    if goos == "darwin":
        major, minor = macho_min_os(binary)
        # Since macOS 11, pip only looks for tags with minor version 0.
        return f"macosx_{major}_{minor if major < 11 else 0}_{arch}"
    return f"win_{arch}"
