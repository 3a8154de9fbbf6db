package bundle

import (
	"bufio"
	"cmp"
	"errors"
	"fmt"
	"io"
	"slices"
)

// tileBuffer is the read buffer of each slice stream of an assembled tensor.
const tileBuffer = 32 << 10

// OpenTensor streams the whole tensor of key as TensorFlow's reader returns
// it (BundleReader::Lookup). For an unsliced entry that is OpenEntry. For a
// sliced full-tensor entry of a fixed-size dtype it is the tensor's raw
// little-endian elements in row-major order, assembled from its slices in
// whatever tiling they have (Open checked that they tile the tensor
// exactly): each slice's bytes are read once, in order, with a bounded
// buffer per slice, and its checksum is verified when its last byte is
// read. TensorFlow cannot read a sliced DT_STRING or DT_VARIANT tensor
// whole (GetSliceValue copies only fixed-size dtypes), and neither can
// OpenTensor.
func (r *Reader) OpenTensor(key string) (io.ReadCloser, error) {
	e, ok := r.entries[key]
	if !ok {
		return nil, fmt.Errorf("bundle: %s: key %q: %w", r.IndexFile(), key, ErrNotFound)
	}
	if len(e.GetSlices()) == 0 {
		return r.OpenEntry(key)
	}
	es, fixed := DTypeSize(e.GetDtype())
	if !fixed {
		return nil, fmt.Errorf("bundle: %s: key %q: a sliced %v tensor cannot be read whole (TensorFlow's reader copies slices of fixed-size dtypes only)", r.IndexFile(), DisplayKey(key), e.GetDtype())
	}
	dims := make([]int64, len(e.GetShape().GetDim()))
	for d, x := range e.GetShape().GetDim() {
		dims[d] = x.GetSize()
	}
	t := &tiled{dims: dims}
	for _, s := range e.GetSlices() {
		b := box{lo: make([]int64, len(dims)), hi: slices.Clone(dims), slice: s}
		for d, x := range s.GetExtent() {
			if st, l, full := extentOf(x); !full {
				b.lo[d], b.hi[d] = st, st+l
			}
		}
		rc, err := r.OpenEntry(SliceKey(key, s))
		if err != nil {
			t.Close()
			return nil, err
		}
		t.tiles = append(t.tiles, tile{box: b, rc: rc, src: bufio.NewReaderSize(rc, tileBuffer)})
	}
	// k is the first dimension from which every slice is full; the tensor
	// is read as rows over dims[:k-1], each row the slices that hold it in
	// order along dims[k-1], each giving its extent there times inner bytes.
	k := len(dims)
	for k > 0 && !t.splitAt(k-1) {
		k--
	}
	t.inner = int64(es)
	for _, x := range dims[k:] {
		t.inner *= x
	}
	t.split = max(k-1, 0)
	t.rowDims = dims[:t.split]
	t.idx = make([]int64, len(t.rowDims))
	t.rows = 1
	for _, x := range t.rowDims {
		t.rows *= x
	}
	t.order = make([]int, len(t.tiles))
	for i := range t.order {
		t.order[i] = i
	}
	slices.SortFunc(t.order, func(a, b int) int { return cmp.Compare(t.tiles[a].lo[t.split], t.tiles[b].lo[t.split]) })
	return t, nil
}

// tile is one slice of an assembled tensor and its stream.
type tile struct {
	box
	rc  io.ReadCloser
	src io.Reader
}

// tiled reads a tensor assembled from its tiles; see OpenTensor.
type tiled struct {
	dims    []int64
	tiles   []tile
	order   []int   // tiles by start along dims[split]
	split   int     // the dimension the slices of one row are ordered along
	rowDims []int64 // dims[:split]
	inner   int64   // bytes per step along dims[split]
	rows    int64
	row     int64   // current row
	idx     []int64 // its multi-index
	cur     []int   // tiles of the current row, in order
	inRow   bool    // cur is set for the current row
	pos     int     // current tile in cur
	left    int64   // bytes of it left in this row
	err     error
}

// splitAt reports whether some non-empty slice does not span dimension d.
func (t *tiled) splitAt(d int) bool {
	for _, x := range t.tiles {
		if x.volume() > 0 && (x.lo[d] != 0 || x.hi[d] != t.dims[d]) {
			return true
		}
	}
	return false
}

// startRow lists the tiles that hold the current row.
func (t *tiled) startRow() {
	t.cur = t.cur[:0]
	for _, i := range t.order {
		x := t.tiles[i]
		in := x.volume() > 0
		for d := 0; in && d < len(t.idx); d++ {
			in = x.lo[d] <= t.idx[d] && t.idx[d] < x.hi[d]
		}
		if in {
			t.cur = append(t.cur, i)
		}
	}
	t.pos, t.inRow = 0, true
	if len(t.cur) > 0 {
		x := t.tiles[t.cur[0]]
		t.left = (x.hi[t.split] - x.lo[t.split]) * t.inner
	}
}

func (t *tiled) nextRow() {
	t.row++
	for d := len(t.idx) - 1; d >= 0; d-- {
		if t.idx[d]++; t.idx[d] < t.rowDims[d] {
			break
		}
		t.idx[d] = 0
	}
	t.inRow = false
}

func (t *tiled) Read(p []byte) (int, error) {
	if t.err != nil {
		return 0, t.err
	}
	n := 0
	for n < len(p) {
		if !t.inRow {
			if t.row == t.rows {
				break
			}
			t.startRow()
		}
		if t.pos == len(t.cur) {
			t.nextRow()
			continue
		}
		x := &t.tiles[t.cur[t.pos]]
		want := min(int64(len(p)-n), t.left)
		got, err := io.ReadFull(x.src, p[n:n+int(want)])
		n += got
		t.left -= int64(got)
		if err != nil {
			t.err = err
			return n, err
		}
		if t.left == 0 {
			if t.pos++; t.pos < len(t.cur) {
				y := t.tiles[t.cur[t.pos]]
				t.left = (y.hi[t.split] - y.lo[t.split]) * t.inner
			}
		}
	}
	if n == 0 && t.row == t.rows {
		// Every tile is consumed: its next read verifies its checksum.
		for _, x := range t.tiles {
			var one [1]byte
			if m, err := x.src.Read(one[:]); m != 0 || !errors.Is(err, io.EOF) {
				if err == nil || errors.Is(err, io.EOF) {
					err = fmt.Errorf("bundle: slice [%s] holds more bytes than its shape", SliceString(x.slice))
				}
				t.err = err
				return 0, err
			}
		}
		t.err = io.EOF
		return 0, io.EOF
	}
	return n, nil
}

// Close closes every slice stream.
func (t *tiled) Close() error {
	var errs []error
	for _, x := range t.tiles {
		errs = append(errs, x.rc.Close())
	}
	return errors.Join(errs...)
}
