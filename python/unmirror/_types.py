"""Typed views of the JSON documents the ``unmirror`` tool prints with --json.

The schemas are in examples/unmirror/README.md. Field names there are
stable and fields may be added: every class here reads the fields it knows,
ignores the others, and the top-level results keep the whole document in
``raw``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Tuple

JSON = Mapping[str, Any]


def _list(d: JSON, key: str) -> List[Any]:
    v = d.get(key)
    return v if isinstance(v, list) else []


def _shape(v: Any) -> Optional[Tuple[int, ...]]:
    return None if v is None else tuple(int(x) for x in v)


@dataclass(frozen=True)
class Evidence:
    """A place in the model (``where``) and what is there (``detail``)."""

    where: str
    detail: str

    @classmethod
    def from_json(cls, d: JSON) -> "Evidence":
        return cls(where=d.get("where", ""), detail=d.get("detail", ""))


@dataclass(frozen=True)
class Reason:
    """Why a model is (``reasons``) or is noted to be (``notes``) not
    portable: an artifact or verify-pass category, how often, examples."""

    kind: str
    what: str
    count: int
    examples: Tuple[Evidence, ...] = ()

    @classmethod
    def from_json(cls, d: JSON) -> "Reason":
        return cls(kind=d.get("kind", ""), what=d.get("what", ""), count=int(d.get("count", 0)),
                   examples=tuple(Evidence.from_json(e) for e in _list(d, "examples")))


@dataclass(frozen=True)
class Where:
    """A location in a SavedModel (the tool's ``rewrite.Where``)."""

    meta_graph: int = 0
    function: str = ""
    node: str = ""
    object_id: Optional[int] = None
    checkpoint_key: str = ""

    @classmethod
    def from_json(cls, d: Optional[JSON]) -> "Where":
        d = d or {}
        oid = d.get("object_id")
        return cls(meta_graph=int(d.get("meta_graph", 0)), function=d.get("function", ""),
                   node=d.get("node", ""), object_id=None if oid is None else int(oid),
                   checkpoint_key=d.get("checkpoint_key", ""))

    def __str__(self) -> str:
        parts = [f"meta_graph {self.meta_graph}"]
        if self.function:
            parts.append(f"function {self.function}")
        if self.node:
            parts.append(f"node {self.node}")
        if self.object_id is not None:
            parts.append(f"object {self.object_id}")
        if self.checkpoint_key:
            parts.append(f"checkpoint key {self.checkpoint_key}")
        return ", ".join(parts)


@dataclass(frozen=True)
class Finding:
    """Something that keeps a model from loading on the target (the verify
    pass's ``rewrite.Finding``); ``kind`` is ``device``, ``distribution op``,
    ``checkpoint``, ``graph`` or ``object graph``."""

    where: Where
    what: str
    kind: str = ""
    device: str = ""

    @classmethod
    def from_json(cls, d: JSON) -> "Finding":
        return cls(where=Where.from_json(d.get("where")), what=d.get("what", ""),
                   kind=d.get("kind", ""), device=d.get("device", ""))

    def __str__(self) -> str:
        return f"{self.where}: {self.what}"


@dataclass(frozen=True)
class Change:
    """A change a pass made, or a note it left."""

    where: Where
    what: str

    @classmethod
    def from_json(cls, d: JSON) -> "Change":
        return cls(where=Where.from_json(d.get("where")), what=d.get("what", ""))


@dataclass(frozen=True)
class PassReport:
    """What one rewrite pass changed, found and noted."""

    name: str
    changes: Tuple[Change, ...] = ()
    findings: Tuple[Finding, ...] = ()
    notes: Tuple[Change, ...] = ()

    @classmethod
    def from_json(cls, d: JSON) -> "PassReport":
        return cls(name=d.get("pass", ""),
                   changes=tuple(Change.from_json(c) for c in _list(d, "changes")),
                   findings=tuple(Finding.from_json(f) for f in _list(d, "findings")),
                   notes=tuple(Change.from_json(n) for n in _list(d, "notes")))


@dataclass(frozen=True)
class Report:
    """The result of :func:`unmirror.rewrite` (``unmirror rewrite --json``)."""

    src: str
    dst: str
    passes: Tuple[str, ...]
    written: bool
    target: str
    dry_run: bool
    pass_reports: Tuple[PassReport, ...]
    error: str = ""
    unverified: bool = False  # written without the verify pass (no_verify)
    raw: Dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, d: JSON) -> "Report":
        rep = d.get("report") or {}
        return cls(src=d.get("src", ""), dst=d.get("dst", ""),
                   passes=tuple(_list(d, "passes")), written=bool(d.get("written", False)),
                   target=rep.get("target", ""), dry_run=bool(rep.get("dry_run", False)),
                   pass_reports=tuple(PassReport.from_json(p) for p in _list(rep, "passes")),
                   error=d.get("error", "") or "", unverified=bool(rep.get("unverified", False)),
                   raw=dict(d))

    @property
    def changes(self) -> Tuple[Change, ...]:
        """Every change, in pipeline order."""
        return tuple(c for p in self.pass_reports for c in p.changes)

    @property
    def findings(self) -> Tuple[Finding, ...]:
        """Every finding left, in pipeline order (empty when written)."""
        return tuple(f for p in self.pass_reports for f in p.findings)


