package bundle

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"math"

	"github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
)

// WriteStrings writes strs in TensorFlow's DT_STRING layout:
//
//	[varint64 len]*n  [fixed32 masked crc32c of the lengths]  [bytes]*n
//
// where the crc covers each length as a little-endian uint32 (uint64 for
// lengths above 2^32-1). It returns the number of bytes written.
func WriteStrings(w io.Writer, strs [][]byte) (int64, error) {
	var head []byte
	var crc uint32
	var buf [8]byte
	for _, s := range strs {
		l := uint64(len(s))
		head = binary.AppendUvarint(head, l)
		if l <= math.MaxUint32 {
			binary.LittleEndian.PutUint32(buf[:], uint32(l))
			crc = crc32.Update(crc, castagnoli, buf[:4])
		} else {
			binary.LittleEndian.PutUint64(buf[:], l)
			crc = crc32.Update(crc, castagnoli, buf[:])
		}
	}
	head = binary.LittleEndian.AppendUint32(head, mask(crc))
	n, err := w.Write(head)
	total := int64(n)
	if err != nil {
		return total, err
	}
	for _, s := range strs {
		n, err := w.Write(s)
		total += int64(n)
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// ReadStrings reads n strings in TensorFlow's DT_STRING layout (see
// [WriteStrings]) and checks the embedded length checksum. Memory grows only
// as bytes arrive, so a corrupt length cannot cause a large allocation. If r
// is not an io.ByteReader it is buffered, and bytes after the strings may be
// consumed from it.
func ReadStrings(r io.Reader, n int64) ([][]byte, error) {
	br, ok := r.(io.ByteReader)
	if !ok {
		b := bufio.NewReader(r)
		br, r = b, b
	}
	c := newChecker(types_go_proto.DataType_DT_STRING, n)
	var lens []uint64
	for i := int64(0); i < n; i++ {
		l, err := binary.ReadUvarint(br)
		if err != nil {
			return nil, fmt.Errorf("bundle: read length of string %d of %d: %w", i, n, noEOF(err))
		}
		lens = append(lens, l)
		var vb [binary.MaxVarintLen64]byte
		c.write(vb[:binary.PutUvarint(vb[:], l)])
	}
	var ck [4]byte
	if _, err := io.ReadFull(r, ck[:]); err != nil {
		return nil, fmt.Errorf("bundle: read string length checksum: %w", noEOF(err))
	}
	c.write(ck[:])
	if c.badCk {
		return nil, fmt.Errorf("bundle: string length checksum mismatch: stored %08x, computed %08x: %w", c.ckStored, c.ckActual, ErrCorrupt)
	}
	out := make([][]byte, 0, len(lens))
	for i, l := range lens {
		var s []byte
		if l <= 1<<20 {
			s = make([]byte, l)
			if _, err := io.ReadFull(r, s); err != nil {
				return nil, fmt.Errorf("bundle: read string %d (%d bytes): %w", i, l, noEOF(err))
			}
		} else {
			var b bytes.Buffer
			if l > math.MaxInt64 {
				return nil, fmt.Errorf("bundle: string %d has length %d: %w", i, l, ErrCorrupt)
			}
			if _, err := io.CopyN(&b, r, int64(l)); err != nil {
				return nil, fmt.Errorf("bundle: read string %d (%d bytes): %w", i, l, noEOF(err))
			}
			s = b.Bytes()
		}
		out = append(out, s)
	}
	return out, nil
}

func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// maxEmptyStrings bounds the element count of a 0-byte DT_STRING entry
// that ReadStrings materializes as empty strings.
const maxEmptyStrings = 1 << 24

// ReadStrings returns the strings of a DT_STRING entry, verifying the
// entry's checksum. A 0-byte entry (read as empty strings, as TensorFlow
// does) may claim at most 2^24 elements.
func (r *Reader) ReadStrings(key string) ([][]byte, error) {
	e, ok := r.Entry(key)
	if !ok {
		return nil, fmt.Errorf("bundle: %s: key %q: %w", r.IndexFile(), key, ErrNotFound)
	}
	if e.GetDtype() != types_go_proto.DataType_DT_STRING {
		return nil, fmt.Errorf("bundle: %s: key %q has dtype %v, not DT_STRING", r.IndexFile(), key, e.GetDtype())
	}
	rc, err := r.OpenEntry(key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	n, _ := NumElements(e.GetShape())
	if e.GetSize() == 0 {
		// TensorFlow's reading of a 0-byte entry. Its element count is not
		// backed by any bytes of the file, so it is bounded before the
		// allocation (24 bytes per element).
		if n > maxEmptyStrings {
			return nil, &CorruptError{File: r.IndexFile(), Key: key, Offset: -1,
				Reason: fmt.Sprintf("0-byte string entry claims %d elements (more than %d)", n, maxEmptyStrings)}
		}
		return make([][]byte, n), nil
	}
	out, err := ReadStrings(rc, n)
	if err != nil {
		// Prefer the stream's own, more precise error.
		if _, cerr := io.Copy(io.Discard, rc); cerr != nil {
			return nil, cerr
		}
		return nil, err
	}
	// Drain to EOF so that the entry checksum is verified.
	if _, err := io.Copy(io.Discard, rc); err != nil {
		return nil, err
	}
	return out, nil
}
