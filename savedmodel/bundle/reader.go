package bundle

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	"sync"

	"github.com/unmirror/unmirror/savedmodel/table"
	tfpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
	"google.golang.org/protobuf/proto"
)

// Version numbers of the format, as in TensorFlow's tensor_bundle.h.
const (
	FormatVersion     = 1 // kTensorBundleVersion: written as producer
	FormatMinConsumer = 0 // kTensorBundleMinConsumer: written as min_consumer
	formatMinProducer = 0 // kTensorBundleMinProducer: oldest producer read
)

// IndexName returns the index file name of a bundle prefix ("<prefix>.index").
func IndexName(prefix string) string { return prefix + ".index" }

// DataName returns the name of data shard i of n ("<prefix>.data-%05d-of-%05d").
func DataName(prefix string, i, n int) string {
	return fmt.Sprintf("%s.data-%05d-of-%05d", prefix, i, n)
}

// Reader gives access to a bundle's index and streams its tensor data. It
// holds the index entries in memory (a few hundred bytes each) but no data.
// Its methods are safe for concurrent use.
type Reader struct {
	fsys       fs.FS
	prefix     string
	header     *tfpb.BundleHeaderProto
	keys       []string
	entries    map[string]*tfpb.BundleEntryProto
	shardSizes []int64
	compressed bool

	mu     sync.Mutex
	shards map[int]fs.File // opened shards that implement io.ReaderAt
	closed bool
}

// Open reads and checks prefix+".index" in fsys and stats every data shard;
// it reads no tensor data. See the package documentation for the checks.
func Open(fsys fs.FS, prefix string) (*Reader, error) {
	r := &Reader{fsys: fsys, prefix: prefix, entries: map[string]*tfpb.BundleEntryProto{}, shards: map[int]fs.File{}}
	name := r.IndexFile()
	f, err := fsys.Open(name)
	if err != nil {
		return nil, fmt.Errorf("bundle: open index: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("bundle: %s: %w", name, err)
	}
	ra, err := readerAt(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("bundle: %s: %w", name, err)
	}
	t, err := table.NewReader(ra, st.Size(), name)
	if err != nil {
		return nil, r.indexError(err)
	}
	first := true
	for k, v := range t.All() {
		if first {
			first = false
			if len(k) != 0 {
				return nil, &CorruptError{File: name, Offset: -1, Reason: fmt.Sprintf("first key is %q, not the header key \"\"", k)}
			}
			r.header = &tfpb.BundleHeaderProto{}
			if err := proto.Unmarshal(v, r.header); err != nil {
				return nil, &CorruptError{File: name, Offset: -1, Reason: "unparsable header", Err: err}
			}
			if err := r.checkHeader(); err != nil {
				return nil, err
			}
			continue
		}
		key := string(k)
		e := &tfpb.BundleEntryProto{}
		if err := proto.Unmarshal(v, e); err != nil {
			return nil, &CorruptError{File: name, Key: key, Offset: -1, Reason: "unparsable entry", Err: err}
		}
		r.keys = append(r.keys, key)
		r.entries[key] = e
	}
	if err := t.Err(); err != nil {
		return nil, r.indexError(err)
	}
	r.compressed = t.Compressed()
	if first {
		return nil, &CorruptError{File: name, Offset: -1, Reason: "no header entry"}
	}
	if err := r.statShards(); err != nil {
		return nil, err
	}
	for _, key := range r.keys {
		if e := r.entries[key]; wholeSlice(e) {
			e.Slices = nil // read like an unsliced entry, as TensorFlow does
		}
		if err := r.checkEntry(key, r.entries[key]); err != nil {
			return nil, err
		}
	}
	for _, key := range r.keys {
		if e := r.entries[key]; len(e.GetSlices()) > 0 {
			if err := r.checkSliced(key, e); err != nil {
				return nil, err
			}
		}
	}
	return r, nil
}

func (r *Reader) indexError(err error) error {
	if errors.Is(err, table.ErrCorrupt) {
		return &CorruptError{File: r.IndexFile(), Offset: -1, Reason: "bad index table", Err: err}
	}
	return fmt.Errorf("bundle: %s: %w", r.IndexFile(), err)
}

// readerAt returns f as an io.ReaderAt, reading it into memory only if it
// has no ReadAt method.
func readerAt(f fs.File, size int64) (io.ReaderAt, error) {
	if ra, ok := f.(io.ReaderAt); ok {
		return ra, nil
	}
	data, err := io.ReadAll(io.LimitReader(f, size))
	if err != nil {
		return nil, err
	}
	return strings.NewReader(string(data)), nil
}

// checkHeader applies TensorFlow's CheckVersions rule and the endianness check.
func (r *Reader) checkHeader() error {
	h := r.header
	bad := func(reason string) error {
		return &CorruptError{File: r.IndexFile(), Offset: -1, Reason: reason}
	}
	v := h.GetVersion()
	switch {
	case v.GetProducer() < formatMinProducer:
		return bad(fmt.Sprintf("checkpoint producer version %d below minimum %d", v.GetProducer(), formatMinProducer))
	case v.GetMinConsumer() > FormatVersion:
		return bad(fmt.Sprintf("checkpoint requires consumer version %d, this reader is %d", v.GetMinConsumer(), FormatVersion))
	case slices.Contains(v.GetBadConsumers(), FormatVersion):
		return bad(fmt.Sprintf("checkpoint disallows consumer version %d", FormatVersion))
	case h.GetEndianness() != tfpb.BundleHeaderProto_LITTLE:
		return bad(fmt.Sprintf("unsupported endianness %v (only little-endian bundles are read)", h.GetEndianness()))
	case h.GetNumShards() <= 0:
		return bad(fmt.Sprintf("num_shards is %d", h.GetNumShards()))
	}
	return nil
}

// statShards records the size of every data shard, failing on a missing one.
func (r *Reader) statShards() error {
	n := int(r.header.GetNumShards())
	for i := 0; i < n; i++ {
		name := r.DataFile(i)
		st, err := fs.Stat(r.fsys, name)
		if err != nil {
			reason := fmt.Sprintf("data shard %d of %d is missing", i, n)
			if others := r.otherShardCounts(n); others != "" {
				reason += " (found data files " + others + "; wrong num_shards in the header?)"
			}
			return &CorruptError{File: name, Offset: -1, Reason: reason, Err: err}
		}
		if !st.Mode().IsRegular() {
			return &CorruptError{File: name, Offset: -1, Reason: "data shard is not a regular file"}
		}
		r.shardSizes = append(r.shardSizes, st.Size())
	}
	return nil
}

// otherShardCounts lists data files of this prefix written for another shard count.
func (r *Reader) otherShardCounts(n int) string {
	dir, base := path.Split(r.prefix)
	if dir == "" {
		dir = "."
	}
	ents, err := fs.ReadDir(r.fsys, path.Clean(dir))
	if err != nil {
		return ""
	}
	var names []string
	want := fmt.Sprintf("-of-%05d", n)
	for _, e := range ents {
		name := e.Name()
		if strings.HasPrefix(name, base+".data-") && !strings.HasSuffix(name, want) && len(names) < 4 {
			names = append(names, name)
		}
	}
	return strings.Join(names, ", ")
}

// Close releases the data files opened by OpenEntry. Streams still open
// must not be read afterwards.
func (r *Reader) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	var errs []error
	for i, f := range r.shards {
		errs = append(errs, f.Close())
		delete(r.shards, i)
	}
	return errors.Join(errs...)
}

