package rewrite

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	attrpb "github.com/wamuir/graft/tensorflow/core/framework/attr_value_go_proto"
	fnpb "github.com/wamuir/graft/tensorflow/core/framework/function_go_proto"
	graphpb "github.com/wamuir/graft/tensorflow/core/framework/graph_go_proto"
	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"
	opdefpb "github.com/wamuir/graft/tensorflow/core/framework/op_def_go_proto"
	typespb "github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
	varpb "github.com/wamuir/graft/tensorflow/core/framework/variable_go_proto"
	tfpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"

	"github.com/unmirror/unmirror/graphdef"
	"github.com/unmirror/unmirror/internal/fixtures"
	"github.com/unmirror/unmirror/savedmodel"
)

// prIdentityFn is a library function returning its float input.
func prIdentityFn(name string) *fnpb.FunctionDef {
	return &fnpb.FunctionDef{
		Signature: &opdefpb.OpDef{
			Name:      name,
			InputArg:  []*opdefpb.OpDef_ArgDef{{Name: "a", Type: typespb.DataType_DT_FLOAT}},
			OutputArg: []*opdefpb.OpDef_ArgDef{{Name: "o", Type: typespb.DataType_DT_FLOAT}},
		},
		NodeDef: []*nodepb.NodeDef{rpWithAttr(rpNd("id", "Identity", "a"), "T", rpTypeAttr(typespb.DataType_DT_FLOAT))},
		Ret:     map[string]string{"o": "id:output:0"},
	}
}

func prCall(name, fn string, inputs ...string) *nodepb.NodeDef {
	return rpWithAttr(rpNd(name, "PartitionedCall", inputs...), "f",
		&attrpb.AttrValue{Value: &attrpb.AttrValue_Func{Func: &attrpb.NameAttrList{Name: fn}}})
}

func prVarDef(name string) []byte {
	return rpMustMarshalNoT(&varpb.VariableDef{VariableName: name + ":0", InitializerName: name + "/Assign", SnapshotName: name + "/read:0", InitialValueName: name + "/initial_value:0"})
}

// prTF1Graph is a TF1-style serving graph with training left in it: the
// signature computes y = x*w and z = f_used(x); a gradient step updates w
// (train_op, f_train), and a global step nobody serves is initialized.
func prTF1Graph() *tfpb.MetaGraphDef {
	variable := func(name string) []*nodepb.NodeDef {
		return []*nodepb.NodeDef{
			rpVariable(name, "VariableV2", ""),
			rpIntConst(name+"/initial_value", 0),
			rpNd(name+"/Assign", "Assign", name, name+"/initial_value"),
			rpNd(name+"/read", "Identity", name),
		}
	}
	nodes := []*nodepb.NodeDef{rpNd("x", "Placeholder")}
	nodes = append(nodes, variable("w")...)
	nodes = append(nodes, variable("global_step")...)
	nodes = append(nodes,
		rpNd("y", "Mul", "x", "w/read"),
		prCall("z", "f_used", "x"),
		rpIntConst("grad", 1),
		rpIntConst("lr", 1),
		prCall("train/fn", "f_train", "grad"),
		rpNd("train/update", "ApplyGradientDescent", "w", "lr", "train/fn"),
		rpNd("train_op", "NoOp", "^train/update"),
	)
	mg := rpMetaGraph(nodes, prIdentityFn("f_used"), prIdentityFn("f_train"), prIdentityFn("f_dead"), prIdentityFn("f_object"))
	mg.SignatureDef = map[string]*tfpb.SignatureDef{"serving_default": {
		Inputs:  map[string]*tfpb.TensorInfo{"x": {Encoding: &tfpb.TensorInfo_Name{Name: "x:0"}}},
		Outputs: map[string]*tfpb.TensorInfo{"y": {Encoding: &tfpb.TensorInfo_Name{Name: "y:0"}}, "z": {Encoding: &tfpb.TensorInfo_Name{Name: "z:0"}}},
	}}
	mg.ObjectGraphDef = &tfpb.SavedObjectGraph{
		Nodes:             []*tfpb.SavedObject{{}},
		ConcreteFunctions: map[string]*tfpb.SavedConcreteFunction{"f_object": {}},
	}
	cond := rpMustMarshalNoT(&tfpb.CondContextDef{ContextName: "cond/cond_text", PredName: "train/update:0", PivotName: "x:0"})
	bytesList := func(v ...[]byte) *tfpb.CollectionDef {
		return &tfpb.CollectionDef{Kind: &tfpb.CollectionDef_BytesList_{BytesList: &tfpb.CollectionDef_BytesList{Value: v}}}
	}
	nodeList := func(v ...string) *tfpb.CollectionDef {
		return &tfpb.CollectionDef{Kind: &tfpb.CollectionDef_NodeList_{NodeList: &tfpb.CollectionDef_NodeList{Value: v}}}
	}
	mg.CollectionDef = map[string]*tfpb.CollectionDef{
		"variables":           bytesList(prVarDef("w"), prVarDef("global_step")),
		"trainable_variables": bytesList(prVarDef("w")),
		"global_step":         bytesList(prVarDef("global_step")),
		"train_op":            nodeList("train_op"),
		"summaries":           nodeList("y:0", "train/fn:0"),
		"cond_context":        bytesList(cond),
		"opaque":              bytesList([]byte("\xff\xfe not a proto")),
	}
	return mg
}

