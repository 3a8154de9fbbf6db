// Package corrupt derives damaged SavedModels from a good one, for the
// reliability tests of the library and the command: each Case breaks a copy
// of a model in one way (truncation, bit flips, inconsistent checkpoint
// index, unsafe paths, ...) and says how reading or rewriting it must fail.
package corrupt

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"strings"

	tsp "github.com/wamuir/graft/tensorflow/core/framework/tensor_shape_go_proto"
	"github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
	tfpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
	"google.golang.org/protobuf/proto"

	"github.com/unmirror/unmirror/savedmodel"
	"github.com/unmirror/unmirror/savedmodel/bundle"
	"github.com/unmirror/unmirror/savedmodel/table"
)

// Read outcomes of a Case.
const (
	// ReadFails: savedmodel.Read, and so every command, must fail.
	ReadFails = iota
	// ReadSucceeds: the damage is in tensor bytes or in what the bytes mean
	// (Read reads only the index); a rewrite must fail.
	ReadSucceeds
	// MayGoUnnoticed: a bit flip in saved_model.pb that may still parse
	// into a valid model (no checksum covers the file unless
	// ReadOptions.VerifyFingerprint is set); an error, when there is one,
	// must still match.
	MayGoUnnoticed
)

// A Case is one way to break a model.
type Case struct {
	Name string
	// Apply breaks the copy of the model in dir and returns the path to
	// give to readers (dir itself, or a file made in its place).
	Apply func(dir string) (string, error)
	// Read is ReadFails, ReadSucceeds or MayGoUnnoticed.
	Read int
	// Is is the sentinel the error must wrap (errors.Is).
	Is error
	// As, when set, is the error type the chain must hold, as a pointer to
	// a nil pointer for errors.As (e.g. new(*bundle.ChecksumError)).
	As any
	// Mention lists what the message must name: the file and the key or
	// the offset.
	Mention []string
	// Sample marks the cases the slower command tests run.
	Sample bool
}

// Stage copies the model directory fixture to base/model, breaks the copy
// with c.Apply, and returns the path to give to readers and the hashes of
// base's tree (HashTree) before any reader ran, to compare with afterwards.
func (c Case) Stage(fixture, base string) (src string, before map[string]string, err error) {
	dir := filepath.Join(base, "model")
	if err := CopyTree(fixture, dir); err != nil {
		return "", nil, err
	}
	if src, err = c.Apply(dir); err != nil {
		return "", nil, err
	}
	before, err = HashTree(base)
	return src, before, err
}

// Match reports why err does not fail as c expects, or "" if it does.
func (c Case) Match(err error) string {
	switch {
	case err == nil:
		return "no error"
	case c.Is != nil && !errors.Is(err, c.Is):
		return fmt.Sprintf("error does not wrap %v", c.Is)
	case c.As != nil && !errors.As(err, c.As):
		return fmt.Sprintf("error chain holds no %T", c.As)
	}
	return c.MatchText(err.Error())
}

// MatchText reports which of c.Mention msg lacks, or "".
func (c Case) MatchText(msg string) string {
	for _, m := range c.Mention {
		if !strings.Contains(msg, m) {
			return fmt.Sprintf("message does not name %q", m)
		}
	}
	return ""
}

// model is what the cases need to know about the good model.
type model struct {
	dir     string
	index   []byte
	shards  [][]byte
	header  *tfpb.BundleHeaderProto
	keys    []string // sorted, header excluded
	entries map[string]*tfpb.BundleEntryProto
	binary  bool
}

const (
	indexFile = savedmodel.VariablesPrefix + ".index"
	pbFile    = savedmodel.SavedModelPB
)

