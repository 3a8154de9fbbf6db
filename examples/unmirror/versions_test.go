package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/unmirror/unmirror/internal/corrupt"
	"github.com/unmirror/unmirror/savedmodel"
)

// TestServingBaseFolder is issue 16's item 6: a TF Serving model base
// folder (models/foo/1, 2, 3) given to inspect, verify or rewrite is named
// as such, with its versions and how to go on; rewrite --all-versions
// rewrites each version to OUT/V, atomically, so that version 3's damaged
// data fails it alone (named, nothing in OUT/3) while OUT/1 and OUT/2 are
// valid; verify --all-versions checks them all.
func TestServingBaseFolder(t *testing.T) {
	tmp := t.TempDir()
	base := filepath.Join(tmp, "models", "foo")
	for v, fx := range map[string]string{"1": "plain", "2": "mirrored_expand", "3": "plain"} {
		if err := corrupt.CopyTree(fixture(fx), filepath.Join(base, v)); err != nil {
			t.Fatal(err)
		}
	}
	overwriteLargestEntry(t, filepath.Join(base, "3"))
	out := filepath.Join(tmp, "out")
	for _, tt := range []struct {
		golden       string
		code         int
		args         []string
		stdoutGolden bool
	}{
		{"inspect-serving-base.stderr", exitIO, []string{"inspect", base}, false},
		{"verify-serving-base.stderr", exitIO, []string{"verify", base}, false},
		{"rewrite-serving-base.stderr", exitIO, []string{"rewrite", base, out}, false},
		{"rewrite-all-versions.txt", exitIO, []string{"rewrite", "--all-versions", base, out}, true},
		{"verify-all-versions.txt", exitOK, []string{"verify", "--all-versions", out}, true},
	} {
		r := cli(t, tt.args...)
		if r.code != tt.code {
			t.Fatalf("%v: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", tt.args, r.code, tt.code, r.stdout, r.stderr)
		}
		got := r.stderr
		if tt.stdoutGolden {
			got = r.stdout
		}
		golden(t, tt.golden, strings.ReplaceAll(got, tmp, "$TMP"))
	}
	for _, v := range []string{"1", "2"} {
		m, err := savedmodel.Read(context.Background(), filepath.Join(out, v), savedmodel.ReadOptions{})
		if err != nil {
			t.Errorf("out/%s: %v", v, err)
			continue
		}
		m.Close()
	}
	if ents, _ := os.ReadDir(out); len(ents) != 2 {
		t.Errorf("out holds %d entries, want 1 and 2 only", len(ents))
	}

	r := cli(t, "verify", "--all-versions", "--json", base)
	var doc struct {
		Base     string `json:"base"`
		Versions []struct {
			Version  string          `json:"version"`
			ExitCode int             `json:"exit_code"`
			Document json.RawMessage `json:"document"`
		} `json:"versions"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || r.code != exitIO {
		t.Fatalf("verify --all-versions --json: exit %d, %v\n%s", r.code, err, r.stdout)
	}
	var codes []int
	for _, v := range doc.Versions {
		codes = append(codes, v.ExitCode)
		if !json.Valid(v.Document) {
			t.Errorf("version %s: document is not JSON: %s", v.Version, v.Document)
		}
	}
	if doc.Base != base || len(codes) != 3 || codes[0] != exitOK || codes[1] != exitFindings || codes[2] != exitIO {
		t.Errorf("base %q, exit codes %v; want %q, [0 1 3]", doc.Base, codes, base)
	}
}
