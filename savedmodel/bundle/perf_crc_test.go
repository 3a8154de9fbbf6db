package bundle

import (
	"testing"

	"github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
)

// BenchmarkPerfMemcopy is the yardstick for BenchmarkCRC: a plain memory
// copy of the copy buffer (256 KiB, which stays in the CPU's caches) and
// of 64 MiB (which does not: memory bandwidth). Its bytes/s against
// BenchmarkCRC/float's and BenchmarkPerfCRC64MiB's say how close checksum
// verification runs to a memory copy (BENCHMARKS.md).
//
//	go test ./savedmodel/bundle -run '^$' -bench 'CRC|PerfMemcopy' -count 5
func BenchmarkPerfMemcopy(b *testing.B) {
	for _, tc := range []struct {
		name string
		size int
	}{{"buffer", copyBufferSize}, {"64MiB", 64 << 20}} {
		b.Run(tc.name, func(b *testing.B) {
			src := make([]byte, tc.size)
			(&noise{x: 1}).Read(src)
			dst := make([]byte, len(src))
			b.SetBytes(int64(len(src)))
			for b.Loop() {
				copy(dst, src)
			}
		})
	}
}

// BenchmarkPerfCRC64MiB verifies a 64 MiB float tensor in one pass: the
// checksum at memory bandwidth, beside BenchmarkPerfMemcopy/64MiB.
func BenchmarkPerfCRC64MiB(b *testing.B) {
	buf := make([]byte, 64<<20)
	(&noise{x: 1}).Read(buf)
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		c := newChecker(types_go_proto.DataType_DT_FLOAT, int64(len(buf)/4))
		if err := c.write(buf); err != nil {
			b.Fatal(err)
		}
	}
}
