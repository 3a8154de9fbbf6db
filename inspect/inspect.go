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
	if m.InputCheckpoint != nil {
		in.Shards = m.InputCheckpoint.NumShards()
	}
	for _, v := range m.OutputVariables() {
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
