package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/unmirror/unmirror/internal/fixtures"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// binary is the unmirror command built once by TestMain; the tests drive it
// as a user does, through arguments, output and exit code.
var binary string

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "unmirror-cli-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "unmirror")
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	stdout, stderr string
	code           int
}

// cli runs the built binary with args in the package directory.
func cli(t *testing.T, args ...string) result {
	t.Helper()
	cmd := exec.Command(binary, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run %v: %v", args, err)
	}
	return result{out.String(), errb.String(), code}
}

// fixture returns the path of a fixture as a user in this directory types it.
func fixture(name string) string { return filepath.Join("..", "..", "testdata", "models", name) }

// golden compares got with testdata/golden/name, or rewrites the file with
// -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("output differs from %s (go test -update rewrites it):\n%s", path, lineDiff(string(want), got))
	}
}

// lineDiff shows the first differing line of two texts.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var x, y string
		if i < len(w) {
			x = w[i]
		}
		if i < len(g) {
			y = g[i]
		}
		if x != y {
			return fmt.Sprintf("line %d:\n  want %q\n  got  %q", i+1, x, y)
		}
	}
	return "(no line differs)"
}

func TestGolden(t *testing.T) {
	tests := []struct {
		name string
		code int
		args []string
	}{
		{"inspect-plain.txt", 0, []string{"inspect", fixture("plain")}},
		{"inspect-plain.json", 0, []string{"inspect", "--json", fixture("plain")}},
		{"inspect-mirrored_expand.txt", 0, []string{"inspect", fixture("mirrored_expand")}},
		{"inspect-mirrored_expand.json", 0, []string{"inspect", fixture("mirrored_expand"), "--json"}},
		{"inspect-tf1_towers.txt", 0, []string{"inspect", fixture("tf1_towers")}},
		{"inspect-tf1_towers.json", 0, []string{"inspect", "--json", fixture("tf1_towers")}},
		{"inspect-collective_fn.txt", 0, []string{"inspect", fixture("collective_fn")}},
		{"inspect-sharded_variable.txt", 0, []string{"inspect", fixture("sharded_variable")}},
		{"inspect-sharded_variable.json", 0, []string{"inspect", "--json", fixture("sharded_variable")}},
		{"verify-plain.txt", 0, []string{"verify", fixture("plain")}},
		{"verify-tf1_towers.txt", 1, []string{"verify", fixture("tf1_towers")}},
		{"verify-tf1_towers-gpu.json", 1, []string{"verify", "--target", "gpu", "--json", fixture("tf1_towers")}},
		{"verify-tf1_ps_worker.json", 1, []string{"verify", "--json", fixture("tf1_ps_worker")}},
		{"rewrite-dry-mirrored_expand.txt", 0, []string{"rewrite", "--dry-run", fixture("mirrored_expand")}},
		{"rewrite-dry-mirrored_expand-v.txt", 0, []string{"rewrite", "--dry-run", "-v", fixture("mirrored_expand")}},
		{"rewrite-dry-mirrored_expand.json", 0, []string{"rewrite", "--dry-run", "--json", fixture("mirrored_expand")}},
		{"rewrite-dry-sharded_variable.json", 0, []string{"rewrite", "--dry-run", "--json", fixture("sharded_variable")}},
		{"diff-tf1_towers-mirrored_expand.txt", 1, []string{"diff", fixture("tf1_towers"), fixture("mirrored_expand")}},
		{"diff-tf1_towers-mirrored_expand.json", 1, []string{"diff", "--json", fixture("tf1_towers"), fixture("mirrored_expand")}},
		{"diff-same.txt", 0, []string{"diff", fixture("plain"), fixture("plain")}},
		{"diff-sharded_variable-plain.txt", 1, []string{"diff", fixture("sharded_variable"), fixture("plain")}},
		{"diff-sharded_variable-plain.json", 1, []string{"diff", "--json", fixture("sharded_variable"), fixture("plain")}},
		{"passes.txt", 0, []string{"passes"}},
		{"passes-h.txt", 0, []string{"passes", "-h"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := cli(t, tt.args...)
			if r.code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, tt.code, r.stdout, r.stderr)
			}
			if strings.HasSuffix(tt.name, ".json") && !json.Valid([]byte(r.stdout)) {
				t.Fatalf("not one JSON document:\n%s", r.stdout)
			}
			golden(t, tt.name, r.stdout)
			if again := cli(t, tt.args...); again.stdout != r.stdout {
				t.Errorf("output differs between two runs")
			}
		})
	}
}