// Cases returns the damaged variants of the SavedModel in dir, which must
// have a binary saved_model.pb and a checkpoint.
func Cases(dir string) ([]Case, error) {
	m := &model{dir: dir, entries: map[string]*tfpb.BundleEntryProto{}}
	r, err := bundle.Open(os.DirFS(dir), savedmodel.VariablesPrefix)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	m.header = r.Header()
	m.keys = r.Keys()
	for _, k := range m.keys {
		m.entries[k], _ = r.Entry(k)
	}
	if m.index, err = os.ReadFile(filepath.Join(dir, indexFile)); err != nil {
		return nil, err
	}
	for i := 0; i < r.NumShards(); i++ {
		b, err := os.ReadFile(filepath.Join(dir, r.DataFile(i)))
		if err != nil {
			return nil, err
		}
		m.shards = append(m.shards, b)
	}
	if _, err := os.Stat(filepath.Join(dir, pbFile)); err != nil {
		return nil, fmt.Errorf("corrupt: %s needs a binary %s: %w", dir, pbFile, err)
	}
	var cs []Case
	for _, gen := range []func() ([]Case, error){m.truncations, m.flips, m.indexEdits, m.sliceEdits, m.protoEdits, m.pathCases} {
		c, err := gen()
		if err != nil {
			return nil, err
		}
		cs = append(cs, c...)
	}
	return cs, nil
}

func (m *model) dataFile(i int) string {
	return bundle.DataName(savedmodel.VariablesPrefix, i, len(m.shards))
}

// dataEntries lists the keys that own bytes, in data order.
func (m *model) dataEntries() []string {
	var out []string
	for _, k := range m.keys {
		if e := m.entries[k]; len(e.GetSlices()) == 0 && e.GetSize() > 0 {
			out = append(out, k)
		}
	}
	slices.SortFunc(out, func(a, b string) int {
		ea, eb := m.entries[a], m.entries[b]
		if ea.GetShardId() != eb.GetShardId() {
			return int(ea.GetShardId() - eb.GetShardId())
		}
		return int(ea.GetOffset() - eb.GetOffset())
	})
	return out
}

// writeFile replaces rel under dir.
func writeFile(dir, rel string, b []byte) error {
	return os.WriteFile(filepath.Join(dir, filepath.FromSlash(rel)), b, 0o644)
}

// truncations cut the index at every byte (the block boundaries are the
// sample) and each data shard inside and between its entries.
func (m *model) truncations() ([]Case, error) {
	var cs []Case
	bounds := blockBoundaries(m.index)
	for n := 0; n < len(m.index); n++ {
		n := n
		cs = append(cs, Case{
			Name:    fmt.Sprintf("truncate index at %d of %d", n, len(m.index)),
			Apply:   func(dir string) (string, error) { return dir, os.Truncate(filepath.Join(dir, indexFile), int64(n)) },
			Is:      bundle.ErrCorrupt,
			Mention: []string{indexFile, "offset"},
			Sample:  bounds[n],
		})
	}
	for _, k := range m.dataEntries() {
		e := m.entries[k]
		file := m.dataFile(int(e.GetShardId()))
		for _, n := range []int64{e.GetOffset(), e.GetOffset() + e.GetSize()/2} {
			cs = append(cs, Case{
				Name:    fmt.Sprintf("truncate %s at %d (inside %q)", file, n, k),
				Apply:   func(dir string) (string, error) { return dir, os.Truncate(filepath.Join(dir, file), n) },
				Is:      bundle.ErrCorrupt,
				As:      new(*bundle.CorruptError),
				Mention: []string{file, "key "},
				Sample:  n == e.GetOffset(),
			})
		}
	}
	return cs, nil
}

