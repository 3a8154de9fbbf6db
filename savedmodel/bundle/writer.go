package bundle

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/unmirror/unmirror/savedmodel/internal/fsync"
	"github.com/unmirror/unmirror/savedmodel/internal/writeback"
	"github.com/unmirror/unmirror/savedmodel/table"
	versions "github.com/wamuir/graft/tensorflow/core/framework/versions_go_proto"
	tfpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
	"google.golang.org/protobuf/proto"
)

// copyBufferSize is the size of the buffer tensors smaller than
// readAheadMin stream through; not more than 256 KiB, for the reason given
// at copyShardBuffer.
const copyBufferSize = 256 << 10

// shardBufferSize is the write buffer of each data shard; writes larger than
// it go straight to the file.
const shardBufferSize = 64 << 10

// WriterOptions configures a Writer. The zero value writes one shard and
// fsyncs every file it writes.
type WriterOptions struct {
	NumShards int // number of data shards; 0 means 1
	// NoSync makes Close skip the fsync of the data shards and the index
	// (TensorFlow's BundleWriter does not fsync either). The files are then
	// complete for every reader once Close returns, but a power loss or
	// kernel crash may leave them empty or short on disk. A caller that
	// fsyncs the files itself (or renames a directory into place after
	// fsyncing it) sets it to avoid syncing twice.
	NoSync bool
	// KernelCopy makes Concat copy the bytes of sources that are OS files
	// by the kernel (copy_file_range), verifying them on another goroutine
	// by reading them again, instead of streaming them once through user
	// space. It costs more where the page cache holds the sources: on a
	// 2 GiB sharded model rewritten by unmirror --no-sync (2 cores, 7
	// interleaved rounds) the median was 0.79 s wall and 1.14 s CPU with
	// it, 0.58 s and 0.96 s without (cp -r: 0.59 s); copy_file_range plus
	// a second read to verify costs more than one read, checksum and write
	// from a buffer in cache. It is there for machines where that differs.
	KernelCopy bool
	// OnSync, if set, is called with the name of every file the Writer
	// fsyncs, before the fsync (a caller that watches all the fsyncs of a
	// larger write, such as a test of savedmodel.Write).
	OnSync func(name string)
}

// Writer writes a bundle into an OS directory. Data shards are written as
// tensors are added; the index is written on Close. Methods must be called
// from one goroutine at a time.
type Writer struct {
	dir, prefix string
	files       []*os.File
	bufs        []*bufio.Writer
	sizes       []int64
	entries     map[string]*tfpb.BundleEntryProto
	copyBuf     []byte
	aheadBufs   [][]byte // readAhead's buffers, allocated on first use
	startedWB   []int64  // per shard: bytes whose writeback was started
	noSync      bool
	kernelCopy  bool
	onSync      func(name string)
	err         error // sticky: a data file may hold partial bytes
	closed      bool
	// Concat's sources copied by the kernel: w's handles on their shards
	// (nil for a shard that is streamed), the entries queued for
	// verification, and the goroutine verifying them.
	srcFiles map[srcShard]*os.File
	verified map[verifyKey]bool
	ver      *verifier
}

func (w *Writer) sync(f *os.File) error {
	if w.noSync {
		return nil
	}
	return fsync.File(f, w.onSync)
}

// NewWriter creates dir/prefix.index and the data shards
// dir/prefix.data-NNNNN-of-NNNNN, truncating existing files. The index is
// only created by Close.
func NewWriter(dir, prefix string, opts WriterOptions) (*Writer, error) {
	n := opts.NumShards
	if n == 0 {
		n = 1
	}
	if n < 0 || n > 99999 {
		return nil, fmt.Errorf("bundle: NumShards %d out of range [1, 99999]", n)
	}
	w := &Writer{dir: dir, prefix: prefix, entries: map[string]*tfpb.BundleEntryProto{}, noSync: opts.NoSync, kernelCopy: opts.KernelCopy, onSync: opts.OnSync}
	for i := 0; i < n; i++ {
		f, err := os.Create(filepath.Join(dir, DataName(prefix, i, n)))
		if err != nil {
			w.closeFiles()
			return nil, fmt.Errorf("bundle: %w", err)
		}
		w.files = append(w.files, f)
		w.bufs = append(w.bufs, nil) // allocated on the first write
		w.sizes = append(w.sizes, 0)
		w.startedWB = append(w.startedWB, 0)
	}
	return w, nil
}

