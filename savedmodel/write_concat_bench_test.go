//go:build unix

package savedmodel

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	tsp "github.com/wamuir/graft/tensorflow/core/framework/tensor_shape_go_proto"
	typespb "github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
	tfpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
)

// BenchmarkWriteConcatLarge writes a 256 MiB checkpoint of four 64 MiB
// parts assembled into one tensor (ConcatVariable): through Concat
// (streamed, checksums combined), Concat with KernelCopy, and from opaque
// streams as before Concat, durable and not. cpu-ms/op is the process's user+sys
// time per Write (getrusage), the figure that matters on a loaded machine.
func BenchmarkWriteConcatLarge(b *testing.B) {
	const parts = 4
	m := mustRead(b, tfModel(b, "VarsAndArithmeticObjectGraph"))
	var keys []string
	for i := range parts {
		k := fmt.Sprintf("part_%d", i)
		entry := &tfpb.BundleEntryProto{Dtype: typespb.DataType_DT_FLOAT,
			Shape: &tsp.TensorShapeProto{Dim: []*tsp.TensorShapeProto_Dim{{Size: largeBytes / parts / 4}}}}
		err := m.SetVariable(k, entry, func() (io.ReadCloser, error) {
			return io.NopCloser(io.LimitReader(zeros{}, largeBytes/parts)), nil
		})
		if err != nil {
			b.Fatal(err)
		}
		keys = append(keys, k)
	}
	dir := filepath.Join(b.TempDir(), "parts")
	if err := m.Write(context.Background(), dir, WriteOptions{NoSync: true}); err != nil {
		b.Fatal(err)
	}
	m = mustRead(b, dir)
	full := &tfpb.BundleEntryProto{Dtype: typespb.DataType_DT_FLOAT,
		Shape: &tsp.TensorShapeProto{Dim: []*tsp.TensorShapeProto_Dim{{Size: largeBytes / 4}}}}
	if err := m.ConcatVariable("full", full, keys); err != nil {
		b.Fatal(err)
	}
	for _, k := range keys {
		m.DeleteVariable(k)
	}
	for _, mode := range []rebuildMode{byConcat, byKernel, byStream} {
		for _, noSync := range []bool{false, true} {
			b.Run(mode.String()+"/"+map[bool]string{false: "sync", true: "nosync"}[noSync], func(b *testing.B) {
				out := filepath.Join(b.TempDir(), "out")
				b.SetBytes(largeBytes)
				start := cpuTime()
				for b.Loop() {
					if err := m.Write(context.Background(), out, WriteOptions{Overwrite: true, NoSync: noSync, rebuild: mode}); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64((cpuTime()-start).Milliseconds())/float64(b.N), "cpu-ms/op")
			})
		}
	}
}

// cpuTime returns the process's user+sys time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
