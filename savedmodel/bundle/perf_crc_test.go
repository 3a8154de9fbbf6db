package bundle

import "testing"

// BenchmarkPerfMemcopy is the yardstick for BenchmarkCRC: a plain memory
// copy of the same 1 MiB buffer (the reader's and writer's copy buffer
// size). Its bytes/s against BenchmarkCRC/float's says how close checksum
// verification runs to memory bandwidth (BENCHMARKS.md).
//
//	go test ./savedmodel/bundle -run '^$' -bench 'CRC|PerfMemcopy' -count 5
func BenchmarkPerfMemcopy(b *testing.B) {
	src := make([]byte, copyBufferSize)
	(&noise{x: 1}).Read(src)
	dst := make([]byte, len(src))
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		copy(dst, src)
	}
}
