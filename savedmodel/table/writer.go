package table

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/golang/snappy"
)

// Options configures a [Writer]. The zero value is what TensorFlow's
// TensorBundle uses: no compression, 262144-byte blocks, restart interval 16.
type Options struct {
	BlockSize       int         // target data block size in bytes; 0 means 262144
	RestartInterval int         // keys between restart points; 0 means 16
	Compression     Compression // NoCompression (default) or SnappyCompression
}

func (o Options) withDefaults() Options {
	if o.BlockSize <= 0 {
		o.BlockSize = 262144
	}
	if o.RestartInterval <= 0 {
		o.RestartInterval = 16
	}
	return o
}

// ErrClosed is returned by Writer methods after Close.
var ErrClosed = errors.New("table: writer closed")

// Writer writes a table with TensorFlow's layout rules; see the package
// documentation. Output goes straight to the underlying writer.
type Writer struct {
	w        io.Writer
	opts     Options
	offset   uint64
	data     blockBuilder
	index    blockBuilder
	lastKey  []byte
	entries  int64
	pending  bool // an index entry for the last written data block is due
	pendingH handle
	err      error
	closed   bool
	scratch  []byte
}

// NewWriter returns a Writer that writes a table to w.
func NewWriter(w io.Writer, opts Options) *Writer {
	opts = opts.withDefaults()
	return &Writer{
		w:     w,
		opts:  opts,
		data:  blockBuilder{interval: opts.RestartInterval},
		index: blockBuilder{interval: 1},
	}
}

// Add appends an entry. Keys must be strictly increasing in bytewise order;
// the empty key is allowed as the first key.
func (w *Writer) Add(key, value []byte) error {
	if w.closed {
		return ErrClosed
	}
	if w.err != nil {
		return w.err
	}
	if len(key) > math.MaxUint32 || len(value) > math.MaxUint32 {
		return fmt.Errorf("table: entry of %d+%d bytes is too large", len(key), len(value))
	}
	if w.entries > 0 {
		if bytes.Compare(key, w.lastKey) <= 0 {
			return fmt.Errorf("table: key %q added after %q: keys must be strictly increasing", key, w.lastKey)
		}
		if len(key)+len(value) >= 2*w.opts.BlockSize {
			w.flush()
		}
	}
	if w.pending {
		sep := shortestSeparator(w.lastKey, key)
		w.index.add(sep, w.pendingH.append(w.scratch[:0]))
		w.pending = false
	}
	w.lastKey = append(w.lastKey[:0], key...)
	w.entries++
	w.data.add(key, value)
	if w.data.sizeEstimate() >= w.opts.BlockSize {
		w.flush()
	}
	return w.err
}

// flush writes the current data block, if any.
func (w *Writer) flush() {
	if w.err != nil || w.data.empty() {
		return
	}
	w.pendingH = w.writeBlock(&w.data, w.opts.Compression)
	w.pending = w.err == nil
}

func (w *Writer) writeBlock(b *blockBuilder, c Compression) handle {
	raw := b.finish()
	contents, typ := raw, NoCompression
	if c == SnappyCompression {
		comp := snappy.Encode(nil, raw)
		if len(comp) < len(raw)-len(raw)/8 {
			contents, typ = comp, SnappyCompression
		}
	}
	h := w.writeRaw(contents, typ)
	b.reset()
	return h
}

func (w *Writer) writeRaw(contents []byte, typ Compression) handle {
	h := handle{offset: w.offset, size: uint64(len(contents))}
	var trailer [trailerSize]byte
	trailer[0] = byte(typ)
	binary.LittleEndian.PutUint32(trailer[1:], blockCRC(contents, byte(typ)))
	if _, err := w.w.Write(contents); err != nil {
		w.err = fmt.Errorf("table: write: %w", err)
		return h
	}
	if _, err := w.w.Write(trailer[:]); err != nil {
		w.err = fmt.Errorf("table: write: %w", err)
		return h
	}
	w.offset += uint64(len(contents)) + trailerSize
	return h
}

