package main

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/unmirror/unmirror/internal/corrupt"
	"github.com/unmirror/unmirror/savedmodel"
	"github.com/unmirror/unmirror/savedmodel/bundle"
)

// TestCorruptInputsCLI runs every command of the built binary on the
// sampled damaged models of internal/corrupt (every block boundary of the
// index, footer bytes, tensor bytes, saved_model.pb, each inconsistent index,
// unsafe paths, missing and misplaced files) for four fixtures: an input
// that cannot be read is exit 3 with a message naming the file and the key
// or offset; no command panics; a failed rewrite leaves nothing in DST's
// directory; no command changes a file of its input.
func TestCorruptInputsCLI(t *testing.T) {
	runs := 0
	for _, name := range []string{"plain", "mirrored_expand", "tf1_ps_worker", "assets_strings"} {
		cases, err := corrupt.Cases(fixture(name))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cases {
			if !c.Sample {
				continue
			}
			runs++
			t.Run(name+"/"+c.Name, func(t *testing.T) { cliCorruptCase(t, name, c) })
		}
	}
	t.Logf("%d damaged models, 4 commands each", runs)
}

// TestCorruptSlicesCLI: a damaged sliced tensor (internal/corrupt's slice
// cases on a TensorFlow-made MaxShardSizePolicy model) is exit 3 naming the
// file and the key, nothing written, for every command.
func TestCorruptSlicesCLI(t *testing.T) {
	cases, err := corrupt.Cases(fixture("layout_max_shard"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		if strings.HasPrefix(c.Name, corrupt.SlicePrefix) {
			t.Run(c.Name, func(t *testing.T) { cliCorruptCase(t, "layout_max_shard", c) })
		}
	}
}

func cliCorruptCase(t *testing.T, name string, c corrupt.Case) {
	base := t.TempDir()
	src, before, err := c.Stage(fixture(name), base)
	if err != nil {
		t.Fatal(err)
	}
	outParent := t.TempDir()
	dst := filepath.Join(outParent, "out")
	for _, args := range [][]string{
		{"inspect", src},
		{"verify", src},
		{"diff", src, fixture(name)},
		{"rewrite", "--quiet", src, dst},
	} {
		r := cli(t, args...)
		if strings.Contains(r.stderr, "panic") || strings.Contains(r.stderr, "goroutine ") || r.code == exitUsage {
			t.Fatalf("%s: exit %d, stderr:\n%s", args[0], r.code, r.stderr)
		}
		// Damaged tensor bytes fail a rewrite and, since verify checks
		// every checksum, a verify too.
		dataDamage := c.Read == corrupt.ReadSucceeds && c.Is == bundle.ErrCorrupt
		mustFail := c.Read == corrupt.ReadFails || (c.Read == corrupt.ReadSucceeds && args[0] == "rewrite") ||
			(dataDamage && args[0] == "verify")
		switch {
		case mustFail && r.code != exitIO:
			t.Errorf("%s: exit %d, want %d; stderr:\n%s", args[0], r.code, exitIO, r.stderr)
		case mustFail:
			if why := c.MatchText(r.stderr); why != "" {
				t.Errorf("%s: %s:\n%s", args[0], why, r.stderr)
			}
		}
		if args[0] != "rewrite" {
			continue
		}
		if r.code == exitOK {
			m, err := savedmodel.Read(context.Background(), dst, savedmodel.ReadOptions{})
			if err != nil {
				t.Errorf("rewrite exit 0 but DST does not read back: %v", err)
			} else {
				m.Close()
			}
		} else if ents, _ := os.ReadDir(outParent); len(ents) != 0 {
			t.Errorf("failed rewrite (exit %d) left %d entries in DST's directory", r.code, len(ents))
		}
	}
	after, err := corrupt.HashTree(base)
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(before, after) {
		t.Errorf("input changed")
	}
}
