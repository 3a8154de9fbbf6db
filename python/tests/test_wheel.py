"""The wheels in python/dist: names, tags and metadata as the packaging
library reads them, the RECORD, the binary inside, and the Python sources."""

from __future__ import annotations

import ast
import base64
import csv
import hashlib
import io
import pathlib
import stat
import zipfile
from typing import Dict, List, Tuple

import pytest
from packaging.metadata import Metadata
from packaging.tags import Tag, parse_tag, sys_tags
from packaging.utils import parse_wheel_filename
from packaging.version import Version

import gobuild

# The tag families each platform's wheel must carry (GOOS/GOARCH as the
# binary itself reports them), and the number of wheels build.sh makes.
EXPECTED_PLATFORMS = {
    ("linux", "amd64"): {"manylinux2014_x86_64", "manylinux_2_17_x86_64", "musllinux_1_1_x86_64"},
    ("linux", "arm64"): {"manylinux2014_aarch64", "manylinux_2_17_aarch64", "musllinux_1_1_aarch64"},
    ("darwin", "amd64"): {"macosx_12_0_x86_64"},
    ("darwin", "arm64"): {"macosx_12_0_arm64"},
    ("windows", "amd64"): {"win_amd64"},
}


def _binary(z: zipfile.ZipFile, dist: str) -> zipfile.ZipInfo:
    scripts = [i for i in z.infolist() if i.filename.startswith(f"{dist}.data/scripts/")]
    assert len(scripts) == 1, [i.filename for i in scripts]
    return scripts[0]


def _extract_binary(whl: pathlib.Path, tmp: pathlib.Path) -> Tuple[pathlib.Path, Dict[str, str]]:
    name, version, _, _ = parse_wheel_filename(whl.name)
    with zipfile.ZipFile(whl) as z:
        info = _binary(z, f"{name}-{version}")
        out = tmp / pathlib.PurePosixPath(info.filename).name
        out.write_bytes(z.read(info))
    return out, gobuild.build_info(str(out))


def test_one_wheel_per_platform(wheels: List[pathlib.Path], tmp_path: pathlib.Path) -> None:
    if len(wheels) == 1:
        pytest.skip("only the host wheel was built (build.sh --host)")
    seen = []
    for whl in wheels:
        _, info = _extract_binary(whl, tmp_path)
        seen.append((info["GOOS"], info["GOARCH"]))
    assert sorted(seen) == sorted(EXPECTED_PLATFORMS)


def test_wheel_names_tags_and_binary(wheels: List[pathlib.Path], tmp_path: pathlib.Path) -> None:
    for whl in wheels:
        name, version, build, tags = parse_wheel_filename(whl.name)
        binary, info = _extract_binary(whl, tmp_path)
        # The version is the Go module version stamped into this binary.
        assert str(name) == "unmirror" and build == ()
        assert version == Version(gobuild.pep440(info["mod"])), (whl.name, info["mod"])
        # The binary: no cgo, trimmed paths, VCS-stamped, this module's CLI.
        assert info["CGO_ENABLED"] == "0" and info["-trimpath"] == "true", info
        assert info["vcs"] == "git" and info["vcs.revision"], info
        platforms = {t.platform for t in tags}
        assert {t.interpreter for t in tags} == {"py3"} and {t.abi for t in tags} == {"none"}
        assert platforms == EXPECTED_PLATFORMS[(info["GOOS"], info["GOARCH"])], whl.name
        if info["GOOS"] == "linux":
            assert gobuild.elf_is_static(str(binary))
        if info["GOOS"] == "darwin":
            assert gobuild.macho_min_os(str(binary)) == (12, 0)
        assert binary.name == ("unmirror.exe" if info["GOOS"] == "windows" else "unmirror")

        with zipfile.ZipFile(whl) as z:
            dist_info = f"unmirror-{version}.dist-info"
            wheel_file = z.read(f"{dist_info}/WHEEL").decode()
            lines = [ln.split(": ", 1) for ln in wheel_file.splitlines() if ln]
            assert ["Root-Is-Purelib", "false"] in lines
            assert {t for k, v in lines if k == "Tag" for t in parse_tag(v)} == set(tags)
            # The script is executable once installed.
            mode = _binary(z, f"unmirror-{version}").external_attr >> 16
            assert stat.S_IMODE(mode) == 0o755, oct(mode)