// TestInspectEveryFixture runs "inspect --json" on every fixture: each
// artifact the manifest lists is named, no other, and only the fixtures
// TensorFlow loads on one CPU (the manifest's "before" column) are called
// portable on a CPU.
func TestInspectEveryFixture(t *testing.T) {
	// tpu_leftover's signatures run, but its saved tpu_step function does
	// not (TF 2.18: No OpKernel was registered to support Op
	// 'TPUReplicateMetadata'): not portable.
	failsWhenCalled := []string{"tpu_leftover"}
	for _, f := range fixtures.All(t) {
		t.Run(f.Name, func(t *testing.T) {
			r := cli(t, "inspect", "--json", fixture(f.Name))
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			var doc struct {
				Model     string `json:"model"`
				Artifacts []struct {
					Name  string `json:"name"`
					Count int    `json:"count"`
				} `json:"artifacts"`
				Verdicts []struct {
					Target   string            `json:"target"`
					Portable bool              `json:"portable"`
					Reasons  []json.RawMessage `json:"reasons"`
				} `json:"verdicts"`
			}
			if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, a := range doc.Artifacts {
				got = append(got, a.Name)
			}
			for _, a := range f.Artifacts {
				if !slices.Contains(got, string(a)) {
					t.Errorf("artifact %s not reported; got %v", a, got)
				}
			}
			for _, a := range got {
				if !f.Has(fixtures.Artifact(a)) {
					t.Errorf("extra artifact %s reported", a)
				}
			}
			if len(doc.Verdicts) != 2 || doc.Verdicts[0].Target != "cpu" || doc.Verdicts[1].Target != "gpu" {
				t.Fatalf("verdicts %+v", doc.Verdicts)
			}
			if want := f.LoadsBefore() && !slices.Contains(failsWhenCalled, f.Name); doc.Verdicts[0].Portable != want {
				t.Errorf("cpu portable %v, want %v", doc.Verdicts[0].Portable, want)
			}
			human := cli(t, "inspect", fixture(f.Name))
			for _, a := range got {
				if !strings.Contains(human.stdout, "  "+a+" (") {
					t.Errorf("human output does not name %s", a)
				}
			}
			if doc.Verdicts[0].Portable != strings.Contains(human.stdout, "cpu: portable") {
				t.Errorf("human verdict disagrees with JSON")
			}
		})
	}
}