func (w *Writer) dataFile(i int) string { return DataName(w.prefix, i, len(w.sizes)) }

// NumShards returns the number of data shards.
func (w *Writer) NumShards() int { return len(w.sizes) }

// check validates a key and entry before anything is written.
func (w *Writer) check(key string, entry *tfpb.BundleEntryProto, hasData bool) error {
	if w.closed {
		return errors.New("bundle: writer is closed")
	}
	if w.err != nil {
		return w.err
	}
	if w.ver != nil {
		if err := w.ver.failed(); err != nil {
			w.err = err
			return err
		}
	}
	if key == "" {
		return errors.New("bundle: the empty key is reserved for the header")
	}
	if _, dup := w.entries[key]; dup {
		return fmt.Errorf("bundle: duplicate key %q", key)
	}
	sliced := len(entry.GetSlices()) > 0
	switch {
	case sliced && hasData:
		return fmt.Errorf("bundle: key %q: a sliced full-tensor entry has no data; add each slice under SliceKey", key)
	case !sliced && !hasData:
		return fmt.Errorf("bundle: key %q: no data for an entry without slices", key)
	}
	probe := proto.Clone(entry).(*tfpb.BundleEntryProto)
	probe.Offset, probe.Size, probe.Crc32C = 0, 0, 0 // set by the writer
	if sliced {
		probe.ShardId = 0
	}
	if p := metaProblem(probe, len(w.sizes)); p != "" {
		return fmt.Errorf("bundle: key %q: %s", key, p)
	}
	return nil
}

// Add appends one tensor. entry gives dtype, shape, slices and shard_id (<
// NumShards); the writer sets offset, size and crc32c while streaming data,
// which must be the stored bytes (as OpenEntry returns them). For fixed-size
// dtypes the byte count must equal elements times the dtype size; strings
// and variants must be in TensorFlow's layout (see WriteStrings), whose
// embedded checksums are verified. data == nil with entry.Slices set adds a
// sliced full-tensor entry. Keys may come in any order; a duplicate key is
// an error. An error while streaming leaves the Writer failed: later calls
// and Close return it.
func (w *Writer) Add(key string, entry *tfpb.BundleEntryProto, data io.Reader) error {
	return w.AddContext(context.Background(), key, entry, data)
}

// AddContext is Add that stops streaming, leaving the Writer failed, when
// ctx is done.
func (w *Writer) AddContext(ctx context.Context, key string, entry *tfpb.BundleEntryProto, data io.Reader) error {
	if err := w.check(key, entry, data != nil); err != nil {
		return err
	}
	e := proto.Clone(entry).(*tfpb.BundleEntryProto)
	if data == nil {
		// TensorFlow reads no data field of a sliced entry; its merge
		// (MergeBundles) leaves shard_id set, which is kept when it names
		// a shard of this bundle so that a copy reproduces the index.
		if e.ShardId < 0 || int(e.ShardId) >= len(w.sizes) {
			e.ShardId = 0
		}
		e.Offset, e.Size, e.Crc32C = 0, 0, 0
		w.entries[key] = e
		return nil
	}
	n, _ := NumElements(e.GetShape())
	c := newChecker(e.GetDtype(), n)
	want, err := TensorBytes(e.GetDtype(), e.GetShape())
	if err == nil {
		data = io.LimitReader(data, want+1) // one byte more shows an overlong stream
	} else {
		want = -1
	}
	size, err := w.stream(ctx, key, int(e.GetShardId()), data, c, want)
	if err != nil {
		return err
	}
	file := w.dataFile(int(e.GetShardId()))
	crc, err := c.finish()
	if err == nil && c.badCk {
		err = &ChecksumError{File: file, Key: key, Stored: c.ckStored, Computed: c.ckActual}
	}
	if err == nil {
		if p := sizeProblem(e.GetDtype(), n, size); p != "" {
			err = errors.New(p)
		}
	}
	if err != nil {
		w.err = fmt.Errorf("bundle: %s: key %q: %w", file, key, err)
		return w.err
	}
	e.Offset, e.Size, e.Crc32C = w.sizes[e.GetShardId()]-size, size, mask(crc)
	w.entries[key] = e
	return nil
}

