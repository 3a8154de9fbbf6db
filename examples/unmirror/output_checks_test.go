package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRewriteOutputChecks: rewrite refuses an output that is the input (also
// through a symbolic link), lies inside it or contains it, saying so and
// without inviting --force; it refuses an existing output that is not a
// SavedModel before it runs the passes (nothing on stdout); it creates
// missing parent directories.
func TestRewriteOutputChecks(t *testing.T) {
	tmp := t.TempDir()
	in := filepath.Join(tmp, "in")
	if err := os.CopyFS(in, os.DirFS(fixture("mirrored_expand"))); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("in", filepath.Join(tmp, "link")); err != nil {
		t.Fatal(err)
	}
	junk := filepath.Join(tmp, "junk")
	dirWithFile(t, junk, "notes.txt", []byte("mine"))
	saved := filepath.Join(tmp, "saved")
	dirWithFile(t, saved, "saved_model.pb", nil)
	tests := []struct {
		name   string
		args   []string
		stderr string // in the first line of stderr
	}{
		{"same", []string{in, in}, "output and input are the same directory"},
		{"same, force", []string{"--force", in, in}, "output and input are the same directory"},
		{"same, relative", []string{in, filepath.Join(in, "..", "in")}, "output and input are the same directory"},
		{"same through a link", []string{"--force", in, filepath.Join(tmp, "link")}, "same directory (through a symbolic link)"},
		{"inside", []string{in, filepath.Join(in, "variables", "out")}, "output lies inside the input directory"},
		{"contains", []string{"--force", in, tmp}, "output contains the input directory"},
		{"exists, not a SavedModel", []string{in, junk}, "not a SavedModel directory and not empty"},
		{"exists, a file", []string{in, filepath.Join(junk, "notes.txt")}, "not a directory, refusing to replace it"},
		{"exists, a SavedModel", []string{in, saved}, "output exists (use --force to replace it)"},
		{"exists, force, not a SavedModel", []string{"--force", in, junk}, "not a SavedModel directory and not empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := cli(t, append([]string{"rewrite"}, tt.args...)...)
			if r.code != exitIO {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, exitIO, r.stdout, r.stderr)
			}
			first, _, _ := strings.Cut(r.stderr, "\n")
			if !strings.Contains(first, tt.stderr) {
				t.Errorf("first stderr line %q does not say %q", first, tt.stderr)
			}
			if strings.Contains(r.stderr, "--force") && !strings.Contains(tt.stderr, "--force") {
				t.Errorf("stderr invites --force:\n%s", r.stderr)
			}
			if r.stdout != "" {
				t.Errorf("the passes ran before the output was refused; stdout:\n%s", r.stdout)
			}
		})
	}
	if b, err := os.ReadFile(filepath.Join(junk, "notes.txt")); err != nil || string(b) != "mine" {
		t.Errorf("existing output changed: %q, %v", b, err)
	}
	if ents, _ := os.ReadDir(tmp); len(ents) != 4 {
		t.Errorf("left in %s: %v", tmp, ents)
	}

	// With --json, the refusal is an error document.
	r := cli(t, "rewrite", "--json", in, in)
	var doc struct {
		Command  string `json:"command"`
		Error    string `json:"error"`
		ExitCode int    `json:"exit_code"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || doc.Command != "rewrite" || doc.ExitCode != exitIO ||
		!strings.Contains(doc.Error, "output and input are the same directory") {
		t.Errorf("rewrite --json SRC SRC: exit %d, document %+v (%v):\n%s", r.code, doc, err, r.stdout)
	}

	deep := filepath.Join(tmp, "a", "b", "out")
	if r := cli(t, "rewrite", "--quiet", in, deep); r.code != 0 {
		t.Fatalf("rewrite into missing parents: exit %d\n%s", r.code, r.stderr)
	}
	if r := cli(t, "verify", deep); r.code != 0 {
		t.Errorf("verify %s: exit %d\n%s%s", deep, r.code, r.stdout, r.stderr)
	}
}
