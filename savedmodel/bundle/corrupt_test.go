package bundle

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/unmirror/unmirror/savedmodel/table"
	tfpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
	"google.golang.org/protobuf/proto"
)

// loadFS reads the files of an OS directory into a MapFS.
func loadFS(t *testing.T, dir string) fstest.MapFS {
	t.Helper()
	m := fstest.MapFS{}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		m[e.Name()] = &fstest.MapFile{Data: data}
	}
	return m
}

// editIndex rewrites variables.index in m, letting edit change the header
// (key "") and entries.
func editIndex(t *testing.T, m fstest.MapFS, edit func(key string, msg proto.Message)) {
	t.Helper()
	data := m["variables.index"].Data
	tr, err := table.NewReader(bytes.NewReader(data), int64(len(data)), "variables.index")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	tw := table.NewWriter(&buf, table.Options{})
	for k, v := range tr.All() {
		var msg proto.Message = &tfpb.BundleEntryProto{}
		if len(k) == 0 {
			msg = &tfpb.BundleHeaderProto{}
		}
		if err := proto.Unmarshal(v, msg); err != nil {
			t.Fatal(err)
		}
		edit(string(k), msg)
		v, _ = proto.Marshal(msg)
		if err := tw.Add(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	m["variables.index"] = &fstest.MapFile{Data: buf.Bytes()}
}

// rawIndex builds a table by hand, in one data block, without the order
// checks of table.Writer.
func rawIndex(kvs ...string) []byte {
	var block []byte
	for i := 0; i < len(kvs); i += 2 {
		block = binary.AppendUvarint(block, 0)
		block = binary.AppendUvarint(block, uint64(len(kvs[i])))
		block = binary.AppendUvarint(block, uint64(len(kvs[i+1])))
		block = append(block, kvs[i]...)
		block = append(block, kvs[i+1]...)
	}
	block = binary.LittleEndian.AppendUint32(block, 0)
	block = binary.LittleEndian.AppendUint32(block, 1)
	var file []byte
	writeBlock := func(b []byte) (off, size uint64) {
		off = uint64(len(file))
		file = append(file, b...)
		crc := table.MaskCRC(crc32Update(crc32Update(0, b), []byte{0}))
		file = append(file, 0)
		file = binary.LittleEndian.AppendUint32(file, crc)
		return off, uint64(len(b))
	}
	dOff, dSize := writeBlock(block)
	mOff, mSize := writeBlock([]byte{0, 0, 0, 0, 1, 0, 0, 0})
	var idx []byte
	idx = binary.AppendUvarint(idx, 0)
	idx = binary.AppendUvarint(idx, 2)
	h := binary.AppendUvarint(binary.AppendUvarint(nil, dOff), dSize)
	idx = binary.AppendUvarint(idx, uint64(len(h)))
	idx = append(idx, "\xff\xff"...)
	idx = append(idx, h...)
	idx = binary.LittleEndian.AppendUint32(idx, 0)
	idx = binary.LittleEndian.AppendUint32(idx, 1)
	iOff, iSize := writeBlock(idx)
	var footer [48]byte
	f := binary.AppendUvarint(binary.AppendUvarint(footer[:0], mOff), mSize)
	binary.AppendUvarint(binary.AppendUvarint(f, iOff), iSize)
	binary.LittleEndian.PutUint64(footer[40:], table.Magic)
	return append(file, footer[:]...)
}

// editEntry changes the entry of key in m's index.
func editEntry(t *testing.T, m fstest.MapFS, key string, edit func(e *tfpb.BundleEntryProto)) {
	editIndex(t, m, func(k string, msg proto.Message) {
		if k == key {
			edit(msg.(*tfpb.BundleEntryProto))
		}
	})
}

// editHeader changes the header of m's index.
func editHeader(t *testing.T, m fstest.MapFS, edit func(h *tfpb.BundleHeaderProto)) {
	editIndex(t, m, func(k string, msg proto.Message) {
		if k == "" {
			edit(msg.(*tfpb.BundleHeaderProto))
		}
	})
}

func TestCorruption(t *testing.T) {
	dir := t.TempDir()
	testBundle(t, dir)
	orig := loadFS(t, dir)
	r0, err := Open(orig, "variables")
	if err != nil {
		t.Fatal(err)
	}
	wEntry, _ := r0.Entry("w/.ATTRIBUTES/VARIABLE_VALUE")
	sEntry, _ := r0.Entry("names")
	hdr, _ := proto.Marshal(r0.Header())
	entry, _ := proto.Marshal(wEntry)

	for _, tc := range []struct {
		name   string
		damage func(m fstest.MapFS)
		want   string // in the Open error; "" if Open succeeds
		key    string // entry whose read must fail with ChecksumError
	}{
		{"bit flip in float data", func(m fstest.MapFS) {
			m["variables.data-00001-of-00002"].Data[wEntry.GetOffset()+5] ^= 0x10
		}, "", "w/.ATTRIBUTES/VARIABLE_VALUE"},
		{"bit flip in string bytes", func(m fstest.MapFS) {
			m["variables.data-00000-of-00002"].Data[sEntry.GetOffset()+sEntry.GetSize()-1] ^= 0x01
		}, "", "names"},
		{"bit flip in string lengths", func(m fstest.MapFS) {
			m["variables.data-00000-of-00002"].Data[sEntry.GetOffset()] ^= 0x02
		}, "", "names"},
		{"truncated shard", func(m fstest.MapFS) {
			f := m["variables.data-00001-of-00002"]
			f.Data = f.Data[:len(f.Data)-3]
		}, "beyond the end of shard 1", ""},
		{"offset past end", func(m fstest.MapFS) {
			editEntry(t, m, "b/.ATTRIBUTES/VARIABLE_VALUE", func(e *tfpb.BundleEntryProto) { e.Offset = 1 << 40 })
		}, `key "b/.ATTRIBUTES/VARIABLE_VALUE": data [1099511627776`, ""},
		{"size does not match shape", func(m fstest.MapFS) {
			editEntry(t, m, "b/.ATTRIBUTES/VARIABLE_VALUE", func(e *tfpb.BundleEntryProto) { e.Size = 8 })
		}, "invalid size: stored 8 bytes, 1 elements of DT_FLOAT need 4", ""},
		{"shard id out of range", func(m fstest.MapFS) {
			editEntry(t, m, "h", func(e *tfpb.BundleEntryProto) { e.ShardId = 2 })
		}, "shard_id 2 out of range [0, 2)", ""},
		{"missing shard", func(m fstest.MapFS) {
			delete(m, "variables.data-00001-of-00002")
		}, "variables.data-00001-of-00002: data shard 1 of 2 is missing", ""},
		{"wrong num_shards", func(m fstest.MapFS) {
			editHeader(t, m, func(h *tfpb.BundleHeaderProto) { h.NumShards = 3 })
		}, "found data files variables.data-00000-of-00002, variables.data-00001-of-00002", ""},
		{"newer format", func(m fstest.MapFS) {
			editHeader(t, m, func(h *tfpb.BundleHeaderProto) { h.Version.MinConsumer = 2 })
		}, "requires consumer version 2", ""},
		{"big-endian", func(m fstest.MapFS) {
			editHeader(t, m, func(h *tfpb.BundleHeaderProto) { h.Endianness = tfpb.BundleHeaderProto_BIG })
		}, "unsupported endianness BIG", ""},
		{"unsorted keys", func(m fstest.MapFS) {
			m["variables.index"].Data = rawIndex("", string(hdr), "b", string(entry), "a", string(entry))
		}, "keys out of order in block", ""},
		{"duplicate keys", func(m fstest.MapFS) {
			m["variables.index"].Data = rawIndex("", string(hdr), "a", string(entry), "a", string(entry))
		}, "keys out of order in block", ""},
		{"no header", func(m fstest.MapFS) {
			m["variables.index"].Data = rawIndex("a", string(entry))
		}, `first key is "a"`, ""},
		{"index bit flip", func(m fstest.MapFS) {
			m["variables.index"].Data[3] ^= 0x08
		}, "block checksum mismatch", ""},
		{"unparsable entry", func(m fstest.MapFS) {
			m["variables.index"].Data = rawIndex("", string(hdr), "a", "\xff\xff")
		}, `key "a": unparsable entry`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := fstest.MapFS{}
			for k, v := range orig {
				m[k] = &fstest.MapFile{Data: bytes.Clone(v.Data)}
			}
			tc.damage(m)
			r, err := Open(m, "variables")
			if tc.want != "" {
				if err == nil {
					t.Fatalf("Open succeeded, want error containing %q", tc.want)
				}
				if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "bundle: variables.") {
					t.Fatalf("Open: %v\nwant a corruption error containing %q", err, tc.want)
				}
				if tc.name == "missing shard" && !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("missing shard error is not fs.ErrNotExist")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			rc, err := r.OpenEntry(tc.key)
			if err != nil {
				t.Fatal(err)
			}
			_, err = io.ReadAll(rc)
			var ce *ChecksumError
			if !errors.As(err, &ce) || !errors.Is(err, ErrCorrupt) || ce.Key != tc.key || ce.Stored == ce.Computed {
				t.Fatalf("reading %q: %v, want a *ChecksumError", tc.key, err)
			}
			// io.ReadFull of exactly the entry size must see it too.
			rc, _ = r.OpenEntry(tc.key)
			e, _ := r.Entry(tc.key)
			if _, err := io.ReadFull(rc, make([]byte, e.GetSize())); !errors.As(err, &ce) {
				t.Errorf("io.ReadFull: %v, want a *ChecksumError", err)
			}
			// Copy must refuse to carry the damage over.
			w, err := NewWriter(t.TempDir(), "variables", WriterOptions{NumShards: 2})
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Copy(r, tc.key); !errors.As(err, &ce) {
				t.Errorf("Copy: %v, want a *ChecksumError", err)
			}
			if err := w.Close(); !errors.As(err, &ce) {
				t.Errorf("Close after a failed Copy: %v", err)
			}
		})
	}
}