func TestExitCodes(t *testing.T) {
	tmp := t.TempDir()
	notModel := filepath.Join(tmp, "empty")
	if err := os.Mkdir(notModel, 0o755); err != nil {
		t.Fatal(err)
	}
	corrupt := filepath.Join(tmp, "corrupt")
	if err := os.Mkdir(corrupt, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(corrupt, "saved_model.pb"), []byte("\x0a\xff\xff\xff\xff\x0f"), 0o644); err != nil {
		t.Fatal(err)
	}
	existing := filepath.Join(tmp, "existing")
	if err := os.Mkdir(existing, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(existing, "keep.txt"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		code   int
		stderr string // first line must contain it
		args   []string
	}{
		{"no command", 2, "unmirror turns", nil},
		{"unknown command", 2, `unknown command "frob"`, []string{"frob"}},
		{"unknown flag", 2, "flag provided but not defined: -frob", []string{"inspect", "-frob", fixture("plain")}},
		{"missing argument", 2, "want 1 argument, got 0", []string{"inspect"}},
		{"too many arguments", 2, "want 2 arguments, got 3", []string{"diff", "a", "b", "c"}},
		{"bad target", 2, `invalid value "tpu" for flag -target`, []string{"verify", "--target", "tpu", fixture("plain")}},
		{"bad pass", 2, "--passes", []string{"rewrite", "--dry-run", "--passes", "devices,frob", fixture("plain")}},
		{"rewrite without DST", 2, "want 2 arguments, got 1", []string{"rewrite", fixture("plain")}},
		{"missing input", 3, "cannot read " + filepath.Join(tmp, "nope"), []string{"inspect", filepath.Join(tmp, "nope")}},
		{"not a SavedModel", 3, "not a SavedModel directory", []string{"verify", notModel}},
		{"corrupt saved_model.pb", 3, "cannot read " + corrupt, []string{"inspect", corrupt}},
		{"rewrite unreadable input", 3, "cannot read " + notModel, []string{"rewrite", notModel, filepath.Join(tmp, "out1")}},
		{"diff unreadable input", 3, "cannot read " + notModel, []string{"diff", fixture("plain"), notModel}},
		{"existing output, not a model", 3, "not a SavedModel directory and not empty", []string{"rewrite", fixture("plain"), existing}},
		{"existing output, force, not a model", 3, "output exists", []string{"rewrite", "--force", fixture("plain"), existing}},
		{"verify findings", 1, "", []string{"verify", fixture("collective_fn")}},
		{"diff differs", 1, "", []string{"diff", fixture("tf1_towers"), fixture("plain")}},
		{"diff same", 0, "", []string{"diff", fixture("tf1_towers"), fixture("tf1_towers_pbtxt")}},
		{"rewrite leaves findings", 1, "not strategy-free", []string{"rewrite", "--passes", "verify", fixture("multiworker_none"), filepath.Join(tmp, "out2")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := cli(t, tt.args...)
			if r.code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, tt.code, r.stdout, r.stderr)
			}
			first, _, _ := strings.Cut(r.stderr, "\n")
			if !strings.Contains(first, tt.stderr) {
				t.Errorf("first stderr line %q does not contain %q", first, tt.stderr)
			}
		})
	}
	if b, err := os.ReadFile(filepath.Join(existing, "keep.txt")); err != nil || string(b) != "mine" {
		t.Errorf("existing output changed: %q, %v", b, err)
	}
	for _, out := range []string{"out1", "out2"} {
		if _, err := os.Stat(filepath.Join(tmp, out)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s written after a failure: %v", out, err)
		}
	}
}

func TestHelpAndVersion(t *testing.T) {
	for _, c := range []string{"inspect", "rewrite", "verify", "diff", "passes"} {
		for _, h := range []string{"-h", "--help"} {
			r := cli(t, c, h)
			if r.code != 0 || !strings.HasPrefix(r.stdout, "Usage: unmirror "+c) || !strings.Contains(r.stdout, "Example") {
				t.Errorf("%s %s: exit %d\n%s%s", c, h, r.code, r.stdout, r.stderr)
			}
			for _, line := range strings.Split(r.stdout, "\n") {
				if len(line) > 80 && !strings.Contains(line, "jq") {
					t.Errorf("%s %s: line wider than 80 columns: %q", c, h, line)
				}
			}
		}
	}
	for _, h := range []string{"-h", "--help", "help"} {
		if r := cli(t, h); r.code != 0 || !strings.Contains(r.stdout, "Commands:") {
			t.Errorf("%s: exit %d\n%s", h, r.code, r.stdout)
		}
	}
	for _, c := range []string{"rewrite", "verify"} {
		if r := cli(t, c, "-h"); !strings.Contains(r.stdout, "cpu|gpu (default cpu)") {
			t.Errorf("%s -h does not name the targets and the default:\n%s", c, r.stdout)
		}
	}
	r := cli(t, "--version")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "unmirror ") || strings.TrimSpace(strings.TrimPrefix(r.stdout, "unmirror ")) == "" {
		t.Errorf("--version: exit %d, %q", r.code, r.stdout)
	}
}
