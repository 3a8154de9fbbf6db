package rewrite

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"

	tslp "github.com/wamuir/graft/tensorflow/core/framework/tensor_slice_go_proto"
	typespb "github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
	tfpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"

	"github.com/unmirror/unmirror/savedmodel"
	"github.com/unmirror/unmirror/savedmodel/bundle"
)

// ErrSliceLayout is wrapped by the shards pass's errors for slices that it
// cannot assemble into their tensor (bundle.Open rejects those that do not
// tile it exactly; this is left for the cases bundle.Open cannot know:
// string slices off axis 0 or along several axes, and a sliced scalar).
var ErrSliceLayout = errors.New("slices cannot be assembled into the tensor")

// slicePart is one slice entry of a sliced checkpoint tensor.
type slicePart struct {
	key   string
	slice *tslp.TensorSliceProto
	entry *tfpb.BundleEntryProto
	start int64 // along the layout's axis
	len   int64
}

// multiAxis is the axis of a sliceLayout whose slices split several axes.
const multiAxis = -1

// sliceLayout is how the slices of a tensor tile it: along axis, in
// order of start, or in any tiling when axis is multiAxis.
type sliceLayout struct {
	axis  int
	parts []slicePart
}

// planAssembly checks that parts tile a tensor of shape dims along one axis
// (every other extent full) without gap or overlap, and orders them; slices
// along several axes give a multiAxis layout (bundle.Open checked them).
func planAssembly(dims []int64, parts []slicePart) (sliceLayout, error) {
	if len(dims) == 0 {
		// TensorFlow never partitions a scalar; a checkpoint that slices one
		// is damaged or hand-made.
		return sliceLayout{}, fmt.Errorf("a scalar tensor has %d slice entries, but a scalar cannot be sliced: %w", len(parts), ErrSliceLayout)
	}
	axis := -1
	for i := range parts {
		p := &parts[i]
		ext := p.slice.GetExtent()
		if len(ext) != len(dims) {
			return sliceLayout{}, fmt.Errorf("slice %s has rank %d, the tensor %d: %w", sliceString(p.slice), len(ext), len(dims), ErrSliceLayout)
		}
		for d, e := range ext {
			if e.GetHasLength() == nil || (e.GetStart() == 0 && e.GetLength() == dims[d]) {
				continue
			}
			if axis >= 0 && axis != d {
				// A tiling along several axes (MaxShardSizePolicy slices
				// that way): bundle.Open checked that it is exact, and
				// Reader.OpenTensor assembles it.
				return sliceLayout{axis: multiAxis, parts: parts}, nil
			}
			axis = d
		}
	}
	if axis < 0 {
		axis = 0
	}
	for i := range parts {
		p := &parts[i]
		e := p.slice.GetExtent()[axis]
		p.start, p.len = 0, dims[axis]
		if e.GetHasLength() != nil {
			p.start, p.len = e.GetStart(), e.GetLength()
		}
		want := slices.Clone(dims)
		want[axis] = p.len
		got := make([]int64, len(p.entry.GetShape().GetDim()))
		for d, x := range p.entry.GetShape().GetDim() {
			got[d] = x.GetSize()
		}
		if !slices.Equal(got, want) {
			return sliceLayout{}, fmt.Errorf("slice %s entry %q has shape %v, want %v: %w", sliceString(p.slice), p.key, got, want, ErrSliceLayout)
		}
	}
	slices.SortFunc(parts, func(a, b slicePart) int { return int(a.start - b.start) })
	next := int64(0)
	for _, p := range parts {
		if p.start != next || p.len < 0 {
			return sliceLayout{}, fmt.Errorf("slice %s starts at %d along axis %d, want %d (a gap or an overlap): %w", sliceString(p.slice), p.start, axis, next, ErrSliceLayout)
		}
		next += p.len
	}
	if len(dims) > 0 && next != dims[axis] {
		return sliceLayout{}, fmt.Errorf("slices cover %d of %d along axis %d: %w", next, dims[axis], axis, ErrSliceLayout)
	}
	return sliceLayout{axis: axis, parts: parts}, nil
}

// interleaveBuffer is the read buffer of each slice stream when the
// slices split an inner axis.
const interleaveBuffer = 32 << 10

// entryOpener opens the stored bytes of an input checkpoint entry.
type entryOpener interface {
	OpenEntry(key string) (io.ReadCloser, error)
}

// assembleByStream, set by tests, makes the pass give every assembled
// tensor as a stream (assemblyOpener), even where ConcatVariable applies.
var assembleByStream bool

// setAssembled plans key, of shape dims, as assembled from layout. When
// the parts' stored bytes concatenate into the tensor's (a fixed-size dtype
// split along its first axis of more than one element, so that no chunk
// interleaves), it is a ConcatVariable, whose bytes Write checksums once
// (verifying the parts) instead of twice; otherwise a SetVariable with assemblyOpener's stream.
func setAssembled(m *savedmodel.Model, key string, entry *tfpb.BundleEntryProto, dims []int64, layout sliceLayout) error {
	_, fixed := bundle.DTypeSize(entry.GetDtype())
	if layout.axis == multiAxis {
		if !fixed {
			return fmt.Errorf("a %v tensor sliced along several axes cannot be assembled (TensorFlow cannot read it whole either): %w", entry.GetDtype(), ErrSliceLayout)
		}
		r := m.InputCheckpoint
		return m.SetVariable(key, entry, func() (io.ReadCloser, error) { return r.OpenTensor(key) })
	}
	if fixed && !assembleByStream && chunksBefore(dims, layout.axis) == 1 {
		keys := make([]string, len(layout.parts))
		for i, p := range layout.parts {
			keys[i] = p.key
		}
		return m.ConcatVariable(key, entry, keys)
	}
	open, err := assemblyOpener(m.InputCheckpoint, entry.GetDtype(), dims, layout)
	if err != nil {
		return err
	}
	return m.SetVariable(key, entry, open)
}

