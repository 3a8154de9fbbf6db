"""unmirror: rewrite a TensorFlow SavedModel saved under a distribution
strategy (MirroredStrategy, MultiWorker, ParameterServer, TF1 towers) into
one that loads on one CPU or one GPU, without TensorFlow.

    >>> import unmirror
    >>> unmirror.rewrite("model", "model-cpu")  # doctest: +SKIP

The functions run the ``unmirror`` executable installed with this package
(the Go tool; ``python -m unmirror`` runs it too) with ``--json`` and return
its documents as typed, immutable objects; fields the tool adds later are in
each result's ``raw``. The tool's exit codes become exceptions:
:class:`NotPortableError` (1), :class:`UsageError` (2) and
:class:`ModelIOError` (3), all :class:`UnmirrorError`.

This package never imports TensorFlow.
"""

from ._api import diff, inspect, rewrite, verify
from ._binary import find_binary
from ._errors import ModelIOError, NotPortableError, UnmirrorError, UsageError
from ._types import (
    Artifact,
    Change,
    CountChange,
    Device,
    Difference,
    Evidence,
    Finding,
    Inspection,
    MetaGraph,
    PassReport,
    Reason,
    Report,
    Signature,
    SignatureChange,
    TensorInfo,
    Variable,
    VariableChange,
    Verdict,
    Verification,
    Where,
)

try:
    from importlib.metadata import PackageNotFoundError, version as _version

    __version__ = _version("unmirror")
except PackageNotFoundError:  # not installed (a source tree)
    __version__ = "unknown"

__all__ = [
    "Artifact", "Change", "CountChange", "Device", "Difference", "Evidence", "Finding",
    "Inspection", "MetaGraph", "ModelIOError", "NotPortableError", "PassReport", "Reason",
    "Report", "Signature", "SignatureChange", "TensorInfo", "UnmirrorError", "UsageError",
    "Variable", "VariableChange", "Verdict", "Verification", "Where", "__version__", "diff",
    "find_binary", "inspect", "rewrite", "verify",
]