@dataclass(frozen=True)
class Verdict:
    """Whether a model loads on one device of ``target`` as it is."""

    target: str
    portable: bool
    reasons: Tuple[Reason, ...] = ()
    notes: Tuple[Reason, ...] = ()

    @classmethod
    def from_json(cls, d: JSON) -> "Verdict":
        return cls(target=d.get("target", ""), portable=bool(d.get("portable", False)),
                   reasons=tuple(Reason.from_json(r) for r in _list(d, "reasons")),
                   notes=tuple(Reason.from_json(r) for r in _list(d, "notes")))


@dataclass(frozen=True)
class Verification:
    """The result of :func:`unmirror.verify` (``unmirror verify --json``)."""

    model: str
    target: str
    ok: bool
    reasons: Tuple[Reason, ...]
    notes: Tuple[Reason, ...]
    findings: Tuple[Finding, ...]
    raw: Dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, d: JSON) -> "Verification":
        return cls(model=d.get("model", ""), target=d.get("target", ""), ok=bool(d.get("ok", False)),
                   reasons=tuple(Reason.from_json(r) for r in _list(d, "reasons")),
                   notes=tuple(Reason.from_json(r) for r in _list(d, "notes")),
                   findings=tuple(Finding.from_json(f) for f in _list(d, "findings")),
                   raw=dict(d))


@dataclass(frozen=True)
class TensorInfo:
    """A signature input or output."""

    key: str
    name: str
    dtype: str
    shape: Optional[Tuple[int, ...]]  # -1 for an unknown size; None for an unknown rank

    @classmethod
    def from_json(cls, d: JSON) -> "TensorInfo":
        return cls(key=d.get("key", ""), name=d.get("name", ""), dtype=d.get("dtype", ""),
                   shape=_shape(d.get("shape")))


@dataclass(frozen=True)
class Signature:
    """A signature of a MetaGraph."""

    key: str
    method: str
    inputs: Tuple[TensorInfo, ...]
    outputs: Tuple[TensorInfo, ...]

    @classmethod
    def from_json(cls, d: JSON) -> "Signature":
        return cls(key=d.get("key", ""), method=d.get("method", ""),
                   inputs=tuple(TensorInfo.from_json(t) for t in _list(d, "inputs")),
                   outputs=tuple(TensorInfo.from_json(t) for t in _list(d, "outputs")))


@dataclass(frozen=True)
class MetaGraph:
    """One MetaGraph of a SavedModel: its tags, sizes and signatures."""

    index: int
    tags: Tuple[str, ...]
    nodes: int
    functions: int
    function_nodes: int
    objects: int
    signatures: Tuple[Signature, ...]

    @classmethod
    def from_json(cls, d: JSON) -> "MetaGraph":
        return cls(index=int(d.get("index", 0)), tags=tuple(_list(d, "tags")),
                   nodes=int(d.get("nodes", 0)), functions=int(d.get("functions", 0)),
                   function_nodes=int(d.get("function_nodes", 0)), objects=int(d.get("objects", 0)),
                   signatures=tuple(Signature.from_json(s) for s in _list(d, "signatures")))


@dataclass(frozen=True)
class Device:
    """A distinct device string, how many nodes and objects carry it, and
    the targets (``cpu``, ``gpu``) where it cannot be placed."""

    device: str
    nodes: int
    objects: int
    blocks: Tuple[str, ...]

    @classmethod
    def from_json(cls, d: JSON) -> "Device":
        return cls(device=d.get("device", ""), nodes=int(d.get("nodes", 0)),
                   objects=int(d.get("objects", 0)), blocks=tuple(_list(d, "blocks")))


@dataclass(frozen=True)
class Artifact:
    """A distribution-strategy artifact found in the model (see the
    artifact vocabulary in examples/unmirror/README.md)."""

    name: str
    count: int
    examples: Tuple[Evidence, ...]

    @classmethod
    def from_json(cls, d: JSON) -> "Artifact":
        return cls(name=d.get("name", ""), count=int(d.get("count", 0)),
                   examples=tuple(Evidence.from_json(e) for e in _list(d, "examples")))