// Header returns the bundle header. It must not be modified.
func (r *Reader) Header() *tfpb.BundleHeaderProto { return r.header }

// NumShards returns the number of data shards.
func (r *Reader) NumShards() int { return int(r.header.GetNumShards()) }

// Keys returns the entry keys in sorted order, without the header key "".
// The slice must not be modified.
func (r *Reader) Keys() []string { return r.keys }

// KeysInDataOrder returns the entry keys in the order their data lies in
// the shards: by shard, then offset. Entries without data (sliced full-tensor
// entries) come first. Copying every key to a Writer in this order
// reproduces the original data files byte for byte.
func (r *Reader) KeysInDataOrder() []string {
	keys := slices.Clone(r.keys)
	slices.SortStableFunc(keys, func(a, b string) int {
		ea, eb := r.entries[a], r.entries[b]
		da, db := len(ea.GetSlices()) == 0, len(eb.GetSlices()) == 0
		switch {
		case da != db:
			if da {
				return 1
			}
			return -1
		case ea.GetShardId() != eb.GetShardId():
			return int(ea.GetShardId()) - int(eb.GetShardId())
		case ea.GetOffset() < eb.GetOffset():
			return -1
		case ea.GetOffset() > eb.GetOffset():
			return 1
		}
		return 0
	})
	return keys
}

// Entry returns the index entry of key. It must not be modified.
func (r *Reader) Entry(key string) (*tfpb.BundleEntryProto, bool) {
	e, ok := r.entries[key]
	return e, ok
}

// IndexFile returns the path of the index inside the fs.FS.
func (r *Reader) IndexFile() string { return IndexName(r.prefix) }

// DataFile returns the path of data shard i inside the fs.FS.
func (r *Reader) DataFile(shard int) string { return DataName(r.prefix, shard, r.NumShards()) }

// ShardSize returns the size in bytes of data shard i as seen by Open.
func (r *Reader) ShardSize(shard int) int64 { return r.shardSizes[shard] }

// DataBytes returns the total of the entries' stored sizes.
func (r *Reader) DataBytes() int64 {
	var n int64
	for _, e := range r.entries {
		if len(e.GetSlices()) == 0 { // a sliced entry's size is not read
			n += e.GetSize()
		}
	}
	return n
}

// IndexCompressed reports whether the index has snappy-compressed blocks
// (TensorFlow writes none, but some old checkpoints have them); such an
// index is not reproduced byte for byte by a Writer.
func (r *Reader) IndexCompressed() bool { return r.compressed }
