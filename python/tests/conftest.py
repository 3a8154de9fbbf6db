"""Shared fixtures for the tests of the unmirror wheel (python/test.sh runs
them in a fresh venv where the host's wheel was installed offline)."""

from __future__ import annotations

import json
import os
import pathlib
import sys
from typing import Any, Dict, List

import pytest

PYTHON_DIR = pathlib.Path(__file__).resolve().parent.parent
REPO = PYTHON_DIR.parent
MODELS = REPO / "testdata" / "models"
MANIFEST = MODELS / "manifest.json"

# gobuild.py (build-time helpers: version and tag rules) is not in the wheel.
sys.path.insert(0, str(PYTHON_DIR))


@pytest.fixture(scope="session")
def manifest() -> Dict[str, Dict[str, Any]]:
    """The fixture corpus manifest, by fixture name."""
    with open(MANIFEST, encoding="utf-8") as f:
        return {fx["name"]: fx for fx in json.load(f)["fixtures"]}


@pytest.fixture(scope="session")
def wheels() -> List[pathlib.Path]:
    """The wheels built by build.sh (UNMIRROR_WHEELS, default python/dist)."""
    d = pathlib.Path(os.environ.get("UNMIRROR_WHEELS", PYTHON_DIR / "dist"))
    found = sorted(d.glob("unmirror-*.whl"))
    assert found, f"no unmirror-*.whl in {d}: run python/build.sh first"
    return found


@pytest.fixture(scope="session")
def tf_python() -> str:
    """The python of the TensorFlow venv (testdata/tf/setup.sh prints it)."""
    py = os.environ.get("UNMIRROR_TF_PYTHON", "")
    assert py and os.path.isfile(py), (
        "set UNMIRROR_TF_PYTHON to the TensorFlow venv's python (bash testdata/tf/setup.sh | tail -n 1)")
    return py
