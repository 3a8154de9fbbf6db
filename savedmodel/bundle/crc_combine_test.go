package bundle

import (
	"hash/crc32"
	"math/rand/v2"
	"testing"
)

func TestCRC32CCombineMatchesHash(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, 1<<20)
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	cuts := []int{0, 1, 3, 4, 7, 8, 255, 4096, 65537, len(data) - 1, len(data)}
	for range 200 {
		cuts = append(cuts, rng.IntN(len(data)+1))
	}
	whole := crc32.Checksum(data, castagnoli)
	for _, cut := range cuts {
		a, b := data[:cut], data[cut:]
		got := crc32cCombine(crc32.Checksum(a, castagnoli), crc32.Checksum(b, castagnoli), int64(len(b)))
		if got != whole {
			t.Fatalf("cut at %d: combine %08x, crc32 of the whole %08x", cut, got, whole)
		}
	}
}

func TestCRC32CCombineManyParts(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for round := range 50 {
		var all []byte
		var crc uint32
		for part := range 1 + rng.IntN(20) {
			p := make([]byte, rng.IntN(5000))
			for i := range p {
				p[i] = byte(rng.Uint32())
			}
			pc := crc32.Checksum(p, castagnoli)
			if part == 0 {
				crc = pc
			} else {
				crc = crc32cCombine(crc, pc, int64(len(p)))
			}
			all = append(all, p...)
		}
		if want := crc32.Checksum(all, castagnoli); crc != want {
			t.Fatalf("round %d: combined %08x, want %08x", round, crc, want)
		}
	}
}

// TestCRC32CCombineLongZeros checks the operators for long lengths (up to
// 2^40 bytes) against composing shorter ones: appending n zero bytes then m
// must equal appending n+m.
func TestCRC32CCombineLongZeros(t *testing.T) {
	zero := make([]byte, 1<<16)
	zc := crc32.Checksum(zero, castagnoli)
	// crc of 2^16 zeros built by combining must match the direct one.
	half := crc32.Checksum(zero[:1<<15], castagnoli)
	if got := crc32cCombine(half, half, 1<<15); got != zc {
		t.Fatalf("two halves of zeros: %08x, want %08x", got, zc)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for range 100 {
		c1, c2, c3 := rng.Uint32(), rng.Uint32(), rng.Uint32()
		n, m := rng.Int64N(1<<40), rng.Int64N(1<<40)
		// (c1‖X‖Y) computed as ((c1‖X)‖Y) and as (c1‖(X‖Y)).
		left := crc32cCombine(crc32cCombine(c1, c2, n), c3, m)
		right := crc32cCombine(c1, crc32cCombine(c2, c3, m), n+m)
		if left != right {
			t.Fatalf("n=%d m=%d: %08x != %08x", n, m, left, right)
		}
	}
}

func BenchmarkCRC32CCombine(b *testing.B) {
	crc32cCombine(1, 2, 3)
	for i := 0; b.Loop(); i++ {
		crc32cCombine(uint32(i), 2, int64(i)<<20)
	}
}
