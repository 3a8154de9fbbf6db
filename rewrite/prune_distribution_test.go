package rewrite

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	fnpb "github.com/wamuir/graft/tensorflow/core/framework/function_go_proto"
	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"
	tfpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"

	"github.com/unmirror/unmirror/graphdef"
	"github.com/unmirror/unmirror/internal/fixtures"
	"github.com/unmirror/unmirror/savedmodel"
)

// pdFn is prIdentityFn with extra nodes in its body.
func pdFn(name string, extra ...*nodepb.NodeDef) *fnpb.FunctionDef {
	fd := prIdentityFn(name)
	fd.NodeDef = append(fd.NodeDef, extra...)
	return fd
}

type pdRef = tfpb.TrackableObjectGraph_TrackableObject_ObjectReference

func pdFunctionObject(children []*pdRef, fns ...string) *tfpb.SavedObject {
	return &tfpb.SavedObject{Children: children, Kind: &tfpb.SavedObject_Function{Function: &tfpb.SavedFunction{ConcreteFunctions: fns}}}
}

func pdBareObject(fn string) *tfpb.SavedObject {
	return &tfpb.SavedObject{Kind: &tfpb.SavedObject_BareConcreteFunction{BareConcreteFunction: &tfpb.SavedBareConcreteFunction{ConcreteFunctionName: fn}}}
}

func pdVariableObject(name string) *tfpb.SavedObject {
	return &tfpb.SavedObject{Kind: &tfpb.SavedObject_Variable{Variable: &tfpb.SavedVariable{Name: name}}}
}

// pdModel is a TF2-style model: the signature returns f_serve(x) and
// f_shared(x); the object graph names a function holding a TPU op
// (tpu_step), a function with two concrete functions, one of which calls a
// function holding a Horovod op (multi), a clean function (clean), and
// f_shared, which holds a TPU op but is on the serving path (shared).
func pdModel(t *testing.T) *savedmodel.Model {
	nodes := []*nodepb.NodeDef{
		rpNd("x", "Placeholder"),
		prCall("y", "f_serve", "x"),
		prCall("z", "f_shared", "x"),
	}
	mg := rpMetaGraph(nodes,
		prIdentityFn("f_serve"),
		pdFn("f_tpu", rpNd("meta", "TPUReplicateMetadata")),
		prCall2("f_hvd", "f_hvd_inner"),
		pdFn("f_hvd_inner", rpNd("allreduce", "HorovodAllreduce", "a")),
		prIdentityFn("f_clean"),
		prIdentityFn("f_clean2"),
		pdFn("f_shared", rpNd("rep", "TPUReplicatedInput", "a")),
	)
	mg.SignatureDef = map[string]*tfpb.SignatureDef{"serving_default": {
		Inputs:  map[string]*tfpb.TensorInfo{"x": {Encoding: &tfpb.TensorInfo_Name{Name: "x:0"}}},
		Outputs: map[string]*tfpb.TensorInfo{"y": {Encoding: &tfpb.TensorInfo_Name{Name: "y:0"}}, "z": {Encoding: &tfpb.TensorInfo_Name{Name: "z:0"}}},
	}}
	ref := func(id int32, name string) *pdRef { return &pdRef{NodeId: id, LocalName: name} }
	root := []*pdRef{ref(1, "w"), ref(2, "tpu_step"), ref(3, "multi"), ref(5, "clean"), ref(6, "shared"), ref(8, "b")}
	mg.ObjectGraphDef = &tfpb.SavedObjectGraph{
		Nodes: []*tfpb.SavedObject{
			{Children: root, Dependencies: root, Kind: &tfpb.SavedObject_UserObject{UserObject: &tfpb.SavedUserObject{Identifier: "_generic_user_object"}}},
			pdVariableObject("w"),
			pdFunctionObject([]*pdRef{ref(4, "trace_0")}, "f_tpu"),
			pdFunctionObject([]*pdRef{ref(7, "trace_0")}, "f_hvd", "f_clean2"),
			pdBareObject("f_tpu"),
			pdFunctionObject(nil, "f_clean"),
			pdFunctionObject(nil, "f_shared"),
			pdBareObject("f_hvd"),
			pdVariableObject("b"),
		},
		ConcreteFunctions: map[string]*tfpb.SavedConcreteFunction{
			"f_tpu":    {BoundInputs: []int32{1, 8}},
			"f_hvd":    {BoundInputs: []int32{8}},
			"f_clean":  {BoundInputs: []int32{8}},
			"f_clean2": {},
			"f_shared": {},
		},
	}
	m := rpWriteModel(t, mg)
	m.Keras = &savedmodel.KerasMetadata{Nodes: []savedmodel.KerasObject{
		{NodeID: 0, NodePath: "root"}, {NodeID: 2, NodePath: "root.tpu_step"}, {NodeID: 8, NodePath: "root.b"},
	}}
	return m
}

