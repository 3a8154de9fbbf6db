package bundle

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"
)

// TestCopyShard copies every shard of every TensorFlow checkpoint: the
// output equals the file byte for byte, and a bit flip anywhere inside an
// entry's bytes is a *ChecksumError (or a layout *CorruptError for strings)
// naming the shard and the key.
func TestCopyShard(t *testing.T) {
	var shards, flips int
	for _, b := range tfBundles(t) {
		r, err := Open(os.DirFS(b.dir), b.prefix)
		if err != nil {
			t.Fatalf("%s: %v", b.name, err)
		}
		for i := 0; i < r.NumShards(); i++ {
			want, err := os.ReadFile(filepath.Join(b.dir, filepath.Base(r.DataFile(i))))
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			n, err := r.CopyShard(context.Background(), &got, i)
			if err != nil || n != int64(len(want)) || !bytes.Equal(got.Bytes(), want) {
				t.Errorf("%s shard %d: n=%d err=%v, copy equal: %v", b.name, i, n, err, bytes.Equal(got.Bytes(), want))
			}
			shards++
		}
		r.Close()
	}
	// Flip one bit in the middle of each entry of the first checkpoint with
	// several entries in one shard.
	var fsys fstest.MapFS
	var r *Reader
	for _, b := range tfBundles(t) {
		fsys = loadFS(t, b.dir)
		var err error
		if r, err = Open(fsys, b.prefix); err == nil && r.NumShards() == 1 && len(r.Keys()) >= 4 {
			break
		}
	}
	data := fsys[filepath.Base(r.DataFile(0))]
	orig := bytes.Clone(data.Data)
	for _, k := range r.KeysInDataOrder() {
		e, _ := r.Entry(k)
		if e.GetSize() == 0 || e.GetShardId() != 0 {
			continue
		}
		data.Data = bytes.Clone(orig)
		data.Data[e.GetOffset()+e.GetSize()/2] ^= 0x10
		_, err := r.CopyShard(context.Background(), io.Discard, 0)
		var ce *ChecksumError
		var co *CorruptError
		switch {
		case errors.As(err, &ce):
			if ce.Key != k || ce.File != r.DataFile(0) {
				t.Errorf("flip in %q: checksum error names %q in %s", k, ce.Key, ce.File)
			}
		case errors.As(err, &co):
			if co.Key != k {
				t.Errorf("flip in %q: corrupt error names %q", k, co.Key)
			}
		default:
			t.Errorf("flip in %q: err = %v, want a checksum error", k, err)
		}
		flips++
	}
	t.Logf("%d shards copied, %d single-entry flips detected", shards, flips)
}

func TestCopyShardShortAndCancelled(t *testing.T) {
	b := tfBundles(t)[0]
	fsys := loadFS(t, b.dir)
	r, err := Open(fsys, b.prefix)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := r.CopyShard(ctx, io.Discard, 0); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: err = %v", err)
	}
	// The shard shrinks after Open (a file cut while being read).
	data := fsys[filepath.Base(r.DataFile(0))]
	data.Data = data.Data[:len(data.Data)/2]
	if _, err := r.CopyShard(context.Background(), io.Discard, 0); !errors.Is(err, ErrCorrupt) {
		t.Errorf("short shard: err = %v, want ErrCorrupt", err)
	}
	if _, err := r.CopyShard(context.Background(), io.Discard, r.NumShards()); err == nil {
		t.Error("shard out of range: no error")
	}
}

// BenchmarkCopyShard copies the benchmark bundle's shard to a file through
// CopyShard (checksums verified) and, for comparison, with a plain io.Copy
// (what a SavedModel copy did before), both synced.
func BenchmarkCopyShard(b *testing.B) {
	src, total := benchSource(b)
	r, err := Open(os.DirFS(src), "variables")
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	out := filepath.Join(b.TempDir(), "shard")
	run := func(b *testing.B, copy func(f *os.File) error) {
		b.SetBytes(total)
		for b.Loop() {
			f, err := os.Create(out)
			if err != nil {
				b.Fatal(err)
			}
			if err := copy(f); err != nil {
				b.Fatal(err)
			}
			if err := f.Sync(); err != nil {
				b.Fatal(err)
			}
			f.Close()
		}
	}
	b.Run("verified", func(b *testing.B) {
		run(b, func(f *os.File) error {
			_, err := r.CopyShard(context.Background(), f, 0)
			return err
		})
	})
	b.Run("raw", func(b *testing.B) {
		run(b, func(f *os.File) error {
			in, err := os.Open(filepath.Join(src, "variables.data-00000-of-00001"))
			if err != nil {
				return err
			}
			defer in.Close()
			_, err = io.Copy(f, in)
			return err
		})
	})
}
