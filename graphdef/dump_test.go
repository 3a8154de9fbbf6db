package graphdef

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/golden")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run go test -update after checking):\n%s", path, got)
	}
}

func TestDumpGoldenRealModels(t *testing.T) {
	want := map[string]string{
		"tensorflow/cc/saved_model/testdata/x_plus_y_v2_debuginfo":                "x_plus_y_v2_debuginfo.txt",
		"tensorflow/cc/saved_model/testdata/half_plus_two/00000123":               "half_plus_two.txt",
		"tensorflow/cc/saved_model/testdata/StaticHashTableModule":                "static_hash_table_module.txt",
		"tensorflow/c/experimental/saved_model/internal/testdata/SimpleWhileLoop": "simple_while_loop.txt",
	}
	found := 0
	for _, m := range realModels(t) {
		file, ok := want[m.name]
		if !ok {
			continue
		}
		found++
		var buf bytes.Buffer
		if err := Dump(&buf, m.mg.GetGraphDef(), DumpOptions{}); err != nil {
			t.Fatal(err)
		}
		var again bytes.Buffer
		if err := Dump(&again, m.mg.GetGraphDef(), DumpOptions{}); err != nil || !bytes.Equal(buf.Bytes(), again.Bytes()) {
			t.Errorf("%s: two dumps differ", m.name)
		}
		golden(t, file, buf.Bytes())
	}
	if found != len(want) {
		t.Errorf("found %d of %d golden models", found, len(want))
	}
}

// TestDumpGoldenEdits dumps the sample after the edits a de-distribution
// pass makes: collectives to Identity, a replica handle folded into the
// primary, an init NoOp removed with its control edges forwarded.
func TestDumpGoldenEdits(t *testing.T) {
	g := editSample()
	steps := []func() error{
		func() error { return g.Main().ReplaceByIdentity("nccl", 0) },
		func() error { return g.Function("f").ReplaceByIdentity("all", 0) },
		func() error { _, err := g.Main().RedirectNode("v1", "v"); return err },
		func() error { return g.Main().Remove(DanglingError, "v1") },
		func() error { return g.Main().Remove(DanglingForwardControl, "init") },
		func() error { return g.Function("f").Remove(DanglingError, "gs") },
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	checkIndex(t, g)
	if err := Validate(g.GraphDef()); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := Dump(&buf, g.GraphDef(), DumpOptions{}); err != nil {
		t.Fatal(err)
	}
	golden(t, "edited_sample.txt", buf.Bytes())

	buf.Reset()
	if err := Dump(&buf, g.GraphDef(), DumpOptions{Bodies: []string{"f"}, NoAttrs: true}); err != nil {
		t.Fatal(err)
	}
	if s := buf.String(); strings.Contains(s, "graph:") || !strings.Contains(s, "function f(") || strings.Contains(s, "      T = ") {
		t.Errorf("Bodies/NoAttrs not honoured:\n%s", s)
	}
}