// blockBoundaries returns the offsets where the index's blocks, their
// trailers and the footer start.
func blockBoundaries(b []byte) map[int]bool {
	out := map[int]bool{0: true}
	if len(b) < table.FooterSize {
		return out
	}
	foot := len(b) - table.FooterSize
	out[foot] = true
	out[foot+40] = true
	p := b[foot:]
	var hs [][2]uint64
	for range 2 {
		off, n := binary.Uvarint(p)
		size, k := binary.Uvarint(p[n:])
		hs = append(hs, [2]uint64{off, size})
		p = p[n+k:]
	}
	idx := hs[1]
	if idx[0]+idx[1] <= uint64(foot) && idx[1] >= 4 {
		block := b[idx[0] : idx[0]+idx[1]]
		nr := binary.LittleEndian.Uint32(block[len(block)-4:])
		end := len(block) - 4 - 4*int(nr)
		for q := 0; q >= 0 && q < end; {
			_, a := binary.Uvarint(block[q:])
			nk, c := binary.Uvarint(block[q+a:])
			nv, d := binary.Uvarint(block[q+a+c:])
			v := block[q+a+c+d+int(nk):]
			off, e := binary.Uvarint(v)
			size, _ := binary.Uvarint(v[e:])
			hs = append(hs, [2]uint64{off, size})
			q += a + c + d + int(nk) + int(nv)
		}
	}
	for _, h := range hs {
		out[int(h[0])] = true
		out[int(h[0]+h[1])] = true // the trailer
	}
	return out
}

// flips change one bit: in every byte of the index, in the middle of every
// tensor's bytes, and in 64 places of saved_model.pb.
func (m *model) flips() ([]Case, error) {
	var cs []Case
	for i := range m.index {
		cs = append(cs, Case{
			Name:    fmt.Sprintf("flip bit %d of index byte %d", i%8, i),
			Apply:   flip(indexFile, int64(i), byte(1)<<(i%8)),
			Is:      bundle.ErrCorrupt,
			Mention: []string{indexFile},
			Sample:  i >= len(m.index)-table.FooterSize && i%4 == 0 || i%97 == 0,
		})
	}
	for j, k := range m.dataEntries() {
		e := m.entries[k]
		file := m.dataFile(int(e.GetShardId()))
		cs = append(cs, Case{
			Name:    fmt.Sprintf("flip a bit of %q in %s", k, file),
			Apply:   flip(file, e.GetOffset()+e.GetSize()/2, 0x10),
			Read:    ReadSucceeds,
			Is:      bundle.ErrCorrupt,
			Mention: []string{file, k},
			Sample:  j < 3,
		})
	}
	pb, err := os.ReadFile(filepath.Join(m.dir, pbFile))
	if err != nil {
		return nil, err
	}
	for i := 0; i < 64; i++ {
		off := int64(i) * int64(len(pb)) / 64
		cs = append(cs, Case{
			Name:    fmt.Sprintf("flip bit %d of saved_model.pb byte %d", i%8, off),
			Apply:   flip(pbFile, off, byte(1)<<(i%8)),
			Read:    MayGoUnnoticed,
			Mention: []string{pbFile},
			Sample:  i%8 == 0,
		})
	}
	return cs, nil
}

func flip(rel string, off int64, bit byte) func(dir string) (string, error) {
	return func(dir string) (string, error) {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		b, err := os.ReadFile(p)
		if err != nil {
			return "", err
		}
		b[off] ^= bit
		return dir, os.WriteFile(p, b, 0o644)
	}
}

