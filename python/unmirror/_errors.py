"""Exceptions for the tool's exit codes (examples/unmirror/README.md)."""

from __future__ import annotations

from typing import Any, Dict, Optional, Sequence, Tuple

from ._types import Finding, Reason, Report, Verification


class UnmirrorError(Exception):
    """The ``unmirror`` tool failed.

    Attributes:
        message: what failed and where: the tool's first line on stderr, or
            the ``error`` of its JSON document.
        returncode: the tool's exit code.
        argv: the command line that was run.
        stderr: everything the tool printed on stderr (details after the
            first line).
        document: the JSON document the tool printed on stdout, if any.
    """

    def __init__(self, message: str, *, returncode: int, argv: Sequence[str],
                 stderr: str = "", document: Optional[Dict[str, Any]] = None) -> None:
        super().__init__(message)
        self.message = message
        self.returncode = returncode
        self.argv = tuple(argv)
        self.stderr = stderr
        self.document = document


class NotPortableError(UnmirrorError):
    """Exit code 1: the model does not load on one device of the target.

    Raised by :func:`unmirror.verify` when the model is not portable, and by
    :func:`unmirror.rewrite` when the rewritten model still has findings (then
    nothing was written).

    Attributes:
        findings: the verify pass's findings.
        reasons: why it is not portable (verify only; empty for rewrite).
        report: the rewrite report (rewrite only).
        verification: the verify result (verify only).
    """

    def __init__(self, message: str, *, returncode: int, argv: Sequence[str], stderr: str = "",
                 document: Optional[Dict[str, Any]] = None, findings: Tuple[Finding, ...] = (),
                 reasons: Tuple[Reason, ...] = (), report: Optional[Report] = None,
                 verification: Optional[Verification] = None) -> None:
        super().__init__(message, returncode=returncode, argv=argv, stderr=stderr, document=document)
        self.findings = findings
        self.reasons = reasons
        self.report = report
        self.verification = verification


class UsageError(UnmirrorError, ValueError):
    """Exit code 2: the tool refused its arguments (an unknown pass or
    target, a bad flag combination); ``message`` says which."""


class ModelIOError(UnmirrorError):
    """Exit code 3: an input could not be read (an unreadable or corrupt
    model, named in ``message``; damaged variable data fails its checksum),
    the output could not be written (also an existing ``dst`` without
    ``force=True``, or one that overlaps ``src``), a pass failed, or the run
    was interrupted.

    Attributes:
        file: the model file whose content is malformed, when the tool
            names one (``"saved_model.pb"``), else "".
        offset: the byte offset in ``file`` where it is malformed, or None.
        report: the rewrite report, when the passes ran before the failure.
    """

    def __init__(self, message: str, *, returncode: int, argv: Sequence[str], stderr: str = "",
                 document: Optional[Dict[str, Any]] = None, report: Optional[Report] = None) -> None:
        super().__init__(message, returncode=returncode, argv=argv, stderr=stderr, document=document)
        doc = document or {}
        self.file: str = doc.get("file", "") if isinstance(doc.get("file"), str) else ""
        offset = doc.get("offset")
        self.offset: Optional[int] = offset if isinstance(offset, int) else None
        self.report = report
