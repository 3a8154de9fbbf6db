package main

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/unmirror/unmirror/internal/corrupt"
)

// TestRewriteKeepsOtherFiles is issue 16's item 12: the user's files beside
// saved_model.pb (README.txt, labels.txt, TF Hub's tfhub_module.pb) were
// dropped silently. rewrite copies them verbatim and names them in the text
// and JSON reports; --drop-other-files leaves them out and says none.
func TestRewriteKeepsOtherFiles(t *testing.T) {
	tmp := t.TempDir()
	src := filepath.Join(tmp, "model")
	if err := corrupt.CopyTree(fixture("mirrored_expand"), src); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{"README.txt": "serve me\n", "labels.txt": "cat\ndog\n", "tfhub_module.pb": "\x08\x03"}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(src, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r := cli(t, "rewrite", src, filepath.Join(tmp, "out"))
	if r.code != exitOK {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	golden(t, "rewrite-other-files.txt", strings.ReplaceAll(r.stdout, tmp, "$TMP"))
	for name, content := range files {
		if b, err := os.ReadFile(filepath.Join(tmp, "out", name)); err != nil || string(b) != content {
			t.Errorf("out/%s: %q, %v; want %q", name, b, err, content)
		}
	}
	for _, tc := range []struct {
		flag string
		want []string
	}{
		{"", []string{"README.txt", "labels.txt", "tfhub_module.pb"}},
		{"--drop-other-files", []string{}},
	} {
		out := filepath.Join(tmp, "out-json"+tc.flag)
		args := []string{"rewrite", "--json", src, out}
		if tc.flag != "" {
			args = append(args, tc.flag)
		}
		r := cli(t, args...)
		var doc struct {
			Report struct {
				KeptFiles []string `json:"kept_files"`
			} `json:"report"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || r.code != exitOK {
			t.Fatalf("%v: exit %d, %v\n%s", args, r.code, err, r.stderr)
		}
		if doc.Report.KeptFiles == nil || !slices.Equal(doc.Report.KeptFiles, tc.want) {
			t.Errorf("%v: kept_files %q, want %q", args, doc.Report.KeptFiles, tc.want)
		}
		_, err := os.Stat(filepath.Join(out, "README.txt"))
		if dropped := errors.Is(err, os.ErrNotExist); dropped != (tc.flag != "") {
			t.Errorf("%v: README.txt in DST: %v", args, err)
		}
	}
}
