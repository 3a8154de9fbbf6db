package savedmodel

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	tfpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"

	"github.com/unmirror/unmirror/progress"
	"github.com/unmirror/unmirror/savedmodel/bundle"
	"github.com/unmirror/unmirror/savedmodel/cppproto"
	"github.com/unmirror/unmirror/savedmodel/fingerprint"
	"github.com/unmirror/unmirror/savedmodel/internal/fsync"
	"github.com/unmirror/unmirror/savedmodel/internal/writeback"
)

// FingerprintMode says whether Write produces fingerprint.pb.
type FingerprintMode int

const (
	// FingerprintAuto (the zero value) writes a recomputed fingerprint.pb
	// when the input had one and the output is binary, and leaves it out
	// when it cannot be computed (a concrete function name that does not
	// end in an integer, which makes TensorFlow's own save fail).
	FingerprintAuto FingerprintMode = iota
	// FingerprintAlways writes a recomputed fingerprint.pb whenever the
	// output is binary (TensorFlow computes fingerprints only from
	// saved_model.pb, so text output never gets one); Write fails when it
	// cannot be computed.
	FingerprintAlways
	// FingerprintNever writes no fingerprint.pb.
	FingerprintNever
)

// WriteOptions configures Write. The zero value writes the input's format,
// refuses an existing output, copies every file, and recomputes the
// fingerprint if the input had one.
type WriteOptions struct {
	// Format selects saved_model.pb or saved_model.pbtxt; FormatDefault
	// keeps the format the model was read from.
	Format Format
	// Overwrite replaces an existing output directory (atomically: the old
	// one is renamed aside, the new one renamed in, then the old removed).
	// Only an empty directory or one holding a saved_model.pb, .pbtxt or
	// .cpb is replaced; anything else is still ErrOutputExists.
	Overwrite bool
	// HardLink hard-links the variables' data and index files and the
	// assets instead of copying them, when the checkpoint plan is
	// unchanged and the model was read from an OS directory on the same
	// file system (falling back to copying when linking fails). The
	// output then shares those files with the input: do not modify them.
	HardLink bool
	// Fingerprint controls fingerprint.pb; see FingerprintMode.
	Fingerprint FingerprintMode
	// DropOtherFiles leaves out Model.OtherFiles, the files of the input
	// directory that are not part of the SavedModel format (README.txt,
	// labels.txt, tfhub_module.pb, ...). By default they are copied
	// verbatim, like the assets.
	DropOtherFiles bool
	// NoSync skips every fsync. The output is still built in a temporary
	// sibling directory and renamed into place, so a crash or kill of the
	// process (or a failed Write) still leaves either the old dir or the
	// complete new one. What is lost is durability against a power loss or
	// kernel crash: the rename may reach the disk before the files' data,
	// so after such a failure dir may exist with files that are empty,
	// short or hold zeros, and a replaced dir (Overwrite) may be gone or be
	// the old one. TensorFlow's own SavedModel and checkpoint writers never
	// fsync either (tsl's PosixWritableFile::Sync only flushes the stdio
	// buffer), so NoSync gives the durability of tf.saved_model.save. The
	// zero value fsyncs every file and directory before the rename and the
	// parent directory after it. Since a durable Write starts the writeback
	// while it copies, the fsyncs cost less than they would after the copy;
	// BENCHMARKS.md has both against cp -r and cp -r + fsync.
	NoSync bool
	// Progress, if set, receives progress.Write events as the variables'
	// data is written: Done 0 first, then after each chunk or entry, Done
	// == Total last (not after a failure). Total counts the data shards'
	// bytes: those of the input's shards when the checkpoint is copied,
	// the planned entries' sizes when it is rebuilt.
	Progress progress.Func

	// Test settings, per Write so that tests can run in parallel: how a
	// changed checkpoint is rebuilt, and a function told of every fsync
	// the Write makes (bundle.Writer's included).
	rebuild  rebuildMode
	syncHook func(path string)
}

// rebuildMode is how Write rebuilds a changed checkpoint (a test setting).
type rebuildMode int

const (
	byConcat rebuildMode = iota // bundle.Writer.Concat, streamed (the default)
	byKernel                    // bundle.Writer.Concat with KernelCopy
	byStream                    // Copy and Add of opaque streams, as before Concat
)

