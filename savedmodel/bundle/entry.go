package bundle

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"

	tsp "github.com/wamuir/graft/tensorflow/core/framework/tensor_shape_go_proto"
	tslp "github.com/wamuir/graft/tensorflow/core/framework/tensor_slice_go_proto"
	"github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
	tfpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
)

// entryProblem returns why an entry's metadata is invalid, or "" if it is
// valid. shardSize returns the real size of a shard, shardName its file.
func entryProblem(e *tfpb.BundleEntryProto, numShards int, shardSize func(int) int64, shardName func(int) string) string {
	if p := metaProblem(e, numShards); p != "" || len(e.GetSlices()) > 0 {
		return p
	}
	off, size := e.GetOffset(), e.GetSize()
	if off < 0 || size < 0 {
		return fmt.Sprintf("negative offset %d or size %d", off, size)
	}
	ss := shardSize(int(e.GetShardId()))
	if off > ss || size > ss-off {
		return fmt.Sprintf("data [%d, %d+%d) lies beyond the end of shard %d, %s (%d bytes)", off, off, size, e.GetShardId(), shardName(int(e.GetShardId())), ss)
	}
	n, _ := NumElements(e.GetShape())
	return sizeProblem(e.GetDtype(), n, size)
}

// metaProblem checks what an entry says about its tensor: dtype, shape,
// slices, and the shard id of an entry with data.
func metaProblem(e *tfpb.BundleEntryProto, numShards int) string {
	dt := e.GetDtype()
	if !storable(dt) {
		return fmt.Sprintf("unsupported dtype %v", dt)
	}
	if _, err := NumElements(e.GetShape()); err != nil {
		return "invalid tensor shape: " + err.Error()
	}
	if len(e.GetSlices()) > 0 {
		// shard_id, offset, size and crc32c of a sliced full-tensor entry
		// are not read: TensorFlow's GetSliceValue reads each slice's own
		// entry, and MergeBundles sets shard_id on the full-tensor entry too.
		for i, s := range e.GetSlices() {
			if p := sliceProblem(s, e.GetShape()); p != "" {
				return fmt.Sprintf("slice %d: %s", i, p)
			}
		}
		return ""
	}
	if s := e.GetShardId(); s < 0 || int(s) >= numShards {
		return fmt.Sprintf("shard_id %d out of range [0, %d)", s, numShards)
	}
	return ""
}

// sizeProblem checks an entry's size against its dtype and element count.
func sizeProblem(dt types_go_proto.DataType, n, size int64) string {
	if es, ok := DTypeSize(dt); ok {
		if n > math.MaxInt64/int64(es) || n*int64(es) != size {
			return fmt.Sprintf("invalid size: stored %d bytes, %d elements of %v need %d", size, n, dt, n*int64(es))
		}
		return ""
	}
	// Each string element takes at least a 1-byte length, plus the 4-byte
	// length checksum; each variant element at least 1 + 4 bytes.
	perElem := int64(1)
	if dt == types_go_proto.DataType_DT_VARIANT {
		perElem = 5
	}
	if size == 0 && (n == 0 || dt == types_go_proto.DataType_DT_STRING) {
		return "" // TensorFlow reads a 0-byte string entry as empty strings
	}
	if n > (math.MaxInt64-4)/perElem || size < n*perElem+boolInt(dt == types_go_proto.DataType_DT_STRING)*4 {
		return fmt.Sprintf("invalid size: stored %d bytes is too small for %d elements of %v", size, n, dt)
	}
	return ""
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// sliceProblem checks a slice against the full tensor's shape, as
// TensorFlow's TensorSliceSet::Register (SliceTensorShape) does, and also
// rejects the extents that TensorFlow accepts there but then reads outside
// the slice's data with: a negative start or length, or a start without a
// length other than 0.
func sliceProblem(s *tslp.TensorSliceProto, shape *tsp.TensorShapeProto) string {
	dims := shape.GetDim()
	if len(s.GetExtent()) != len(dims) {
		return fmt.Sprintf("rank %d, tensor rank %d", len(s.GetExtent()), len(dims))
	}
	for d, ext := range s.GetExtent() {
		st, l, full := extentOf(ext)
		if full {
			continue
		}
		if st < 0 || l < 0 || st > dims[d].GetSize() || l > dims[d].GetSize()-st {
			return fmt.Sprintf("extent %s outside dimension %d of size %d", extentString(ext), d, dims[d].GetSize())
		}
	}
	return ""
}

// extent returns an extent's start and length as TensorFlow's TensorSlice
// reads them (GetExtentLength: no length, or length -1, is kFullExtent) and
// whether it is full (IsFullAt: start 0 and kFullExtent).
func extentOf(e *tslp.TensorSliceProto_Extent) (start, length int64, full bool) {
	length = -1
	if _, has := e.GetHasLength().(*tslp.TensorSliceProto_Extent_Length); has {
		length = e.GetLength()
	}
	return e.GetStart(), length, e.GetStart() == 0 && length == -1
}

// extentString writes an extent as TensorSlice::DebugString does ("-" for a
// full extent, else "start,length").
func extentString(e *tslp.TensorSliceProto_Extent) string {
	st, l, full := extentOf(e)
	if full {
		return "-"
	}
	return fmt.Sprintf("%d,%d", st, l)
}

func (r *Reader) checkEntry(key string, e *tfpb.BundleEntryProto) error {
	if p := entryProblem(e, r.NumShards(), r.ShardSize, r.DataFile); p != "" {
		return &CorruptError{File: r.IndexFile(), Key: key, Offset: -1, Reason: p}
	}
	return nil
}

// OpenEntry streams the stored bytes of one entry from its shard: raw
// little-endian elements for fixed-size dtypes, TensorFlow's layouts for
// DT_STRING and DT_VARIANT. The checksum is verified as the bytes are read;
// the read that consumes the last byte returns a *ChecksumError (with no
// bytes) instead if it does not match, so io.ReadFull and io.Copy both see
// it. A sliced full-tensor entry has no data of its own and is an error.
func (r *Reader) OpenEntry(key string) (io.ReadCloser, error) {
	e, ok := r.entries[key]
	if !ok {
		return nil, fmt.Errorf("bundle: %s: key %q: %w", r.IndexFile(), key, ErrNotFound)
	}
	if len(e.GetSlices()) > 0 {
		return nil, fmt.Errorf("bundle: %s: key %q is a sliced tensor with %d slices and no data of its own; read its slice keys (SliceKey)", r.IndexFile(), key, len(e.GetSlices()))
	}
	shard := int(e.GetShardId())
	src, closer, err := r.shardSection(shard, e.GetOffset(), e.GetSize())
	if err != nil {
		return nil, err
	}
	n, _ := NumElements(e.GetShape()) // checked by Open
	return &entryReader{
		src: src, closer: closer, file: r.DataFile(shard), key: key,
		offset: e.GetOffset(), remaining: e.GetSize(), stored: unmask(e.GetCrc32C()),
		check: newChecker(e.GetDtype(), n),
	}, nil
}

// shardSection returns a reader of size bytes at off in a shard.
func (r *Reader) shardSection(shard int, off, size int64) (io.Reader, io.Closer, error) {
	name := r.DataFile(shard)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, nil, fmt.Errorf("bundle: %s: reader is closed", name)
	}
	if f, ok := r.shards[shard]; ok {
		return io.NewSectionReader(f.(io.ReaderAt), off, size), nil, nil
	}
	f, err := r.fsys.Open(name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil, &CorruptError{File: name, Offset: -1, Reason: "data shard is missing", Err: err}
		}
		return nil, nil, fmt.Errorf("bundle: %w", err)
	}
	if ra, ok := f.(io.ReaderAt); ok {
		r.shards[shard] = f
		return io.NewSectionReader(ra, off, size), nil, nil
	}
	// No random access: skip to the offset and read from this handle alone.
	if _, err := io.CopyN(io.Discard, f, off); err != nil {
		f.Close()
		return nil, nil, &CorruptError{File: name, Offset: off, Reason: "data shard is shorter than the index says", Err: err}
	}
	return io.LimitReader(f, size), f, nil
}