// indexEdits rebuild the index with inconsistent content.
func (m *model) indexEdits() ([]Case, error) {
	data := m.dataEntries()
	if len(data) < 2 {
		return nil, fmt.Errorf("corrupt: %s: need two entries with data", m.dir)
	}
	k, k2 := data[0], data[1]
	e := m.entries[k]
	shardSize := int64(len(m.shards[e.GetShardId()]))
	n := len(m.shards)
	edit := func(key string, f func(e *tfpb.BundleEntryProto)) func(dir string) (string, error) {
		return m.rewriteIndex(func(h *tfpb.BundleHeaderProto, es map[string]*tfpb.BundleEntryProto) { f(es[key]) }, nil)
	}
	dims := func(d ...int64) *tsp.TensorShapeProto {
		s := &tsp.TensorShapeProto{}
		for _, x := range d {
			s.Dim = append(s.Dim, &tsp.TensorShapeProto_Dim{Size: x})
		}
		return s
	}
	keyMention := []string{indexFile, fmt.Sprintf("key %q", k)}
	cs := []Case{
		{Name: "missing data shard", Sample: true, Is: bundle.ErrCorrupt,
			Apply: func(dir string) (string, error) {
				return dir, os.Remove(filepath.Join(dir, m.dataFile(n-1)))
			},
			Mention: []string{m.dataFile(n - 1)}},
		{Name: fmt.Sprintf("header says %d shards", n+1), Sample: true, Is: bundle.ErrCorrupt,
			Apply:   m.rewriteIndex(func(h *tfpb.BundleHeaderProto, _ map[string]*tfpb.BundleEntryProto) { h.NumShards = int32(n + 1) }, nil),
			Mention: []string{bundle.DataName(savedmodel.VariablesPrefix, 0, n+1), "missing"}},
		{Name: "offset past the end of the shard", Sample: true, Is: bundle.ErrCorrupt,
			Apply: edit(k, func(e *tfpb.BundleEntryProto) { e.Offset = shardSize }), Mention: keyMention},
		{Name: "size past the end of the shard", Sample: true, Is: bundle.ErrCorrupt,
			Apply: edit(k, func(e *tfpb.BundleEntryProto) { e.Size = shardSize + 1 }), Mention: keyMention},
		{Name: "negative dimension", Sample: true, Is: bundle.ErrCorrupt,
			Apply: edit(k, func(e *tfpb.BundleEntryProto) { e.Shape = dims(-3, 2) }), Mention: keyMention},
		{Name: "element count overflows int64", Sample: true, Is: bundle.ErrCorrupt,
			Apply: edit(k, func(e *tfpb.BundleEntryProto) { e.Shape = dims(1<<31, 1<<31, 1<<31) }), Mention: keyMention},
		{Name: "shard id out of range", Is: bundle.ErrCorrupt,
			Apply: edit(k, func(e *tfpb.BundleEntryProto) { e.ShardId = int32(n) }), Mention: keyMention},
		{Name: "unsorted keys", Sample: true, Is: bundle.ErrCorrupt,
			Apply: m.rewriteIndex(nil, func(keys []string) []string {
				i, j := slices.Index(keys, k), slices.Index(keys, k2)
				keys[i], keys[j] = keys[j], keys[i]
				return keys
			}),
			Mention: []string{indexFile, "offset"}},
		{Name: "duplicate key", Sample: true, Is: bundle.ErrCorrupt,
			Apply: m.rewriteIndex(nil, func(keys []string) []string {
				return slices.Insert(keys, slices.Index(keys, k), k)
			}),
			Mention: []string{indexFile, "offset"}},
	}
	if n > 1 {
		cs = append(cs, Case{Name: fmt.Sprintf("header says %d shards", n-1), Sample: true, Is: bundle.ErrCorrupt,
			Apply:   m.rewriteIndex(func(h *tfpb.BundleHeaderProto, _ map[string]*tfpb.BundleEntryProto) { h.NumShards = int32(n - 1) }, nil),
			Mention: []string{bundle.DataName(savedmodel.VariablesPrefix, 0, n-1), "missing"}})
	}
	// A float tensor whose entry says int32 (same size, same bytes, same
	// checksum): only a reader of the graph's restore dtypes can tell.
	for _, key := range data {
		if m.entries[key].GetDtype() == types_go_proto.DataType_DT_FLOAT && len(m.entries[key].GetSlices()) == 0 {
			cs = append(cs, Case{Name: fmt.Sprintf("entry %q says DT_INT32, the graph DT_FLOAT", key), Sample: true,
				Read:    ReadSucceeds,
				Apply:   edit(key, func(e *tfpb.BundleEntryProto) { e.Dtype = types_go_proto.DataType_DT_INT32 }),
				Mention: []string{key}})
			break
		}
	}
	return cs, nil
}

