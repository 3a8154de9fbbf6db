package rewrite

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/unmirror/unmirror/graphdef"
	"github.com/unmirror/unmirror/savedmodel"
)

// Benchmarks of the default pipeline as a whole and of each of its passes
// on the synthetic TF2-shaped models of dvSynth (functions of 100 nodes
// with devices on /job:worker GPUs, colocations and all-reduces, called
// from a main graph holding per-replica VarHandleOp pairs), at 10k, 100k
// and 1M nodes. Each reports ns/node (wall) and cpu-ns/node (CPU time of
// the process, the figure to trust on a shared machine); per-node figures
// must stay flat across the sizes. BENCHMARKS.md has the figures.
//
//	go test ./rewrite -run '^$' -bench 'Perf' -benchtime 3x

// perfRun times fn on a fresh model per iteration (built and collected
// outside the timer) and reports per-node figures.
func perfRun(b *testing.B, n int, prepare func(*savedmodel.Model), fn func(b *testing.B, m *savedmodel.Model)) {
	nodes := dvNodes(dvSynth(n))
	b.ReportAllocs()
	b.ResetTimer()
	var cpu, wall time.Duration
	for range b.N {
		b.StopTimer()
		m := dvSynth(n)
		if prepare != nil {
			prepare(m)
		}
		runtime.GC()
		b.StartTimer()
		c0, w0 := dvCPUTime(), time.Now()
		fn(b, m)
		cpu += dvCPUTime() - c0
		wall += time.Since(w0)
	}
	b.StopTimer()
	b.ReportMetric(float64(wall.Nanoseconds())/float64(b.N)/float64(nodes), "ns/node")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N)/float64(nodes), "cpu-ns/node")
}

// BenchmarkPerfPipeline runs Default() as Rewrite does: every pass, with
// the graph validation the pipeline does after each pass that changed
// something.
func BenchmarkPerfPipeline(b *testing.B) {
	for _, n := range dvBenchSizes {
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			perfRun(b, n, nil, func(b *testing.B, m *savedmodel.Model) {
				rep, err := Default().Run(context.Background(), m, Options{})
				if err != nil {
					b.Fatal(err)
				}
				if !rep.Changed() {
					b.Fatal("the pipeline changed nothing")
				}
			})
		})
	}
}

// BenchmarkPerfPass times each pass of Default() alone (its own graph
// index included, no validation around it) on a model that the passes
// before it in the default order have already rewritten, untimed.
func BenchmarkPerfPass(b *testing.B) {
	passes := Default().Passes
	for i, p := range passes {
		before := NewPipeline(passes[:i]...)
		for _, n := range dvBenchSizes {
			b.Run(fmt.Sprintf("%s/nodes=%d", p.Name, n), func(b *testing.B) {
				prepare := func(m *savedmodel.Model) {
					if _, err := before.Run(context.Background(), m, Options{}); err != nil {
						b.Fatal(err)
					}
				}
				perfRun(b, n, prepare, func(b *testing.B, m *savedmodel.Model) {
					c := &Context{Ctx: context.Background(), Model: m, pass: p, report: &PassReport{}, graphs: map[int]*graphdef.Graph{}}
					if err := p.Run(c); err != nil {
						b.Fatal(err)
					}
				})
			})
		}
	}
}

// BenchmarkPerfValidate measures one validation of every graph of the
// model, which the pipeline does once before the first pass and once after
// every pass that changed something.
func BenchmarkPerfValidate(b *testing.B) {
	for _, n := range dvBenchSizes {
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			perfRun(b, n, nil, func(b *testing.B, m *savedmodel.Model) {
				graphProblems(m, map[int]*graphdef.Graph{}, map[*graphdef.Graph]checkedIndex{})
			})
		})
	}
}