// chunksBefore returns the product of dims before axis: how many chunks
// each part's bytes are cut into in the assembled tensor.
func chunksBefore(dims []int64, axis int) int64 {
	outer := int64(1)
	for _, x := range dims[:min(axis, len(dims))] {
		outer *= x
	}
	return outer
}

// assemblyOpener returns the open function of the full tensor of shape
// dims assembled from layout, reading the slices from src.
func assemblyOpener(src entryOpener, dt typespb.DataType, dims []int64, layout sliceLayout) (func() (io.ReadCloser, error), error) {
	if dt == typespb.DataType_DT_STRING {
		if layout.axis != 0 && len(layout.parts) > 1 {
			return nil, fmt.Errorf("a DT_STRING tensor sliced along axis %d cannot be assembled (only axis 0 is supported): %w", layout.axis, ErrSliceLayout)
		}
		return func() (io.ReadCloser, error) { return assembleStrings(src, dims, layout) }, nil
	}
	size, ok := bundle.DTypeSize(dt)
	if !ok {
		return nil, fmt.Errorf("slices of dtype %v cannot be assembled (not a fixed-size type): %w", dt, ErrSliceLayout)
	}
	// inner is the byte count of one step along the axis: the product of the
	// dims after it, times the element size; outer the number of chunks.
	inner, outer := int64(size), chunksBefore(dims, layout.axis)
	for _, x := range dims[min(layout.axis+1, len(dims)):] {
		inner *= x
	}
	return func() (io.ReadCloser, error) {
		r := &interleave{outer: outer}
		for _, p := range layout.parts {
			rc, err := src.OpenEntry(p.key)
			if err != nil {
				r.Close()
				return nil, err
			}
			r.closers = append(r.closers, rc)
			if outer > 1 && p.len*inner < interleaveBuffer {
				// Small chunks along an inner axis: buffer, so each read
				// of the bundle stream is large.
				r.parts = append(r.parts, bufio.NewReaderSize(rc, interleaveBuffer))
			} else {
				r.parts = append(r.parts, rc)
			}
			r.chunk = append(r.chunk, p.len*inner)
		}
		return r, nil
	}, nil
}

// interleave reads the full tensor from its slice streams: for each of
// outer chunks, chunk[i] bytes of slice i in order. Along axis 0 (outer
// 1) that is the slices' bytes concatenated. At the end every slice stream
// is read to EOF, so the bundle reader verifies its checksum.
type interleave struct {
	parts   []io.Reader
	closers []io.Closer
	chunk   []int64
	outer   int64
	row     int64 // current chunk index
	part    int   // current slice
	done    int64 // bytes of the current chunk of the current slice read
}

func (r *interleave) Read(p []byte) (int, error) {
	total := 0
	for r.row < r.outer && total < len(p) {
		if r.part == len(r.parts) {
			r.part, r.row = 0, r.row+1
			continue
		}
		left := r.chunk[r.part] - r.done
		if left == 0 {
			r.part, r.done = r.part+1, 0
			continue
		}
		q := p[total:]
		if int64(len(q)) > left {
			q = q[:left]
		}
		n, err := r.parts[r.part].Read(q)
		r.done += int64(n)
		total += n
		if err == io.EOF && r.done < r.chunk[r.part] {
			return total, fmt.Errorf("rewrite: slice stream %d ended %d bytes early: %w", r.part, r.chunk[r.part]-r.done, io.ErrUnexpectedEOF)
		}
		if err != nil && err != io.EOF {
			return total, err
		}
	}
	if total > 0 || len(p) == 0 {
		return total, nil
	}
	for i, rc := range r.parts {
		var one [1]byte
		n, err := io.ReadFull(rc, one[:])
		if n > 0 {
			return 0, fmt.Errorf("rewrite: slice stream %d holds more bytes than its shape", i)
		}
		if err != io.EOF {
			return 0, err
		}
	}
	return 0, io.EOF
}

func (r *interleave) Close() error {
	var errs []error
	for _, rc := range r.closers {
		errs = append(errs, rc.Close())
	}
	return errors.Join(errs...)
}

// assembleStrings reads the strings of every slice (axis 0) and re-encodes
// them as one DT_STRING tensor. It holds the strings in memory: the string
// layout puts all lengths before all bytes, so the slices' layouts cannot be
// concatenated as they stream.
func assembleStrings(src entryOpener, dims []int64, layout sliceLayout) (io.ReadCloser, error) {
	var all [][]byte
	for _, p := range layout.parts {
		n, err := bundle.NumElements(p.entry.GetShape())
		if err != nil {
			return nil, err
		}
		rc, err := src.OpenEntry(p.key)
		if err != nil {
			return nil, err
		}
		strs, err := bundle.ReadStrings(rc, n)
		if err == nil {
			_, err = io.Copy(io.Discard, rc) // verify the checksum at EOF
		}
		if cerr := rc.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, fmt.Errorf("rewrite: slice %q: %w", p.key, err)
		}
		all = append(all, strs...)
	}
	var buf bytes.Buffer
	if _, err := bundle.WriteStrings(&buf, all); err != nil {
		return nil, err
	}
	return io.NopCloser(&buf), nil
}