// stream copies data into a shard through the copy buffer, feeding check
// (if not nil), and returns the byte count. size is the expected byte
// count, or -1 when unknown; a stream of at least readAheadMin bytes is
// read ahead on another goroutine (see readAhead).
func (w *Writer) stream(ctx context.Context, key string, shard int, data io.Reader, check *checker, size int64) (int64, error) {
	if size < readAheadMin {
		if w.copyBuf == nil {
			w.copyBuf = make([]byte, copyBufferSize)
		}
		var total int64
		for {
			n, rerr := data.Read(w.copyBuf)
			if err := w.put(ctx, key, shard, w.copyBuf[:n], rerr, check); err != nil || rerr == io.EOF {
				return total + int64(n), err
			}
			total += int64(n)
		}
	}
	if w.aheadBufs == nil {
		for range readAheadChunks {
			w.aheadBufs = append(w.aheadBufs, make([]byte, readAheadChunk))
		}
	}
	ra := startReadAhead(data, w.aheadBufs)
	defer ra.stop()
	var total int64
	for {
		c := ra.next()
		err := w.put(ctx, key, shard, c.b, c.err, check)
		total += int64(len(c.b))
		ra.release(c.b)
		if err != nil || c.err == io.EOF {
			return total, err
		}
	}
}

// streamExact streams the stored bytes of an input entry (from src, a data
// file) to shard, as stream does, and fails the Writer with a
// *CorruptError unless they are exactly want bytes: a source that ends early
// must not leave an entry whose index claims bytes the shard lacks.
func (w *Writer) streamExact(ctx context.Context, key string, shard int, data io.Reader, src string, want int64) error {
	size, err := w.stream(ctx, key, shard, data, nil, want)
	if err != nil {
		return err
	}
	if size != want {
		w.err = &CorruptError{File: src, Key: key, Offset: -1,
			Reason: fmt.Sprintf("its stored bytes ended after %d of %d", size, want)}
		return w.err
	}
	return nil
}

// put checks and writes b, the bytes of one read of key's data that
// returned rerr, to shard. It returns the Writer's (sticky) error, or nil
// to go on (also after io.EOF).
func (w *Writer) put(ctx context.Context, key string, shard int, b []byte, rerr error, check *checker) error {
	if err := ctx.Err(); err != nil {
		w.err = fmt.Errorf("bundle: key %q: %w", key, err)
		return w.err
	}
	if len(b) > 0 {
		if check != nil {
			if err := check.write(b); err != nil {
				w.err = fmt.Errorf("bundle: %s: key %q: bad tensor layout: %w", w.dataFile(shard), key, err)
				return w.err
			}
		}
		if w.bufs[shard] == nil {
			w.bufs[shard] = bufio.NewWriterSize(w.files[shard], shardBufferSize)
		}
		if _, err := w.bufs[shard].Write(b); err != nil {
			w.err = fmt.Errorf("bundle: %w", err)
			return w.err
		}
		w.sizes[shard] += int64(len(b))
		w.startWriteback(shard)
	}
	if rerr != nil && rerr != io.EOF {
		w.err = fmt.Errorf("bundle: key %q: read data: %w", key, rerr)
		return w.err
	}
	return nil
}

// writebackChunk is how many bytes of a shard reach the file between two
// writeback.Start calls.
const writebackChunk = 16 << 20

// startWriteback starts the kernel writing shard's bytes to disk once
// writebackChunk more have reached the file, so that Close's fsync does not
// wait for the whole shard (package writeback). Not with NoSync: there the
// page cache absorbs the writes.
func (w *Writer) startWriteback(shard int) {
	if w.noSync {
		return
	}
	inFile := w.sizes[shard]
	if b := w.bufs[shard]; b != nil {
		inFile -= int64(b.Buffered())
	}
	if n := inFile - w.startedWB[shard]; n >= writebackChunk {
		writeback.Start(w.files[shard], w.startedWB[shard], n)
		w.startedWB[shard] = inFile
	}
}

// Copy moves one entry's bytes from r to w without decoding them; r
// verifies the checksum as they pass, and the entry keeps its stored
// checksum and shard id (which must be < w.NumShards()). A sliced
// full-tensor entry is copied as such; copy its slice keys too.
func (w *Writer) Copy(r *Reader, key string) error {
	return w.CopyContext(context.Background(), r, key)
}

