package inspect

import (
	"context"
	"maps"
	"slices"
	"strings"

	typespb "github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
	tfpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"

	"github.com/unmirror/unmirror/device"
	"github.com/unmirror/unmirror/savedmodel"
	"github.com/unmirror/unmirror/savedmodel/bundle"
)

// Options configure [Model]. The zero value keeps three examples per
// artifact and judges the model for a CPU and a GPU target.
type Options struct {
	// Examples is how many example locations each artifact and verdict
	// reason keeps; 0 means 3, a negative value keeps none.
	Examples int

	// Targets are the devices a verdict is given for; nil means CPU and GPU.
	Targets []device.Target
}

func (o Options) examples() int { return examples(o.Examples) }

// examples returns how many examples an Examples option asks for: 0 means
// 3, a negative value none.
func examples(n int) int {
	switch {
	case n == 0:
		return 3
	case n < 0:
		return 0
	}
	return n
}

func (o Options) targets() []device.Target {
	if len(o.Targets) == 0 {
		return []device.Target{device.CPU, device.GPU}
	}
	return o.Targets
}

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

// Model reports what m holds and whether it loads on each target as it is.
// It reads no tensor data and does not edit m; its cost is linear in the size
// of the graphs and the checkpoint index.
//
// The verdict for a target combines the verify pass's checks
// ([rewrite.Check]) with the artifacts that break loading. A model is not
// portable when it has:
//   - a device string the target's one-device process lacks: a job other than
//     localhost, a replica or task other than 0, a device index above 0, a GPU
//     on a CPU target, a TPU or unknown device type; in function bodies that
//     TensorFlow soft-places in every runtime (graphdef.SoftPlacedFunctions)
//     only a job, replica or task other than the local one blocks;
//   - NCCL ops (GPU kernels only, and a group of several devices), Horovod
//     ops (not registered without Horovod), TPU ops in a main graph (the TF1
//     placer places every node), or collective ops whose group size is not 1;
//   - anything else the verify pass finds: distribution ops reachable from
//     the roots, variables a signature reads that nothing restores (replica
//     handles), restore mismatches, invalid graphs or object graphs.
//
// Device names the rewrite would only normalise ("/device:CPU:0" on a CPU
// target, "CPU:1" in a soft-placed function body) and leftovers that load
// fine (sync-on-read variables, optimizer slots, colocation, sharded
// variables, whose slices TensorFlow 2.18 restores in every runtime) are
// listed as notes.
func Model(ctx context.Context, m *savedmodel.Model, opts Options) (*Inspection, error) {
	in := &Inspection{
		Format:     formatName(m.Format),
		MetaGraphs: []MetaGraphInfo{},
		Devices:    []DeviceUse{},
		Artifacts:  []ArtifactReport{},
		Variables:  []VariableInfo{},
		Verdicts:   []Verdict{},
	}
	for i, mg := range m.Proto.GetMetaGraphs() {
		in.MetaGraphs = append(in.MetaGraphs, metaGraphInfo(i, mg))
	}
	if m.Variables != nil {
		in.Shards = m.Variables.NumShards()
	}
	for _, v := range m.ListVariables() {
		in.Variables = append(in.Variables, variableInfo(v))
		if v.Size > 0 {
			in.VariableBytes += v.Size
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	sc := scanModel(m, opts.examples())
	in.Devices = sc.deviceUses(opts.targets())
	in.Artifacts = sc.reports()
	for _, t := range opts.targets() {
		// Each verdict runs the verify pass's checks over every graph.
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		v, _ := verdict(m, sc, t, opts.examples())
		in.Verdicts = append(in.Verdicts, v)
	}
	return in, nil
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

// dtypeName returns TensorFlow's short name of a dtype (DataTypeString):
// "float", "int64", "string", "float_ref".
func dtypeName(dt typespb.DataType) string {
	return strings.ToLower(strings.TrimPrefix(dt.String(), "DT_"))
}

func formatName(f savedmodel.Format) string {
	if f == savedmodel.FormatText {
		return "pbtxt"
	}
	return "pb"
}

func targetName(t device.Target) string { return strings.ToLower(t.String()) }

// variableInfo describes one checkpoint entry.
func variableInfo(v savedmodel.Variable) VariableInfo {
	vi := VariableInfo{Key: bundle.DisplayKey(v.Key), DType: dtypeName(v.DType), Shape: shapeOf(v.Shape),
		Shard: v.Shard, Bytes: v.Size, Slices: len(v.Slices)}
	// DisplayKey ends a slice key's rendering, and only it, in ']'; the
	// tensor's part ends at the last " [".
	if strings.HasSuffix(vi.Key, "]") {
		if i := strings.LastIndex(vi.Key, " ["); i >= 0 {
			vi.SliceOf, vi.Slice = vi.Key[:i], vi.Key[i+2:len(vi.Key)-1]
		}
	}
	return vi
}

func signatureInfos(sigs []savedmodel.Signature) []SignatureInfo {
	out := []SignatureInfo{}
	for _, s := range sigs {
		out = append(out, SignatureInfo{Key: s.Key, Method: s.MethodName,
			Inputs: tensorInfos(s.Inputs), Outputs: tensorInfos(s.Outputs)})
	}
	return out
}

func tensorInfos(ts []savedmodel.TensorSpec) []TensorInfo {
	out := []TensorInfo{}
	for _, t := range ts {
		ti := TensorInfo{Key: t.Key, Name: t.Name, DType: dtypeName(t.DType),
			UnknownRank: t.UnknownRank, Components: t.Components}
		if !t.UnknownRank {
			ti.Shape = shapeOf(t.Shape)
		}
		out = append(out, ti)
	}
	return out
}

func metaGraphInfo(i int, mg *tfpb.MetaGraphDef) MetaGraphInfo {
	gd := mg.GetGraphDef()
	info := MetaGraphInfo{
		Index:      i,
		Tags:       sortedUnique(mg.GetMetaInfoDef().GetTags()),
		Nodes:      len(gd.GetNode()),
		Functions:  len(gd.GetLibrary().GetFunction()),
		Objects:    len(mg.GetObjectGraphDef().GetNodes()),
		Signatures: signatureInfos(savedmodel.Signatures(mg)),
	}
	for _, fn := range gd.GetLibrary().GetFunction() {
		info.FunctionNodes += len(fn.GetNodeDef())
	}
	return info
}

func sortedUnique(s []string) []string {
	set := make(map[string]bool, len(s))
	for _, x := range s {
		set[x] = true
	}
	return slices.Sorted(maps.Keys(set))
}