func TestPruneTF1Graph(t *testing.T) {
	m := rpWriteModel(t, prTF1Graph())
	rep := rpRun(t, m, Options{}, Prune)
	g := graphdef.New(m.Proto.MetaGraphs[0].GraphDef)
	var kept []string
	for _, n := range g.Main().Nodes() {
		kept = append(kept, n.GetName())
	}
	slices.Sort(kept)
	// w's initializer and initial value stay: import_meta_graph looks them up.
	assert.Equal(t, []string{"w", "w/Assign", "w/initial_value", "w/read", "x", "y", "z"}, kept)
	var fns []string
	for _, b := range g.Functions() {
		fns = append(fns, b.Name())
	}
	assert.Equal(t, []string{"f_used", "f_object"}, fns, "f_object is a concrete function of the object graph")

	cols := m.Proto.MetaGraphs[0].CollectionDef
	require.Contains(t, cols, "variables")
	require.Len(t, cols["variables"].GetBytesList().GetValue(), 1)
	vd, ok := decodeVariableDef(cols["variables"].GetBytesList().GetValue()[0])
	require.True(t, ok)
	assert.Equal(t, "w:0", vd.GetVariableName())
	assert.Len(t, cols["trainable_variables"].GetBytesList().GetValue(), 1)
	for _, gone := range []string{"global_step", "train_op", "cond_context"} {
		assert.NotContains(t, cols, gone)
	}
	assert.Equal(t, []string{"y:0"}, cols["summaries"].GetNodeList().GetValue())
	assert.Len(t, cols["opaque"].GetBytesList().GetValue(), 1, "entries of unknown type are kept")

	var whats []string
	for _, ch := range rep.Passes[0].Changes {
		whats = append(whats, ch.Where.String()+": "+ch.What)
	}
	joined := strings.Join(whats, "\n")
	for _, want := range []string{"node train/update: removed: no root reaches it", "function f_train: removed function", "function f_dead: removed function", `deleted collection "train_op"`} {
		assert.Contains(t, joined, want)
	}
	assert.NoError(t, graphdef.Validate(m.Proto.MetaGraphs[0].GraphDef))

	rep = rpRun(t, m, Options{}, Prune)
	assert.False(t, rep.Changed(), "second run changed: %v", rep.Passes)
}

// TestPruneKeepsInitRoots checks that what the init op and kept
// collections reach stays.
func TestPruneKeepsInitRoots(t *testing.T) {
	mg := prTF1Graph()
	mg.CollectionDef["table_initializer"] = &tfpb.CollectionDef{Kind: &tfpb.CollectionDef_NodeList_{NodeList: &tfpb.CollectionDef_NodeList{Value: []string{"global_step/Assign"}}}}
	mg.CollectionDef[graphdef.MainOpCollection] = &tfpb.CollectionDef{Kind: &tfpb.CollectionDef_NodeList_{NodeList: &tfpb.CollectionDef_NodeList{Value: []string{"train_op"}}}}
	m := rpWriteModel(t, mg)
	rpRun(t, m, Options{}, Prune)
	for _, name := range []string{"global_step", "global_step/Assign", "global_step/initial_value", "global_step/read", "train_op", "train/update", "train/fn"} {
		assert.True(t, rpHasNode(m, "", name), "%s kept", name)
	}
	assert.Contains(t, m.Proto.MetaGraphs[0].CollectionDef, "global_step")
}

func TestNamesIn(t *testing.T) {
	w := &tfpb.WhileContextDef{
		ContextName: "while/while_context", PivotName: "while/Merge:0",
		LoopExitNames: []string{"while/Exit:0"},
		ValuesDef:     &tfpb.ValuesDef{Values: []string{"a:0"}, ExternalValues: map[string]string{"b:0": "c:0"}},
	}
	var got []string
	namesIn(w.ProtoReflect(), func(s string) { got = append(got, s) })
	slices.Sort(got)
	assert.Equal(t, []string{"a:0", "b:0", "c:0", "while/Exit:0", "while/Merge:0", "while/while_context"}, got)
}