func (r rebuildMode) String() string { return [...]string{"concat", "kernel", "stream"}[r] }

const tmpMarker = ".unmirror-tmp-"

// Write writes the model as a SavedModel directory dir.
//
// The output holds saved_model.pb (or .pbtxt), variables/, assets/,
// assets.extra/, keras_metadata.pb, debug/saved_model_debug_info.pb and
// fingerprint.pb, as present in the model and selected by opts, and the
// other files of the input directory (Model.OtherFiles), copied verbatim
// unless opts.DropOtherFiles. saved_model.pb is serialized with
// cppproto.Marshal (C++ protobuf's deterministic order; see the package
// doc); text output uses prototext.
//
// The checkpoint is copied file by file when the plan is unchanged, and
// rebuilt with bundle.Writer otherwise (see the checkpoint plan methods):
// entries kept, renamed or concatenated (ConcatVariable) from the input's
// go through bundle.Writer.Concat, which reads each source once, verifying
// it, and computes the output checksum by combining the sources'; entries
// supplied as streams (SetVariable, the object graph) are checksummed as
// they are written.
// Either way every tensor's checksum is verified as its bytes pass
// (bundle.Reader.CopyShard for a copy, also after a hard link), so a damaged
// input fails the Write with a *bundle.ChecksumError instead of being
// copied. For a model read from an OS directory the shard is copied by
// the kernel (copy_file_range) or hard-linked while another goroutine
// verifies it by reading it; otherwise it streams through user space,
// verified on the way. Such an error matches ErrCorruptInput: it is the
// input that is damaged, and nothing was written. BENCHMARKS.md, section 1, has the figures of each
// route against cp -r.
//
// Write is atomic: it builds the output in a temporary sibling directory
// named ".<base>.unmirror-tmp-<pid>-<random>", fsyncs every file and
// directory (unless opts.NoSync), and renames it into place. A durable
// Write asks the kernel to start writing each 16 MiB of a big file to disk
// as soon as it is copied, so that the fsyncs overlap the copy instead of
// following it (package internal/writeback). On any error, or when ctx is
// cancelled, the temporary directory is removed and dir is left as it was.
// Temporary directories left by a killed run (whose process no longer
// exists) are removed. The input is never modified. dir must not equal,
// lie inside, or contain the input directory (ErrOutputOverlapsInput); an
// existing dir is ErrOutputExists unless opts.Overwrite is set.
func (m *Model) Write(ctx context.Context, dir string, opts WriteOptions) (err error) {
	if m.Proto == nil {
		return errors.New("savedmodel: write: model has no SavedModel proto")
	}
	out, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("savedmodel: write: %w", err)
	}
	existing, err := checkOutput(m.dir, out, dir, opts)
	if err != nil {
		return err
	}
	parent, base := filepath.Dir(out), filepath.Base(out)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("savedmodel: write: %w", err)
	}
	removeStale(parent, base)
	tmp, err := os.MkdirTemp(parent, fmt.Sprintf(".%s%s%d-", base, tmpMarker, os.Getpid()))
	if err != nil {
		return fmt.Errorf("savedmodel: write: %w", err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
			err = m.corruptInput(err)
		}
	}()
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fmt.Errorf("savedmodel: write: %w", err)
	}
	w := &dirWriter{ctx: ctx, root: tmp, dirs: []string{tmp}, noSync: opts.NoSync, rebuild: opts.rebuild, syncHook: opts.syncHook}
	if opts.Progress != nil {
		w.prog = &counter{f: opts.Progress, total: m.dataBytesToWrite()}
		w.prog.add(0)
	}
	if err := m.writeContents(w, opts); err != nil {
		return err
	}
	if err := w.syncDirs(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("savedmodel: write: %w", err)
	}
	return w.replaceDir(tmp, out, existing)
}

