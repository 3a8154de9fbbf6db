package savedmodel

import (
	"context"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	tsp "github.com/wamuir/graft/tensorflow/core/framework/tensor_shape_go_proto"
	typespb "github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
	tfpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
)

// bert2 is the largest SavedModel in TF's tree (1.66 MB saved_model.pb).
func BenchmarkReadBert(b *testing.B) {
	dir := tfModel(b, "bert2")
	fi, err := os.Stat(filepath.Join(dir, SavedModelPB))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(fi.Size())
	for b.Loop() {
		m, err := Read(context.Background(), dir, ReadOptions{})
		if err != nil {
			b.Fatal(err)
		}
		m.Close()
	}
}

func BenchmarkWriteNoOpBert(b *testing.B) {
	m := mustRead(b, tfModel(b, "bert2"))
	out := filepath.Join(b.TempDir(), "out")
	for b.Loop() {
		if err := m.Write(context.Background(), out, WriteOptions{Overwrite: true}); err != nil {
			b.Fatal(err)
		}
	}
}

// A model with variables, rebuilding the checkpoint through bundle.Writer.
func BenchmarkWriteRebuildCheckpoint(b *testing.B) {
	m := mustRead(b, tfModel(b, "CyclicModule"))
	keys := m.OutputKeys()
	m.RenameVariable(keys[0], keys[0]+"~")
	m.RenameVariable(keys[0]+"~", keys[0])
	root := b.TempDir()
	for b.Loop() {
		if err := m.Write(context.Background(), filepath.Join(root, "out"), WriteOptions{Overwrite: true}); err != nil {
			b.Fatal(err)
		}
	}
}

// largeModel writes (once per benchmark) a model whose checkpoint holds one
// float32 variable of n bytes, built through SetVariable from a stream.
func largeModel(b *testing.B, n int64) string {
	m := mustRead(b, tfModel(b, "VarsAndArithmeticObjectGraph"))
	entry := &tfpb.BundleEntryProto{Dtype: typespb.DataType_DT_FLOAT,
		Shape: &tsp.TensorShapeProto{Dim: []*tsp.TensorShapeProto_Dim{{Size: n / 4}}}}
	err := m.SetVariable("big/.ATTRIBUTES/VARIABLE_VALUE", entry, func() (io.ReadCloser, error) {
		return io.NopCloser(io.LimitReader(zeros{}, n)), nil
	})
	if err != nil {
		b.Fatal(err)
	}
	dir := filepath.Join(b.TempDir(), "large")
	if err := m.Write(context.Background(), dir, WriteOptions{}); err != nil {
		b.Fatal(err)
	}
	return dir
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

const largeBytes = 256 << 20

// No-op write of a model with a 256 MiB checkpoint: a file copy, durable
// and with NoSync.
func BenchmarkWriteNoOpLarge(b *testing.B) {
	benchWriteLarge(b, mustRead(b, largeModel(b, largeBytes)))
}

// The same with the checkpoint rebuilt (checksums verified while copying).
func BenchmarkWriteRebuildLarge(b *testing.B) {
	m := mustRead(b, largeModel(b, largeBytes))
	keys := m.OutputKeys()
	m.RenameVariable(keys[0], keys[0]+"~")
	m.RenameVariable(keys[0]+"~", keys[0])
	benchWriteLarge(b, m)
}

func benchWriteLarge(b *testing.B, m *Model) {
	for _, noSync := range []bool{false, true} {
		b.Run(map[bool]string{false: "sync", true: "nosync"}[noSync], func(b *testing.B) {
			out := filepath.Join(b.TempDir(), "out")
			b.SetBytes(largeBytes)
			for b.Loop() {
				if err := m.Write(context.Background(), out, WriteOptions{Overwrite: true, NoSync: noSync}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// verifyBenchBytes is the checkpoint size of BenchmarkVerifyChecksums:
// UNMIRROR_BENCH_BYTES, or 256 MiB (BENCHMARKS.md's figure is for 2 GiB:
// UNMIRROR_BENCH_BYTES=2147483648).
func verifyBenchBytes(b *testing.B) int64 {
	if s := os.Getenv("UNMIRROR_BENCH_BYTES"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 4 {
			b.Fatalf("UNMIRROR_BENCH_BYTES=%q: want a byte count", s)
		}
		return n / 4 * 4
	}
	return largeBytes
}

// BenchmarkVerifyChecksums is what "unmirror verify" adds to a read:
// every checkpoint entry's checksum checked (VerifyChecksums), beside the
// floor it can reach, reading the data file with the same 256 KiB buffer
// and computing its CRC-32C ("read+crc"). The file is in the page cache
// after the first round, as it is when verify follows a rewrite.
func BenchmarkVerifyChecksums(b *testing.B) {
	n := verifyBenchBytes(b)
	dir := largeModel(b, n)
	m := mustRead(b, dir)
	defer m.Close()
	b.Run("verify", func(b *testing.B) {
		b.SetBytes(n)
		for b.Loop() {
			if err := m.VerifyChecksums(context.Background()); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("read+crc", func(b *testing.B) {
		data := filepath.Join(dir, filepath.FromSlash(m.InputCheckpoint.DataFile(0)))
		buf := make([]byte, 256<<10)
		tab := crc32.MakeTable(crc32.Castagnoli)
		b.SetBytes(n)
		for b.Loop() {
			f, err := os.Open(data)
			if err != nil {
				b.Fatal(err)
			}
			var c uint32
			for {
				k, err := f.Read(buf)
				c = crc32.Update(c, tab, buf[:k])
				if err == io.EOF {
					break
				} else if err != nil {
					b.Fatal(err)
				}
			}
			f.Close()
		}
	})
}