// Close writes the remaining data block, the metaindex and index blocks and
// the footer. It does not close the underlying writer.
func (w *Writer) Close() error {
	if w.closed {
		return ErrClosed
	}
	w.flush()
	w.closed = true
	if w.err != nil {
		return w.err
	}
	meta := blockBuilder{interval: w.opts.RestartInterval}
	metaH := w.writeBlock(&meta, w.opts.Compression)
	if w.pending {
		w.index.add(shortSuccessor(w.lastKey), w.pendingH.append(w.scratch[:0]))
		w.pending = false
	}
	idxH := w.writeBlock(&w.index, w.opts.Compression)
	if w.err != nil {
		return w.err
	}
	var footer [FooterSize]byte
	idxH.append(metaH.append(footer[: 0 : 2*maxHandleLen])) // fills the zero-padded handle area in place
	binary.LittleEndian.PutUint64(footer[40:], Magic)
	if _, err := w.w.Write(footer[:]); err != nil {
		w.err = fmt.Errorf("table: write: %w", err)
		return w.err
	}
	w.offset += FooterSize
	return nil
}

// Size returns the number of bytes written so far.
func (w *Writer) Size() int64 { return int64(w.offset) }

// shortestSeparator returns a short key k with start <= k < limit.
func shortestSeparator(start, limit []byte) []byte {
	n := min(len(start), len(limit))
	i := 0
	for i < n && start[i] == limit[i] {
		i++
	}
	out := append([]byte(nil), start...)
	if i >= n {
		return out // one is a prefix of the other
	}
	if b := start[i]; b < 0xff && b+1 < limit[i] {
		out[i]++
		out = out[:i+1]
	}
	return out
}

// shortSuccessor returns a short key k >= key.
func shortSuccessor(key []byte) []byte {
	out := append([]byte(nil), key...)
	for i, b := range out {
		if b != 0xff {
			out[i] = b + 1
			return out[:i+1]
		}
	}
	return out
}

// blockBuilder accumulates one block with prefix-compressed keys.
type blockBuilder struct {
	interval int
	buf      []byte
	restarts []uint32
	counter  int
	lastKey  []byte
	started  bool
}

func (b *blockBuilder) empty() bool { return !b.started }

func (b *blockBuilder) reset() {
	b.buf = b.buf[:0]
	b.restarts = b.restarts[:0]
	b.counter = 0
	b.lastKey = b.lastKey[:0]
	b.started = false
}

func (b *blockBuilder) add(key, value []byte) {
	if len(b.restarts) == 0 {
		b.restarts = append(b.restarts, 0)
	}
	shared := 0
	if b.counter < b.interval {
		n := min(len(b.lastKey), len(key))
		for shared < n && b.lastKey[shared] == key[shared] {
			shared++
		}
	} else {
		b.restarts = append(b.restarts, uint32(len(b.buf)))
		b.counter = 0
	}
	b.buf = binary.AppendUvarint(b.buf, uint64(shared))
	b.buf = binary.AppendUvarint(b.buf, uint64(len(key)-shared))
	b.buf = binary.AppendUvarint(b.buf, uint64(len(value)))
	b.buf = append(b.buf, key[shared:]...)
	b.buf = append(b.buf, value...)
	b.lastKey = append(b.lastKey[:0], key...)
	b.counter++
	b.started = true
}

func (b *blockBuilder) sizeEstimate() int {
	r := len(b.restarts)
	if r == 0 {
		r = 1
	}
	return len(b.buf) + 4*r + 4
}

// finish appends the restart array and returns the block contents.
func (b *blockBuilder) finish() []byte {
	if len(b.restarts) == 0 {
		b.restarts = append(b.restarts, 0)
	}
	for _, r := range b.restarts {
		b.buf = binary.LittleEndian.AppendUint32(b.buf, r)
	}
	return binary.LittleEndian.AppendUint32(b.buf, uint32(len(b.restarts)))
}