// CopyContext is Copy that stops streaming, leaving the Writer failed, when
// ctx is done.
func (w *Writer) CopyContext(ctx context.Context, r *Reader, key string) error {
	e, ok := r.Entry(key)
	if !ok {
		return fmt.Errorf("bundle: %s: key %q: %w", r.IndexFile(), key, ErrNotFound)
	}
	if len(e.GetSlices()) > 0 {
		return w.Add(key, e, nil)
	}
	if err := w.check(key, e, true); err != nil {
		return err
	}
	rc, err := r.OpenEntry(key)
	if err != nil {
		return err
	}
	defer rc.Close()
	if err := w.streamExact(ctx, key, int(e.GetShardId()), rc, r.DataFile(int(e.GetShardId())), e.GetSize()); err != nil {
		return err
	}
	out := proto.Clone(e).(*tfpb.BundleEntryProto)
	out.Offset = w.sizes[e.GetShardId()] - e.GetSize()
	w.entries[key] = out
	return nil
}

// Close flushes and syncs the data shards, then writes, syncs and closes the
// index (no syncs with WriterOptions.NoSync): the header (num_shards, little-endian, producer 1) and the entries
// sorted by key. After a failed Add or Copy it closes the files, writes no
// index and returns that error.
func (w *Writer) Close() error {
	if w.closed {
		return errors.New("bundle: writer is closed")
	}
	w.closed = true
	if w.err != nil {
		w.finishSources()
		w.closeFiles()
		return w.err
	}
	for i, b := range w.bufs {
		var err error
		if b != nil { // nil: nothing was written to this shard
			err = b.Flush()
		}
		if err == nil {
			err = w.sync(w.files[i])
		}
		if err != nil {
			w.err = fmt.Errorf("bundle: %s: %w", w.dataFile(i), err)
			w.finishSources()
			w.closeFiles()
			return w.err
		}
	}
	// The shards are on disk; the verification of what Concat copied ran
	// alongside. A damaged source leaves no index.
	if err := w.finishSources(); err != nil {
		w.err = err
		w.closeFiles()
		return err
	}
	if err := w.closeFiles(); err != nil {
		return fmt.Errorf("bundle: %w", err)
	}
	return w.writeIndex()
}

// Abort gives up the checkpoint: it waits for any verification still running,
// closes the files without flushing or syncing them and writes no index.
// The caller removes the directory. Aborting a closed Writer does nothing.
func (w *Writer) Abort() {
	if w.closed {
		return
	}
	w.closed = true
	if w.err == nil {
		w.err = errors.New("bundle: writer aborted")
	}
	w.finishSources()
	w.closeFiles()
}

func (w *Writer) closeFiles() error {
	var errs []error
	for _, f := range w.files {
		errs = append(errs, f.Close())
	}
	w.files = w.files[:0:0]
	return errors.Join(errs...)
}

func (w *Writer) writeIndex() error {
	name := filepath.Join(w.dir, IndexName(w.prefix))
	f, err := os.Create(name)
	if err != nil {
		return fmt.Errorf("bundle: %w", err)
	}
	bw := bufio.NewWriterSize(f, shardBufferSize)
	t := table.NewWriter(bw, table.Options{})
	err = w.addIndexEntries(t)
	if err == nil {
		err = t.Close()
	}
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = w.sync(f)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("bundle: write %s: %w", name, err)
	}
	return nil
}

func (w *Writer) addIndexEntries(t *table.Writer) error {
	header := &tfpb.BundleHeaderProto{
		NumShards:  int32(len(w.sizes)),
		Endianness: tfpb.BundleHeaderProto_LITTLE,
		Version:    &versions.VersionDef{Producer: FormatVersion, MinConsumer: FormatMinConsumer},
	}
	opts := proto.MarshalOptions{Deterministic: true}
	b, err := opts.Marshal(header)
	if err != nil {
		return err
	}
	if err := t.Add(nil, b); err != nil {
		return err
	}
	keys := make([]string, 0, len(w.entries))
	for k := range w.entries {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		b, err = opts.MarshalAppend(b[:0], w.entries[k])
		if err != nil {
			return err
		}
		if err := t.Add([]byte(k), b); err != nil {
			return err
		}
	}
	return nil
}
