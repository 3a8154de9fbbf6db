package savedmodel

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"

	tsp "github.com/wamuir/graft/tensorflow/core/framework/tensor_shape_go_proto"
	typespb "github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
	tfpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
	"google.golang.org/protobuf/proto"

	"github.com/unmirror/unmirror/savedmodel/bundle"
	"github.com/unmirror/unmirror/savedmodel/cppproto"
)

// ObjectGraphKey is the checkpoint key of the serialized
// TrackableObjectGraph, a DT_STRING scalar.
const ObjectGraphKey = "_CHECKPOINTABLE_OBJECT_GRAPH"

// plan is the output checkpoint; nil means "same as the input".
type plan struct {
	entries map[string]*planned
	sorted  []string // cached sorted keys; nil after an edit
}

// planned is one output entry: an input entry kept or renamed (src), or a
// caller-supplied one (entry) whose bytes are input entries concatenated
// (concat) or a stream (open).
type planned struct {
	src    string                        // input key to copy, when entry is nil
	entry  *tfpb.BundleEntryProto        // caller-supplied metadata (new or replaced entry)
	concat []string                      // input keys whose stored bytes, in order, are entry's; nil: see open
	open   func() (io.ReadCloser, error) // stored bytes of a caller-supplied entry; nil: no data
}

// fromInput reports whether p's stored bytes are input entries' bytes, so
// that Write can copy them with bundle.Writer.Concat.
func (p *planned) fromInput() bool { return p.entry == nil || p.concat != nil }

func (m *Model) ensurePlan() *plan {
	if m.plan != nil {
		return m.plan
	}
	p := &plan{entries: map[string]*planned{}}
	if m.InputCheckpoint != nil {
		for _, k := range m.InputCheckpoint.Keys() {
			p.entries[k] = &planned{src: k}
		}
	}
	m.plan = p
	return p
}

// OutputChanged reports whether any checkpoint edit was made since Read.
func (m *Model) OutputChanged() bool { return m.plan != nil }

