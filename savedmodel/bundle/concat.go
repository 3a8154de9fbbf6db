package bundle

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	tfpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
	"google.golang.org/protobuf/proto"
)

// kernelCopyChunk is how many bytes Concat asks the kernel to copy between
// cancellation checks and writeback hints.
const kernelCopyChunk = 16 << 20

// verifyQueue is how many source entries a Concat by the kernel
// (WriterOptions.KernelCopy) may run ahead of their verification.
const verifyQueue = 4096

// Concat adds key, whose stored bytes are the stored bytes of the entries
// sources of r, concatenated in order: a renamed entry (one source), or a
// tensor assembled from parts along its first axis. entry gives dtype,
// shape and shard_id (< NumShards), and is otherwise kept as given, as by
// Add; the writer sets offset, size and crc32c. The checksum is the
// CRC-32C combination of the sources' stored checksums, so the bytes are
// checksummed once, by the verification of the sources, not again as
// output.
//
// Every source must be an entry with data (not a sliced full-tensor entry)
// of entry's dtype; with more than one source the dtype must have a fixed
// size, and the sources' sizes must add up to the tensor's byte count (a
// string tensor's layout does not concatenate). With one source its
// element count must be entry's.
//
// The bytes stream through user space once: read ahead on another
// goroutine, which verifies each source as it reads it (a damaged source
// is a *ChecksumError or *CorruptError, as from Copy), and written from
// that buffer. With WriterOptions.KernelCopy, and r opened on an OS
// directory (its shard files are *os.File), the kernel copies them instead
// (copy_file_range) while a goroutine verifies each source by reading it;
// a damaged source then fails Close (or a later Add or Concat), and Close
// writes no index. Unless WriterOptions.NoSync, the kernel is asked to
// write the copied bytes to disk as they reach the file.
func (w *Writer) Concat(ctx context.Context, r *Reader, key string, entry *tfpb.BundleEntryProto, sources []string) error {
	if err := w.check(key, entry, true); err != nil {
		return err
	}
	parts, want, err := concatParts(r, key, entry, sources)
	if err != nil {
		return err
	}
	shard := int(entry.GetShardId())
	start := w.sizes[shard]
	var crc uint32
	for i, p := range parts {
		if err := w.copyPart(ctx, r, key, shard, sources[i], p); err != nil {
			return err
		}
		if i == 0 {
			crc = unmask(p.GetCrc32C())
		} else {
			crc = crc32cCombine(crc, unmask(p.GetCrc32C()), p.GetSize())
		}
	}
	e := proto.Clone(entry).(*tfpb.BundleEntryProto)
	e.Offset, e.Size, e.Crc32C = start, want, mask(crc)
	w.entries[key] = e
	return nil
}

// concatParts checks Concat's sources and returns their entries and the
// total byte count.
func concatParts(r *Reader, key string, entry *tfpb.BundleEntryProto, sources []string) ([]*tfpb.BundleEntryProto, int64, error) {
	dt := entry.GetDtype()
	_, fixed := DTypeSize(dt)
	if !fixed && len(sources) != 1 {
		return nil, 0, fmt.Errorf("bundle: %s: key %q: %d sources of dtype %v: only fixed-size dtypes concatenate", r.IndexFile(), key, len(sources), dt)
	}
	parts := make([]*tfpb.BundleEntryProto, len(sources))
	var total int64
	for i, src := range sources {
		p, ok := r.Entry(src)
		if !ok {
			return nil, 0, fmt.Errorf("bundle: %s: source %q of key %q: %w", r.IndexFile(), src, key, ErrNotFound)
		}
		switch {
		case len(p.GetSlices()) > 0:
			return nil, 0, fmt.Errorf("bundle: %s: source %q of key %q is a sliced tensor with no data of its own", r.IndexFile(), src, key)
		case p.GetDtype() != dt:
			return nil, 0, fmt.Errorf("bundle: %s: source %q of key %q has dtype %v, the key %v", r.IndexFile(), src, key, p.GetDtype(), dt)
		}
		parts[i] = p
		total += p.GetSize()
	}
	if fixed {
		want, err := TensorBytes(dt, entry.GetShape())
		if err != nil {
			return nil, 0, fmt.Errorf("bundle: key %q: %w", key, err)
		}
		if total != want {
			return nil, 0, fmt.Errorf("bundle: %s: key %q: its sources hold %d bytes, the %v tensor %d", r.IndexFile(), key, total, dt, want)
		}
		return parts, total, nil
	}
	n, _ := NumElements(entry.GetShape())
	if m, _ := NumElements(parts[0].GetShape()); m != n {
		return nil, 0, fmt.Errorf("bundle: %s: key %q has %d elements, its source %q %d", r.IndexFile(), key, n, sources[0], m)
	}
	return parts, total, nil
}

