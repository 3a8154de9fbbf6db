package table

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"iter"
	"sort"

	"github.com/golang/snappy"
)

// maxBlockSize bounds the decoded size of one block. TensorFlow's blocks are
// about 256 KiB, bigger only when a single entry is bigger.
const maxBlockSize = 1 << 30

// Reader reads a table. Its methods may be called from one goroutine at a time.
type Reader struct {
	r     io.ReaderAt
	size  int64
	name  string
	index []indexEntry
	err   error
	// compressed is set once a compressed block has been read.
	compressed bool
}

type indexEntry struct {
	key []byte
	h   handle
}

// NewReader opens the table stored in r, which holds size bytes; name is used
// in error messages. It reads and checks the footer and the index block.
func NewReader(r io.ReaderAt, size int64, name string) (*Reader, error) {
	t := &Reader{r: r, size: size, name: name}
	if size < FooterSize {
		return nil, t.corrupt(0, "file is too short to be an sstable")
	}
	var footer [FooterSize]byte
	if _, err := r.ReadAt(footer[:], size-FooterSize); err != nil {
		return nil, fmt.Errorf("table: %s: read footer: %w", name, err)
	}
	footOff := size - FooterSize
	if binary.LittleEndian.Uint64(footer[40:]) != Magic {
		return nil, t.corrupt(footOff+40, "not an sstable (bad magic number)")
	}
	meta, rest, ok := decodeHandle(footer[:40])
	if !ok {
		return nil, t.corrupt(footOff, "bad block handle")
	}
	idx, pad, ok := decodeHandle(rest)
	if !ok {
		return nil, t.corrupt(footOff, "bad block handle")
	}
	// Writers encode the handles as minimal varints and zero the padding;
	// anything else is damage that no checksum covers.
	minimal := 0
	for _, v := range []uint64{meta.offset, meta.size, idx.offset, idx.size} {
		minimal += len(binary.AppendUvarint(nil, v))
	}
	if 40-len(pad) != minimal {
		return nil, t.corrupt(footOff, "non-minimal block handle encoding in the footer")
	}
	for i, c := range pad {
		if c != 0 {
			return nil, t.corrupt(footOff+40-int64(len(pad)-i), "nonzero byte in the footer padding")
		}
	}
	// The metaindex block is only checked for integrity; TensorFlow's is empty.
	if _, err := t.readBlock(meta, footOff); err != nil {
		return nil, err
	}
	contents, err := t.readBlock(idx, footOff)
	if err != nil {
		return nil, err
	}
	var bad error
	reason, at, ok := blockEntries(contents, func(key, value []byte) bool {
		h, rest, hok := decodeHandle(value)
		if !hok || len(rest) != 0 {
			bad = t.corrupt(int64(idx.offset), "bad block handle in index")
			return false
		}
		t.index = append(t.index, indexEntry{key, h})
		return true
	})
	if !ok {
		return nil, t.corrupt(int64(idx.offset)+int64(at), reason+" (index block)")
	}
	if bad != nil {
		return nil, bad
	}
	return t, nil
}

func (t *Reader) corrupt(off int64, reason string) error {
	return &CorruptError{File: t.name, Offset: off, Reason: reason}
}