// OutputKeys returns the keys of the planned output checkpoint, sorted.
func (m *Model) OutputKeys() []string {
	if m.plan == nil {
		if m.InputCheckpoint == nil {
			return nil
		}
		return slices.Clone(m.InputCheckpoint.Keys())
	}
	if m.plan.sorted == nil {
		keys := make([]string, 0, len(m.plan.entries))
		for k := range m.plan.entries {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		m.plan.sorted = keys
	}
	return slices.Clone(m.plan.sorted)
}

// OutputEntry returns the planned index entry of key: the input's entry
// for a copied key (with the input's shard, offset, size and checksum,
// which Write recomputes), or the caller's entry for a supplied one. The
// entry must not be modified.
func (m *Model) OutputEntry(key string) (*tfpb.BundleEntryProto, bool) {
	p, ok := m.lookup(key)
	if !ok {
		return nil, false
	}
	if p.entry != nil {
		return p.entry, true
	}
	return m.InputCheckpoint.Entry(p.src)
}

func (m *Model) lookup(key string) (*planned, bool) {
	if m.plan != nil {
		p, ok := m.plan.entries[key]
		return p, ok
	}
	if m.InputCheckpoint == nil {
		return nil, false
	}
	if _, ok := m.InputCheckpoint.Entry(key); !ok {
		return nil, false
	}
	return &planned{src: key}, true
}

// OpenOutputEntry opens the stored bytes of the planned entry key: the
// input's bytes (checksum verified at EOF by the bundle reader) or the
// caller's stream.
func (m *Model) OpenOutputEntry(key string) (io.ReadCloser, error) {
	p, ok := m.lookup(key)
	if !ok {
		return nil, fmt.Errorf("savedmodel: checkpoint key %q: %w", key, ErrNoVariable)
	}
	return m.openPlanned(p)
}

func (m *Model) openPlanned(p *planned) (io.ReadCloser, error) {
	switch {
	case p.concat != nil:
		return m.openConcat(p.concat)
	case p.open != nil:
		return p.open()
	case p.entry != nil:
		return io.NopCloser(bytes.NewReader(nil)), nil
	}
	return m.InputCheckpoint.OpenEntry(p.src)
}

// DeleteVariable removes key from the planned checkpoint.
func (m *Model) DeleteVariable(key string) error {
	if _, ok := m.lookup(key); !ok {
		return fmt.Errorf("savedmodel: delete checkpoint key %q: %w", key, ErrNoVariable)
	}
	p := m.ensurePlan()
	delete(p.entries, key)
	p.sorted = nil
	return nil
}

// RenameVariable moves the planned entry oldKey to newKey, which must not
// be in use. The data is unchanged.
func (m *Model) RenameVariable(oldKey, newKey string) error {
	if _, ok := m.lookup(oldKey); !ok {
		return fmt.Errorf("savedmodel: rename checkpoint key %q: %w", oldKey, ErrNoVariable)
	}
	if oldKey == newKey {
		return nil
	}
	if newKey == "" {
		return fmt.Errorf("savedmodel: rename checkpoint key %q to the empty key, which is the bundle header", oldKey)
	}
	if _, ok := m.lookup(newKey); ok {
		return fmt.Errorf("savedmodel: rename checkpoint key %q to %q: %w", oldKey, newKey, ErrVariableExists)
	}
	p := m.ensurePlan()
	p.entries[newKey] = p.entries[oldKey]
	delete(p.entries, oldKey)
	p.sorted = nil
	return nil
}

// SetVariable adds key to the planned checkpoint, or replaces it. entry
// gives dtype, shape and, for a sliced tensor's full-key entry, slices; its
// shard_id, offset, size and crc32c are ignored (Write computes them from
// the bytes). open returns a new stream of the entry's stored bytes each
// time it is called (TensorBundle layout: raw little-endian values for
// numeric types, TF's string layout for DT_STRING); Write calls it once and
// closes the stream. open may be nil for an entry without data (a sliced
// tensor's full-key entry, or a tensor with zero elements).
//
// entry is copied; the caller may reuse it.
func (m *Model) SetVariable(key string, entry *tfpb.BundleEntryProto, open func() (io.ReadCloser, error)) error {
	if key == "" {
		return fmt.Errorf("savedmodel: set checkpoint key \"\": the empty key is the bundle header")
	}
	if entry == nil {
		return fmt.Errorf("savedmodel: set checkpoint key %q: nil entry", key)
	}
	e := &tfpb.BundleEntryProto{Dtype: entry.GetDtype(), Shape: entry.GetShape(), Slices: entry.GetSlices()}
	e = proto.Clone(e).(*tfpb.BundleEntryProto)
	if e.Shape == nil {
		e.Shape = &tsp.TensorShapeProto{}
	}
	p := m.ensurePlan()
	if _, ok := p.entries[key]; !ok {
		p.sorted = nil
	}
	p.entries[key] = &planned{entry: e, open: open}
	return nil
}

// ConcatVariable adds key to the planned checkpoint, or replaces it, with
// stored bytes that are the stored bytes of the input checkpoint's entries
// sources (input keys, whatever the plan did with them since), concatenated
// in order: a tensor assembled from parts along its first axis. entry gives
// dtype and shape as for SetVariable; the dtype must have a fixed size (a
// DT_STRING tensor's stored layout does not concatenate), every source must
// be an input entry with data of that dtype, and their sizes must add up to
// the tensor's byte count (elements times dtype size).
//
// Unlike SetVariable's opaque stream, Write knows where these bytes are:
// it copies them with bundle.Writer.Concat, verifying each source once as
// it reads it and computing the entry's checksum from the sources' instead
// of from the bytes a second time (see Write). OpenOutputEntry streams
// the sources one after the other.
func (m *Model) ConcatVariable(key string, entry *tfpb.BundleEntryProto, sources []string) error {
	if key == "" {
		return fmt.Errorf("savedmodel: concat checkpoint key \"\": the empty key is the bundle header")
	}
	if entry == nil {
		return fmt.Errorf("savedmodel: concat checkpoint key %q: nil entry", key)
	}
	dt := entry.GetDtype()
	size, fixed := bundle.DTypeSize(dt)
	if !fixed {
		return fmt.Errorf("savedmodel: concat checkpoint key %q: dtype %v has no fixed size, its stored layout does not concatenate", key, dt)
	}
	want, err := bundle.TensorBytes(dt, entry.GetShape())
	if err != nil || len(entry.GetSlices()) > 0 {
		return fmt.Errorf("savedmodel: concat checkpoint key %q: entry is not a whole %v tensor of a valid shape (err %v, %d slices)", key, dt, err, len(entry.GetSlices()))
	}
	var total int64
	for _, src := range sources {
		var e *tfpb.BundleEntryProto
		ok := m.InputCheckpoint != nil
		if ok {
			e, ok = m.InputCheckpoint.Entry(src)
		}
		switch {
		case !ok:
			return fmt.Errorf("savedmodel: concat checkpoint key %q: source %q is not an input checkpoint key: %w", key, src, ErrNoVariable)
		case len(e.GetSlices()) > 0:
			return fmt.Errorf("savedmodel: concat checkpoint key %q: source %q is a sliced tensor with no data of its own", key, src)
		case e.GetDtype() != dt:
			return fmt.Errorf("savedmodel: concat checkpoint key %q: source %q has dtype %v, the key %v", key, src, e.GetDtype(), dt)
		}
		total += e.GetSize()
	}
	if total != want {
		return fmt.Errorf("savedmodel: concat checkpoint key %q: the sources hold %d bytes, a %v tensor of this shape %d (%d elements of %d bytes)", key, total, dt, want, want/int64(size), size)
	}
	if err := m.SetVariable(key, entry, nil); err != nil {
		return err
	}
	m.plan.entries[key].concat = slices.Clone(sources)
	if m.plan.entries[key].concat == nil {
		m.plan.entries[key].concat = []string{}
	}
	return nil
}

// openConcat streams the stored bytes of the input entries keys, one
// after the other; each is verified as its last byte is read.
func (m *Model) openConcat(keys []string) (io.ReadCloser, error) {
	rcs := make([]io.ReadCloser, 0, len(keys))
	rs := make([]io.Reader, 0, len(keys))
	for _, k := range keys {
		rc, err := m.InputCheckpoint.OpenEntry(k)
		if err != nil {
			closeAll(rcs)
			return nil, err
		}
		rcs, rs = append(rcs, rc), append(rs, rc)
	}
	return multiReadCloser{Reader: io.MultiReader(rs...), rcs: rcs}, nil
}

type multiReadCloser struct {
	io.Reader
	rcs []io.ReadCloser
}

func (m multiReadCloser) Close() error { return closeAll(m.rcs) }

func closeAll(rcs []io.ReadCloser) error {
	var errs []error
	for _, rc := range rcs {
		errs = append(errs, rc.Close())
	}
	return errors.Join(errs...)
}

// SetOutputObjectGraph replaces the checkpoint's object graph
// (ObjectGraphKey) with g, serialized deterministically. Call it after a
// pass renames or deletes variables, so the graph's checkpoint_key
// attributes name keys that exist.
func (m *Model) SetOutputObjectGraph(g *tfpb.TrackableObjectGraph) error {
	data := encodeStringScalar(cppproto.Marshal(g))
	entry := &tfpb.BundleEntryProto{Dtype: typespb.DataType_DT_STRING, Shape: &tsp.TensorShapeProto{}}
	return m.SetVariable(ObjectGraphKey, entry, func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	})
}

// writeOrder returns the output keys in the order Write adds them: entries
// copied from the input in the input's data order, then supplied entries
// by key.
func (m *Model) writeOrder() []string {
	p := m.ensurePlan()
	bySrc := map[string]string{}
	var added []string
	for k, e := range p.entries {
		if e.entry == nil {
			bySrc[e.src] = k
		} else {
			added = append(added, k)
		}
	}
	out := make([]string, 0, len(p.entries))
	if m.InputCheckpoint != nil {
		for _, src := range m.InputCheckpoint.KeysInDataOrder() {
			if k, ok := bySrc[src]; ok {
				out = append(out, k)
			}
		}
	}
	slices.Sort(added)
	return append(out, added...)
}