// replaceable reports whether out exists, and fails unless it may be
// replaced: overwrite is set and out is an empty directory or a SavedModel
// directory (so that a mistyped path never deletes unrelated data).
func replaceable(out string, overwrite bool) (bool, error) {
	fi, err := os.Lstat(out)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	if !fi.IsDir() {
		return false, fmt.Errorf("not a directory, refusing to replace it: %w", ErrOutputExists)
	}
	ents, err := os.ReadDir(out)
	if err != nil {
		return false, err
	}
	for _, e := range ents {
		switch e.Name() {
		case SavedModelPB, SavedModelPBText, SavedModelCPB:
			return replace(overwrite)
		}
	}
	if len(ents) > 0 {
		return false, fmt.Errorf("not a SavedModel directory and not empty, refusing to replace it: %w", ErrOutputExists)
	}
	return replace(overwrite)
}

// replace is replaceable's answer for an output that overwrite may replace:
// without overwrite the bare ErrOutputExists, which alone means that
// overwriting would be allowed (a file or a directory of other data is
// refused with its reason, overwrite or not).
func replace(overwrite bool) (bool, error) {
	if !overwrite {
		return false, ErrOutputExists
	}
	return true, nil
}

// CheckOutput returns the error [Model.Write] would return before writing
// anything for a model read from the directory in and written to dir with
// opts: dir equals, lies inside or contains in, also through symbolic links
// (ErrOutputOverlapsInput), or dir exists and may not be replaced
// (ErrOutputExists). Callers use it to refuse an output before the long work
// of reading and rewriting a model; Write checks again. in may be "" (a
// model not read from a directory).
func CheckOutput(in, dir string, opts WriteOptions) error {
	out, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("savedmodel: write: %w", err)
	}
	if in != "" {
		if in, err = filepath.Abs(in); err != nil {
			return fmt.Errorf("savedmodel: write: %w", err)
		}
	}
	_, err = checkOutput(in, out, dir, opts)
	return err
}

// checkOutput makes CheckOutput's checks on the absolute paths in and out
// (dir as given, for messages) and reports whether out exists.
func checkOutput(in, out, dir string, opts WriteOptions) (bool, error) {
	if err := checkOverlap(in, out); err != nil {
		return false, err
	}
	existing, err := replaceable(out, opts.Overwrite)
	if err != nil {
		return false, fmt.Errorf("savedmodel: write %s: %w", dir, err)
	}
	return existing, nil
}

// checkOverlap refuses an output equal to, inside, or containing the input,
// saying which.
func checkOverlap(in, out string) error {
	if in == "" {
		return nil
	}
	i, o := evalPath(in), evalPath(out)
	var how string
	switch {
	case o == i:
		how = "output and input are the same directory"
		if filepath.Clean(in) != filepath.Clean(out) {
			how += " (through a symbolic link)"
		}
	case within(o, i):
		how = "output lies inside the input directory " + in
	case within(i, o):
		how = "output contains the input directory " + in
	default:
		return nil
	}
	return fmt.Errorf("savedmodel: write %s: %s: %w", out, how, ErrOutputOverlapsInput)
}

// evalPath resolves symbolic links in p, or in its longest existing prefix.
func evalPath(p string) string {
	if r, err := filepath.EvalSymlinks(p); err == nil {
		return r
	}
	parent := filepath.Dir(p)
	if parent == p {
		return p
	}
	return filepath.Join(evalPath(parent), filepath.Base(p))
}

