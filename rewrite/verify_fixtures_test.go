package rewrite

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/unmirror/unmirror/device"
	"github.com/unmirror/unmirror/graphdef"
	"github.com/unmirror/unmirror/internal/fixtures"
	"github.com/unmirror/unmirror/ops"
)

var dvUpdate = flag.Bool("update", false, "rewrite the golden files under testdata/")

// TestFixturesStrategyFree runs every built-in pass on every fixture for
// both targets and checks what a user loading the result would notice:
// no device outside the target and no NCCL or collective op remains, the
// fixtures that had cross-device ops were edited, TPU ops (left for the
// prune pass) are only off serving paths, and a second run changes nothing.
func TestFixturesStrategyFree(t *testing.T) {
	fs := fixtures.All(t)
	require.NotEmpty(t, fs)
	for _, fx := range fs {
		for _, target := range []device.Target{device.CPU, device.GPU} {
			t.Run(fx.Name+"/"+target.String(), func(t *testing.T) {
				m := rpReadFixture(t, fx.Name)
				opts := Options{Target: target}
				if fx.Has(fixtures.CollectiveOps) {
					// collective_fn's signatures call the collectives; the
					// NCCL ops of tf1_towers are on its training path only.
					assert.NotEmpty(t, dvFindingsOf(Check(m, opts), "distribution op:"), "the input has reachable collectives")
				}
				rep, err := Default().Run(context.Background(), m, opts)
				require.NoError(t, err)
				assert.Empty(t, dvFindingsOf(rep.Findings(), "device:"))
				for _, f := range dvFindingsOf(rep.Findings(), "distribution op:") {
					assert.True(t, strings.Contains(f.What, "TPU"), "only TPU ops may remain: %s: %s", f.Where, f.What)
					reach := graphdef.New(m.Proto.MetaGraphs[f.Where.MetaGraph].GraphDef).Reachable(graphdef.ServingRoots(m.Proto.MetaGraphs[f.Where.MetaGraph]))
					assert.False(t, reach.Function(f.Where.Function), "TPU op on a serving path: %s", f.Where)
				}
				var coll []Change
				for _, p := range rep.Passes {
					if p.Pass == Collectives.Name {
						coll = p.Changes
					}
				}
				if fx.Has(fixtures.NCCLOps) || fx.Has(fixtures.CollectiveOps) {
					assert.NotEmpty(t, coll)
				} else {
					assert.Empty(t, coll)
				}
				// No NCCL or collective op is left anywhere.
				g := graphdef.New(m.Proto.MetaGraphs[0].GraphDef)
				for _, spec := range ops.Distribution {
					if collOp(spec.Op) {
						assert.Empty(t, g.Ops(spec.Op), spec.Op)
					}
				}
				again, err := Default().Run(context.Background(), m, opts)
				require.NoError(t, err)
				assert.False(t, again.Changed(), "a second run must change nothing")
			})
		}
	}
}

// TestFixtureControlUnchangedByCollectives checks the control fixture: the
// collectives pass changes nothing and verify finds nothing once devices
// have run.
func TestFixtureControlUnchangedByCollectives(t *testing.T) {
	m := rpReadFixture(t, "plain")
	rep, err := NewPipeline(Collectives, Verify).Run(context.Background(), m, Options{Target: device.GPU})
	require.NoError(t, err)
	assert.False(t, rep.Changed())
	// The saver functions pin /device:CPU:*, which the GPU policy writes as
	// /device:CPU:0: a device finding, the only kind.
	for _, f := range rep.Findings() {
		assert.Contains(t, f.What, `"/device:CPU:*"`)
	}
}

func dvFindingsOf(fs []Finding, prefix string) []Finding {
	var out []Finding
	for _, f := range fs {
		if strings.HasPrefix(f.What, prefix) {
			out = append(out, f)
		}
	}
	return out
}

// TestGoldenDryRunReport compares the dry-run report of the collectives,
// devices and verify passes on the TF1 NCCL tower fixture, for a GPU target,
// with testdata/collectives/tf1_towers_gpu.txt (go test -run Golden -update
// rewrites it).
func TestGoldenDryRunReport(t *testing.T) {
	m := rpReadFixture(t, "tf1_towers")
	rep, err := NewPipeline(Collectives, Devices, Verify).Run(context.Background(), m, Options{Target: device.GPU, DryRun: true})
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, rep.WriteText(&buf))
	path := filepath.Join("testdata", "collectives", "tf1_towers_gpu.txt")
	if *dvUpdate {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -run Golden -update to create it")
	assert.Equal(t, string(want), buf.String())
}
