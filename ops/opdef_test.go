package ops

import (
	"os"
	"testing"

	attrpb "github.com/wamuir/graft/tensorflow/core/framework/attr_value_go_proto"
	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"
	typespb "github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"

	"github.com/unmirror/unmirror/internal/tftree"
	"github.com/unmirror/unmirror/ops/internal/opgen"
)

// records reads the OpDefs of ops.pbtxt and of the wheel's registry dump.
func records(t *testing.T) (src, wheel map[string]opgen.Record) {
	t.Helper()
	src, err := opgen.SourceRecords(tftree.Dir(t))
	if err != nil {
		t.Fatal(err)
	}
	wheel, err = opgen.WheelRecords("testdata/registry.txt")
	if err != nil {
		t.Fatal(err)
	}
	return src, wheel
}

// The generated files are what the generator makes of ops.pbtxt and the
// committed dumps of the wheels' registries (the dumps themselves are
// checked against the live wheels by .ci/run).
func TestGeneratedFilesUpToDate(t *testing.T) {
	src, wheel := records(t)
	defs, err := opgen.OpDefsGo(src, wheel)
	if err != nil {
		t.Fatal(err)
	}
	kernels, err := opgen.KernelsGo("testdata/kernels.txt")
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string][]byte{"opdefs_gen.go": defs, "kernels_gen.go": kernels} {
		have, err := os.ReadFile(name)
		if err != nil || string(have) != string(want) {
			t.Errorf("%s is stale: run go generate ./ops", name)
		}
	}
}

// ops.pbtxt and the tensorflow-cpu==2.18.0 wheel's registry agree on every op
// ops.pbtxt lists (statefulness, argument names and lengths, type defaults),
// and the table holds every op the wheel registers.
func TestOpDefsAgreeWithWheelRegistry(t *testing.T) {
	src, wheel := records(t)
	for _, d := range opgen.Disagreements(src, wheel) {
		t.Error(d)
	}
	for op, r := range wheel {
		d, ok := Op(op)
		if !ok {
			t.Errorf("%s: registered by the wheel, not in the table", op)
			continue
		}
		if d.Stateful != (r.Stateful == "1") {
			t.Errorf("%s: Stateful %v, the wheel says %s", op, d.Stateful, r.Stateful)
		}
	}
	if len(opDefs) != len(wheel) {
		t.Errorf("%d ops in the table, %d in the wheel", len(opDefs), len(wheel))
	}
}

func TestStateful(t *testing.T) {
	for _, c := range []struct {
		op              string
		stateful, known bool
	}{
		// SetDoNotOptimize and resource inputs make these stateful in
		// TensorFlow's registry; a REGISTER_OP scrape called them stateless.
		{"AssignVariableOp", true, true},
		{"ReadVariableOp", true, true},
		{"VarHandleOp", true, true},
		{"RandomUniform", true, true},
		{"CollectiveReduceV2", true, true},
		{"MatMul", false, true},
		{"Identity", false, true},
		{"XlaSharding", false, true},       // from the wheel: not in ops.pbtxt
		{"_NcclBroadcastRecv", true, true}, // likewise
		{"HorovodAllreduce", false, false},
		{"__inference_f_12", false, false},
	} {
		s, k := Stateful(c.op)
		if s != c.stateful || k != c.known {
			t.Errorf("Stateful(%s) = %v, %v; want %v, %v", c.op, s, k, c.stateful, c.known)
		}
	}
	d, _ := Op("Split")
	if _, a, ok := d.Output("output"); !ok || a.NumberAttr != "num_split" {
		t.Errorf("Split output = %+v, %v", a, ok)
	}
	d, _ = Op("StatefulPartitionedCall")
	if _, a, ok := d.Output("output"); !ok || a.TypeListAttr != "Tout" {
		t.Errorf("StatefulPartitionedCall output = %+v, %v", a, ok)
	}
}

func typed(op string, attrs map[string]typespb.DataType) *nodepb.NodeDef {
	n := &nodepb.NodeDef{Op: op, Attr: map[string]*attrpb.AttrValue{}}
	for k, v := range attrs {
		n.Attr[k] = &attrpb.AttrValue{Value: &attrpb.AttrValue_Type{Type: v}}
	}
	return n
}

func TestHasGPUKernel(t *testing.T) {
	f32, i32, str := typespb.DataType_DT_FLOAT, typespb.DataType_DT_INT32, typespb.DataType_DT_STRING
	for _, c := range []struct {
		name       string
		n          *nodepb.NodeDef
		has, known bool
	}{
		{"MatMul float", typed("MatMul", map[string]typespb.DataType{"T": f32}), true, true},
		{"MatMul string", typed("MatMul", map[string]typespb.DataType{"T": str}), false, true},
		{"Identity int32 (host memory)", typed("Identity", map[string]typespb.DataType{"T": i32}), true, true},
		{"AssignVariableOp float", typed("AssignVariableOp", map[string]typespb.DataType{"dtype": f32}), true, true},
		{"HashTableV2", typed("HashTableV2", nil), false, true},
		{"ApplyAdagradDA (CPU only in the wheel)", typed("ApplyAdagradDA", map[string]typespb.DataType{"T": f32}), false, true},
		{"BatchMatrixInverse", typed("BatchMatrixInverse", map[string]typespb.DataType{"T": f32}), false, true},
		{"NcclAllReduce", typed("NcclAllReduce", map[string]typespb.DataType{"T": f32}), true, true},
		{"SaveV2", typed("SaveV2", nil), false, true},
		// A type attr left to its OpDef default: ArgMax's output_type
		// defaults to int64.
		{"ArgMax default output_type", typed("ArgMax", map[string]typespb.DataType{"T": f32, "Tidx": i32}), true, true},
		{"a library function", typed("__inference_f_1", nil), false, false},
		{"an op with no kernel anywhere", typed("HorovodAllreduce", nil), false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			has, known := HasGPUKernel(c.n)
			if has != c.has || known != c.known {
				t.Errorf("HasGPUKernel = %v, %v; want %v, %v", has, known, c.has, c.known)
			}
		})
	}
	// A label selects only the kernels registered with it.
	n := typed("DepthwiseConv2dNative", map[string]typespb.DataType{"T": f32})
	if has, _ := HasGPUKernel(n); !has {
		t.Error("DepthwiseConv2dNative float has no GPU kernel")
	}
	n.Attr["_kernel"] = &attrpb.AttrValue{Value: &attrpb.AttrValue_S{S: []byte("no-such-label")}}
	if has, _ := HasGPUKernel(n); has {
		t.Error("a kernel label no registration has still finds a GPU kernel")
	}
}
