package rewrite

import (
	"fmt"
	"testing"

	tfpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
	"google.golang.org/protobuf/proto"
)

// BenchmarkSaverDrop measures the saver pass on a TF2 restore function of
// n slots after half of the keys were deleted (every other one).
func BenchmarkSaverDrop(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("slots=%d", n), func(b *testing.B) {
			var passed []string
			var tensors []rpTensor
			for i := range n {
				passed = append(passed, fmt.Sprintf("v%d", i))
				tensors = append(tensors, rpFloats(fmt.Sprintf("k%d", i), []int64{2}, float32(i), 0))
			}
			mg := tf2RestoreGraphN(passed)
			for b.Loop() {
				b.StopTimer()
				m := rpWriteModel(b, proto.Clone(mg).(*tfpb.MetaGraphDef), tensors...)
				for i := 0; i < n; i += 2 {
					if err := m.DeleteVariable(fmt.Sprintf("k%d", i)); err != nil {
						b.Fatal(err)
					}
				}
				b.StartTimer()
				if _, err := NewPipeline(Saver).Run(b.Context(), m, Options{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
