package bundle

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
)

// copyShardBuffer is the buffer CopyShard streams through. Not more than
// 256 KiB: on linux 6.18 (ext4, the 2-core test machine) writes of 1 MiB
// or more from one Go buffer often fall into a slow path of the kernel's
// copy from user memory (copy_folio_from_iter_atomic was 82% of the
// profile). Streaming a 2 GiB shard through CopyShard into a file took a
// median 2.84 s wall and 2.70 s CPU with a 1 MiB buffer, 0.79 s and 0.76 s
// with 256 KiB (5 interleaved rounds; cp -r 0.61 s); smaller writes never
// showed it.
const copyShardBuffer = 256 << 10

// CopyShard writes data shard number shard to dst byte for byte, reading it
// once, sequentially, and verifying the checksum and layout of every entry
// stored in it as its bytes pass (bytes no entry covers are copied as they
// are). It returns the number of bytes written. A damaged entry is a
// *ChecksumError or *CorruptError naming the shard file and the key; dst
// has then received part of the shard and must be discarded. CopyShard
// stops with ctx's error when ctx is done.
//
// It is the verified form of copying the file: a SavedModel writer uses it
// so that a bit flip in tensor data is never copied into a new model.
func (r *Reader) CopyShard(ctx context.Context, dst io.Writer, shard int) (int64, error) {
	if shard < 0 || shard >= r.NumShards() {
		return 0, fmt.Errorf("bundle: %s: no data shard %d (the bundle has %d)", r.IndexFile(), shard, r.NumShards())
	}
	name := r.DataFile(shard)
	f, err := r.fsys.Open(name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return 0, &CorruptError{File: name, Offset: -1, Reason: "data shard is missing", Err: err}
		}
		return 0, fmt.Errorf("bundle: %w", err)
	}
	defer f.Close()
	c := shardCopier{ctx: ctx, src: f, dst: plainWriter{dst}, buf: make([]byte, copyShardBuffer)}
	for _, key := range r.KeysInDataOrder() {
		e := r.entries[key]
		if len(e.GetSlices()) > 0 || int(e.GetShardId()) != shard {
			continue
		}
		if e.GetOffset() < c.pos {
			// Overlaps an entry already copied (TensorFlow never writes
			// this): verify it on its own.
			if err := r.verifyEntry(key); err != nil {
				return c.pos, err
			}
			continue
		}
		if err := c.raw(e.GetOffset() - c.pos); err != nil {
			return c.pos, c.shortErr(name, err)
		}
		n, _ := NumElements(e.GetShape()) // checked by Open
		er := &entryReader{
			src: c.reader(), file: name, key: key, offset: e.GetOffset(),
			remaining: e.GetSize(), stored: unmask(e.GetCrc32C()), check: newChecker(e.GetDtype(), n),
		}
		m, err := io.CopyBuffer(c.dst, er, c.buf)
		c.pos += m
		if err != nil {
			return c.pos, err
		}
	}
	// The tail no entry covers.
	m, err := io.CopyBuffer(c.dst, c.reader(), c.buf)
	c.pos += m
	if err != nil {
		return c.pos, fmt.Errorf("bundle: %s: offset %d: %w", name, c.pos, err)
	}
	return c.pos, nil
}

// verifyEntry reads one entry through OpenEntry, which checks it.
func (r *Reader) verifyEntry(key string) error {
	rc, err := r.OpenEntry(key)
	if err != nil {
		return err
	}
	defer rc.Close()
	_, err = io.Copy(io.Discard, rc)
	return err
}

// shardCopier streams one shard file to dst, tracking the position.
type shardCopier struct {
	ctx context.Context
	src io.Reader
	dst io.Writer
	buf []byte
	pos int64
}

// reader reads the shard, failing once ctx is done.
func (c *shardCopier) reader() io.Reader { return ctxReader{c.ctx, c.src} }

// raw copies n bytes that belong to no entry.
func (c *shardCopier) raw(n int64) error {
	m, err := io.CopyBuffer(c.dst, io.LimitReader(c.reader(), n), c.buf)
	c.pos += m
	if err == nil && m < n {
		err = io.ErrUnexpectedEOF
	}
	return err
}

func (c *shardCopier) shortErr(name string, err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return &CorruptError{File: name, Offset: c.pos, Reason: "data shard is shorter than the index says", Err: err}
	}
	return fmt.Errorf("bundle: %s: offset %d: %w", name, c.pos, err)
}

// plainWriter hides dst's ReadFrom so that io.CopyBuffer uses its buffer.
type plainWriter struct{ w io.Writer }

func (p plainWriter) Write(b []byte) (int, error) { return p.w.Write(b) }

// ctxReader fails reads once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
