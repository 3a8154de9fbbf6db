"""The installed wheel: the ``unmirror`` command on PATH and
``python -m unmirror`` run the wheel's binary with the same flags and exit
codes."""

from __future__ import annotations

import hashlib
import os
import pathlib
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from importlib.metadata import distribution
from typing import List

from packaging.tags import sys_tags
from packaging.utils import parse_wheel_filename
from packaging.version import Version

import gobuild
import unmirror
from conftest import MODELS


def installed_wheel(wheels: List[pathlib.Path]) -> pathlib.Path:
    supported = set(sys_tags())
    host = [w for w in wheels if set(parse_wheel_filename(w.name)[3]) & supported]
    assert len(host) == 1, [w.name for w in wheels]
    return host[0]


def test_command_on_path_is_the_wheels_binary(wheels: List[pathlib.Path]) -> None:
    scripts = sysconfig.get_path("scripts")
    on_path = shutil.which("unmirror", path=scripts + os.pathsep + os.environ.get("PATH", ""))
    assert on_path is not None and os.path.dirname(on_path) == scripts
    assert unmirror.find_binary() == on_path
    whl = installed_wheel(wheels)
    _, version, _, _ = parse_wheel_filename(whl.name)
    with zipfile.ZipFile(whl) as z:
        packed = z.read(f"unmirror-{version}.data/scripts/{os.path.basename(on_path)}")
    assert hashlib.sha256(pathlib.Path(on_path).read_bytes()).digest() == hashlib.sha256(packed).digest()
    # The distribution that was installed is that wheel, with no dependencies.
    dist = distribution("unmirror")
    assert Version(dist.version) == version and not dist.requires
    assert unmirror.__version__ == dist.version


def run(argv: List[str]) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True)


def test_python_m_unmirror_is_the_same_tool() -> None:
    exe = unmirror.find_binary()
    for args, code in [(["--version"], 0), (["rewrite", "-h"], 0), (["passes"], 0),
                       (["verify", "--target", "tpu", str(MODELS / "plain")], 2),
                       (["verify", str(MODELS / "mirrored_expand")], 1),
                       (["inspect", str(MODELS / "no-such-model")], 3)]:
        direct = run([exe, *args])
        module = run([sys.executable, "-m", "unmirror", *args])
        assert direct.returncode == code, (args, direct.stderr)
        assert (module.returncode, module.stdout, module.stderr) == (direct.returncode, direct.stdout, direct.stderr), args


def test_version_is_the_go_module_version() -> None:
    out = run([unmirror.find_binary(), "--version"]).stdout.split()
    assert out[0] == "unmirror"
    assert gobuild.pep440(out[1]) == unmirror.__version__
    assert gobuild.build_info(unmirror.find_binary())["mod"] == out[1]


def test_installed_package_is_typed(tmp_path: pathlib.Path) -> None:
    """mypy --strict accepts the package as installed (py.typed ships), and
    sees its types from user code: a wrong use is reported, not Any."""
    pkg = pathlib.Path(unmirror.__file__).parent
    assert (pkg / "py.typed").is_file()
    user = tmp_path / "user.py"
    user.write_text(
        "import pathlib\n"
        "import unmirror\n"
        "report: unmirror.Report = unmirror.rewrite(pathlib.Path('m'), 'out', passes=['devices'])\n"
        "ok: bool = unmirror.verify('out', target='gpu').ok\n"
        "wrong: int = unmirror.inspect('m').model\n")
    mypy = [sys.executable, "-m", "mypy", "--strict", "--python-version", "3.9",
            "--cache-dir", str(tmp_path / "cache")]
    pkg_check = run([*mypy, "-p", "unmirror"])
    assert pkg_check.returncode == 0, pkg_check.stdout
    user_check = run([*mypy, str(user)])
    errors = [ln for ln in user_check.stdout.splitlines() if ": error:" in ln]
    assert len(errors) == 1 and "user.py:5:" in errors[0] and 'type "str"' in errors[0], user_check.stdout


def test_works_without_go(tmp_path: pathlib.Path) -> None:
    """The two lines of the README, with nothing but the venv on PATH: no Go
    toolchain, no repository tools."""
    scripts = sysconfig.get_path("scripts")
    env = {"PATH": scripts, "HOME": str(tmp_path)}
    assert shutil.which("go", path=scripts) is None
    code = ("import unmirror\n"
            f"unmirror.rewrite({str(MODELS / 'mirrored_expand')!r}, {str(tmp_path / 'out')!r})\n")
    proc = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert unmirror.verify(tmp_path / "out").ok