@dataclass(frozen=True)
class Variable:
    """A checkpoint entry."""

    key: str
    dtype: str
    shape: Optional[Tuple[int, ...]]
    shard: int = 0
    bytes: int = 0
    slices: int = 0

    @classmethod
    def from_json(cls, d: JSON) -> "Variable":
        return cls(key=d.get("key", ""), dtype=d.get("dtype", ""), shape=_shape(d.get("shape")),
                   shard=int(d.get("shard", 0)), bytes=int(d.get("bytes", 0)),
                   slices=int(d.get("slices", 0)))


@dataclass(frozen=True)
class Inspection:
    """The result of :func:`unmirror.inspect` (``unmirror inspect --json``)."""

    model: str
    format: str
    meta_graphs: Tuple[MetaGraph, ...]
    devices: Tuple[Device, ...]
    artifacts: Tuple[Artifact, ...]
    variables: Tuple[Variable, ...]
    shards: int
    variable_bytes: int
    verdicts: Tuple[Verdict, ...]
    raw: Dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, d: JSON) -> "Inspection":
        return cls(model=d.get("model", ""), format=d.get("format", ""),
                   meta_graphs=tuple(MetaGraph.from_json(m) for m in _list(d, "meta_graphs")),
                   devices=tuple(Device.from_json(x) for x in _list(d, "devices")),
                   artifacts=tuple(Artifact.from_json(a) for a in _list(d, "artifacts")),
                   variables=tuple(Variable.from_json(v) for v in _list(d, "variables")),
                   shards=int(d.get("shards", 0)), variable_bytes=int(d.get("variable_bytes", 0)),
                   verdicts=tuple(Verdict.from_json(v) for v in _list(d, "verdicts")),
                   raw=dict(d))

    def verdict(self, target: str = "cpu") -> Verdict:
        """The verdict for ``target`` (``cpu`` or ``gpu``)."""
        for v in self.verdicts:
            if v.target == target:
                return v
        raise KeyError(f"unmirror: no verdict for target {target!r} in {self.model}")

    @property
    def artifact_names(self) -> Tuple[str, ...]:
        """The names of the artifacts found, in vocabulary order."""
        return tuple(a.name for a in self.artifacts)


@dataclass(frozen=True)
class SignatureChange:
    """A signature added, removed or changed between two models."""

    tags: str
    key: str
    change: str
    details: Tuple[str, ...] = ()

    @classmethod
    def from_json(cls, d: JSON) -> "SignatureChange":
        return cls(tags=d.get("tags", ""), key=d.get("key", ""), change=d.get("change", ""),
                   details=tuple(_list(d, "details")))


@dataclass(frozen=True)
class CountChange:
    """An op type or device whose count differs: ``a`` in the first model,
    ``b`` in the second."""

    name: str
    a: int
    b: int

    @classmethod
    def from_json(cls, d: JSON) -> "CountChange":
        return cls(name=d.get("name", ""), a=int(d.get("a", 0)), b=int(d.get("b", 0)))


@dataclass(frozen=True)
class VariableChange:
    """A checkpoint entry added, removed or changed (dtype, shape, bytes or
    slices; values are not compared)."""

    key: str
    change: str
    a: Optional[Variable]
    b: Optional[Variable]

    @classmethod
    def from_json(cls, d: JSON) -> "VariableChange":
        a, b = d.get("a"), d.get("b")
        return cls(key=d.get("key", ""), change=d.get("change", ""),
                   a=None if a is None else Variable.from_json(a),
                   b=None if b is None else Variable.from_json(b))


@dataclass(frozen=True)
class Difference:
    """The result of :func:`unmirror.diff` (``unmirror diff --json``): only
    what differs; ``same`` when nothing does."""

    a: str
    b: str
    same: bool
    signatures: Tuple[SignatureChange, ...]
    ops: Tuple[CountChange, ...]
    devices: Tuple[CountChange, ...]
    variables: Tuple[VariableChange, ...]
    functions_added: Tuple[str, ...]
    functions_removed: Tuple[str, ...]
    raw: Dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, d: JSON) -> "Difference":
        fns = d.get("functions") or {}
        return cls(a=d.get("a", ""), b=d.get("b", ""), same=bool(d.get("same", False)),
                   signatures=tuple(SignatureChange.from_json(s) for s in _list(d, "signatures")),
                   ops=tuple(CountChange.from_json(o) for o in _list(d, "ops")),
                   devices=tuple(CountChange.from_json(o) for o in _list(d, "devices")),
                   variables=tuple(VariableChange.from_json(v) for v in _list(d, "variables")),
                   functions_added=tuple(_list(fns, "added")),
                   functions_removed=tuple(_list(fns, "removed")),
                   raw=dict(d))
