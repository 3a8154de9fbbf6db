package unmirror_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"testing"

	"github.com/unmirror/unmirror"
	"github.com/unmirror/unmirror/internal/corrupt"
	"github.com/unmirror/unmirror/internal/fixtures"
	"github.com/unmirror/unmirror/rewrite"
	"github.com/unmirror/unmirror/savedmodel"
)

// corruptFixtures are the fixtures the corruption suite damages: a plain
// model, a MirroredStrategy model, a TF1 model with two data shards, and one
// with string tensors and an asset.
var corruptFixtures = []string{"plain", "mirrored_expand", "tf1_ps_worker", "assets_strings"}

// TestCorruptInputs damages copies of the fixtures in every way
// internal/corrupt knows (truncation at every byte of the index and inside
// every tensor, every bit of the index, tensor bytes, saved_model.pb,
// inconsistent index entries and header, unsorted and duplicate keys,
// dtype mismatches, malformed or doubled proto files, unsafe asset names
// and links, an empty directory, a file for a directory) and checks that
// savedmodel.Read and unmirror.Rewrite fail with the expected typed error
// naming the file and the key or offset, never panic, leave no output and
// no temporary directory, and leave every input file as it was. A bit flip
// in saved_model.pb may parse into a valid model (no checksum covers it):
// Read may then succeed, but ReadOptions.VerifyFingerprint must catch it
// when the fixture has a fingerprint.pb, and a Rewrite that succeeds must
// write a model that reads back.
func TestCorruptInputs(t *testing.T) {
	total := 0
	for _, name := range corruptFixtures {
		f := fixtures.ByName(t, name)
		cases, err := corrupt.Cases(f.Dir)
		if err != nil {
			t.Fatal(err)
		}
		total += len(cases)
		t.Run(name, func(t *testing.T) {
			for _, c := range cases {
				if testing.Short() && !c.Sample {
					continue
				}
				t.Run(c.Name, func(t *testing.T) { checkCorruptCase(t, f.Dir, c) })
			}
		})
	}
	t.Logf("%d cases on %d fixtures", total, len(corruptFixtures))
}

// TestCorruptSlices damages the sliced tensors of the checkpoint-layout
// fixtures (slices in shards >= 1, written by TensorFlow's sharded saves):
// slices that overlap, leave a gap, exceed the shape, or point past the end
// of a shard are each a typed error naming the file and the key, with
// nothing written and the input unchanged.
func TestCorruptSlices(t *testing.T) {
	for _, name := range []string{"layout_max_shard", "layout_tf1_fixed_2"} {
		f := fixtures.ByName(t, name)
		cases, err := corrupt.Cases(f.Dir)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, c := range cases {
			if strings.HasPrefix(c.Name, corrupt.SlicePrefix) {
				n++
				t.Run(name+"/"+c.Name, func(t *testing.T) { checkCorruptCase(t, f.Dir, c) })
			}
		}
		if n != 4 {
			t.Errorf("%s: %d slice cases, want 4", name, n)
		}
	}
}

func checkCorruptCase(t *testing.T, fixture string, c corrupt.Case) {
	base := t.TempDir()
	src, before, err := c.Stage(fixture, base)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("panic: %v\n%s", r, debug.Stack())
		}
	}()

	m, err := savedmodel.Read(context.Background(), src, savedmodel.ReadOptions{})
	switch {
	case err == nil:
		m.Close()
		if c.Read == corrupt.ReadFails {
			t.Errorf("Read succeeded")
		}
	case c.Read == corrupt.ReadSucceeds:
		t.Errorf("Read: %v", err)
	default:
		if why := c.Match(err); why != "" {
			t.Errorf("Read: %s: %v", why, err)
		}
	}

	// With the fingerprint check, every flip in saved_model.pb is caught
	// when the model has a fingerprint.pb.
	if _, err := os.Stat(filepath.Join(fixture, savedmodel.FingerprintFile)); err == nil && c.Read == corrupt.MayGoUnnoticed {
		m, err := savedmodel.Read(context.Background(), src, savedmodel.ReadOptions{VerifyFingerprint: true})
		var fe *savedmodel.FormatError
		if err == nil {
			m.Close()
			t.Errorf("Read(VerifyFingerprint) succeeded")
		} else if !errors.As(err, &fe) || fe.File != savedmodel.SavedModelPB {
			t.Errorf("Read(VerifyFingerprint): %v, want a *FormatError for %s", err, savedmodel.SavedModelPB)
		}
	}

	outParent := t.TempDir()
	dst := filepath.Join(outParent, "out")
	_, err = unmirror.Rewrite(context.Background(), src, dst, unmirror.Options{})
	if err == nil {
		if c.Read != corrupt.MayGoUnnoticed {
			t.Errorf("Rewrite succeeded")
		} else if back, err := savedmodel.Read(context.Background(), dst, savedmodel.ReadOptions{}); err != nil {
			t.Errorf("Rewrite of an unnoticed flip wrote a model that does not read back: %v", err)
		} else {
			back.Close()
		}
	} else {
		t.Logf("Rewrite: %v", err)
		// A flip in saved_model.pb that parses may change the graph: the
		// pipeline then says what is wrong with it, naming the node.
		var fe *unmirror.FindingsError
		var pe *rewrite.PassError
		graphErr := errors.As(err, &fe) || errors.As(err, &pe)
		if why := c.Match(err); why != "" && (c.Read != corrupt.MayGoUnnoticed || !graphErr) {
			t.Errorf("Rewrite: %s: %v", why, err)
		}
		if ents, _ := os.ReadDir(outParent); len(ents) != 0 {
			t.Errorf("failed Rewrite left %v", names(ents))
		}
	}

	after, err := corrupt.HashTree(base)
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(before, after) {
		t.Errorf("input changed: %s", treeDiff(before, after))
	}
}

func names(ents []os.DirEntry) []string {
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

func treeDiff(a, b map[string]string) string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(a)) {
		if a[k] != b[k] {
			out = append(out, fmt.Sprintf("%s: %s -> %s", k, a[k], b[k]))
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			out = append(out, "new "+k)
		}
	}
	return fmt.Sprint(out)
}
