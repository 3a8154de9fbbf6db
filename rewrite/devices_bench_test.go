package rewrite

import (
	"context"
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
	tfpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"

	"github.com/unmirror/unmirror/device"
	"github.com/unmirror/unmirror/graphdef"
	"github.com/unmirror/unmirror/savedmodel"
)

// dvSynth builds a TF2-shaped model of about n nodes: functions of 100
// nodes (MatMuls pinned to /job:worker GPUs, a ReadVariableOp colocated with
// its predecessor every 10 nodes, and every 20 nodes a mean all-reduce:
// CollectiveReduceV2 with Const group size, key and instance, then a
// RealDiv by the group size), each called from the main graph with a
// per-replica VarHandleOp pair.
func dvSynth(n int) *savedmodel.Model {
	const per = 100
	nfn := max(1, n/(per+4))
	gd := &graphpb.GraphDef{Library: &fnpb.FunctionDefLibrary{}}
	gpu := func(i int) string { return "/job:worker/replica:0/task:1/device:GPU:" + strconv.Itoa(i%4) }
	for f := 0; f < nfn; f++ {
		name := "__inference_f_" + strconv.Itoa(f)
		var nodes []*nodepb.NodeDef
		prev := "x"
		for i := 0; len(nodes) < per; i++ {
			id := "n" + strconv.Itoa(i)
			switch {
			case i%20 == 7:
				nodes = append(nodes, dvReduceV2(id, prev, 2, "Add", "Id")...)
				nodes = append(nodes, dvConst(id+"/y", dvFloat, 2),
					dvAttrs(dvNode(id+"/truediv", "RealDiv", gpu(i), id+":data:0", id+"/y:output:0"), "T", dvFloat))
				prev = id + "/truediv:z:0"
			case i%10 == 9:
				nodes = append(nodes, dvAttrs(dvNode(id, "ReadVariableOp", gpu(i), "h"), "dtype", dvFloat,
					"_class", []string{"loc:@n" + strconv.Itoa(i-1)}))
			default:
				nodes = append(nodes, dvAttrs(dvNode(id, "MatMul", gpu(i), prev, prev), "T", dvFloat))
				prev = id + ":product:0"
			}
		}
		fd := dvFunc(name, []string{"x", "h"}, []string{"y"}, map[string]string{"y": prev}, nodes...)
		gd.Library.Function = append(gd.Library.Function, fd)
		s := strconv.Itoa(f)
		gd.Node = append(gd.Node,
			dvAttrs(dvNode("x"+s, "Placeholder", ""), "dtype", dvFloat),
			dvNode("v"+s, "VarHandleOp", gpu(0)),
			dvAttrs(dvNode("v"+s+"/replica_1", "VarHandleOp", gpu(1)), "_class", []string{"loc:@v" + s}),
			dvAttrs(dvCall("call"+s, name, "x"+s, "v"+s), "Tin", &attrpb.AttrValue{}),
		)
	}
	meta := &tfpb.MetaGraphDef{GraphDef: gd}
	return &savedmodel.Model{Proto: &tfpb.SavedModel{MetaGraphs: []*tfpb.MetaGraphDef{meta}}}
}

func dvNodes(m *savedmodel.Model) int {
	gd := m.Proto.MetaGraphs[0].GraphDef
	n := len(gd.Node)
	for _, f := range gd.GetLibrary().GetFunction() {
		n += len(f.NodeDef)
	}
	return n
}

// dvCPUTime returns the CPU time (user and system, all threads, GC included)
// the process has used: the machine is shared, so wall time per node is
// noisy, and CPU time is what the code costs.
func dvCPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

var dvBenchSizes = []int{10_000, 100_000, 1_000_000}

// dvBench runs pass p alone (no pipeline, so no graph validation around
// it) on a fresh synthetic model per iteration, building the graph index as
// a pass does, and reports ns per node.
func dvBench(b *testing.B, p *Pass, opts Options) {
	for _, n := range dvBenchSizes {
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			nodes := dvNodes(dvSynth(n))
			b.ReportAllocs()
			b.ResetTimer()
			var cpu time.Duration
			for range b.N {
				b.StopTimer()
				m := dvSynth(n)
				runtime.GC()
				b.StartTimer()
				start := dvCPUTime()
				pr := &PassReport{}
				c := &Context{Ctx: context.Background(), Model: m, Options: opts, pass: p, report: pr, graphs: map[int]*graphdef.Graph{}}
				if err := p.Run(c); err != nil {
					b.Fatal(err)
				}
				cpu += dvCPUTime() - start
				if len(pr.Changes) == 0 {
					b.Fatal("nothing changed")
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(nodes), "ns/node")
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N)/float64(nodes), "cpu-ns/node")
		})
	}
}

func BenchmarkDevices(b *testing.B) {
	b.Run("cpu", func(b *testing.B) { dvBench(b, Devices, Options{Target: device.CPU}) })
	b.Run("gpu", func(b *testing.B) { dvBench(b, Devices, Options{Target: device.GPU}) })
}

func BenchmarkCollectives(b *testing.B) {
	dvBench(b, Collectives, Options{})
}

func BenchmarkVerify(b *testing.B) {
	for _, n := range dvBenchSizes {
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			m := dvSynth(n)
			nodes := dvNodes(m)
			b.ReportAllocs()
			b.ResetTimer()
			start := dvCPUTime()
			for range b.N {
				if len(Check(m, Options{})) == 0 {
					b.Fatal("no findings on a strategy model")
				}
			}
			cpu := dvCPUTime() - start
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(nodes), "ns/node")
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N)/float64(nodes), "cpu-ns/node")
		})
	}
}
