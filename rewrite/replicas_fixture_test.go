package rewrite

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	typespb "github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"

	"github.com/unmirror/unmirror/graphdef"
	"github.com/unmirror/unmirror/internal/fixtures"
	"github.com/unmirror/unmirror/savedmodel"
	"github.com/unmirror/unmirror/savedmodel/bundle"
)

// rpFixtureDir returns the directory of fixture name of testdata/models.
func rpFixtureDir(t *testing.T, name string) string {
	t.Helper()
	return fixtures.ByName(t, name).Dir
}

func rpReadFixture(t *testing.T, name string) *savedmodel.Model {
	t.Helper()
	m, err := savedmodel.Read(context.Background(), rpFixtureDir(t, name), savedmodel.ReadOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { m.Close() })
	return m
}

// replicaOps lists the variable ops of the main graphs that look like
// replicas by name.
func replicaOps(m *savedmodel.Model) []string {
	var out []string
	for _, mg := range m.Proto.MetaGraphs {
		for _, n := range mg.GetGraphDef().GetNode() {
			if isVariableOp(n.GetOp()) && (mirroredReplicaName.MatchString(n.GetName()) || towerReplicaName.MatchString(n.GetName())) {
				out = append(out, n.GetName())
			}
		}
	}
	return out
}

// TestReplicasFixturesByArtifact runs replicas and saver on every fixture:
// those the manifest lists with replica_variables lose every replica op and
// every distributed component; the others are not changed at all.
func TestReplicasFixturesByArtifact(t *testing.T) {
	for _, f := range fixtures.All(t) {
		t.Run(f.Name, func(t *testing.T) {
			m := rpReadFixture(t, f.Name)
			rep := rpRun(t, m, Options{}, Replicas, Saver)
			if !f.Has(fixtures.ReplicaVariables) {
				assert.False(t, rep.Changed(), "changes: %v", rep.Passes)
				return
			}
			assert.NotEmpty(t, rep.Passes[0].Changes)
			assert.Empty(t, replicaOps(m))
			for _, obj := range m.Proto.MetaGraphs[0].GetObjectGraphDef().GetNodes() {
				assert.Empty(t, obj.GetVariable().GetExperimentalDistributedVariableComponents())
			}
			restored, _ := saverKeys(t, m)
			assert.Equal(t, m.OutputKeys(), restored)
		})
	}
}

func TestReplicasFixtureExpand(t *testing.T) {
	m := rpReadFixture(t, "mirrored_expand")
	require.NotEmpty(t, replicaOps(m), "the fixture has replica VarHandleOps")
	keys := slices.Clone(m.OutputKeys())
	rep := rpRun(t, m, Options{}, Replicas, Saver)
	assert.Empty(t, replicaOps(m))
	assert.Empty(t, rep.Findings())
	mg := m.Proto.MetaGraphs[0]
	og := mg.GetObjectGraphDef()
	for id, obj := range og.GetNodes() {
		assert.Empty(t, obj.GetVariable().GetExperimentalDistributedVariableComponents(), "object %d", id)
	}
	for name, fn := range og.GetConcreteFunctions() {
		for _, id := range fn.GetBoundInputs() {
			require.Less(t, int(id), len(og.GetNodes()), name)
			assert.NotNil(t, og.GetNodes()[id].GetVariable(), "%s: bound input %d is a variable", name, id)
		}
	}
	assert.Equal(t, keys, m.OutputKeys(), "TF2 saved no replica values")
	assert.False(t, m.OutputChanged())
	// Every call that passed a replica handle now passes a primary one.
	g := graphdef.New(mg.GraphDef)
	for _, ref := range g.Ops("StatefulPartitionedCall") {
		for _, in := range ref.Node.GetInput() {
			assert.NotContains(t, in, "/replica_", "%s", ref.Node.GetName())
		}
	}
	assert.NoError(t, graphdef.Validate(mg.GraphDef))
	again := rpRun(t, m, Options{}, Replicas, Saver)
	assert.False(t, again.Changed())
}

func TestReplicasFixtureTowers(t *testing.T) {
	for _, name := range []string{"tf1_towers", "tf1_towers_pbtxt"} {
		t.Run(name, func(t *testing.T) {
			m := rpReadFixture(t, name)
			require.ElementsMatch(t, []string{"tower_1/b", "tower_1/w"}, replicaOps(m))
			rep := rpRun(t, m, Options{}, Replicas, Saver)
			assert.Empty(t, replicaOps(m))
			assert.Equal(t, []string{"b", "w"}, m.OutputKeys())
			assert.Contains(t, whats(rep.Passes[0].Changes), `deleted the entry of replica tower_1/w of w (max abs diff from "w": 0)`)
			restored, _ := saverKeys(t, m)
			assert.Equal(t, []string{"b", "w"}, restored, "the restore reads exactly the checkpoint's keys")
			for _, col := range []string{"variables", "trainable_variables"} {
				for _, b := range m.Proto.MetaGraphs[0].CollectionDef[col].GetBytesList().GetValue() {
					node, _ := variableDefNode(b)
					assert.False(t, strings.HasPrefix(node, "tower_1/"), "%s holds %s", col, node)
				}
			}
			again := rpRun(t, m, Options{}, Replicas, Saver)
			assert.False(t, again.Changed())
		})
	}
}

