"""The Python API: each function runs the ``unmirror`` tool with --json and
returns its document as a typed object, or raises for its exit code."""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any, Dict, List, NoReturn, Optional, Sequence, Tuple, Union

from ._binary import find_binary
from ._errors import ModelIOError, NotPortableError, UnmirrorError, UsageError
from ._types import Difference, Inspection, Report, Verification

PathLike = Union[str, "os.PathLike[str]"]

# Seconds a cancelled run gets to clean up (SIGTERM removes its temporary
# output) before it is killed.
_GRACE = 30


def _run(args: Sequence[str]) -> Tuple[int, Optional[Dict[str, Any]], str, List[str]]:
    """Runs the tool; returns (exit code, JSON document on stdout or None,
    stderr, argv). An exception in the caller (KeyboardInterrupt) stops the
    tool with SIGTERM, which it handles like Ctrl-C: no partial output."""
    argv = [find_binary(), *args]
    with subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, encoding="utf-8", errors="replace") as proc:
        try:
            out, err = proc.communicate()
        except BaseException:
            proc.terminate()
            try:
                proc.wait(_GRACE)
            except subprocess.TimeoutExpired:
                proc.kill()
            raise
    doc: Optional[Dict[str, Any]] = None
    if out.strip():
        try:
            parsed = json.loads(out)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            doc = parsed
    return proc.returncode, doc, err, argv


def _message(doc: Optional[Dict[str, Any]], stderr: str, fallback: str) -> str:
    """The line saying what failed: the tool's first stderr line that is
    neither a warning nor an indented detail, else the document's error (a
    string, or an object with a message)."""
    for line in stderr.splitlines():
        if line.strip() and not line[0].isspace() and ": warning: " not in line:
            return line.strip()
    err = (doc or {}).get("error")
    if isinstance(err, dict):
        err = err.get("message") or json.dumps(err, sort_keys=True)
    return str(err) if err else fallback


def _raise(code: int, doc: Optional[Dict[str, Any]], stderr: str, argv: Sequence[str], *,
           report: Optional[Report] = None, verification: Optional[Verification] = None) -> NoReturn:
    """Raises the exception for an exit code other than success."""
    msg = _message(doc, stderr, f"unmirror exited with code {code}")
    common: Dict[str, Any] = dict(returncode=code, argv=argv, stderr=stderr, document=doc)
    if code == 1 and (report is not None or verification is not None):
        findings = verification.findings if verification else report.findings  # type: ignore[union-attr]
        reasons = verification.reasons if verification else ()
        raise NotPortableError(msg, findings=findings, reasons=reasons, report=report,
                               verification=verification, **common)
    if code == 2 and not stderr.startswith("panic:"):
        raise UsageError(msg, **common)
    if code == 3:
        raise ModelIOError(msg, report=report, **common)
    raise UnmirrorError(msg, **common)


def _path(p: PathLike) -> str:
    s = os.fspath(p)
    # A path that starts with "-" would be read as a flag.
    return os.path.join(".", s) if s.startswith("-") else s


