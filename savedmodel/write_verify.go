package savedmodel

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
)

// copyShard copies data shard i of the input checkpoint into the output
// through bundle.Reader.CopyShard, which verifies every entry's checksum as
// the bytes pass, so that a damaged input is never copied into a new model
// (measured on a 256 MiB shard: see TestWriteVerifiesCopiedShards and the
// package doc). With link, the shard is hard-linked when possible and then
// verified by reading it.
//
// A model read from an OS directory has its shard copied by the kernel
// (copyFile: copy_file_range) while another goroutine verifies it by
// reading it, like a hard link; the output is only renamed into place if
// both succeed. A user-space write of every byte made the copy 2.5-5.6
// times slower than cp + fsync on a shared disk (BENCHMARKS.md, section 1).
func (w *dirWriter) copyShard(m *Model, i int, link bool) error {
	f := m.InputCheckpoint.DataFile(i)
	if m.dir != "" && !link {
		ctx, cancel := context.WithCancel(w.ctx)
		defer cancel()
		verified := make(chan error, 1)
		go func() {
			_, err := m.InputCheckpoint.CopyShard(ctx, io.Discard, i)
			verified <- err
		}()
		cerr := w.copyFileCounted(m, f, f, false, w.prog)
		if cerr != nil {
			cancel()
		}
		if verr := <-verified; verr != nil && (cerr == nil || !errors.Is(verr, context.Canceled)) {
			return fmt.Errorf("savedmodel: write %s: %w", f, verr)
		}
		return cerr
	}
	if link {
		ok, err := w.link(m, f, f)
		if err != nil {
			return err
		}
		if ok {
			if _, err := m.InputCheckpoint.CopyShard(w.ctx, io.Discard, i); err != nil {
				return fmt.Errorf("savedmodel: write %s: %w", f, err)
			}
			w.prog.add(m.InputCheckpoint.ShardSize(i))
			return nil
		}
	}
	return w.create(f, func(out io.Writer) error {
		_, err := m.InputCheckpoint.CopyShard(w.ctx, countingWriter{out, w.prog}, i)
		return err
	})
}

// link hard-links src (a path in m.fsys) to rel when the model was read from
// an OS directory. It reports false, with no error, when linking is not
// possible (a model read from ReadOptions.FS, another file system); the caller then copies.
func (w *dirWriter) link(m *Model, src, rel string) (bool, error) {
	if m.dir == "" {
		return false, nil
	}
	real, err := resolve(m.fsys, src)
	if err != nil {
		return false, err
	}
	if parent := path.Dir(rel); parent != "." {
		if err := w.mkdir(parent); err != nil {
			return false, err
		}
	}
	return os.Link(filepath.Join(m.dir, filepath.FromSlash(real)), w.abs(rel)) == nil, nil
}