// saverKeys returns the sorted keys the saver of meta graph 0 restores and
// saves.
func saverKeys(t *testing.T, m *savedmodel.Model) (restored, saved []string) {
	t.Helper()
	c := &Context{Model: m, graphs: map[int]*graphdef.Graph{}, pass: Saver, report: &PassReport{}}
	ops, err := saverOps(c, 0)
	require.NoError(t, err)
	for _, op := range ops {
		if op.restore {
			restored = append(restored, op.names...)
		} else {
			saved = append(saved, op.names...)
		}
	}
	slices.Sort(restored)
	slices.Sort(saved)
	return slices.Compact(restored), slices.Compact(saved)
}

// TestReplicasFixtureTowersDiverged rewrites the tower fixture's checkpoint
// with the bundle Writer so that tower_1/w differs from w, and checks the
// divergence check.
func TestReplicasFixtureTowersDiverged(t *testing.T) {
	src := rpFixtureDir(t, "tf1_towers")
	dir := t.TempDir()
	pb, err := os.ReadFile(filepath.Join(src, savedmodel.SavedModelPB))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, savedmodel.SavedModelPB), pb, 0o644))
	in, err := bundle.Open(os.DirFS(src), savedmodel.VariablesPrefix)
	require.NoError(t, err)
	defer in.Close()
	require.NoError(t, os.Mkdir(filepath.Join(dir, savedmodel.VariablesDir), 0o755))
	w, err := bundle.NewWriter(filepath.Join(dir, savedmodel.VariablesDir), "variables", bundle.WriterOptions{NumShards: in.NumShards()})
	require.NoError(t, err)
	const delta = 0.25
	for _, key := range in.KeysInDataOrder() {
		if key != "tower_1/w" {
			require.NoError(t, w.Copy(in, key))
			continue
		}
		e, _ := in.Entry(key)
		require.Equal(t, typespb.DataType_DT_FLOAT, e.GetDtype())
		rc, err := in.OpenEntry(key)
		require.NoError(t, err)
		raw, err := io.ReadAll(rc)
		rc.Close()
		require.NoError(t, err)
		f := math.Float32frombits(binary.LittleEndian.Uint32(raw[4:]))
		binary.LittleEndian.PutUint32(raw[4:], math.Float32bits(f+delta))
		require.NoError(t, w.Add(key, e, bytes.NewReader(raw)))
	}
	require.NoError(t, w.Close())

	t.Run("refused", func(t *testing.T) {
		m, err := savedmodel.Read(context.Background(), dir, savedmodel.ReadOptions{})
		require.NoError(t, err)
		defer m.Close()
		_, err = NewPipeline(Replicas, Saver).Run(t.Context(), m, Options{})
		var de *DivergenceError
		require.ErrorAs(t, err, &de)
		assert.Equal(t, "w", de.Variable)
		assert.Equal(t, "tower_1/w", de.Replica)
		assert.InDelta(t, delta, de.MaxAbsDiff, 1e-6)
		assert.Contains(t, replicaOps(m), "tower_1/w", "nothing changed")
	})
	t.Run("allowed", func(t *testing.T) {
		m, err := savedmodel.Read(context.Background(), dir, savedmodel.ReadOptions{})
		require.NoError(t, err)
		defer m.Close()
		rep := rpRun(t, m, Options{AllowDivergence: true}, Replicas, Saver)
		assert.Equal(t, []string{"b", "w"}, m.OutputKeys())
		var fs []string
		for _, n := range rep.Notes() {
			fs = append(fs, n.What)
		}
		assert.Contains(t, strings.Join(fs, "\n"), "replica tower_1/w (checkpoint key \"tower_1/w\") diverges from variable w")
	})
}