// within reports whether p lies strictly inside dir.
func within(p, dir string) bool {
	rel, err := filepath.Rel(dir, p)
	if err != nil || rel == "." || filepath.IsAbs(rel) {
		return false
	}
	return rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

func (m *Model) writeContents(w *dirWriter, opts WriteOptions) error {
	format := opts.Format
	if format == FormatDefault {
		format = m.Format
	}
	var pb []byte
	if format == FormatText {
		b, err := marshalText(m.Proto)
		if err != nil {
			return fmt.Errorf("savedmodel: write %s: %w", SavedModelPBText, err)
		}
		if err := w.writeBytes(SavedModelPBText, b); err != nil {
			return err
		}
	} else {
		pb = cppproto.Marshal(m.Proto)
		if err := w.writeBytes(SavedModelPB, pb); err != nil {
			return err
		}
	}
	index, err := m.writeVariables(w, opts)
	if err != nil {
		return err
	}
	for _, a := range m.Assets {
		if err := w.copyFile(m, a.src, a.Path, opts.HardLink); err != nil {
			return err
		}
	}
	if !opts.DropOtherFiles {
		for _, a := range m.OtherFiles {
			if err := w.copyFile(m, a.src, a.Path, opts.HardLink); err != nil {
				return err
			}
		}
	}
	for _, d := range []string{AssetsDir, AssetsExtraDir} {
		if ok, _ := exists(m.fsys, d); ok {
			if err := w.mkdir(d); err != nil {
				return err
			}
		}
	}
	if m.Keras != nil {
		if err := w.writeBytes(KerasMetadataFile, m.Keras.Marshal()); err != nil {
			return err
		}
	}
	if m.DebugInfo != nil {
		if err := w.writeBytes(DebugInfoFile, m.DebugInfo); err != nil {
			return err
		}
	}
	if pb == nil || opts.Fingerprint == FingerprintNever || (opts.Fingerprint == FingerprintAuto && m.Fingerprint == nil) {
		return nil
	}
	fp, err := fingerprint.ComputeWithChecksum(m.Proto, fingerprint.Hash64(pb), index)
	if err != nil {
		if opts.Fingerprint == FingerprintAuto {
			return nil // TF would fail the save; leaving the file out is never stale
		}
		return fmt.Errorf("savedmodel: write %s: %w", FingerprintFile, err)
	}
	// The writer's version and, where the input had one, a fresh uuid.
	if err := fingerprint.Inherit(fp, m.Fingerprint, nil); err != nil {
		return fmt.Errorf("savedmodel: write %s: %w", FingerprintFile, err)
	}
	return w.writeBytes(FingerprintFile, cppproto.Marshal(fp))
}

// writeVariables writes variables/ and returns the bytes of the written
// index (nil when there is none), which the fingerprint hashes.
func (m *Model) writeVariables(w *dirWriter, opts WriteOptions) ([]byte, error) {
	if ok, _ := exists(m.fsys, VariablesDir); ok || m.InputCheckpoint != nil || m.plan != nil {
		if err := w.mkdir(VariablesDir); err != nil {
			return nil, err
		}
	}
	if m.plan == nil {
		if m.InputCheckpoint == nil {
			return nil, nil
		}
		for i := 0; i < m.InputCheckpoint.NumShards(); i++ {
			if err := w.copyShard(m, i, opts.HardLink); err != nil {
				return nil, err
			}
		}
		f := m.InputCheckpoint.IndexFile()
		if err := w.copyFile(m, f, f, opts.HardLink); err != nil {
			return nil, err
		}
		return w.readBack(f)
	}
	return m.rewriteBundle(w)
}

// rewriteBundle writes the planned checkpoint through bundle.Writer.
func (m *Model) rewriteBundle(w *dirWriter) ([]byte, error) {
	shards := 1
	if m.InputCheckpoint != nil && m.InputCheckpoint.NumShards() > 1 {
		shards = m.InputCheckpoint.NumShards()
	}
	// A durable bundle.Writer starts the writeback of its shards as it
	// writes them and fsyncs them on Close. The dirWriter fsyncs the files
	// again (cheap: they are clean) so that every fsync of a Write goes
	// through one place that tests can watch.
	bw, err := bundle.NewWriter(w.root, VariablesPrefix, bundle.WriterOptions{NumShards: shards, NoSync: w.noSync, KernelCopy: w.rebuild == byKernel, OnSync: w.syncHook})
	if err != nil {
		return nil, fmt.Errorf("savedmodel: write variables: %w", err)
	}
	for _, key := range m.writeOrder() {
		// On an error the output is thrown away: Abort, unlike Close, does
		// not flush and fsync what was written (Ctrl-C would wait for it).
		if err := w.ctx.Err(); err != nil {
			bw.Abort()
			return nil, fmt.Errorf("savedmodel: write variables: %w", err)
		}
		if err := m.addPlanned(w.ctx, bw, key, w.prog, w.rebuild); err != nil {
			bw.Abort()
			return nil, fmt.Errorf("savedmodel: write variables: key %q: %w", key, err)
		}
	}
	// Close fsyncs every shard and the index (unless NoSync, which bw
	// shares with w); the directories are w's to sync.
	if err := bw.Close(); err != nil {
		return nil, fmt.Errorf("savedmodel: write variables: %w", err)
	}
	return w.readBack(bundle.IndexName(VariablesPrefix))
}

// addPlanned adds key to bw: an entry whose bytes are input entries' bytes
// through bw.Concat (checksum combined from the sources'), any other
// through bw.Add from its stream.
func (m *Model) addPlanned(ctx context.Context, bw *bundle.Writer, key string, c *counter, mode rebuildMode) error {
	p := m.plan.entries[key]
	// byStream rebuilds wholly through user space (bundle.Writer.Copy and
	// Add), as Write did before bundle.Writer.Concat, so that tests can
	// compare the two byte for byte.
	if mode == byStream && p.entry == nil && p.src == key {
		e, _ := m.InputCheckpoint.Entry(key)
		if err := bw.Copy(m.InputCheckpoint, key); err != nil {
			return err
		}
		c.add(e.GetSize())
		return nil
	}
	var e *tfpb.BundleEntryProto
	switch {
	case p.entry != nil:
		e = p.entry
	case p.src == key:
		e, _ = m.InputCheckpoint.Entry(key) // kept as stored, checksum included
	default:
		src, _ := m.InputCheckpoint.Entry(p.src)
		e = &tfpb.BundleEntryProto{Dtype: src.GetDtype(), Shape: src.GetShape(), Slices: src.GetSlices(), ShardId: src.GetShardId()}
	}
	if len(e.GetSlices()) > 0 {
		return bw.Add(key, e, nil) // a sliced tensor's full-key entry has no data
	}
	if mode != byStream && p.fromInput() {
		sources := p.concat
		if p.entry == nil {
			sources = []string{p.src}
		}
		if err := bw.Concat(ctx, m.InputCheckpoint, key, e, sources); err != nil {
			return err
		}
		c.add(e.GetSize())
		return nil
	}
	rc, err := m.openPlanned(p)
	if err != nil {
		return err
	}
	defer rc.Close()
	return bw.Add(key, e, ctxReader{ctx: ctx, r: rc, c: c})
}

// dirWriter writes files under root, tracking directories to fsync.
type dirWriter struct {
	ctx    context.Context
	root   string
	dirs   []string
	noSync bool     // WriteOptions.NoSync: skip every fsync
	prog   *counter // WriteOptions.Progress, nil without it
	// WriteOptions' test settings.
	rebuild  rebuildMode
	syncHook func(path string)
}

// sync fsyncs f unless the Write is NoSync.
func (w *dirWriter) sync(f *os.File) error {
	if w.noSync {
		return nil
	}
	return fsync.File(f, w.syncHook)
}

func (w *dirWriter) abs(rel string) string { return filepath.Join(w.root, filepath.FromSlash(rel)) }

func (w *dirWriter) mkdir(rel string) error {
	p := w.abs(rel)
	if _, err := os.Stat(p); err == nil {
		return nil
	}
	if parent := path.Dir(rel); parent != "." {
		if err := w.mkdir(parent); err != nil {
			return err
		}
	}
	if err := os.Mkdir(p, 0o755); err != nil {
		return fmt.Errorf("savedmodel: write: %w", err)
	}
	w.dirs = append(w.dirs, p)
	return nil
}

// create makes rel and its parent directories and calls fill with the file.
func (w *dirWriter) create(rel string, fill func(io.Writer) error) error {
	if err := w.ctx.Err(); err != nil {
		return fmt.Errorf("savedmodel: write: %w", err)
	}
	if parent := path.Dir(rel); parent != "." {
		if err := w.mkdir(parent); err != nil {
			return err
		}
	}
	p := w.abs(rel)
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("savedmodel: write: %w", err)
	}
	err = fill(f)
	if err == nil {
		err = w.sync(f)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("savedmodel: write %s: %w", rel, err)
	}
	return nil
}