// prCall2 is a function of one float argument that returns a call of callee.
func prCall2(name, callee string) *fnpb.FunctionDef {
	fd := prIdentityFn(name)
	fd.NodeDef = []*nodepb.NodeDef{prCall("call", callee, "a")}
	fd.Ret = map[string]string{"o": "call:output:0"}
	return fd
}

func TestPruneDistributionFunctions(t *testing.T) {
	m := pdModel(t)
	rep := rpRun(t, m, Options{}, Prune)
	meta := m.Proto.MetaGraphs[0]
	og := meta.GetObjectGraphDef()

	var fns []string
	for _, b := range graphdef.New(meta.GraphDef).Functions() {
		fns = append(fns, b.Name())
	}
	slices.Sort(fns)
	assert.Equal(t, []string{"f_clean", "f_clean2", "f_serve", "f_shared"}, fns,
		"f_tpu, f_hvd and its callee go; f_shared is on the serving path and stays")

	// Objects 2 (tpu_step), 4 and 7 (bare functions of removed functions)
	// are gone; 3 -> 2, 5 -> 3, 6 -> 4, 8 -> 5.
	require.Len(t, og.GetNodes(), 6)
	var children []string
	for _, ch := range og.GetNodes()[0].GetChildren() {
		children = append(children, ch.GetLocalName()+"="+string(rune('0'+ch.GetNodeId())))
	}
	assert.Equal(t, []string{"w=1", "multi=2", "clean=3", "shared=4", "b=5"}, children)
	assert.Len(t, og.GetNodes()[0].GetDependencies(), 5)
	assert.Equal(t, []string{"f_clean2"}, og.GetNodes()[2].GetFunction().GetConcreteFunctions())
	assert.Empty(t, og.GetNodes()[2].GetChildren(), "multi's trace_0 named the removed f_hvd")
	assert.Equal(t, []string{"f_clean"}, og.GetNodes()[3].GetFunction().GetConcreteFunctions())
	assert.Equal(t, "b", og.GetNodes()[5].GetVariable().GetName())
	assert.ElementsMatch(t, []string{"f_clean", "f_clean2", "f_shared"}, slices.Collect(maps.Keys(og.GetConcreteFunctions())))
	assert.Equal(t, []int32{5}, og.GetConcreteFunctions()["f_clean"].GetBoundInputs())

	require.Len(t, m.Keras.Nodes, 2)
	assert.Equal(t, int32(0), m.Keras.Nodes[0].NodeID)
	assert.Equal(t, "root.b", m.Keras.Nodes[1].NodePath)
	assert.Equal(t, int32(5), m.Keras.Nodes[1].NodeID)

	var whats []string
	for _, ch := range rep.Passes[0].Changes {
		whats = append(whats, ch.Where.String()+": "+ch.What)
	}
	joined := strings.Join(whats, "\n")
	for _, want := range []string{
		"removed function f_tpu (object 2, tpu_step): TPUReplicateMetadata cannot run on one device and no signature reaches it",
		"removed function f_hvd (object 3, multi): HorovodAllreduce (in f_hvd_inner, which it calls) cannot run on one device",
		"removed object tpu_step (SavedFunction)",
		"function multi: dropped 1 concrete function(s)",
	} {
		assert.Contains(t, joined, want)
	}
	assert.NotContains(t, joined, "f_shared")

	var dist []string
	for _, f := range Check(m, Options{}) {
		if strings.Contains(f.What, "distribution op") {
			dist = append(dist, f.Where.Function)
		}
	}
	assert.Equal(t, []string{"f_shared"}, dist, "only the serving-path function (the collectives pass's to refuse) is left")

	rep = rpRun(t, m, Options{}, Prune)
	assert.False(t, rep.Changed(), "second run changed: %v", rep.Passes)
}

