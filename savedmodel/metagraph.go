package savedmodel

import (
	"fmt"
	"slices"
	"strings"

	typespb "github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
	tfpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
)

// Tag sets TensorFlow uses (tensorflow/cc/saved_model/tag_constants.h).
const (
	TagServe = "serve"
	TagTrain = "train"
	TagGPU   = "gpu"
	TagTPU   = "tpu"
)

// MetaGraph returns the first MetaGraphDef whose tag set equals tags, as
// TensorFlow's loader chooses it: order and duplicates do not matter, the
// sets must be equal. No tags selects a MetaGraphDef with no tags. The
// error (ErrNoMetaGraph) lists the tag sets the model has.
func (m *Model) MetaGraph(tags ...string) (*tfpb.MetaGraphDef, error) {
	want := tagSet(tags)
	for _, mg := range m.Proto.GetMetaGraphs() {
		if slices.Equal(tagSet(mg.GetMetaInfoDef().GetTags()), want) {
			return mg, nil
		}
	}
	var have []string
	for _, ts := range m.TagSets() {
		have = append(have, "{"+strings.Join(ts, ",")+"}")
	}
	return nil, fmt.Errorf("savedmodel: %s: no MetaGraphDef with tags {%s}; available tag sets: %s: %w",
		m.File, strings.Join(want, ","), strings.Join(have, " "), ErrNoMetaGraph)
}

// TagSets returns the tag set of each MetaGraphDef, in file order, each
// sorted and without duplicates.
func (m *Model) TagSets() [][]string {
	var out [][]string
	for _, mg := range m.Proto.GetMetaGraphs() {
		out = append(out, tagSet(mg.GetMetaInfoDef().GetTags()))
	}
	return out
}

func tagSet(tags []string) []string {
	s := slices.Clone(tags)
	slices.Sort(s)
	return slices.Compact(s)
}

// Signature summarizes one SignatureDef.
type Signature struct {
	Key        string // the signature_def map key, e.g. "serving_default"
	MethodName string // e.g. "tensorflow/serving/predict"
	Inputs     []TensorSpec
	Outputs    []TensorSpec
}

// TensorSpec is one input or output of a signature.
type TensorSpec struct {
	Key string // the inputs/outputs map key
	// Name is the graph tensor ("x:0"); empty for a composite tensor,
	// whose components are in Components.
	Name  string
	DType typespb.DataType
	// Shape holds the dimension sizes, -1 for an unknown size; nil with
	// UnknownRank set when the rank is unknown.
	Shape       []int64
	UnknownRank bool
	// Components lists the tensor names of a CompositeTensor (sparse or
	// ragged); nil otherwise. CooSparse is reported as its three names.
	Components []string
}

// Signatures summarizes the signatures of mg, sorted by key, with inputs
// and outputs sorted by key.
func Signatures(mg *tfpb.MetaGraphDef) []Signature {
	keys := make([]string, 0, len(mg.GetSignatureDef()))
	for k := range mg.GetSignatureDef() {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]Signature, 0, len(keys))
	for _, k := range keys {
		sd := mg.GetSignatureDef()[k]
		out = append(out, Signature{Key: k, MethodName: sd.GetMethodName(),
			Inputs: tensorSpecs(sd.GetInputs()), Outputs: tensorSpecs(sd.GetOutputs())})
	}
	return out
}

func tensorSpecs(m map[string]*tfpb.TensorInfo) []TensorSpec {
	out := make([]TensorSpec, 0, len(m))
	for k, ti := range m {
		ts := TensorSpec{Key: k, Name: ti.GetName(), DType: ti.GetDtype()}
		if sh := ti.GetTensorShape(); sh.GetUnknownRank() {
			ts.UnknownRank = true
		} else {
			for _, d := range sh.GetDim() {
				ts.Shape = append(ts.Shape, d.GetSize())
			}
		}
		if coo := ti.GetCooSparse(); coo != nil {
			ts.Components = []string{coo.GetIndicesTensorName(), coo.GetValuesTensorName(), coo.GetDenseShapeTensorName()}
		}
		for _, c := range ti.GetCompositeTensor().GetComponents() {
			ts.Components = append(ts.Components, c.GetName())
		}
		out = append(out, ts)
	}
	slices.SortFunc(out, func(a, b TensorSpec) int { return strings.Compare(a.Key, b.Key) })
	return out
}