func (w *dirWriter) writeBytes(rel string, b []byte) error {
	return w.create(rel, func(f io.Writer) error {
		_, err := f.Write(b)
		return err
	})
}

// copyFile copies src (a path in m.fsys) to rel, hard-linking when asked
// and possible.
func (w *dirWriter) copyFile(m *Model, src, rel string, link bool) error {
	return w.copyFileCounted(m, src, rel, link, nil)
}

// copyFileCounted is copyFile, counting the bytes copied in c (nil: none).
func (w *dirWriter) copyFileCounted(m *Model, src, rel string, link bool, c *counter) error {
	if link {
		if ok, err := w.link(m, src, rel); ok || err != nil {
			return err
		}
	}
	real, err := resolve(m.fsys, src)
	if err != nil {
		return err
	}
	in, err := m.fsys.Open(real)
	if err != nil {
		return fmt.Errorf("savedmodel: %w", err)
	}
	defer in.Close()
	return w.create(rel, func(f io.Writer) error { return w.copyChunks(f, in, c) })
}

// copyChunk is how much copyChunks copies between cancellation checks.
const copyChunk = 16 << 20

// copyChunks copies src to dst in chunks, checking ctx between them. Each
// chunk is an io.CopyN, so an *os.File destination and source use the
// kernel's copy_file_range/sendfile path. Unless the Write is NoSync, the
// kernel is asked to start writing each chunk to disk as soon as it is
// copied (package writeback), so that the fsync at the end of the file does
// not wait for the whole file to be written back.
func (w *dirWriter) copyChunks(dst io.Writer, src io.Reader, c *counter) error {
	f, _ := dst.(*os.File)
	var off int64
	for {
		if err := w.ctx.Err(); err != nil {
			return err
		}
		n, err := io.CopyN(dst, src, copyChunk)
		if f != nil && !w.noSync && n > 0 {
			writeback.Start(f, off, n)
		}
		off += n
		c.add(n)
		if err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
	}
}