// TestPruneDistributionKeepsPinned checks that a function the removal
// cannot take from the object graph stays, with a finding, while the
// others go.
func TestPruneDistributionKeepsPinned(t *testing.T) {
	for _, tc := range []struct {
		name    string
		edit    func(og *tfpb.SavedObjectGraph)
		finding string
	}{
		{"saveable", func(og *tfpb.SavedObjectGraph) {
			og.Nodes[1].SaveableObjects = map[string]*tfpb.SaveableObject{"VARIABLE_VALUE": {SaveFunction: 2, RestoreFunction: 5}}
		}, "TPUReplicateMetadata cannot run on one device, but object 2 (tpu_step) needs the function"},
		{"captured tensor", func(og *tfpb.SavedObjectGraph) {
			og.Nodes = append(og.Nodes, &tfpb.SavedObject{Kind: &tfpb.SavedObject_CapturedTensor{CapturedTensor: &tfpb.CapturedTensor{Name: "t", ConcreteFunction: "f_tpu"}}})
		}, "but object 9 (not reachable from the root) needs the function"},
		{"root function", func(og *tfpb.SavedObjectGraph) {
			og.Nodes[0].Kind = &tfpb.SavedObject_Function{Function: &tfpb.SavedFunction{ConcreteFunctions: []string{"f_tpu"}}}
		}, "TPUReplicateMetadata cannot run on one device, but the root object is a function with no other concrete function; kept"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := pdModel(t)
			og := m.Proto.MetaGraphs[0].ObjectGraphDef
			tc.edit(og)
			rep := rpRun(t, m, Options{}, Prune)
			assert.Contains(t, og.GetConcreteFunctions(), "f_tpu")
			assert.True(t, rpHasNode(m, "f_tpu", "meta"))
			require.Len(t, rep.Passes[0].Findings, 1)
			assert.Contains(t, rep.Passes[0].Findings[0].What, tc.finding)
			assert.NotContains(t, og.GetConcreteFunctions(), "f_hvd", "the other function is still removed")
			rep = rpRun(t, m, Options{}, Prune)
			assert.False(t, rep.Changed())
		})
	}
}

// TestPruneDistributionFixture rewrites tpu_leftover, whose saved
// tf.function tpu_step holds TPU replication ops that no signature runs:
// the default pipeline removes it, verify finds nothing, and TensorFlow's
// loaders (with UNMIRROR_LOADCHECK=1) load the result and compute the
// recorded outputs.
func TestPruneDistributionFixture(t *testing.T) {
	fx := fixtures.ByName(t, "tpu_leftover")
	m, err := savedmodel.Read(context.Background(), fx.Dir, savedmodel.ReadOptions{})
	require.NoError(t, err)
	defer m.Close()
	rep, err := Default().Run(context.Background(), m, Options{})
	require.NoError(t, err)
	assert.Empty(t, rep.Findings(), "findings after the default pipeline")
	og := m.Proto.MetaGraphs[0].ObjectGraphDef
	assert.NotContains(t, og.GetConcreteFunctions(), "__inference_tpu_step_72")
	for _, ch := range og.GetNodes()[0].GetChildren() {
		assert.NotEqual(t, "tpu_step", ch.GetLocalName())
	}
	var pruned []string
	for _, p := range rep.Passes {
		if p.Pass == "prune" {
			for _, ch := range p.Changes {
				pruned = append(pruned, ch.What)
			}
		}
	}
	assert.Contains(t, pruned, "removed function __inference_tpu_step_72 (object 4, tpu_step): TPUReplicateMetadata cannot run on one device and no signature reaches it")

	rep, err = Default().Run(context.Background(), m, Options{})
	require.NoError(t, err)
	assert.False(t, rep.Changed(), "second run changed: %v", rep.Passes)

	dir := filepath.Join(t.TempDir(), "out")
	require.NoError(t, m.Write(context.Background(), dir, savedmodel.WriteOptions{}))
	t.Run("loadcheck", func(t *testing.T) {
		py := venvPython(t)
		for _, rt := range fx.Runtimes {
			loadCheck(t, py, dir, "testdata/models/manifest.json", fx.Name, string(rt))
		}
	})
}