// rewriteIndex writes a new index, in one block, after editing the header
// and entries and, with order, the key sequence (which may then be
// unsorted or repeat keys: the table is built by hand).
func (m *model) rewriteIndex(edit func(*tfpb.BundleHeaderProto, map[string]*tfpb.BundleEntryProto), order func([]string) []string) func(string) (string, error) {
	return func(dir string) (string, error) {
		h := proto.Clone(m.header).(*tfpb.BundleHeaderProto)
		es := map[string]*tfpb.BundleEntryProto{}
		for k, e := range m.entries {
			es[k] = proto.Clone(e).(*tfpb.BundleEntryProto)
		}
		if edit != nil {
			edit(h, es)
		}
		keys := slices.Clone(m.keys)
		if order != nil {
			keys = order(keys)
		}
		hb, err := proto.Marshal(h)
		if err != nil {
			return "", err
		}
		kvs := [][2][]byte{{nil, hb}}
		for _, k := range keys {
			b, err := proto.Marshal(es[k])
			if err != nil {
				return "", err
			}
			kvs = append(kvs, [2][]byte{[]byte(k), b})
		}
		return dir, writeFile(dir, indexFile, rawTable(kvs))
	}
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// rawTable builds a table file with every entry in one data block, in the
// order given (no order checks, unlike table.Writer).
func rawTable(kvs [][2][]byte) []byte {
	var block []byte
	for _, kv := range kvs {
		block = binary.AppendUvarint(block, 0)
		block = binary.AppendUvarint(block, uint64(len(kv[0])))
		block = binary.AppendUvarint(block, uint64(len(kv[1])))
		block = append(block, kv[0]...)
		block = append(block, kv[1]...)
	}
	block = binary.LittleEndian.AppendUint32(block, 0)
	block = binary.LittleEndian.AppendUint32(block, 1)
	var file []byte
	put := func(b []byte) []byte {
		h := binary.AppendUvarint(binary.AppendUvarint(nil, uint64(len(file))), uint64(len(b)))
		file = append(file, b...)
		crc := crc32.Update(crc32.Update(0, castagnoli, b), castagnoli, []byte{0})
		file = binary.LittleEndian.AppendUint32(append(file, 0), table.MaskCRC(crc))
		return h
	}
	dh := put(block)
	mh := put([]byte{0, 0, 0, 0, 1, 0, 0, 0})
	var idx []byte
	idx = binary.AppendUvarint(idx, 0)
	idx = binary.AppendUvarint(idx, 1)
	idx = binary.AppendUvarint(idx, uint64(len(dh)))
	idx = append(append(idx, 0xff), dh...)
	idx = binary.LittleEndian.AppendUint32(idx, 0)
	idx = binary.LittleEndian.AppendUint32(idx, 1)
	ih := put(idx)
	var footer [table.FooterSize]byte
	copy(footer[copy(footer[:], mh):], ih)
	binary.LittleEndian.PutUint64(footer[40:], table.Magic)
	return append(file, footer[:]...)
}

// CopyTree copies the directory src to dst (which must not exist).
func CopyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		out := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(out, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(out, b, 0o644)
	})
}

// HashTree maps every path under dir to the SHA-256 of its content ("dir"
// for a directory, "-> target" for a symbolic link), to show that a reader
// left its input untouched.
func HashTree(dir string) (map[string]string, error) {
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		switch {
		case d.IsDir():
			out[rel] = "dir"
		case d.Type()&os.ModeSymlink != 0:
			t, err := os.Readlink(p)
			out[rel] = "-> " + t
			return err
		default:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			out[rel] = fmt.Sprintf("%x", sha256.Sum256(b))
		}
		return nil
	})
	return out, err
}
