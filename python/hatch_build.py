"""Hatchling hooks that put the Go command-line tool into the unmirror wheel.

The wheel for one platform holds the package ``unmirror`` (pure Python) and
the tool, compiled by ``go build`` from this repository with CGO disabled,
installed as a script (``unmirror-VERSION.data/scripts/unmirror``), so pip
puts it on PATH.

The target platform is ``UNMIRROR_TARGET`` (``GOOS/GOARCH``: ``linux/amd64``,
``linux/arm64``, ``darwin/amd64``, ``darwin/arm64``, ``windows/amd64``); the
host's when unset. python/build.sh sets it for each wheel. The version and
the platform tag come from the binary (gobuild.py says how).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from typing import Any, Dict, Optional, Tuple

from hatchling.builders.hooks.plugin.interface import BuildHookInterface
from hatchling.metadata.plugin.interface import MetadataHookInterface

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gobuild import build_info, go_build, pep440, platform_tag, repo_root, target  # noqa: E402


def _built(python_dir: str) -> Tuple[str, str, str, str, Dict[str, str]]:
    """Builds the binary for the selected target into a new temporary
    directory; returns (directory, binary, GOOS, GOARCH, build info)."""
    goos, goarch = target()
    tmp = tempfile.mkdtemp(prefix="unmirror-wheel-")
    try:
        binary = go_build(repo_root(python_dir), goos, goarch, tmp)
        info = build_info(binary)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if (info.get("GOOS"), info.get("GOARCH"), info.get("CGO_ENABLED")) != (goos, goarch, "0"):
        shutil.rmtree(tmp, ignore_errors=True)
        raise RuntimeError(f"unmirror wheel: {binary} was built as {info}, not {goos}/{goarch} without cgo")
    return tmp, binary, goos, goarch, info


class CustomMetadataHook(MetadataHookInterface):
    """Sets the version to the binary's Go module version (PEP 440 form)."""

    def update(self, metadata: Dict[str, Any]) -> None:
        tmp, _, _, _, info = _built(self.root)
        shutil.rmtree(tmp, ignore_errors=True)
        metadata["version"] = pep440(info.get("mod", "(devel)"))


class CustomBuildHook(BuildHookInterface):
    """Adds the binary as a script and tags the wheel for its platform."""

    _tmp: Optional[str] = None

    def initialize(self, version: str, build_data: Dict[str, Any]) -> None:
        if self.target_name != "wheel":
            return
        if version == "editable":
            raise RuntimeError("unmirror wheel: editable installs are not supported (the wheel holds a compiled binary)")
        self._tmp, binary, goos, goarch, info = _built(self.root)
        stamped = pep440(info.get("mod", "(devel)"))
        if stamped != self.metadata.version:
            raise RuntimeError(f"unmirror wheel: the binary says version {stamped}, the metadata {self.metadata.version}")
        build_data["pure_python"] = False
        build_data["tag"] = "py3-none-" + platform_tag(binary, goos, goarch)
        build_data["shared_scripts"][binary] = os.path.basename(binary)

    def finalize(self, version: str, build_data: Dict[str, Any], artifact_path: str) -> None:
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)