func TestDistributionOp(t *testing.T) {
	for _, tc := range []struct {
		node *nodepb.NodeDef
		want string
	}{
		{rpNd("a", "NcclAllReduce", "x"), "NcclAllReduce"},
		{rpNd("a", "CollectiveReduceV2", "x"), "CollectiveReduceV2"},
		{rpNd("a", "HorovodBroadcast", "x"), "HorovodBroadcast"},
		{rpNd("a", "TPUCompile"), "TPUCompile"},
		{rpWithAttr(rpNd("a", "MatMul", "x", "y"), "_tpu_replicate", rpSAttr("cluster")), "_tpu_replicate attr on MatMul"},
		{rpNd("a", "MatMul", "x", "y"), ""},
	} {
		got, ok := distributionOp(tc.node)
		assert.Equal(t, tc.want, got)
		assert.Equal(t, tc.want != "", ok, tc.node.GetOp())
	}
}

// pdSyntheticModel is a TF2-style model of about n function nodes: a
// signature calls one function; the object graph names n/100 functions of
// 100 nodes each, every tenth of which (when dist) holds a Horovod op in a
// callee.
func pdSyntheticModel(n int, dist bool) *savedmodel.Model {
	fns := []*fnpb.FunctionDef{prIdentityFn("serve")}
	if dist {
		fns = append(fns, pdFn("hvd", rpNd("allreduce", "HorovodAllreduce", "a")))
	}
	og := &tfpb.SavedObjectGraph{Nodes: []*tfpb.SavedObject{{}}, ConcreteFunctions: map[string]*tfpb.SavedConcreteFunction{}}
	for i := range n / 100 {
		name := fmt.Sprintf("f_%d", i)
		fd := prIdentityFn(name)
		prev := "a"
		for j := range 98 {
			node := rpNd(fmt.Sprintf("n%d", j), "Identity", prev)
			fd.NodeDef = append(fd.NodeDef, node)
			prev = node.GetName()
		}
		if dist && i%10 == 0 {
			fd.NodeDef = append(fd.NodeDef, prCall("call", "hvd", prev))
		}
		fns = append(fns, fd)
		id := int32(len(og.Nodes))
		og.Nodes[0].Children = append(og.Nodes[0].Children, &pdRef{NodeId: id, LocalName: name})
		og.Nodes = append(og.Nodes, pdFunctionObject(nil, name))
		og.ConcreteFunctions[name] = &tfpb.SavedConcreteFunction{}
	}
	mg := rpMetaGraph([]*nodepb.NodeDef{rpNd("x", "Placeholder"), prCall("y", "serve", "x")}, fns...)
	mg.SignatureDef = map[string]*tfpb.SignatureDef{"s": {Outputs: map[string]*tfpb.TensorInfo{"y": {Encoding: &tfpb.TensorInfo_Name{Name: "y:0"}}}}}
	mg.ObjectGraphDef = og
	return &savedmodel.Model{Proto: &tfpb.SavedModel{MetaGraphs: []*tfpb.MetaGraphDef{mg}}}
}

// BenchmarkPruneDistribution measures the prune pass on an object graph of
// functions with (dist=true: a tenth of them go, with their objects) and
// without distribution ops (dist=false: only the scan for them).
func BenchmarkPruneDistribution(b *testing.B) {
	for _, dist := range []bool{false, true} {
		n := 100_000
		b.Run(fmt.Sprintf("nodes=%d/dist=%v", n, dist), func(b *testing.B) {
			p := NewPipeline(Prune)
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				m := pdSyntheticModel(n, dist)
				b.StartTimer()
				rep, err := p.Run(context.Background(), m, Options{})
				if err != nil {
					b.Fatal(err)
				}
				if got := rep.Changed(); got != dist {
					b.Fatalf("changed %v, want %v", got, dist)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/node")
		})
	}
}