def rewrite(src: PathLike, dst: Optional[PathLike] = None, *, target: str = "cpu",
            passes: Optional[Union[str, Sequence[str]]] = None, force: bool = False,
            drop_optimizer: bool = False, allow_divergence: bool = False, dry_run: bool = False,
            hardlink: bool = False, no_sync: bool = False, text: bool = False,
            no_verify: bool = False, extra_args: Sequence[str] = ()) -> Report:
    """Writes a strategy-free copy of the SavedModel ``src`` to ``dst`` that
    loads on one device of ``target`` (``"cpu"`` or ``"gpu"``).

    ``dst`` is written atomically and only when the result passes the verify
    pass, which always runs last; ``src`` is never modified. The arguments
    are the flags of ``unmirror rewrite``: ``passes`` selects the passes to
    run, in pipeline order (a list or a comma-separated string; an empty
    list runs none but verify: a checked read-and-write round trip),
    ``force`` replaces an existing ``dst``, ``dry_run`` writes nothing
    (``dst`` may be omitted), ``no_verify`` writes the result unchecked
    (``Report.unverified``; the tool warns). ``extra_args`` are passed to
    the tool as they are (flags this function does not name).

    Returns the report of every pass. Raises :class:`NotPortableError` when
    the result still has findings (nothing written; ``.findings`` says
    what), :class:`ModelIOError` when ``src`` cannot be read or ``dst``
    cannot be written (also when it exists and ``force`` is false),
    :class:`UsageError` for arguments the tool refuses.

    >>> unmirror.rewrite("model", "model-cpu")  # doctest: +SKIP
    """
    args = ["rewrite", "--json", "--target", target]
    if passes is not None:
        sel = passes if isinstance(passes, str) else ",".join(passes)
        args += ["--passes", sel or "none"]
    for flag, on in (("--force", force), ("--drop-optimizer", drop_optimizer),
                     ("--allow-divergence", allow_divergence), ("--dry-run", dry_run),
                     ("--hardlink", hardlink), ("--no-sync", no_sync), ("--text", text),
                     ("--no-verify", no_verify)):
        if on:
            args.append(flag)
    args += [*extra_args, "--", _path(src)]
    if dst is not None:
        args.append(_path(dst))
    code, doc, stderr, argv = _run(args)
    if code == 0 and doc is not None:
        return Report.from_json(doc)
    report = Report.from_json(doc) if doc is not None and "report" in doc else None
    _raise(code, doc, stderr, argv, report=report)


def inspect(path: PathLike, *, extra_args: Sequence[str] = ()) -> Inspection:
    """Describes the SavedModel at ``path``: MetaGraphs and signatures,
    device strings, distribution artifacts, checkpoint variables, and a
    verdict per target (:meth:`Inspection.verdict`) with the reasons it will
    or will not load. Does not raise for a model that is not portable.

    Raises :class:`ModelIOError` when the model cannot be read.
    """
    code, doc, stderr, argv = _run(["inspect", "--json", *extra_args, "--", _path(path)])
    if code == 0 and doc is not None:
        return Inspection.from_json(doc)
    _raise(code, doc, stderr, argv)


def verify(path: PathLike, *, target: str = "cpu", skip_checksums: bool = False,
           extra_args: Sequence[str] = ()) -> Verification:
    """Checks that the SavedModel at ``path`` loads on one device of
    ``target`` as it is (the CI gate ``unmirror verify``). It also reads the
    variables' data to check every tensor's checksum, as TensorFlow's
    restore does, unless ``skip_checksums``.

    Returns the verification when it does. Raises :class:`NotPortableError`
    when it does not (``.reasons``, ``.findings`` and ``.verification`` say
    why), :class:`ModelIOError` when the model cannot be read or its data is
    damaged.
    """
    flags = ["--skip-checksums"] if skip_checksums else []
    code, doc, stderr, argv = _run(["verify", "--json", "--target", target, *flags, *extra_args,
                                    "--", _path(path)])
    ver = Verification.from_json(doc) if doc is not None and "ok" in doc else None
    if code == 0 and ver is not None:
        return ver
    if code == 1 and ver is not None and not stderr.strip():
        n = len(ver.reasons)
        first = f"; first: {ver.reasons[0].what}" if ver.reasons else ""
        stderr = f"unmirror verify: {ver.model} is not portable to one {ver.target}: {n} reasons{first}\n"
    _raise(code, doc, stderr, argv, verification=ver)


def diff(a: PathLike, b: PathLike, *, extra_args: Sequence[str] = ()) -> Difference:
    """Compares two SavedModels: signatures, op counts, devices, checkpoint
    variables (not their values) and functions. ``Difference.same`` tells
    whether they differ; differing is not an error.

    Raises :class:`ModelIOError` when a model cannot be read.
    """
    code, doc, stderr, argv = _run(["diff", "--json", *extra_args, "--", _path(a), _path(b)])
    if code in (0, 1) and doc is not None and "same" in doc:
        return Difference.from_json(doc)
    _raise(code, doc, stderr, argv)
