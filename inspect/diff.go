package inspect

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/unmirror/unmirror/savedmodel"
	"github.com/unmirror/unmirror/savedmodel/bundle"
)

// Difference is a semantic diff of two SavedModels A and B, as [Diff]
// computes it. Its JSON form is the schema of "unmirror diff --json"
// (examples/unmirror/README.md). Every list is sorted and empty (never
// null) when nothing differs in it.
type Difference struct {
	// Same is true when no list below has an entry.
	Same bool `json:"same"`
	// Signatures added, removed or changed, per tag set.
	Signatures []SignatureChange `json:"signatures"`
	// Ops counts nodes per op type (main graphs and function bodies, every
	// MetaGraphDef) where the counts differ.
	Ops []CountChange `json:"ops"`
	// Devices counts nodes and objects per device string where the counts
	// differ ("" is the unpinned nodes).
	Devices []CountChange `json:"devices"`
	// Variables are checkpoint entries added, removed, or changed in dtype,
	// shape or stored size, sorted by stored key as [Inspection.Variables].
	Variables []VariableChange `json:"variables"`
	// Functions are library function names only A (removed) or only B
	// (added) has, over every MetaGraphDef.
	Functions FunctionChanges `json:"functions"`
}

// SignatureChange is one signature that differs.
type SignatureChange struct {
	// Tags is the MetaGraphDef's tag set, comma-separated ("serve").
	Tags string `json:"tags"`
	Key  string `json:"key"`
	// Change is "added", "removed" or "changed".
	Change string `json:"change"`
	// Details say what changed ("input x: dtype float -> double").
	Details []string `json:"details"`
}

// CountChange is a count that differs between A and B.
type CountChange struct {
	Name string `json:"name"`
	A    int    `json:"a"`
	B    int    `json:"b"`
}

// VariableChange is one checkpoint entry that differs; A or B is null for
// an added or removed entry.
type VariableChange struct {
	// Key is the entry's key as [VariableInfo.Key] shows it.
	Key string `json:"key"`
	// Change is "added", "removed" or "changed".
	Change string        `json:"change"`
	A      *VariableInfo `json:"a"`
	B      *VariableInfo `json:"b"`
}

// FunctionChanges lists the functions only one model has.
type FunctionChanges struct {
	Added   []string `json:"added"`
	Removed []string `json:"removed"`
}

// Diff compares two models by what a user of them sees: signatures, op
// types, devices, checkpoint entries (dtype, shape, size; not values) and
// library functions. It reads no tensor data.
func Diff(a, b *savedmodel.Model) *Difference {
	d := &Difference{
		Signatures: diffSignatures(a, b),
		Ops:        diffCounts(opCounts(a), opCounts(b)),
		Devices:    diffCounts(deviceCounts(a), deviceCounts(b)),
		Variables:  diffVariables(a, b),
	}
	fa, fb := functionSet(a), functionSet(b)
	d.Functions = FunctionChanges{Added: onlyIn(fb, fa), Removed: onlyIn(fa, fb)}
	d.Same = len(d.Signatures) == 0 && len(d.Ops) == 0 && len(d.Devices) == 0 &&
		len(d.Variables) == 0 && len(d.Functions.Added) == 0 && len(d.Functions.Removed) == 0
	return d
}

func signatureMap(m *savedmodel.Model) map[string]SignatureInfo {
	out := map[string]SignatureInfo{}
	for _, mg := range m.Proto.GetMetaGraphs() {
		tags := strings.Join(sortedUnique(mg.GetMetaInfoDef().GetTags()), ",")
		for _, s := range signatureInfos(savedmodel.Signatures(mg)) {
			key := tags + "\x00" + s.Key
			if _, dup := out[key]; !dup { // the loader takes the first MetaGraphDef of a tag set
				out[key] = s
			}
		}
	}
	return out
}

func diffSignatures(a, b *savedmodel.Model) []SignatureChange {
	sa, sb := signatureMap(a), signatureMap(b)
	out := []SignatureChange{}
	for _, k := range unionKeys(sa, sb) {
		tags, key, _ := strings.Cut(k, "\x00")
		x, inA := sa[k]
		y, inB := sb[k]
		c := SignatureChange{Tags: tags, Key: key, Details: []string{}}
		switch {
		case !inB:
			c.Change = "removed"
		case !inA:
			c.Change = "added"
		case reflect.DeepEqual(x, y):
			continue
		default:
			c.Change = "changed"
			if x.Method != y.Method {
				c.Details = append(c.Details, fmt.Sprintf("method %s -> %s", x.Method, y.Method))
			}
			c.Details = append(c.Details, diffTensors("input", x.Inputs, y.Inputs)...)
			c.Details = append(c.Details, diffTensors("output", x.Outputs, y.Outputs)...)
		}
		out = append(out, c)
	}
	return out
}

