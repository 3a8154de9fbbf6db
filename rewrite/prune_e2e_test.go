package rewrite

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/unmirror/unmirror/internal/fixtures"
	"github.com/unmirror/unmirror/savedmodel"
)

// TestEndToEndLoadCheck rewrites every fixture with the default pipeline
// (every registered pass), writes it, and runs TensorFlow's loaders on the
// result through testdata/tf/loadcheck.py, in every runtime the manifest
// lists: the rewritten model must load and compute the manifest's outputs.
// It runs only with UNMIRROR_LOADCHECK=1 (it needs the Python venv and takes
// minutes); UNMIRROR_LOADCHECK_ONLY limits it to a comma-separated list of
// fixtures and UNMIRROR_DROP_OPTIMIZER=1 sets Options.DropOptimizer.
func TestEndToEndLoadCheck(t *testing.T) {
	py := venvPython(t)
	only := map[string]bool{}
	for _, n := range strings.Split(os.Getenv("UNMIRROR_LOADCHECK_ONLY"), ",") {
		if n != "" {
			only[n] = true
		}
	}
	opts := Options{DropOptimizer: os.Getenv("UNMIRROR_DROP_OPTIMIZER") == "1"}
	out := t.TempDir()
	for _, f := range fixtures.All(t) {
		if len(only) > 0 && !only[f.Name] {
			continue
		}
		t.Run(f.Name, func(t *testing.T) {
			m := rpReadFixture(t, f.Name)
			rep, err := Default().Run(context.Background(), m, opts)
			require.NoError(t, err)
			var sum strings.Builder
			require.NoError(t, rep.WriteSummary(&sum))
			t.Logf("pipeline %v:\n%s", Default().Names(), sum.String())
			dir := filepath.Join(out, f.Name)
			require.NoError(t, m.Write(context.Background(), dir, savedmodel.WriteOptions{}))
			for _, rt := range f.Runtimes {
				loadCheck(t, py, dir, "testdata/models/manifest.json", f.Name, string(rt))
			}
		})
	}
}

// loadCheck runs testdata/tf/loadcheck.py (python py, from the repository
// root) on the model in dir against fixture name of the manifest (a path
// relative to the repository root) in runtime rt, and fails the test
// unless the model loads and computes the manifest's outputs.
func loadCheck(t *testing.T, py, dir, manifest, name, rt string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, "testdata/tf/loadcheck.py", dir, "--expect", manifest, "--name", name, "--runtime", rt, "--expect-one-replica")
	cmd.Dir = ".."
	b, err := cmd.Output()
	var res struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	jerr := json.Unmarshal([]byte(lines[len(lines)-1]), &res)
	t.Logf("%s %s: %s", name, rt, lines[len(lines)-1])
	if err != nil || jerr != nil || !res.OK {
		t.Errorf("%s in %s: %v %v %s", name, rt, err, jerr, res.Error)
	}
}

// venvPython returns the absolute path of the venv's python, skipping the
// test unless UNMIRROR_LOADCHECK=1 and the venv exists.
func venvPython(t *testing.T) string {
	t.Helper()
	if os.Getenv("UNMIRROR_LOADCHECK") != "1" {
		t.Skip("set UNMIRROR_LOADCHECK=1 to run TensorFlow's loaders on rewritten models")
	}
	py, err := filepath.Abs(filepath.Join("..", ".venv", "bin", "python"))
	require.NoError(t, err)
	if _, err := os.Stat(py); err != nil {
		t.Skipf("no venv: %v", err)
	}
	return py
}