// TestPruneFixtures rewrites every fixture with the default pipeline and
// checks that prune leaves valid graphs, that a second prune changes
// nothing, and that the verify checks find nothing prune could have
// caused (dangling references, out-of-range object ids).
func TestPruneFixtures(t *testing.T) {
	for _, f := range fixtures.All(t) {
		t.Run(f.Name, func(t *testing.T) {
			m := rpReadFixture(t, f.Name)
			_, err := Default().Run(context.Background(), m, Options{})
			require.NoError(t, err)
			rep := rpRun(t, m, Options{}, Prune)
			assert.False(t, rep.Changed(), "second prune changed: %v", rep.Passes)
			for _, finding := range Check(m, Options{}) {
				assert.NotContains(t, finding.What, "out of range", finding.Where.String())
				assert.NotContains(t, finding.What, "dangling", finding.Where.String())
			}
		})
	}
}

// TestDropOptimizerKeras drops the Adam state of the Keras fixture and
// checks the checkpoint, both object graphs and keras_metadata.pb.
func TestDropOptimizerKeras(t *testing.T) {
	m := rpReadFixture(t, "keras_mirrored")
	before := len(m.Proto.MetaGraphs[0].ObjectGraphDef.Nodes)
	_, err := Default().Run(context.Background(), m, Options{DropOptimizer: true})
	require.NoError(t, err)
	for _, key := range m.OutputKeys() {
		assert.False(t, strings.HasPrefix(key, "optimizer/") || strings.Contains(key, ".OPTIMIZER_SLOT"), "optimizer key %q left", key)
	}
	require.Contains(t, m.OutputKeys(), "layer_with_weights-0/kernel/.ATTRIBUTES/VARIABLE_VALUE")

	og := m.Proto.MetaGraphs[0].ObjectGraphDef
	assert.Less(t, len(og.Nodes), before)
	for _, ch := range og.Nodes[0].GetChildren() {
		assert.NotEqual(t, "optimizer", ch.GetLocalName())
	}
	for id, obj := range og.Nodes {
		for _, ch := range append(obj.GetChildren(), obj.GetDependencies()...) {
			assert.Less(t, int(ch.GetNodeId()), len(og.Nodes), "child of %d", id)
		}
		assert.NotContains(t, obj.GetVariable().GetName(), "Adam/")
	}
	for name, fn := range og.ConcreteFunctions {
		for _, id := range fn.GetBoundInputs() {
			require.Less(t, int(id), len(og.Nodes), name)
			assert.NotNil(t, og.Nodes[id].GetVariable(), "%s is bound to a variable", name)
		}
	}
	// Every keras_metadata entry still names the object its path leads to.
	require.NotNil(t, m.Keras)
	for _, k := range m.Keras.Nodes {
		id, ok := prResolvePath(og, k.NodePath)
		require.True(t, ok, "path %s resolves", k.NodePath)
		assert.Equal(t, id, k.NodeID, "keras entry %s", k.NodePath)
	}

	ck, err := m.OutputObjectGraph()
	require.NoError(t, err)
	keys := map[string]bool{}
	for _, k := range m.OutputKeys() {
		keys[k] = true
	}
	for _, n := range ck.GetNodes() {
		assert.Empty(t, n.GetSlotVariables())
		for _, a := range n.GetAttributes() {
			assert.True(t, keys[a.GetCheckpointKey()], "object graph names missing key %s", a.GetCheckpointKey())
		}
	}
	for _, ch := range ck.GetNodes()[0].GetChildren() {
		assert.NotEqual(t, "optimizer", ch.GetLocalName())
	}
	restored, _ := saverKeys(t, m)
	for _, k := range restored {
		assert.True(t, keys[k], "saver restores missing key %s", k)
	}

	rep, err := Default().Run(context.Background(), m, Options{DropOptimizer: true})
	require.NoError(t, err)
	for _, p := range rep.Passes {
		if p.Pass == "prune" {
			assert.Empty(t, p.Changes, "second run changed")
		}
	}
}

// prResolvePath follows a Keras node path ("root.layer-0.kernel") through
// the object graph's children.
func prResolvePath(og *tfpb.SavedObjectGraph, path string) (int32, bool) {
	parts := strings.Split(path, ".")
	if parts[0] != "root" {
		return 0, false
	}
	id := int32(0)
next:
	for _, p := range parts[1:] {
		for _, ch := range og.Nodes[id].GetChildren() {
			if ch.GetLocalName() == p {
				id = ch.GetNodeId()
				continue next
			}
		}
		return 0, false
	}
	return id, true
}

