"""The same commit gives byte-identical wheels: build.sh run again, from
another clone path and with an empty Go build cache (every package compiled
again), writes the same bytes as the wheels in python/dist."""

from __future__ import annotations

import hashlib
import os
import pathlib
import shutil
import subprocess
from typing import Dict, List

from conftest import PYTHON_DIR


def digests(paths: List[pathlib.Path]) -> Dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


def test_build_twice_gives_identical_wheels(wheels: List[pathlib.Path], tmp_path: pathlib.Path) -> None:
    args = [str(PYTHON_DIR / "build.sh"), "--out", str(tmp_path / "dist")]
    if len(wheels) == 1:
        args.append("--host")
    env = dict(os.environ, GOCACHE=str(tmp_path / "gocache"))
    try:
        subprocess.run(args, check=True, env=env, stdout=subprocess.DEVNULL)
    finally:
        shutil.rmtree(tmp_path / "gocache", ignore_errors=True)  # hundreds of MiB
    again = sorted((tmp_path / "dist").glob("unmirror-*.whl"))
    assert digests(again) == digests(wheels)