// copyPart appends the stored bytes of src (entry p of r) to shard.
func (w *Writer) copyPart(ctx context.Context, r *Reader, key string, shard int, src string, p *tfpb.BundleEntryProto) error {
	in, err := w.sourceFile(r, int(p.GetShardId()))
	if err != nil {
		w.err = err
		return err
	}
	if in == nil {
		rc, err := r.OpenEntry(src)
		if err != nil {
			w.err = err // earlier parts of key may already be in the shard
			return err
		}
		defer rc.Close()
		return w.streamExact(ctx, key, shard, rc, r.DataFile(int(p.GetShardId())), p.GetSize())
	}
	// Queued first, so that the verifier reads the part while the kernel
	// copies it, as copyShard's does, instead of one part behind.
	w.verifyLater(ctx, r, src)
	if err := w.copyRange(ctx, key, shard, in, r.DataFile(int(p.GetShardId())), p.GetOffset(), p.GetSize()); err != nil {
		w.err = err
		return err
	}
	return nil
}

// copyRange copies n bytes at off in in (the shard file name of a reader)
// to the end of shard, through os.File.ReadFrom (copy_file_range).
func (w *Writer) copyRange(ctx context.Context, key string, shard int, in *os.File, name string, off, n int64) error {
	if b := w.bufs[shard]; b != nil {
		if err := b.Flush(); err != nil {
			return fmt.Errorf("bundle: %s: %w", w.dataFile(shard), err)
		}
	}
	if _, err := in.Seek(off, io.SeekStart); err != nil {
		return fmt.Errorf("bundle: %s: %w", name, err)
	}
	out := w.files[shard]
	for n > 0 {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("bundle: key %q: %w", key, err)
		}
		m, err := io.CopyN(out, in, min(n, kernelCopyChunk))
		w.sizes[shard] += m
		n -= m
		w.startWriteback(shard)
		if errors.Is(err, io.EOF) {
			return &CorruptError{File: name, Key: key, Offset: off, Reason: "data shard is shorter than the index says", Err: io.ErrUnexpectedEOF}
		}
		if err != nil {
			return fmt.Errorf("bundle: copy %s to %s: key %q: %w", name, w.dataFile(shard), key, err)
		}
		off += m
	}
	return nil
}

// srcShard names one data shard of a Reader.
type srcShard struct {
	r     *Reader
	shard int
}

// sourceFile returns w's own handle on a shard of r when the kernel is to
// copy from it (WriterOptions.KernelCopy, an OS file), or nil when the
// bytes are to be streamed.
func (w *Writer) sourceFile(r *Reader, shard int) (*os.File, error) {
	if !w.kernelCopy {
		return nil, nil
	}
	k := srcShard{r, shard}
	if f, ok := w.srcFiles[k]; ok {
		return f, nil
	}
	if w.srcFiles == nil {
		w.srcFiles = map[srcShard]*os.File{}
	}
	f, err := r.fsys.Open(r.DataFile(shard))
	if err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	of, ok := f.(*os.File)
	if !ok {
		f.Close()
	}
	w.srcFiles[k] = of // nil: stream
	return of, nil
}

// verifyLater queues the verification of src in r, once per Writer.
func (w *Writer) verifyLater(ctx context.Context, r *Reader, src string) {
	k := verifyKey{r, src}
	if w.verified[k] {
		return
	}
	if w.verified == nil {
		w.verified = map[verifyKey]bool{}
		w.ver = startVerifier()
	}
	w.verified[k] = true
	w.ver.jobs <- verifyJob{ctx: ctx, key: k}
}

// finishSources waits for the verifier and closes the source handles. It
// returns the first verification error.
func (w *Writer) finishSources() error {
	var err error
	if w.ver != nil {
		err = w.ver.wait()
		w.ver = nil
	}
	for _, f := range w.srcFiles {
		if f != nil {
			f.Close()
		}
	}
	w.srcFiles = nil
	return err
}

// verifyKey names one entry of a Reader.
type verifyKey struct {
	r   *Reader
	key string
}

type verifyJob struct {
	ctx context.Context
	key verifyKey
}

// verifier reads the entries queued on jobs, each through OpenEntry, which
// checks its checksum; after the first failure it drains the queue.
type verifier struct {
	jobs chan verifyJob
	done chan struct{}
	mu   sync.Mutex
	err  error
}

func startVerifier() *verifier {
	v := &verifier{jobs: make(chan verifyJob, verifyQueue), done: make(chan struct{})}
	go v.run()
	return v
}

func (v *verifier) run() {
	defer close(v.done)
	buf := make([]byte, copyShardBuffer)
	for j := range v.jobs {
		if v.failed() != nil {
			continue
		}
		if err := verifyEntryWith(j.ctx, j.key.r, j.key.key, buf); err != nil {
			v.mu.Lock()
			v.err = err
			v.mu.Unlock()
		}
	}
}

// failed returns the verification error so far, if any.
func (v *verifier) failed() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.err
}

// wait closes the queue and waits until every queued entry is verified.
func (v *verifier) wait() error {
	close(v.jobs)
	<-v.done
	return v.err
}

// verifyEntryWith reads key of r to the end through buf, so that OpenEntry
// checks it.
func verifyEntryWith(ctx context.Context, r *Reader, key string, buf []byte) error {
	rc, err := r.OpenEntry(key)
	if err != nil {
		return err
	}
	defer rc.Close()
	_, err = io.CopyBuffer(plainWriter{io.Discard}, ctxReader{ctx, rc}, buf)
	return err
}
