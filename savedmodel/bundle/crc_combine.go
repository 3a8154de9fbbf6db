package bundle

import "sync"

// CRC-32C combination: the checksum of A‖B from crc(A), crc(B) and len(B),
// without reading the bytes, so that an entry whose bytes are other
// entries' bytes concatenated (Writer.Concat) gets its checksum from theirs.
//
// The CRC register update is linear over GF(2), so feeding len(B) zero
// bytes into a register is a linear map Z (a 32×32 bit matrix), and
// crc(A‖B) = Z·crc(A) ⊕ crc(B): the constant terms the initial and final
// inversions add cancel out, since crc(B) carries exactly the inverted
// start register run through B (this is the method of zlib's
// crc32_combine). Z is the product of the operators for 2^k zero bytes
// over the set bits k of len(B); those 63 operators are built once, each
// the square of the one before, from the operator for one zero bit.

// gf2Matrix is a linear map on 32-bit vectors: column i is the image of
// bit i.
type gf2Matrix [32]uint32

// apply returns m·v.
func (m *gf2Matrix) apply(v uint32) uint32 {
	var out uint32
	for i := 0; v != 0; i, v = i+1, v>>1 {
		if v&1 != 0 {
			out ^= m[i]
		}
	}
	return out
}

// square returns m·m.
func (m *gf2Matrix) square() gf2Matrix {
	var sq gf2Matrix
	for i := range sq {
		sq[i] = m.apply(m[i])
	}
	return sq
}

// castagnoliReversed is the CRC-32C polynomial in the reflected bit order
// the register uses.
const castagnoliReversed = 0x82f63b78

var (
	zeroOpsOnce sync.Once
	zeroOps     [63]gf2Matrix // zeroOps[k]: the register after 2^k zero bytes
)

func buildZeroOps() {
	// One zero bit: shift right, and fold the polynomial in when the bit
	// shifted out was set.
	var bit gf2Matrix
	bit[0] = castagnoliReversed
	for i := 1; i < 32; i++ {
		bit[i] = 1 << (i - 1)
	}
	op := bit.square() // 2 bits
	op = op.square()   // 4 bits
	zeroOps[0] = op.square()
	for k := 1; k < len(zeroOps); k++ {
		zeroOps[k] = zeroOps[k-1].square()
	}
}

// crc32cCombine returns the CRC-32C (unmasked) of A‖B given crc1 of A,
// crc2 of B and len2 = len(B) >= 0.
func crc32cCombine(crc1, crc2 uint32, len2 int64) uint32 {
	zeroOpsOnce.Do(buildZeroOps)
	for k := 0; len2 != 0; k, len2 = k+1, len2>>1 {
		if len2&1 != 0 {
			crc1 = zeroOps[k].apply(crc1)
		}
	}
	return crc1 ^ crc2
}
