package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/unmirror/unmirror/internal/corrupt"
)

// TestMessagesNameTheProblem is issue 16's item 4 (the library's part): a
// model without variables/ is exit 3 "variables/ is missing", not the five
// restore keys its checkpoint lacks; a truncated saved_model.pb says, on
// one line, that the file ends early, at which byte of how many.
func TestMessagesNameTheProblem(t *testing.T) {
	tmp := t.TempDir()
	novars := filepath.Join(tmp, "novars")
	trunc := filepath.Join(tmp, "trunc")
	for _, dir := range []string{novars, trunc} {
		if err := corrupt.CopyTree(fixture("plain"), dir); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.RemoveAll(filepath.Join(novars, "variables")); err != nil {
		t.Fatal(err)
	}
	pb := filepath.Join(trunc, "saved_model.pb")
	b, err := os.ReadFile(pb)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pb, b[:2000], 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		golden string
		args   []string
	}{
		{"verify-no-variables.stderr", []string{"verify", novars}},
		{"verify-no-variables.stderr", []string{"verify", "--skip-checksums", novars}},
		{"rewrite-no-variables.stderr", []string{"rewrite", novars, filepath.Join(tmp, "out")}},
		{"inspect-truncated-pb.stderr", []string{"inspect", trunc}},
	} {
		r := cli(t, tt.args...)
		if r.code != exitIO {
			t.Fatalf("%v: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", tt.args, r.code, exitIO, r.stdout, r.stderr)
		}
		if n := strings.Count(r.stderr, "\n"); n != 1 {
			t.Errorf("%v: %d lines on stderr, want 1:\n%s", tt.args, n, r.stderr)
		}
		golden(t, tt.golden, strings.ReplaceAll(r.stderr, tmp, "$TMP"))
	}
}