func diffTensors(side string, a, b []TensorInfo) []string {
	ma, mb := map[string]TensorInfo{}, map[string]TensorInfo{}
	for _, t := range a {
		ma[t.Key] = t
	}
	for _, t := range b {
		mb[t.Key] = t
	}
	var out []string
	for _, k := range unionKeys(ma, mb) {
		x, inA := ma[k]
		y, inB := mb[k]
		switch {
		case !inB:
			out = append(out, fmt.Sprintf("%s %s removed", side, k))
		case !inA:
			out = append(out, fmt.Sprintf("%s %s added: %s", side, k, tensorString(y)))
		case !reflect.DeepEqual(x, y):
			out = append(out, fmt.Sprintf("%s %s: %s -> %s", side, k, tensorString(x), tensorString(y)))
		}
	}
	return out
}

func tensorString(t TensorInfo) string {
	shape := "[unknown rank]"
	if !t.UnknownRank {
		shape = t.Shape.String()
	}
	s := t.DType + shape
	if t.Name != "" {
		s += " " + t.Name
	}
	if len(t.Components) > 0 {
		s += " (" + strings.Join(t.Components, ", ") + ")"
	}
	return s
}

func opCounts(m *savedmodel.Model) map[string]int {
	out := map[string]int{}
	for _, mg := range m.Proto.GetMetaGraphs() {
		gd := mg.GetGraphDef()
		for _, n := range gd.GetNode() {
			out[n.GetOp()]++
		}
		for _, fn := range gd.GetLibrary().GetFunction() {
			for _, n := range fn.GetNodeDef() {
				out[n.GetOp()]++
			}
		}
	}
	return out
}

func deviceCounts(m *savedmodel.Model) map[string]int {
	out := map[string]int{}
	for d, c := range scanModel(m, 0).devices {
		out[d] = c.nodes + c.objects
	}
	return out
}

func diffCounts(a, b map[string]int) []CountChange {
	out := []CountChange{}
	for _, k := range unionKeys(a, b) {
		if a[k] != b[k] {
			out = append(out, CountChange{Name: k, A: a[k], B: b[k]})
		}
	}
	return out
}

func variableMap(m *savedmodel.Model) map[string]*VariableInfo {
	out := map[string]*VariableInfo{}
	for _, v := range m.OutputVariables() {
		vi := variableInfo(v)
		out[v.Key] = &vi
	}
	return out
}

func diffVariables(a, b *savedmodel.Model) []VariableChange {
	va, vb := variableMap(a), variableMap(b)
	out := []VariableChange{}
	for _, k := range unionKeys(va, vb) {
		x, y := va[k], vb[k]
		c := VariableChange{Key: bundle.DisplayKey(k), A: x, B: y}
		switch {
		case y == nil:
			c.Change = "removed"
		case x == nil:
			c.Change = "added"
		case x.DType != y.DType || !reflect.DeepEqual(x.Shape, y.Shape) || x.Bytes != y.Bytes || x.Slices != y.Slices:
			c.Change = "changed"
		default:
			continue
		}
		out = append(out, c)
	}
	return out
}

func functionSet(m *savedmodel.Model) map[string]bool {
	out := map[string]bool{}
	for _, mg := range m.Proto.GetMetaGraphs() {
		for _, fn := range mg.GetGraphDef().GetLibrary().GetFunction() {
			out[fn.GetSignature().GetName()] = true
		}
	}
	return out
}

// onlyIn returns the sorted keys of a that b lacks.
func onlyIn(a, b map[string]bool) []string {
	out := []string{}
	for _, k := range slices.Sorted(maps.Keys(a)) {
		if !b[k] {
			out = append(out, k)
		}
	}
	return out
}

// unionKeys returns the keys of a and b, sorted, each once.
func unionKeys[V any](a, b map[string]V) []string {
	all := make(map[string]bool, len(a)+len(b))
	for k := range a {
		all[k] = true
	}
	for k := range b {
		all[k] = true
	}
	return slices.Sorted(maps.Keys(all))
}
