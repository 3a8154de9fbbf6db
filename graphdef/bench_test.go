package graphdef

import (
	"fmt"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	attrpb "github.com/wamuir/graft/tensorflow/core/framework/attr_value_go_proto"
	fnpb "github.com/wamuir/graft/tensorflow/core/framework/function_go_proto"
	graphpb "github.com/wamuir/graft/tensorflow/core/framework/graph_go_proto"
	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"
	typespb "github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
)

// synth builds a TF2-shaped graph of about n nodes: a fifth in the main
// graph (placeholders, per-replica VarHandleOps on GPU devices, one call
// per function), the rest in functions of 100 nodes with reads, matmuls,
// devices, control edges, _class attrs and a collective every 10 nodes.
func synth(n int) *graphpb.GraphDef {
	const per = 100
	nfn := n * 4 / 5 / per
	gd := &graphpb.GraphDef{Library: &fnpb.FunctionDefLibrary{}}
	tAttr := typeAttr(1)
	gpu := func(i int) string { return "/job:worker/replica:0/task:0/device:GPU:" + strconv.Itoa(i%4) }
	for f := 0; f < nfn; f++ {
		name := "__inference_f_" + strconv.Itoa(f)
		fd := function(name, []string{"x", "h0", "h1"}, []string{"y"}, nil)
		prev := "x"
		for i := 0; i < per; i++ {
			var nd *nodepb.NodeDef
			id := "n" + strconv.Itoa(i)
			switch {
			case i%10 == 5:
				nd = withAttr(node(id, "CollectiveReduceV2", prev, "^n"+strconv.Itoa(i-1)), "T", tAttr)
				prev = id + ":data:0"
			case i%10 == 9:
				nd = withAttr(node(id, "ReadVariableOp", "h"+strconv.Itoa(i%2)), "dtype", tAttr)
				nd = withAttr(nd, ClassAttr, colocAttr("n"+strconv.Itoa(i-1)))
			default:
				nd = withAttr(node(id, "MatMul", prev, prev), "T", tAttr)
				prev = id + ":product:0"
			}
			nd.Device = gpu(i)
			fd.NodeDef = append(fd.NodeDef, nd)
		}
		fd.Ret = map[string]string{"y": prev}
		gd.Library.Function = append(gd.Library.Function, fd)
	}
	for i := 0; len(gd.Node) < n-nfn*per; i++ {
		s := strconv.Itoa(i)
		gd.Node = append(gd.Node,
			withDevice(node("v"+s, "VarHandleOp"), gpu(0)),
			withDevice(withAttr(node("v"+s+"/replica_1", "VarHandleOp"), ClassAttr, colocAttr("v"+s)), gpu(1)),
			node("x"+s, "Placeholder"),
		)
		call := withAttr(node("call"+s, "StatefulPartitionedCall", "x"+s, "v"+s, "v"+s+"/replica_1"), "Tin",
			&attrpb.AttrValue{Value: &attrpb.AttrValue_List{List: &attrpb.AttrValue_ListValue{}}})
		if i < nfn {
			call = withAttr(call, "f", funcAttr("__inference_f_"+strconv.Itoa(i)))
		}
		gd.Node = append(gd.Node, call, node("out"+s, "Identity", "call"+s+":0", "^v"+s))
	}
	return gd
}

func nodeCount(gd *graphpb.GraphDef) int {
	n := len(gd.Node)
	for _, f := range gd.GetLibrary().GetFunction() {
		n += len(f.NodeDef)
	}
	return n
}

var sizes = []int{10_000, 100_000, 1_000_000}

// cpuNow returns the CPU time (user+system, all threads, GC included) the
// process has used. The machine is shared, so wall time per node is noisy;
// CPU time is what the code costs.
func cpuNow() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchPerUnit runs, for each size, setup (untimed) then run (timed) on a
// fresh synthetic graph per iteration, and reports wall and CPU
// nanoseconds, allocations and bytes allocated per unit (node or edit)
// that run returns.
func benchPerUnit[S any](b *testing.B, setup func(gd *graphpb.GraphDef) S, run func(b *testing.B, s S) int) {
	benchOn(b, synth, setup, run)
}

// benchOn is benchPerUnit on graphs made by gen.
func benchOn[S any](b *testing.B, gen func(int) *graphpb.GraphDef, setup func(gd *graphpb.GraphDef) S, run func(b *testing.B, s S) int) {
	for _, n := range sizes {
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			units := 0
			var cpu, wall time.Duration
			var allocs, bytes uint64
			var m0, m1 runtime.MemStats
			b.StopTimer()
			for i := 0; i < b.N; i++ {
				s := setup(gen(n))
				runtime.GC()
				runtime.ReadMemStats(&m0)
				b.StartTimer()
				c0, w0 := cpuNow(), time.Now()
				units += run(b, s)
				cpu += cpuNow() - c0
				wall += time.Since(w0)
				b.StopTimer()
				runtime.ReadMemStats(&m1)
				allocs += m1.Mallocs - m0.Mallocs
				bytes += m1.TotalAlloc - m0.TotalAlloc
			}
			b.ReportMetric(float64(wall.Nanoseconds())/float64(units), "ns/unit")
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(units), "cpu-ns/unit")
			b.ReportMetric(float64(allocs)/float64(units), "allocs/unit")
			b.ReportMetric(float64(bytes)/float64(units), "B/unit")
		})
	}
}

func BenchmarkNew(b *testing.B) {
	benchPerUnit(b, func(gd *graphpb.GraphDef) *graphpb.GraphDef { return gd }, runNew)
}