func (w *dirWriter) readBack(rel string) ([]byte, error) {
	b, err := os.ReadFile(w.abs(rel))
	if err != nil {
		return nil, fmt.Errorf("savedmodel: write: %w", err)
	}
	return b, nil
}

// syncDirs fsyncs every directory created, deepest first.
func (w *dirWriter) syncDirs() error {
	for i := len(w.dirs) - 1; i >= 0; i-- {
		if err := w.syncPath(w.dirs[i]); err != nil {
			return err
		}
	}
	return nil
}

// syncPath fsyncs the file or directory p unless the Write is NoSync.
func (w *dirWriter) syncPath(p string) error {
	if w.noSync {
		return nil
	}
	f, err := os.Open(p)
	if err != nil {
		return fmt.Errorf("savedmodel: write: %w", err)
	}
	err = w.sync(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("savedmodel: write: fsync %s: %w", p, err)
	}
	return nil
}

// ctxReader fails reads once ctx is done, so long copies stop promptly.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
	c   *counter // counts the bytes read; nil: none
}

func (c ctxReader) Read(p []byte) (int, error) {
	if c.ctx != nil {
		if err := c.ctx.Err(); err != nil {
			return 0, err
		}
	}
	n, err := c.r.Read(p)
	c.c.add(int64(n))
	return n, err
}

// replaceDir renames tmp to out, first moving an existing out aside.
func (w *dirWriter) replaceDir(tmp, out string, existing bool) error {
	parent := filepath.Dir(out)
	if !existing {
		if err := os.Rename(tmp, out); err != nil {
			return fmt.Errorf("savedmodel: write: %w", err)
		}
		return w.syncPath(parent)
	}
	old, err := os.MkdirTemp(parent, fmt.Sprintf(".%s%s%d-", filepath.Base(out), oldMarker, os.Getpid()))
	if err != nil {
		return fmt.Errorf("savedmodel: write: %w", err)
	}
	// Rename onto the empty placeholder directory just created.
	if err := os.Remove(old); err != nil {
		return fmt.Errorf("savedmodel: write: %w", err)
	}
	if err := os.Rename(out, old); err != nil {
		return fmt.Errorf("savedmodel: write: move old output aside: %w", err)
	}
	if err := os.Rename(tmp, out); err != nil {
		if rerr := os.Rename(old, out); rerr != nil {
			return fmt.Errorf("savedmodel: write: %w (and restoring the old output from %s failed: %v)", err, old, rerr)
		}
		return fmt.Errorf("savedmodel: write: %w", err)
	}
	if err := w.syncPath(parent); err != nil {
		return err
	}
	if err := os.RemoveAll(old); err != nil {
		return fmt.Errorf("savedmodel: write: remove old output %s: %w", old, err)
	}
	return nil
}
