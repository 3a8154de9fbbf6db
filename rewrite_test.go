package unmirror_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/unmirror/unmirror"
	"github.com/unmirror/unmirror/device"
	"github.com/unmirror/unmirror/internal/corrupt"
	"github.com/unmirror/unmirror/internal/fixtures"
)

var update = flag.Bool("update", false, "rewrite golden files")

// tree returns a hash of every file, directory and symlink under dir,
// keyed by path relative to dir.
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	h, err := corrupt.HashTree(dir)
	require.NoError(t, err)
	return h
}

func targets() []device.Target { return []device.Target{device.CPU, device.GPU} }

// TestRewriteEveryFixture runs the default pipeline on every fixture for
// both targets. The output must pass the verify pass (Rewrite returns a
// FindingsError otherwise), leave the input untouched, and be a fixed point:
// rewriting it again changes nothing and writes the same bytes.
func TestRewriteEveryFixture(t *testing.T) {
	for _, fx := range fixtures.All(t) {
		for _, target := range targets() {
			t.Run(fx.Name+"/"+target.String(), func(t *testing.T) {
				before := tree(t, fx.Dir)
				out1 := filepath.Join(t.TempDir(), "out1")
				_, err := unmirror.Rewrite(context.Background(), fx.Dir, out1, unmirror.Options{Target: target})
				require.NoError(t, err)
				assert.Equal(t, before, tree(t, fx.Dir), "the input was modified")
				// "unmirror verify" must accept what "unmirror rewrite"
				// wrote: the two never disagree about the same output.
				assertPortable(t, out1, target)

				out2 := filepath.Join(t.TempDir(), "out2")
				rep, err := unmirror.Rewrite(context.Background(), out1, out2, unmirror.Options{Target: target})
				require.NoError(t, err)
				for _, p := range rep.Passes {
					assert.Empty(t, p.Changes, "second rewrite: pass %s changed the model", p.Pass)
				}
				assert.Equal(t, tree(t, out1), tree(t, out2), "second rewrite wrote different bytes")
			})
		}
	}
}

// assertPortable fails the test unless Inspect calls the model in dir
// portable on target.
func assertPortable(t *testing.T, dir string, target device.Target) {
	t.Helper()
	in, err := unmirror.Inspect(context.Background(), dir, unmirror.InspectOptions{Targets: []device.Target{target}})
	require.NoError(t, err)
	v := in.Verdicts[0]
	assert.True(t, v.Portable, "the rewritten model is not portable to %s: %+v", target, v.Reasons)
}

// TestRewriteKeepsControlCheckpoint checks that a model saved without a
// strategy keeps its checkpoint byte for byte.
func TestRewriteKeepsControlCheckpoint(t *testing.T) {
	for _, fx := range fixtures.All(t) {
		if fx.Strategy != "" || len(fx.Artifacts) > 0 {
			continue
		}
		t.Run(fx.Name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			_, err := unmirror.Rewrite(context.Background(), fx.Dir, out, unmirror.Options{})
			require.NoError(t, err)
			in, got := tree(t, filepath.Join(fx.Dir, "variables")), tree(t, filepath.Join(out, "variables"))
			assert.Equal(t, in, got)
		})
	}
}

// TestDryRunReportGolden pins the report of a dry run of the default
// pipeline on fixtures with different strategies. Run with -update to
// accept a change.
func TestDryRunReportGolden(t *testing.T) {
	for _, name := range []string{"mirrored_expand", "tf1_ps_worker", "sharded_variable"} {
		t.Run(name, func(t *testing.T) {
			fx := fixtures.ByName(t, name)
			dst := filepath.Join(t.TempDir(), "never")
			rep, err := unmirror.Rewrite(context.Background(), fx.Dir, dst, unmirror.Options{DryRun: true})
			require.NoError(t, err)
			_, statErr := os.Stat(dst)
			assert.ErrorIs(t, statErr, fs.ErrNotExist, "a dry run wrote its output")
			got, err := json.MarshalIndent(rep, "", "  ")
			require.NoError(t, err)
			got = append(got, '\n')
			golden := filepath.Join("testdata", "golden", "dryrun-"+name+".json")
			if *update {
				require.NoError(t, os.MkdirAll(filepath.Dir(golden), 0o755))
				require.NoError(t, os.WriteFile(golden, got, 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err, "run go test -update to create the golden file")
			if !bytes.Equal(want, got) {
				t.Errorf("dry-run report differs from %s (go test -run TestDryRunReportGolden -update to accept):\n%s", golden, got)
			}
		})
	}
}