// TestSaverFixtureRestoresEveryVariable: after the passes, the saver of
// each fixture restores every variable op that the main graph holds, and
// the keys it reads are exactly the checkpoint's (bar the object graph,
// which TF2 restores without assigning).
func TestSaverFixtureRestoresEveryVariable(t *testing.T) {
	for _, name := range []string{"tf1_ps_worker", "tf1_towers", "mirrored_expand", "mirrored_save_devices", "keras_mirrored"} {
		t.Run(name, func(t *testing.T) {
			m := rpReadFixture(t, name)
			rep := rpRun(t, m, Options{}, Replicas, Saver)
			if name == "tf1_ps_worker" {
				assert.False(t, rep.Changed(), "the sharded saver is kept as it is")
			}
			restored, saved := saverKeys(t, m)
			assert.Equal(t, m.OutputKeys(), restored)
			assert.Equal(t, m.OutputKeys(), saved)

			c := &Context{Model: m, graphs: map[int]*graphdef.Graph{}, pass: Saver, report: &PassReport{}}
			ops, err := saverOps(c, 0)
			require.NoError(t, err)
			targets := map[string]bool{}
			for _, op := range ops {
				for v := range restoredTargets(c, op.body) {
					targets[v] = true
				}
			}
			for _, n := range m.Proto.MetaGraphs[0].GraphDef.GetNode() {
				if isVariableOp(n.GetOp()) {
					assert.True(t, targets[n.GetName()], "variable %s is not restored", n.GetName())
				}
			}
		})
	}
}

// rpPipeline returns replicas and saver with the other passes a load needs
// (collectives, devices) when they are registered, in default order.
func rpPipeline() *Pipeline {
	var ps []*Pass
	for _, name := range []string{"replicas", "collectives", "saver", "devices"} {
		if p := Lookup(name); p != nil {
			ps = append(ps, p)
		}
	}
	return NewPipeline(ps...)
}

// rpRewriteFixture rewrites fixture name with rpPipeline and writes the
// result into a temporary directory, which it returns.
func rpRewriteFixture(t *testing.T, name string) string {
	t.Helper()
	m := rpReadFixture(t, name)
	_, err := rpPipeline().Run(t.Context(), m, Options{})
	require.NoError(t, err)
	dir := filepath.Join(t.TempDir(), name)
	require.NoError(t, m.Write(t.Context(), dir, savedmodel.WriteOptions{}))
	return dir
}

// TestReplicasSaverIdempotentAfterWrite rewrites the replica and saver
// fixtures, writes them, reads the output back and runs the passes again:
// the second run must change nothing.
func TestReplicasSaverIdempotentAfterWrite(t *testing.T) {
	for _, name := range []string{"mirrored_expand", "tf1_towers", "tf1_ps_worker", "plain"} {
		t.Run(name, func(t *testing.T) {
			dir := rpRewriteFixture(t, name)
			out, err := savedmodel.Read(context.Background(), dir, savedmodel.ReadOptions{})
			require.NoError(t, err)
			defer out.Close()
			again, err := NewPipeline(Replicas, Saver).Run(t.Context(), out, Options{})
			require.NoError(t, err)
			assert.False(t, again.Changed(), "second run: %v", again.Passes)
			assert.Empty(t, replicaOps(out))
		})
	}
}

// TestReplicasSaverLoadCheck rewrites the fixtures with replicas or a
// sharded saver through rpPipeline, writes them and runs TensorFlow's
// loaders (testdata/tf/loadcheck.py) in every runtime the manifest lists.
// It runs only with UNMIRROR_LOADCHECK=1.
func TestReplicasSaverLoadCheck(t *testing.T) {
	py := venvPython(t)
	runtimes := map[string][]fixtures.Runtime{}
	for _, f := range fixtures.All(t) {
		runtimes[f.Name] = f.Runtimes
	}
	for _, name := range []string{"mirrored_expand", "keras_mirrored_expand", "tf1_mirrored_nccl", "tf1_towers", "tf1_towers_pbtxt", "tf1_ps_worker"} {
		t.Run(name, func(t *testing.T) {
			dir := rpRewriteFixture(t, name)
			require.NotEmpty(t, runtimes[name])
			for _, rt := range runtimes[name] {
				loadCheck(t, py, dir, "testdata/models/manifest.json", name, string(rt))
			}
			saveCheck(t, py, dir)
		})
	}
}

// saveCheck runs the saver of the model in dir with
// testdata/saver/savecheck.py: restore, then save into a new checkpoint in
// one TF1 session on one CPU. The keys written must be the model's.
func saveCheck(t *testing.T, py, dir string) {
	t.Helper()
	m, err := savedmodel.Read(context.Background(), dir, savedmodel.ReadOptions{})
	require.NoError(t, err)
	want := slices.Clone(m.OutputKeys())
	m.Close()
	out := filepath.Join(t.TempDir(), "ckpt")
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	b, err := exec.CommandContext(ctx, py, filepath.Join("testdata", "saver", "savecheck.py"), dir, out).Output()
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	t.Logf("save: %s", lines[len(lines)-1])
	var res struct {
		OK     bool     `json:"ok"`
		Keys   []string `json:"keys"`
		Shards int      `json:"shards"`
		Error  string   `json:"error"`
	}
	require.NoError(t, json.Unmarshal([]byte(lines[len(lines)-1]), &res))
	require.True(t, res.OK, res.Error)
	assert.Equal(t, want, res.Keys)
}
