"""``python -m unmirror ARGS`` runs the ``unmirror`` tool with ARGS: the
same executable, flags, output and exit code."""

from __future__ import annotations

import os
import subprocess
import sys

from ._binary import find_binary


def main() -> None:
    binary = find_binary()
    if sys.platform == "win32":
        # Windows has no exec: run it and pass the exit code on.
        sys.exit(subprocess.run([binary, *sys.argv[1:]]).returncode)
    os.execv(binary, [binary, *sys.argv[1:]])


if __name__ == "__main__":
    main()
