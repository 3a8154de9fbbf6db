package bundle

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
	tfpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
)

// benchBytes is the size of the generated bundle: UNMIRROR_BENCH_BYTES, or 64 MiB.
func benchBytes(b *testing.B) int64 {
	if s := os.Getenv("UNMIRROR_BENCH_BYTES"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 4 {
			b.Fatalf("UNMIRROR_BENCH_BYTES=%q: want a byte count", s)
		}
		return n
	}
	return 64 << 20
}

// noise is a cheap deterministic stream of pseudo-random bytes.
type noise struct{ x uint64 }

func (n *noise) Read(p []byte) (int, error) {
	total := len(p)
	for len(p) >= 8 {
		n.x ^= n.x << 13
		n.x ^= n.x >> 7
		n.x ^= n.x << 17
		binary.LittleEndian.PutUint64(p, n.x)
		p = p[8:]
	}
	for i := range p {
		p[i] = byte(n.x >> (8 * i))
	}
	return total, nil
}

// benchSource writes a one-shard bundle of about benchBytes bytes of float32
// tensors of 4 MiB each, in UNMIRROR_BENCH_DIR (kept, reused) or a temp dir.
func benchSource(b *testing.B) (dir string, total int64) {
	want := benchBytes(b)
	dir = os.Getenv("UNMIRROR_BENCH_DIR")
	if dir == "" {
		dir = b.TempDir()
	}
	if r, err := Open(os.DirFS(dir), "variables"); err == nil && r.DataBytes() == want/4*4 {
		r.Close()
		return dir, want / 4 * 4
	}
	w, err := NewWriter(dir, "variables", WriterOptions{})
	if err != nil {
		b.Fatal(err)
	}
	src := &noise{x: 88172645463325252}
	for i := 0; total < want/4*4; i++ {
		elems := min(1<<20, (want/4*4-total)/4)
		e := &tfpb.BundleEntryProto{Dtype: types_go_proto.DataType_DT_FLOAT, Shape: shape(elems)}
		if err := w.Add(fmt.Sprintf("layer_%05d/kernel/.ATTRIBUTES/VARIABLE_VALUE", i), e, io.LimitReader(src, elems*4)); err != nil {
			b.Fatal(err)
		}
		total += elems * 4
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	return dir, total
}

// BenchmarkCopy copies a whole bundle with Writer.Copy (checksums verified,
// output synced), as a rewrite does.
func BenchmarkCopy(b *testing.B) {
	src, total := benchSource(b)
	r, err := Open(os.DirFS(src), "variables")
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	out := filepath.Join(b.TempDir(), "out")
	b.SetBytes(total)
	b.ResetTimer()
	for b.Loop() {
		os.RemoveAll(out)
		if err := os.Mkdir(out, 0o755); err != nil {
			b.Fatal(err)
		}
		w, err := NewWriter(out, "variables", WriterOptions{})
		if err != nil {
			b.Fatal(err)
		}
		for _, k := range r.KeysInDataOrder() {
			if err := w.Copy(r, k); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerify streams every entry through OpenEntry, checking checksums.
func BenchmarkVerify(b *testing.B) {
	src, total := benchSource(b)
	r, err := Open(os.DirFS(src), "variables")
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	buf := make([]byte, copyBufferSize)
	b.SetBytes(total)
	b.ResetTimer()
	for b.Loop() {
		for _, k := range r.Keys() {
			rc, err := r.OpenEntry(k)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{rc}, buf); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkCRC measures checksum verification alone, on numeric and string layouts.
func BenchmarkCRC(b *testing.B) {
	buf := make([]byte, copyBufferSize)
	(&noise{x: 1}).Read(buf)
	b.Run("float", func(b *testing.B) {
		b.SetBytes(int64(len(buf)))
		for b.Loop() {
			c := newChecker(types_go_proto.DataType_DT_FLOAT, int64(len(buf)/4))
			c.write(buf)
		}
	})
	var strs [][]byte // strings of 1000 bytes, as many as fit in buf
	for i := 0; i+1000 <= len(buf); i += 1000 {
		strs = append(strs, buf[i:i+1000])
	}
	var sb bytes.Buffer
	WriteStrings(&sb, strs)
	b.Run("string", func(b *testing.B) {
		b.SetBytes(int64(sb.Len()))
		for b.Loop() {
			c := newChecker(types_go_proto.DataType_DT_STRING, int64(len(strs)))
			c.write(sb.Bytes())
			if _, err := c.finish(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