// readBlock reads, checks and decompresses the block at h. at is the offset
// of the structure holding the handle, for errors.
func (t *Reader) readBlock(h handle, at int64) ([]byte, error) {
	end := h.offset + h.size + trailerSize
	if h.offset > uint64(t.size) || h.size > uint64(t.size) || end > uint64(t.size-FooterSize) {
		return nil, t.corrupt(at, fmt.Sprintf("bad block handle (offset %d size %d beyond file size %d)", h.offset, h.size, t.size))
	}
	buf := make([]byte, h.size+trailerSize)
	if _, err := t.r.ReadAt(buf, int64(h.offset)); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil, t.corrupt(int64(h.offset), "truncated block read")
		}
		return nil, fmt.Errorf("table: %s: read block at offset %d: %w", t.name, h.offset, err)
	}
	data, typ := buf[:h.size], buf[h.size]
	if got, want := blockCRC(data, typ), binary.LittleEndian.Uint32(buf[h.size+1:]); got != want {
		return nil, t.corrupt(int64(h.offset), "block checksum mismatch")
	}
	switch Compression(typ) {
	case NoCompression:
		return data, nil
	case SnappyCompression:
		n, err := snappy.DecodedLen(data)
		// Snappy expands at most about 21x (a 3-byte copy yields 64 bytes).
		if err != nil || n > maxBlockSize || uint64(n) > 32*uint64(len(data))+64 {
			return nil, t.corrupt(int64(h.offset), "corrupted compressed block contents")
		}
		out, err := snappy.Decode(make([]byte, n), data)
		if err != nil {
			return nil, t.corrupt(int64(h.offset), "corrupted compressed block contents")
		}
		t.compressed = true
		return out, nil
	default:
		return nil, t.corrupt(int64(h.offset)+int64(h.size), fmt.Sprintf("bad block type %d", typ))
	}
}

// All returns an iterator over the table's entries in key order. Keys are
// freshly allocated; values stay valid after the iteration. On damage the
// iteration stops and [Reader.Err] reports why.
func (t *Reader) All() iter.Seq2[[]byte, []byte] {
	return func(yield func([]byte, []byte) bool) {
		t.err = nil
		var prev []byte
		for i, ie := range t.index {
			if i > 0 && bytes.Compare(ie.key, t.index[i-1].key) <= 0 {
				t.err = t.corrupt(int64(ie.h.offset), "index keys out of order")
				return
			}
			contents, err := t.readBlock(ie.h, int64(ie.h.offset))
			if err != nil {
				t.err = err
				return
			}
			stop := false
			reason, at, ok := blockEntries(contents, func(key, value []byte) bool {
				if prev != nil && bytes.Compare(key, prev) <= 0 {
					t.err = t.corrupt(int64(ie.h.offset), "keys out of order across blocks")
					return false
				}
				if bytes.Compare(key, ie.key) > 0 {
					t.err = t.corrupt(int64(ie.h.offset), "block key above its index key")
					return false
				}
				prev = key
				if !yield(key, value) {
					stop = true
					return false
				}
				return true
			})
			if !ok {
				t.err = t.corrupt(int64(ie.h.offset)+int64(at), reason)
			}
			if t.err != nil || stop {
				return
			}
		}
	}
}

// Err returns the error that ended the last iteration of [Reader.All], or nil.
func (t *Reader) Err() error { return t.err }

// Get returns the value stored under key. It reports found == false if the
// key is absent, and an error if the block that would hold it is damaged.
func (t *Reader) Get(key []byte) (value []byte, found bool, err error) {
	i := sort.Search(len(t.index), func(i int) bool { return bytes.Compare(t.index[i].key, key) >= 0 })
	if i == len(t.index) {
		return nil, false, nil
	}
	h := t.index[i].h
	contents, err := t.readBlock(h, int64(h.offset))
	if err != nil {
		return nil, false, err
	}
	reason, at, ok := blockEntries(contents, func(k, v []byte) bool {
		c := bytes.Compare(k, key)
		if c == 0 {
			value, found = v, true
		}
		return c < 0
	})
	if !ok {
		return nil, false, t.corrupt(int64(h.offset)+int64(at), reason)
	}
	return value, found, nil
}

// NumBlocks returns the number of data blocks listed in the index.
func (t *Reader) NumBlocks() int { return len(t.index) }

// Compressed reports whether any block read so far (the index block when
// NewReader returns, the data blocks once iterated) was stored compressed.
// A table with compressed blocks cannot be rewritten byte for byte with
// TensorFlow's TensorBundle options.
func (t *Reader) Compressed() bool { return t.compressed }
