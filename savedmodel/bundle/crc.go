package bundle

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"

	"github.com/unmirror/unmirror/savedmodel/table"
	"github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
)

// castagnoli uses the CPU's CRC32 instruction where there is one.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func mask(c uint32) uint32   { return table.MaskCRC(c) }
func unmask(m uint32) uint32 { return table.UnmaskCRC(m) }

// Phases of the checker's parse of string and variant layouts.
const (
	phLength   = iota // reading a varint64 length
	phChecksum        // reading a fixed32 masked checksum
	phBytes           // reading payload bytes
	phDone            // all elements read; any more bytes are an error
)

// checker computes TensorFlow's checksum of a tensor's stored bytes as they
// stream by, and checks the structure of DT_STRING and DT_VARIANT layouts:
//
//   - fixed-size dtypes: CRC-32C of the bytes;
//   - DT_STRING: [varint64 len]*n [fixed32 masked crc] [bytes]*; the crc
//     covers each length as little-endian uint32 (uint64 if it does not fit),
//     then the 4 checksum bytes as stored, then the string bytes, and the
//     embedded checksum must equal the crc of the lengths;
//   - DT_VARIANT: ([varint64 len] [len bytes] [fixed32 masked crc])*n; the crc
//     covers each length as little-endian uint64, the bytes and each stored
//     checksum, which must equal the running crc before it.
type checker struct {
	dtype   types_go_proto.DataType
	n       int64 // elements
	fixed   bool
	crc     uint32
	total   int64 // bytes consumed
	phase   int
	elem    int64  // element index within the current phase
	varint  uint64 // varint being decoded
	shift   uint
	pending uint64 // payload bytes still due (string data or one variant)
	sumLen  uint64 // string bytes announced by the lengths
	ck      [4]byte
	nck     int
	// badCk is set when an embedded checksum does not match.
	badCk              bool
	ckStored, ckActual uint32
}

func newChecker(dt types_go_proto.DataType, n int64) *checker {
	_, fixed := DTypeSize(dt)
	c := &checker{dtype: dt, n: n, fixed: fixed}
	if !fixed && n == 0 {
		c.phase = phDone
		if dt == types_go_proto.DataType_DT_STRING {
			c.phase = phChecksum
		}
	}
	return c
}

// write consumes p. It returns a structural error (the reason only).
func (c *checker) write(p []byte) error {
	if c.fixed {
		c.crc = crc32Update(c.crc, p)
		c.total += int64(len(p))
		return nil
	}
	for len(p) > 0 {
		switch c.phase {
		case phLength:
			b := p[0]
			p = p[1:]
			c.total++
			if c.shift >= 63 && b > 1 {
				return fmt.Errorf("element %d: length varint overflows uint64", c.elem)
			}
			c.varint |= uint64(b&0x7f) << c.shift
			c.shift += 7
			if b&0x80 != 0 {
				continue
			}
			c.lengthDone()
		case phChecksum:
			k := copy(c.ck[c.nck:], p)
			c.nck += k
			p = p[k:]
			c.total += int64(k)
			if c.nck == 4 {
				c.checksumDone()
			}
		case phBytes:
			k := len(p)
			if uint64(k) > c.pending {
				k = int(c.pending)
			}
			c.crc = crc32Update(c.crc, p[:k])
			c.pending -= uint64(k)
			p = p[k:]
			c.total += int64(k)
			if c.pending == 0 {
				c.bytesDone()
			}
		case phDone:
			return fmt.Errorf("%d bytes after the last element", len(p))
		}
	}
	return nil
}

func (c *checker) lengthDone() {
	l := c.varint
	c.varint, c.shift = 0, 0
	var buf [8]byte
	if c.dtype == types_go_proto.DataType_DT_STRING {
		if l <= math.MaxUint32 {
			binary.LittleEndian.PutUint32(buf[:], uint32(l))
			c.crc = crc32Update(c.crc, buf[:4])
		} else {
			binary.LittleEndian.PutUint64(buf[:], l)
			c.crc = crc32Update(c.crc, buf[:])
		}
		if c.sumLen+l < c.sumLen {
			c.sumLen = math.MaxUint64 // cannot be satisfied; reported at finish
		} else {
			c.sumLen += l
		}
		c.elem++
		if c.elem == c.n {
			c.phase = phChecksum
		}
		return
	}
	binary.LittleEndian.PutUint64(buf[:], l)
	c.crc = crc32Update(c.crc, buf[:])
	c.pending = l
	c.phase = phBytes
	if l == 0 {
		c.bytesDone()
	}
}

func (c *checker) checksumDone() {
	stored := unmask(binary.LittleEndian.Uint32(c.ck[:]))
	if stored != c.crc && !c.badCk {
		c.badCk, c.ckStored, c.ckActual = true, stored, c.crc
	}
	c.crc = crc32Update(c.crc, c.ck[:])
	c.nck = 0
	if c.dtype == types_go_proto.DataType_DT_STRING {
		c.pending = c.sumLen
		c.phase = phBytes
		if c.pending == 0 {
			c.phase = phDone
		}
		return
	}
	c.elem++
	c.phase = phLength
	if c.elem == c.n {
		c.phase = phDone
	}
}

func (c *checker) bytesDone() {
	if c.dtype == types_go_proto.DataType_DT_STRING {
		c.phase = phDone
		return
	}
	c.phase = phChecksum
}

// finish reports whether the bytes consumed form a complete tensor and
// returns their checksum (unmasked). For string and variant tensors an empty
// stream is accepted with checksum 0, as TensorFlow does for size 0.
func (c *checker) finish() (uint32, error) {
	if c.fixed || (c.total == 0 && !c.fixed) {
		return c.crc, nil
	}
	if c.phase != phDone {
		return 0, fmt.Errorf("data ends inside element %d of %d", c.elem, c.n)
	}
	return c.crc, nil
}

func crc32Update(c uint32, p []byte) uint32 { return crc32.Update(c, castagnoli, p) }
