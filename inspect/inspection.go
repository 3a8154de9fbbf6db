package inspect

import (
	"github.com/unmirror/unmirror/device"
)

// Inspection is what [Model] found in a SavedModel: its contents, the
// distribution artifacts it carries, and whether it loads on each target as
// it is. Its JSON form (the field tags) is the schema of "unmirror inspect
// --json", documented in examples/unmirror/README.md; fields are only ever
// added to it.
type Inspection struct {
	// Format is "pb" (saved_model.pb) or "pbtxt" (saved_model.pbtxt).
	Format string `json:"format"`
	// MetaGraphs describes each MetaGraphDef, in file order.
	MetaGraphs []MetaGraphInfo `json:"meta_graphs"`
	// Devices lists every distinct device string of the model (NodeDef.device
	// in the main graphs and function bodies, SavedVariable, component and
	// SavedResource devices), sorted; "" counts the unpinned nodes.
	Devices []DeviceUse `json:"devices"`
	// Artifacts lists the distribution artifacts found, in the order of
	// [Artifacts]; artifacts not found are absent.
	Artifacts []ArtifactReport `json:"artifacts"`
	// Variables lists the checkpoint's entries (variables/variables.index),
	// sorted by stored key (the slice keys of tensors saved in slices, which
	// start with a 0 byte, first); empty when the model has no checkpoint.
	Variables []VariableInfo `json:"variables"`
	// Shards is the number of data shards of the checkpoint (0 without one).
	Shards int `json:"shards"`
	// VariableBytes is the total stored size of the checkpoint's entries.
	VariableBytes int64 `json:"variable_bytes"`
	// Verdicts says, per target, whether the model loads there as it is.
	Verdicts []Verdict `json:"verdicts"`
}

// MetaGraphInfo describes one MetaGraphDef.
type MetaGraphInfo struct {
	// Index is the position in SavedModel.meta_graphs.
	Index int `json:"index"`
	// Tags is the tag set, sorted.
	Tags []string `json:"tags"`
	// Nodes counts the main graph's nodes.
	Nodes int `json:"nodes"`
	// Functions counts the library functions, FunctionNodes their nodes.
	Functions     int `json:"functions"`
	FunctionNodes int `json:"function_nodes"`
	// Objects counts the SavedObjectGraph's nodes (0 for TF1 models).
	Objects int `json:"objects"`
	// Signatures are sorted by key.
	Signatures []SignatureInfo `json:"signatures"`
}

// SignatureInfo describes one SignatureDef.
type SignatureInfo struct {
	Key     string       `json:"key"`
	Method  string       `json:"method"`
	Inputs  []TensorInfo `json:"inputs"`
	Outputs []TensorInfo `json:"outputs"`
}

// TensorInfo is one input or output of a signature.
type TensorInfo struct {
	// Key is the inputs/outputs map key, Name the graph tensor ("x:0").
	Key  string `json:"key"`
	Name string `json:"name"`
	// DType is TensorFlow's short dtype name: "float", "int64", "string".
	DType string `json:"dtype"`
	// Shape holds the dimension sizes, -1 for an unknown size; null when
	// the rank is unknown (UnknownRank).
	Shape       Shape `json:"shape"`
	UnknownRank bool  `json:"unknown_rank,omitempty"`
	// Components are the tensor names of a sparse or ragged tensor.
	Components []string `json:"components,omitempty"`
}

// DeviceUse is one distinct device string and how much of the model names it.
type DeviceUse struct {
	Device string `json:"device"`
	// Nodes counts NodeDefs (main graphs and function bodies) naming it,
	// Objects the SavedVariable, component and SavedResource entries.
	Nodes   int `json:"nodes"`
	Objects int `json:"objects"`
	// Blocks lists the targets on which TensorFlow's placer cannot place
	// this name in a one-device process ("cpu", "gpu"); empty when it
	// places everywhere.
	Blocks []string `json:"blocks"`
}

// ArtifactReport is one distribution artifact found in the model.
type ArtifactReport struct {
	// Name is one of [Artifacts].
	Name string `json:"name"`
	// Count is how many places show it (nodes, device strings, checkpoint
	// keys, files; see the artifact's rule).
	Count int `json:"count"`
	// Examples are the first few of them.
	Examples []Evidence `json:"examples"`
}

// Evidence is one place in the model and what is there.
type Evidence struct {
	// Where is "meta_graph 0, function f, node n", "meta_graph 0, object 5",
	// "checkpoint key k" or a file name.
	Where string `json:"where"`
	// Detail is what was found there: an op, a device string, a dtype.
	Detail string `json:"detail"`
}

// VariableInfo is one checkpoint entry.
type VariableInfo struct {
	// Key is the entry's key as people read it ([bundle.DisplayKey]): as
	// stored for a printable key; for one slice of a tensor saved in slices
	// (a binary key), the tensor's key and the slice in TensorFlow's slice
	// notation, "embedding/.ATTRIBUTES/VARIABLE_VALUE [0,3:-]"; Go-quoted
	// when the stored key is not printable. Two different keys never show
	// the same.
	Key string `json:"key"`
	// SliceOf and Slice split the Key of a slice entry: the Key of the full
	// tensor's entry, and the slice, per dimension "start,length" or "-"
	// for all of it, separated by ':' ("0,3:-"). Both are empty for other
	// entries.
	SliceOf string `json:"slice_of,omitempty"`
	Slice   string `json:"slice,omitempty"`
	DType   string `json:"dtype"`
	Shape   Shape  `json:"shape"`
	// Shard is the data shard holding the bytes, Bytes their stored size.
	Shard int   `json:"shard"`
	Bytes int64 `json:"bytes"`
	// Slices is the number of slices of a tensor saved in slices (the
	// full-key entry of a sharded variable); 0 otherwise.
	Slices int `json:"slices,omitempty"`
}

// Verdict says whether the model loads on one target as it is.
type Verdict struct {
	// Target is "cpu" or "gpu".
	Target string `json:"target"`
	// Portable is true when nothing found keeps the model from loading and
	// computing on the target in a one-device process.
	Portable bool `json:"portable"`
	// Reasons are what keeps it from loading (empty when Portable).
	Reasons []Reason `json:"reasons"`
	// Notes are strategy leftovers that do not keep it from loading, and
	// what "unmirror rewrite" changes anyway.
	Notes []Reason `json:"notes"`
}

// Reason is one cause of a verdict, with how often it occurs and where.
type Reason struct {
	// Kind is an artifact name (see [Artifacts]) or a category of the
	// verify pass: "device", "distribution_op", "checkpoint", "graph",
	// "object_graph".
	Kind     string     `json:"kind"`
	What     string     `json:"what"`
	Count    int        `json:"count"`
	Examples []Evidence `json:"examples"`
}

// Artifact returns the report of the named artifact, or nil when the model
// does not have it.
func (in *Inspection) Artifact(name string) *ArtifactReport {
	for i := range in.Artifacts {
		if in.Artifacts[i].Name == name {
			return &in.Artifacts[i]
		}
	}
	return nil
}

// Verdict returns the verdict for target t, or nil if none was asked for.
func (in *Inspection) Verdict(t device.Target) *Verdict {
	for i := range in.Verdicts {
		if in.Verdicts[i].Target == targetName(t) {
			return &in.Verdicts[i]
		}
	}
	return nil
}