func runNew(b *testing.B, gd *graphpb.GraphDef) int {
	New(gd)
	return nodeCount(gd)
}

// BenchmarkNewRich is BenchmarkNew on richSynth graphs, whose nodes carry
// the attrs TF writes.
func BenchmarkNewRich(b *testing.B) {
	benchOn(b, richSynth, func(gd *graphpb.GraphDef) *graphpb.GraphDef { return gd }, runNew)
}

// BenchmarkValidateRich is BenchmarkValidate on richSynth graphs.
func BenchmarkValidateRich(b *testing.B) {
	benchOn(b, richSynth, New, runValidate)
}

// richSynth is synth with the attrs TF 2 writes on such nodes (types,
// shapes, transposes, collective and call settings), 3 to 7 per node, so
// that indexing pays for attr maps of realistic size.
func richSynth(n int) *graphpb.GraphDef {
	gd := synth(n)
	b := func(v bool) *attrpb.AttrValue { return &attrpb.AttrValue{Value: &attrpb.AttrValue_B{B: v}} }
	s := func(v string) *attrpb.AttrValue { return &attrpb.AttrValue{Value: &attrpb.AttrValue_S{S: []byte(v)}} }
	shapes := &attrpb.AttrValue{Value: &attrpb.AttrValue_List{List: &attrpb.AttrValue_ListValue{}}}
	rich := func(nd *nodepb.NodeDef) {
		withAttr(nd, "_output_shapes", shapes)
		switch nd.Op {
		case "MatMul":
			withAttr(withAttr(nd, "transpose_a", b(false)), "transpose_b", b(false))
		case "CollectiveReduceV2":
			withAttr(withAttr(nd, "merge_op", s("Add")), "final_op", s("Id"))
			withAttr(withAttr(nd, "communication_hint", s("auto")), "Tout", typeAttr(3))
		case "StatefulPartitionedCall":
			tout := &attrpb.AttrValue_ListValue{Type: []typespb.DataType{typespb.DataType_DT_FLOAT}}
			withAttr(withAttr(nd, "Tout", &attrpb.AttrValue{Value: &attrpb.AttrValue_List{List: tout}}), "config", s(""))
			withAttr(withAttr(nd, "config_proto", s("")), "executor_type", s(""))
		case "VarHandleOp":
			withAttr(withAttr(nd, "shared_name", s(nd.Name)), "dtype", typeAttr(1))
			withAttr(nd, "shape", shapes)
		case "Placeholder":
			withAttr(withAttr(nd, "dtype", typeAttr(1)), "shape", shapes)
		}
	}
	for _, nd := range gd.Node {
		rich(nd)
	}
	for _, fd := range gd.GetLibrary().GetFunction() {
		for _, nd := range fd.NodeDef {
			rich(nd)
		}
	}
	return gd
}

func BenchmarkWalkClearDevices(b *testing.B) {
	benchPerUnit(b, New, func(b *testing.B, g *Graph) int {
		n := 0
		for _, nd := range g.All() {
			nd.Device = ""
			n++
		}
		return n
	})
}

func BenchmarkReachable(b *testing.B) {
	type state struct {
		g     *Graph
		roots Roots
	}
	benchPerUnit(b, func(gd *graphpb.GraphDef) state {
		s := state{g: New(gd)}
		for _, n := range gd.Node {
			if n.Op == "Identity" {
				s.roots.Nodes = append(s.roots.Nodes, n.Name)
			}
		}
		return s
	}, func(b *testing.B, s state) int {
		s.g.Reachable(s.roots)
		return nodeCount(s.g.def)
	})
}

func BenchmarkValidate(b *testing.B) {
	benchPerUnit(b, New, runValidate)
}

func runValidate(b *testing.B, g *Graph) int {
	if err := g.Validate(); err != nil {
		b.Fatal(err)
	}
	return nodeCount(g.def)
}

// BenchmarkEdits replaces every collective by an Identity and folds every
// replica VarHandleOp into its primary, then removes the replicas in one
// batch; ns/unit is per edit and must not grow with the graph.
func BenchmarkEdits(b *testing.B) {
	type state struct {
		g        *Graph
		colls    []NodeRef
		replicas []string
	}
	benchPerUnit(b, func(gd *graphpb.GraphDef) state {
		s := state{g: New(gd)}
		s.colls = s.g.Ops("CollectiveReduceV2")
		for _, r := range s.g.Ops("VarHandleOp") {
			if len(Colocation(r.Node)) > 0 {
				s.replicas = append(s.replicas, r.Node.Name)
			}
		}
		return s
	}, func(b *testing.B, s state) int {
		g, colls, replicas := s.g, s.colls, s.replicas
		for _, r := range colls {
			if err := r.Body.ReplaceByIdentity(r.Node.Name, 0); err != nil {
				b.Fatal(err)
			}
		}
		m := g.Main()
		for _, name := range replicas {
			if _, err := m.RedirectNode(name, name[:len(name)-len("/replica_1")]); err != nil {
				b.Fatal(err)
			}
		}
		if err := m.Remove(DanglingError, replicas...); err != nil {
			b.Fatal(err)
		}
		return len(colls) + 2*len(replicas)
	})
}

// BenchmarkStaleRich times Stale on richSynth graphs: the check the
// rewrite pipeline runs before trusting an index it did not just build.
func BenchmarkStaleRich(b *testing.B) {
	benchOn(b, richSynth, New, func(b *testing.B, g *Graph) int {
		if g.Stale() {
			b.Fatal("a fresh index is stale")
		}
		return nodeCount(g.def)
	})
}