// entryReader streams one entry's bytes and verifies them.
type entryReader struct {
	src       io.Reader
	closer    io.Closer
	file, key string
	offset    int64 // file offset of the next byte
	remaining int64
	stored    uint32
	check     *checker
	err       error
}

func (er *entryReader) Read(p []byte) (int, error) {
	if er.err != nil {
		return 0, er.err
	}
	if er.remaining == 0 {
		er.err = er.verify()
		if er.err == nil {
			er.err = io.EOF
		}
		return 0, er.err
	}
	if int64(len(p)) > er.remaining {
		p = p[:er.remaining]
	}
	n, err := er.src.Read(p)
	er.remaining -= int64(n)
	er.offset += int64(n)
	cerr := er.check.write(p[:n])
	if c := er.check; c.badCk {
		// An embedded checksum (string lengths, variant element) failed:
		// report it before any layout error it leads to.
		er.err = &ChecksumError{File: er.file, Key: er.key, Stored: c.ckStored, Computed: c.ckActual}
		return 0, er.err
	}
	if cerr != nil {
		er.err = &CorruptError{File: er.file, Key: er.key, Offset: er.offset, Reason: "bad tensor layout", Err: cerr}
		return 0, er.err
	}
	if er.remaining == 0 {
		if er.err = er.verify(); er.err != nil {
			return 0, er.err
		}
		er.err = io.EOF
		return n, io.EOF
	}
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		// The shard ends before the entry (a truncated file, or an archive
		// member cut short behind an fs.FS).
		er.err = &CorruptError{File: er.file, Key: er.key, Offset: er.offset, Reason: fmt.Sprintf("data shard ends %d bytes early", er.remaining)}
		if err != io.EOF {
			er.err.(*CorruptError).Err = err
		}
		return n, er.err
	}
	if err != nil {
		er.err = fmt.Errorf("bundle: %s: key %q: %w", er.file, er.key, err)
	}
	return n, er.err
}

// verify checks the layout and checksum once all bytes are read.
func (er *entryReader) verify() error {
	got, err := er.check.finish()
	if err != nil {
		return &CorruptError{File: er.file, Key: er.key, Offset: er.offset, Reason: "bad tensor layout", Err: err}
	}
	if c := er.check; c.badCk {
		return &ChecksumError{File: er.file, Key: er.key, Stored: c.ckStored, Computed: c.ckActual}
	}
	if got != er.stored {
		return &ChecksumError{File: er.file, Key: er.key, Stored: er.stored, Computed: got}
	}
	return nil
}

func (er *entryReader) Close() error {
	er.err = errors.New("bundle: read of closed entry")
	if er.closer != nil {
		return er.closer.Close()
	}
	return nil
}
