package table

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/unmirror/unmirror/internal/tftree"
)

type kv struct{ k, v []byte }

func readAll(t testing.TB, data []byte, name string) ([]kv, *Reader) {
	t.Helper()
	r, err := NewReader(bytes.NewReader(data), int64(len(data)), name)
	if err != nil {
		t.Fatal(err)
	}
	var out []kv
	for k, v := range r.All() {
		out = append(out, kv{k, bytes.Clone(v)})
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	return out, r
}

func write(t testing.TB, entries []kv, opts Options) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := NewWriter(&buf, opts)
	for _, e := range entries {
		if err := w.Add(e.k, e.v); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// hasSnappyBlock reports whether any data block of the file is snappy-compressed.
func hasSnappyBlock(t *testing.T, data []byte, r *Reader) bool {
	for _, ie := range r.index {
		if data[ie.h.offset+ie.h.size] == byte(SnappyCompression) {
			return true
		}
	}
	return false
}

// TestTensorFlowIndexFiles reads every index file in TensorFlow's tree and
// rewrites it: uncompressed files must come out byte-identical, snappy ones
// must hold the same entries.
func TestTensorFlowIndexFiles(t *testing.T) {
	files := tftree.IndexFiles(t)
	var identical, snappyFiles int
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(filepath.Dir(filepath.Dir(f))) + "/" + filepath.Base(f)
		entries, r := readAll(t, data, f)
		if len(entries) == 0 || len(entries[0].k) != 0 {
			t.Errorf("%s: first key is not the TensorBundle header key \"\"", name)
		}
		for _, e := range entries {
			v, found, err := r.Get(e.k)
			if err != nil || !found || !bytes.Equal(v, e.v) {
				t.Errorf("%s: Get(%q) = %x, %v, %v; want %x", name, e.k, v, found, err, e.v)
			}
		}
		if _, found, err := r.Get([]byte("\xff\xff\xffnot a key")); found || err != nil {
			t.Errorf("%s: Get of an absent key: found=%v err=%v", name, found, err)
		}
		out := write(t, entries, Options{})
		if hasSnappyBlock(t, data, r) {
			snappyFiles++
			again, _ := readAll(t, out, "rewritten")
			if fmt.Sprint(again) != fmt.Sprint(entries) {
				t.Errorf("%s: rewritten snappy table holds different entries", name)
			}
			continue
		}
		if !bytes.Equal(out, data) {
			t.Errorf("%s: rewrite differs from TensorFlow's bytes (%d vs %d bytes)", name, len(out), len(data))
			continue
		}
		identical++
	}
	t.Logf("%d index files: %d rewritten byte-identical, %d with snappy blocks compared by content", len(files), identical, snappyFiles)
	if identical+snappyFiles != len(files) || identical < 20 {
		t.Errorf("only %d of %d files byte-identical", identical, len(files))
	}
}

// genEntries makes n entries with keys like TensorBundle's and values of size vsize.
func genEntries(n, vsize int) []kv {
	out := []kv{{[]byte{}, []byte("header")}}
	for i := 0; i < n; i++ {
		v := bytes.Repeat([]byte{byte(i)}, vsize)
		out = append(out, kv{[]byte(fmt.Sprintf("layer_%06d/.ATTRIBUTES/VARIABLE_VALUE", i)), v})
	}
	return out
}

func TestRoundTripOptions(t *testing.T) {
	for _, tc := range []struct {
		name    string
		entries []kv
		opts    Options
		blocks  int
	}{
		{"empty table", nil, Options{}, 0},
		{"header only", genEntries(0, 0), Options{}, 1},
		{"many small blocks", genEntries(500, 20), Options{BlockSize: 256, RestartInterval: 4}, 0},
		{"snappy", genEntries(500, 100), Options{BlockSize: 1024, Compression: SnappyCompression}, 0},
		{"restart interval 1", genEntries(50, 3), Options{RestartInterval: 1}, 1},
		// An entry of >= 2*block size is put in a block of its own.
		{"oversized entry", []kv{{[]byte("a"), []byte("x")}, {[]byte("b"), make([]byte, 2048)}, {[]byte("c"), []byte("y")}}, Options{BlockSize: 1024}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := write(t, tc.entries, tc.opts)
			got, r := readAll(t, data, tc.name)
			if fmt.Sprint(got) != fmt.Sprint(tc.entries) {
				t.Fatalf("entries differ after round trip")
			}
			for _, e := range tc.entries {
				if v, found, err := r.Get(e.k); err != nil || !found || !bytes.Equal(v, e.v) {
					t.Fatalf("Get(%q) = %q, %v, %v", e.k, v, found, err)
				}
			}
			if tc.blocks > 0 && r.NumBlocks() != tc.blocks {
				t.Errorf("%d data blocks, want %d", r.NumBlocks(), tc.blocks)
			}
			if tc.opts.Compression == SnappyCompression && !hasSnappyBlock(t, data, r) {
				t.Errorf("no block was compressed")
			}
		})
	}
}

