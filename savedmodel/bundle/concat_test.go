package bundle

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
	tfpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
	"google.golang.org/protobuf/proto"
)

// kernelSources counts the source shards w copies by the kernel and those
// it streams.
func kernelSources(w *Writer) (kernel, streamed int) {
	for _, f := range w.srcFiles {
		if f != nil {
			kernel++
		} else {
			streamed++
		}
	}
	return kernel, streamed
}

// TestConcatTensorFlowBundles rewrites every TensorFlow checkpoint with
// Concat of each entry to itself, in data order: streamed, and with
// KernelCopy from an OS directory (kernel copies) and from memory
// (streamed all the same). The files equal the input byte for byte.
func TestConcatTensorFlowBundles(t *testing.T) {
	for _, b := range tfBundles(t) {
		for _, tc := range []struct{ mem, kernel bool }{{false, false}, {false, true}, {true, true}} {
			mem := tc.mem
			var fsys fs.FS = os.DirFS(b.dir)
			if mem {
				fsys = loadFS(t, b.dir)
			}
			r, err := Open(fsys, b.prefix)
			if err != nil {
				t.Fatal(err)
			}
			out := t.TempDir()
			w, err := NewWriter(out, b.prefix, WriterOptions{NumShards: r.NumShards(), NoSync: true, KernelCopy: tc.kernel})
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range r.KeysInDataOrder() {
				e, _ := r.Entry(k)
				if len(e.GetSlices()) > 0 {
					err = w.Add(k, e, nil)
				} else {
					err = w.Concat(context.Background(), r, k, e, []string{k})
				}
				if err != nil {
					t.Fatalf("%s: %v", b.name, err)
				}
			}
			kernel, streamed := kernelSources(w)
			if (mem || !tc.kernel) && kernel > 0 || !mem && tc.kernel && streamed > 0 {
				t.Errorf("%s %+v: %d shards copied by the kernel, %d streamed", b.name, tc, kernel, streamed)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < r.NumShards(); i++ {
				sameFile(t, filepath.Join(b.dir, r.DataFile(i)), filepath.Join(out, r.DataFile(i)))
			}
			if !r.IndexCompressed() {
				sameFile(t, filepath.Join(b.dir, r.IndexFile()), filepath.Join(out, r.IndexFile()))
			}
			r.Close()
		}
	}
}

// Concat of slices stored in two shards, out of order, writes the entry
// Add writes from the concatenated bytes, checksum included.
func TestConcatParts(t *testing.T) {
	in := t.TempDir()
	data := testBundle(t, in)
	r, err := Open(os.DirFS(in), "variables")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	full, _ := r.Entry("s")
	keys := []string{SliceKey("s", full.GetSlices()[0]), SliceKey("s", full.GetSlices()[1])}
	entry := &tfpb.BundleEntryProto{Dtype: full.GetDtype(), Shape: full.GetShape(), ShardId: 1}
	want := append(bytes.Clone(data[keys[0]]), data[keys[1]]...)

	outs := [3]string{t.TempDir(), t.TempDir(), t.TempDir()}
	for i, out := range outs {
		w, err := NewWriter(out, "v", WriterOptions{NumShards: 2, KernelCopy: i == 1})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Add("b", &tfpb.BundleEntryProto{Dtype: types_go_proto.DataType_DT_FLOAT, Shape: shape(), ShardId: 1}, bytes.NewReader(data["b/.ATTRIBUTES/VARIABLE_VALUE"])); err != nil {
			t.Fatal(err)
		}
		if i < 2 {
			err = w.Concat(context.Background(), r, "s", entry, keys)
		} else {
			err = w.Add("s", entry, bytes.NewReader(want))
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"v.index", "v.data-00000-of-00002", "v.data-00001-of-00002"} {
		sameFile(t, filepath.Join(outs[0], f), filepath.Join(outs[2], f))
		sameFile(t, filepath.Join(outs[1], f), filepath.Join(outs[2], f))
	}
	r2, err := Open(os.DirFS(outs[0]), "v")
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	rc, err := r2.OpenEntry("s")
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("s = %v, %v; want %v", got, err, want)
	}
}

// A damaged part is a *ChecksumError for it and no index: from Concat
// when streamed, from Close when copied by the kernel and found by the
// verifier.
func TestConcatDamagedPart(t *testing.T) {
	in := t.TempDir()
	testBundle(t, in)
	r, err := Open(os.DirFS(in), "variables")
	if err != nil {
		t.Fatal(err)
	}
	full, _ := r.Entry("s")
	keys := []string{SliceKey("s", full.GetSlices()[0]), SliceKey("s", full.GetSlices()[1])}
	part, _ := r.Entry(keys[1])
	r.Close()
	name := filepath.Join(in, DataName("variables", int(part.GetShardId()), 2))
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	b[part.GetOffset()+1] ^= 0x01
	if err := os.WriteFile(name, b, 0o644); err != nil {
		t.Fatal(err)
	}
	r, err = Open(os.DirFS(in), "variables")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, kernel := range []bool{false, true} {
		out := t.TempDir()
		w, err := NewWriter(out, "v", WriterOptions{NoSync: true, KernelCopy: kernel})
		if err != nil {
			t.Fatal(err)
		}
		cerr := w.Concat(context.Background(), r, "s", &tfpb.BundleEntryProto{Dtype: full.GetDtype(), Shape: full.GetShape()}, keys)
		if kernel && cerr != nil {
			t.Fatalf("kernel copy: Concat: %v, want the error from Close", cerr)
		}
		err = w.Close()
		if !kernel && !errors.Is(err, cerr) {
			t.Errorf("Close: %v, want Concat's error %v", err, cerr)
		}
		var ce *ChecksumError
		if !errors.As(err, &ce) || ce.Key != keys[1] {
			t.Fatalf("kernel=%v: Close: %v, want a *ChecksumError for %q", kernel, err, keys[1])
		}
		if _, err := os.Stat(filepath.Join(out, "v.index")); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("kernel=%v: index written after a failed verification (stat: %v)", kernel, err)
		}
	}
}

func TestConcatRejects(t *testing.T) {
	in := t.TempDir()
	testBundle(t, in)
	r, err := Open(os.DirFS(in), "variables")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	full, _ := r.Entry("s")
	s0 := SliceKey("s", full.GetSlices()[0])
	names, _ := r.Entry("names")
	f := func(dims ...int64) *tfpb.BundleEntryProto {
		return &tfpb.BundleEntryProto{Dtype: types_go_proto.DataType_DT_FLOAT, Shape: shape(dims...)}
	}
	for _, tc := range []struct {
		name    string
		entry   *tfpb.BundleEntryProto
		sources []string
	}{
		{"strings", names, []string{"names", "names"}},
		{"string count", &tfpb.BundleEntryProto{Dtype: names.GetDtype(), Shape: shape(4)}, []string{"names"}},
		{"size", f(3), []string{s0}},
		{"dtype", &tfpb.BundleEntryProto{Dtype: types_go_proto.DataType_DT_INT32, Shape: shape(2)}, []string{s0}},
		{"missing", f(2), []string{"nope"}},
		{"sliced", f(2, 2), []string{"s"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, err := NewWriter(t.TempDir(), "v", WriterOptions{NoSync: true})
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Concat(context.Background(), r, "k", tc.entry, tc.sources); err == nil {
				t.Fatal("no error")
			}
			// A rejected Concat writes nothing: the writer still works.
			if err := w.Concat(context.Background(), r, "ok", proto.Clone(f(1, 2)).(*tfpb.BundleEntryProto), []string{s0}); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
		})
	}
}