// prSyntheticModel builds a graph of n main-graph nodes: half of them a
// chain the signature reads, half a dead chain (as training ops are), and
// n/100 library functions, half called from the live chain.
func prSyntheticModel(n int) *savedmodel.Model {
	nodes := make([]*nodepb.NodeDef, 0, n)
	var fns []*fnpb.FunctionDef
	for _, prefix := range []string{"live", "dead"} {
		prev := prefix + "/0"
		nodes = append(nodes, rpNd(prev, "Placeholder"))
		for i := 1; i < n/2; i++ {
			name := fmt.Sprintf("%s/%d", prefix, i)
			if i%200 == 0 {
				fn := fmt.Sprintf("%s_fn_%d", prefix, i)
				fns = append(fns, prIdentityFn(fn))
				nodes = append(nodes, prCall(name, fn, prev))
			} else {
				nodes = append(nodes, rpNd(name, "Identity", prev))
			}
			prev = name
		}
	}
	mg := &tfpb.MetaGraphDef{
		GraphDef: &graphpb.GraphDef{Node: nodes, Library: &fnpb.FunctionDefLibrary{Function: fns}},
		SignatureDef: map[string]*tfpb.SignatureDef{"s": {Outputs: map[string]*tfpb.TensorInfo{
			"y": {Encoding: &tfpb.TensorInfo_Name{Name: fmt.Sprintf("live/%d:0", n/2-1)}},
		}}},
	}
	return &savedmodel.Model{Proto: &tfpb.SavedModel{MetaGraphs: []*tfpb.MetaGraphDef{mg}}}
}

// prCPUTime returns the process's user plus system CPU time.
func prCPUTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkPrune measures the prune pass alone (indexing, reachability,
// removal of half the graph, and the pipeline's validation after it) on
// synthetic graphs. It reports wall and CPU nanoseconds per node: on a
// shared machine the CPU figure is the steadier one.
func BenchmarkPrune(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			p := NewPipeline(Prune)
			var cpu time.Duration
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				m := prSyntheticModel(n)
				start := prCPUTime(b)
				b.StartTimer()
				if _, err := p.Run(context.Background(), m, Options{}); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				cpu += prCPUTime(b) - start
				b.StartTimer()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/node")
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N)/float64(n), "cpu-ns/node")
		})
	}
}

// TestDropOptimizerTF1 drops the Adam state of the TF1 parameter-server
// fixture: slots and beta powers go from the checkpoint, the saver and the
// graph, the model variables and the global step stay, and every
// VariableDef left in a collection names nodes that exist.
func TestDropOptimizerTF1(t *testing.T) {
	m := rpReadFixture(t, "tf1_ps_worker")
	_, err := Default().Run(context.Background(), m, Options{DropOptimizer: true})
	require.NoError(t, err)
	assert.Equal(t, []string{"dense/bias", "dense/kernel", "global_step", "out/kernel"}, m.OutputKeys())
	restored, saved := saverKeys(t, m)
	assert.Equal(t, m.OutputKeys(), restored)
	assert.Equal(t, m.OutputKeys(), saved)
	g := graphdef.New(m.Proto.MetaGraphs[0].GraphDef)
	for _, n := range g.Main().Nodes() {
		assert.False(t, strings.Contains(n.GetName(), "/Adam") || strings.HasPrefix(n.GetName(), "beta1_power"), "node %s left", n.GetName())
		assert.False(t, applyOp.MatchString(n.GetOp()), "update op %s left", n.GetName())
	}
	for key, col := range m.Proto.MetaGraphs[0].CollectionDef {
		if !isVariableCollection(key, col) {
			continue
		}
		for _, b := range col.GetBytesList().GetValue() {
			vd, ok := decodeVariableDef(b)
			require.True(t, ok)
			for _, name := range []string{vd.GetVariableName(), vd.GetInitializerName(), vd.GetSnapshotName()} {
				assert.NotNil(t, g.Main().Node(graphdef.Producer(name)), "collection %s names missing %s", key, name)
			}
		}
	}
	rep, err := Default().Run(context.Background(), m, Options{DropOptimizer: true})
	require.NoError(t, err)
	assert.False(t, rep.Changed(), "second run changed")
}

// TestPruneWithoutRoots leaves a graph nothing names untouched.
func TestPruneWithoutRoots(t *testing.T) {
	mg := rpMetaGraph([]*nodepb.NodeDef{rpNd("x", "Placeholder"), rpNd("y", "Identity", "x")}, prIdentityFn("f"))
	m := rpWriteModel(t, mg)
	rep := rpRun(t, m, Options{}, Prune)
	assert.False(t, rep.Changed())
	require.Len(t, rep.Findings(), 1)
	assert.Contains(t, rep.Findings()[0].What, "nothing is pruned")
	assert.True(t, rpHasNode(m, "", "y"))
}
