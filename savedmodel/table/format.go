package table

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// Magic is the table magic number stored in the last 8 bytes of the footer.
const Magic uint64 = 0xdb4775248b80fb57

// FooterSize is the length of the footer in bytes.
const FooterSize = 48

// Size of the per-block trailer: compression type byte and masked CRC-32C.
const trailerSize = 5

// maxHandleLen is the maximum encoded length of a block handle (two varint64).
const maxHandleLen = 20

// Compression is the compression type of a block, stored in its trailer.
type Compression byte

const (
	// NoCompression stores blocks as they are (TensorFlow's TensorBundle default).
	NoCompression Compression = 0
	// SnappyCompression stores blocks in snappy block format when that saves
	// at least 1/8 of their size.
	SnappyCompression Compression = 1
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

const maskDelta = 0xa282ead8

// MaskCRC returns the masked form of a CRC-32C as stored by LevelDB and
// TensorFlow.
func MaskCRC(c uint32) uint32 { return ((c >> 15) | (c << 17)) + maskDelta }

// UnmaskCRC inverts [MaskCRC].
func UnmaskCRC(m uint32) uint32 {
	r := m - maskDelta
	return (r >> 17) | (r << 15)
}

// blockCRC returns the masked checksum of block contents followed by the type byte.
func blockCRC(contents []byte, typ byte) uint32 {
	c := crc32.Update(0, castagnoli, contents)
	c = crc32.Update(c, castagnoli, []byte{typ})
	return MaskCRC(c)
}

// ErrCorrupt is matched (with errors.Is) by every error reporting a damaged
// or malformed table.
var ErrCorrupt = errors.New("corrupt table")

// CorruptError describes damage found in a table file.
type CorruptError struct {
	File   string // file name given to NewReader
	Offset int64  // byte offset in the file where the damage was found
	Reason string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("table: %s: %s at offset %d", e.File, e.Reason, e.Offset)
}

// Is reports whether target is ErrCorrupt.
func (e *CorruptError) Is(target error) bool { return target == ErrCorrupt }

// handle locates a block in the file; size excludes the trailer.
type handle struct {
	offset, size uint64
}

func (h handle) append(dst []byte) []byte {
	dst = binary.AppendUvarint(dst, h.offset)
	return binary.AppendUvarint(dst, h.size)
}

// decodeHandle parses a handle from the front of b and returns the rest.
func decodeHandle(b []byte) (handle, []byte, bool) {
	off, n := binary.Uvarint(b)
	if n <= 0 {
		return handle{}, nil, false
	}
	b = b[n:]
	size, m := binary.Uvarint(b)
	if m <= 0 {
		return handle{}, nil, false
	}
	return handle{off, size}, b[m:], true
}

// uvarint32 decodes a varint32 from the front of b.
func uvarint32(b []byte) (uint32, int) {
	v, n := binary.Uvarint(b)
	if n <= 0 || n > 5 || v > 0xffffffff {
		return 0, 0
	}
	return uint32(v), n
}
