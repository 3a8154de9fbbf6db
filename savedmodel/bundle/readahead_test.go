package bundle

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
	tfpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
)

// bigBytes is a tensor large enough to be read ahead, and not a multiple
// of the chunk size.
const bigBytes = 3*readAheadMin + 12345

func randomBytes(n int) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func u8Entry(n int) *tfpb.BundleEntryProto {
	return &tfpb.BundleEntryProto{Dtype: types_go_proto.DataType_DT_UINT8, Shape: shape(int64(n))}
}

// watchedReader fails reads after failAt bytes (if failAt >= 0) and calls
// hook after each read; it counts reads made after closed is set.
type watchedReader struct {
	r        io.Reader
	n        int
	failAt   int
	hook     func(n int)
	closed   atomic.Bool
	lateRead atomic.Int32
}

var errInjected = errors.New("injected read error")

func (w *watchedReader) Read(p []byte) (int, error) {
	if w.closed.Load() {
		w.lateRead.Add(1)
	}
	if w.failAt >= 0 && w.n >= w.failAt {
		return 0, errInjected
	}
	n, err := w.r.Read(p)
	w.n += n
	if w.hook != nil {
		w.hook(w.n)
	}
	return n, err
}

// Large tensors (read ahead on another goroutine) come back byte for byte,
// added and copied, next to small ones, in several shards.
func TestWriterReadAheadRoundTrip(t *testing.T) {
	big := randomBytes(bigBytes)
	dir := t.TempDir()
	w, err := NewWriter(dir, "ckpt", WriterOptions{NumShards: 2})
	if err != nil {
		t.Fatal(err)
	}
	adds := map[string][]byte{"big": big, "small": big[:100], "big2": big[7 : readAheadMin+7]}
	for _, k := range []string{"big", "small", "big2"} {
		e := u8Entry(len(adds[k]))
		e.ShardId = int32(len(k) % 2)
		if err := w.Add(k, e, bytes.NewReader(adds[k])); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := Open(os.DirFS(dir), "ckpt")
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	w2, err := NewWriter(out, "ckpt", WriterOptions{NumShards: 2})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range r.KeysInDataOrder() {
		if err := w2.Copy(r, k); err != nil {
			t.Fatal(err)
		}
	}
	if err := w2.Close(); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{dir, out} {
		r, err := Open(os.DirFS(d), "ckpt")
		if err != nil {
			t.Fatal(err)
		}
		for k, want := range adds {
			rc, err := r.OpenEntry(k)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(rc)
			rc.Close()
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("%s: key %q: %d bytes (err %v), want %d", d, k, len(got), err, len(want))
			}
		}
	}
}

// A failing or cancelled stream of a large tensor fails Add and Close, and
// the data reader is never read again once Add has returned.
func TestWriterReadAheadErrors(t *testing.T) {
	big := randomBytes(bigBytes)
	for _, tc := range []struct {
		name   string
		data   []byte
		failAt int
		cancel bool
		want   error
	}{
		{name: "read error", data: big, failAt: readAheadMin + 1, want: errInjected},
		{name: "cancelled", data: big, failAt: -1, cancel: true, want: context.Canceled},
		{name: "short", data: big[:bigBytes-1], failAt: -1},
		{name: "long", data: append(big, 0), failAt: -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			wr := &watchedReader{r: bytes.NewReader(tc.data), failAt: tc.failAt}
			if tc.cancel {
				wr.hook = func(n int) {
					if n > readAheadMin {
						cancel()
					}
				}
			}
			w, err := NewWriter(t.TempDir(), "ckpt", WriterOptions{})
			if err != nil {
				t.Fatal(err)
			}
			err = w.AddContext(ctx, "big", u8Entry(bigBytes), wr)
			wr.closed.Store(true)
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Fatalf("Add: %v, want %v", err, tc.want)
			}
			if cerr := w.Close(); cerr == nil || cerr.Error() != err.Error() {
				t.Errorf("Close: %v, want %v", cerr, err)
			}
			if n := wr.lateRead.Load(); n != 0 {
				t.Errorf("%d reads after Add returned", n)
			}
		})
	}
}

// Copy of a large entry whose stored bytes were damaged fails with a
// *ChecksumError naming the key, and the Writer stays failed.
func TestWriterReadAheadCopyDamaged(t *testing.T) {
	dir := t.TempDir()
	w, err := NewWriter(dir, "ckpt", WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Add("big", u8Entry(bigBytes), bytes.NewReader(randomBytes(bigBytes))); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, DataName("ckpt", 0, 1))
	b, err := os.ReadFile(data)
	if err != nil {
		t.Fatal(err)
	}
	b[2*readAheadMin] ^= 0x10
	if err := os.WriteFile(data, b, 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := Open(os.DirFS(dir), "ckpt")
	if err != nil {
		t.Fatal(err)
	}
	w2, err := NewWriter(t.TempDir(), "ckpt", WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	err = w2.Copy(r, "big")
	var ce *ChecksumError
	if !errors.As(err, &ce) || ce.Key != "big" {
		t.Fatalf("Copy: %v, want a *ChecksumError for key big", err)
	}
	if cerr := w2.Close(); !errors.As(cerr, &ce) {
		t.Errorf("Close: %v, want the checksum error", cerr)
	}
}
