"""Where the ``unmirror`` executable installed with this package is."""

from __future__ import annotations

import os
import sys
import sysconfig
from typing import List

EXE = "unmirror.exe" if sys.platform == "win32" else "unmirror"


def _candidates() -> List[str]:
    dirs = [sysconfig.get_path("scripts")]
    user_scheme = {"nt": "nt_user"}.get(os.name, "posix_user")
    if sys.platform == "darwin" and getattr(sys, "_framework", None):
        user_scheme = "osx_framework_user"
    try:
        dirs.append(sysconfig.get_path("scripts", scheme=user_scheme))
    except KeyError:
        pass
    # pip install --target T puts the package in T and the script in T/bin;
    # --prefix P puts them in P/lib/pythonX.Y/site-packages and P/bin
    # (P\Lib\site-packages and P\Scripts on Windows).
    d = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for _ in range(4):
        dirs += [os.path.join(d, "bin"), os.path.join(d, "Scripts")]
        d = os.path.dirname(d)
    return [os.path.join(x, EXE) for x in dirs if x]


def find_binary() -> str:
    """Returns the path of the ``unmirror`` executable this package was
    installed with (the script directory of the environment, the user's,
    or one next to the package for ``pip install --target``/``--prefix``).

    Raises FileNotFoundError when it is not there (the package was not
    installed from its wheel).
    """
    for path in _candidates():
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    raise FileNotFoundError(
        f"unmirror: the {EXE} executable installed with this package was not found "
        f"(looked in {', '.join(sorted(set(os.path.dirname(p) for p in _candidates())))}); "
        "install unmirror from its wheel")