func TestSeparators(t *testing.T) {
	for _, tc := range []struct{ start, limit, sep, succ string }{
		{"abc", "abe", "abd", "b"},
		{"abc", "abd", "abc", "b"},   // adjacent bytes: not shortened
		{"ab", "abc", "ab", "b"},     // prefix: not shortened
		{"a\xff", "b", "a\xff", "b"}, // successor skips nothing
		{"\xff\xffa", "\xff\xffz", "\xff\xffb", "\xff\xffb"},
		{"\xff", "\xff\x01", "\xff", "\xff"},
		{"y/.ATTRIBUTES/VARIABLE_VALUE", "z", "y/.ATTRIBUTES/VARIABLE_VALUE", "z"},
	} {
		if got := string(shortestSeparator([]byte(tc.start), []byte(tc.limit))); got != tc.sep {
			t.Errorf("shortestSeparator(%q, %q) = %q, want %q", tc.start, tc.limit, got, tc.sep)
		}
		if got := string(shortSuccessor([]byte(tc.start))); got != tc.succ {
			t.Errorf("shortSuccessor(%q) = %q, want %q", tc.start, got, tc.succ)
		}
	}
}

func TestWriterRejectsUnorderedKeys(t *testing.T) {
	w := NewWriter(&bytes.Buffer{}, Options{})
	if err := w.Add(nil, []byte("h")); err != nil {
		t.Fatal(err)
	}
	if err := w.Add([]byte("b"), nil); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"b", "a", ""} {
		if err := w.Add([]byte(k), nil); err == nil {
			t.Errorf("Add(%q) after \"b\" succeeded", k)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Add([]byte("c"), nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Add after Close: %v", err)
	}
}

// corruptCase damages a valid table and names the reason the reader must give.
type corruptCase struct {
	name   string
	damage func(b []byte) []byte
	reason string
}

func TestCorruption(t *testing.T) {
	valid := write(t, genEntries(200, 30), Options{BlockSize: 2048})
	r0, err := NewReader(bytes.NewReader(valid), int64(len(valid)), "x")
	if err != nil {
		t.Fatal(err)
	}
	first := r0.index[0].h
	footer := len(valid) - FooterSize
	cases := []corruptCase{
		{"too short", func(b []byte) []byte { return b[:20] }, "file is too short to be an sstable"},
		{"bad magic", func(b []byte) []byte { b[len(b)-1] ^= 1; return b }, "not an sstable (bad magic number)"},
		{"truncated", func(b []byte) []byte { return append(b[:len(b)-100:len(b)-100], b[len(b)-FooterSize:]...) }, "bad block handle"},
		{"bit flip in data block", func(b []byte) []byte { b[first.offset+10] ^= 0x40; return b }, "block checksum mismatch"},
		{"bit flip in index block", func(b []byte) []byte { b[footer-10] ^= 0x01; return b }, "block checksum mismatch"},
		{"bad block type", func(b []byte) []byte { return retype(b, first, 7) }, "bad block type 7"},
		{"handle past end", func(b []byte) []byte { b[footer+1] = 0xff; b[footer+2] = 0x7f; return b }, "bad block handle"},
		{"garbage snappy", func(b []byte) []byte { return retype(b, first, 1) }, "corrupted compressed block contents"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			data := tc.damage(bytes.Clone(valid))
			err := readErr(data)
			var ce *CorruptError
			if !errors.Is(err, ErrCorrupt) || !errors.As(err, &ce) {
				t.Fatalf("err = %v, want a *CorruptError", err)
			}
			if ce.File != "variables.index" || !strings.Contains(ce.Reason, tc.reason) {
				t.Errorf("err = %v, want reason %q", err, tc.reason)
			}
			if !strings.HasPrefix(err.Error(), "table: variables.index: ") {
				t.Errorf("message %q does not name the package and file", err)
			}
		})
	}
}

// retype changes the type byte of the block at h and fixes its checksum.
func retype(b []byte, h handle, typ byte) []byte {
	b[h.offset+h.size] = typ
	binary.LittleEndian.PutUint32(b[h.offset+h.size+1:], blockCRC(b[h.offset:h.offset+h.size], typ))
	return b
}

// readErr opens and fully iterates a table, returning the first error.
func readErr(data []byte) error {
	r, err := NewReader(bytes.NewReader(data), int64(len(data)), "variables.index")
	if err != nil {
		return err
	}
	for range r.All() {
	}
	return r.Err()
}

// TestUnorderedKeysInBlock builds a block by hand whose keys go down.
func TestUnorderedKeysInBlock(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf, Options{})
	// Bypass the order check by feeding the block builder directly.
	w.data.add([]byte("b"), []byte("1"))
	w.data.add([]byte("a"), []byte("2"))
	w.lastKey, w.entries = []byte("b"), 2
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	err := readErr(buf.Bytes())
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "keys out of order in block") {
		t.Errorf("err = %v, want keys out of order", err)
	}
}

func TestMaskCRC(t *testing.T) {
	for _, c := range []uint32{0, 1, 0xdeadbeef, 0xffffffff} {
		if UnmaskCRC(MaskCRC(c)) != c {
			t.Errorf("UnmaskCRC(MaskCRC(%#x)) != %#x", c, c)
		}
	}
	// LevelDB's published test vector: crc32c of 32 zero bytes is 0x8a9136aa.
	if got := UnmaskCRC(blockCRC(make([]byte, 31), 0)); got != 0x8a9136aa {
		t.Errorf("crc32c of 32 zero bytes = %#x, want 0x8a9136aa", got)
	}
}