def test_metadata(wheels: List[pathlib.Path]) -> None:
    for whl in wheels:
        _, version, _, _ = parse_wheel_filename(whl.name)
        with zipfile.ZipFile(whl) as z:
            raw = z.read(f"unmirror-{version}.dist-info/METADATA")
        meta = Metadata.from_email(raw, validate=True)
        assert meta.name == "unmirror"
        assert meta.version == version
        assert meta.requires_dist is None  # installs offline with nothing else
        assert meta.requires_python is not None and meta.requires_python.contains("3.9")
        assert meta.license_expression == "Apache-2.0"
        assert meta.summary and "TensorFlow" in meta.summary


def test_record_lists_every_file_with_its_hash(wheels: List[pathlib.Path]) -> None:
    for whl in wheels:
        _, version, _, _ = parse_wheel_filename(whl.name)
        record_name = f"unmirror-{version}.dist-info/RECORD"
        with zipfile.ZipFile(whl) as z:
            rows = list(csv.reader(io.StringIO(z.read(record_name).decode())))
            names = set(z.namelist())
            assert {r[0] for r in rows} == names, whl.name
            for path, digest, size in rows:
                if path == record_name:
                    assert digest == "" and size == ""
                    continue
                data = z.read(path)
                want = "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
                assert (digest, int(size)) == (want, len(data)), path


def test_python_sources_import_no_tensorflow_and_parse_as_3_9(wheels: List[pathlib.Path]) -> None:
    for whl in wheels:
        with zipfile.ZipFile(whl) as z:
            sources = {n: z.read(n).decode() for n in z.namelist() if n.endswith(".py")}
        assert "unmirror/__init__.py" in sources
        for name, src in sources.items():
            tree = ast.parse(src, name, feature_version=(3, 9))  # requires-python
            for node in ast.walk(tree):
                mods = []
                if isinstance(node, ast.Import):
                    mods = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom):
                    mods = [node.module or ""]
                assert not any(m.split(".")[0] in ("tensorflow", "tf_keras", "keras") for m in mods), (name, mods)
            # nor by name (importlib.import_module("tensorflow"), __import__)
            assert "'tensorflow" not in src and '"tensorflow' not in src, name


def test_host_wheel_installs_here(wheels: List[pathlib.Path]) -> None:
    supported = set(sys_tags())
    assert [w for w in wheels if set(parse_wheel_filename(w.name)[3]) & supported], (
        "no wheel in dist is installable on this interpreter", [w.name for w in wheels])


@pytest.mark.parametrize("go_version,want", [
    ("v1.2.3", "1.2.3"),
    ("v1.2.3-rc.1", "1.2.3rc1"),
    ("v1.2.3-beta.2", "1.2.3b2"),
    ("v0.0.0-20261126053357-eee64aa7ca3c", "0.0.0.dev20261126053357+geee64aa7ca3c"),
    ("v0.0.0-20261126053357-eee64aa7ca3c+dirty", "0.0.0.dev20261126053357+geee64aa7ca3c.dirty"),
    ("v1.2.4-0.20261126053357-eee64aa7ca3c", "1.2.4.dev20261126053357+geee64aa7ca3c"),
    ("v1.2.3-rc.1.0.20261126053357-eee64aa7ca3c", "1.2.3rc1.post0.dev20261126053357+geee64aa7ca3c"),
    ("v1.2.3+dirty", "1.2.3+dirty"),
])
def test_pep440(go_version: str, want: str) -> None:
    assert gobuild.pep440(go_version) == want
    assert str(Version(want)) == want


def test_pep440_keeps_go_order() -> None:
    # Go's order: v1.2.3 < v1.2.4-0.TS-REV (a commit after v1.2.3) < v1.2.4-rc.1
    # < v1.2.4-rc.1.0.TS-REV (a commit after rc.1) < v1.2.4.
    ordered = ["v1.2.3", "v1.2.4-0.20261126053357-eee64aa7ca3c", "v1.2.4-rc.1",
               "v1.2.4-rc.1.0.20261126053357-eee64aa7ca3c", "v1.2.4"]
    versions = [Version(gobuild.pep440(v)) for v in ordered]
    assert versions == sorted(versions)


@pytest.mark.parametrize("go_version", ["(devel)", "devel", "v1.2.3-foo", "v2.0.0+incompatible", ""])
def test_pep440_refuses(go_version: str) -> None:
    with pytest.raises(ValueError):
        gobuild.pep440(go_version)
