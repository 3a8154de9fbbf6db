package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The read limits refuse a model over them in every command, with exit 3
// and a message naming the file and the limit; at the default limits the
// same model reads.
func TestReadLimitFlags(t *testing.T) {
	src := fixture("plain")
	dst := filepath.Join(t.TempDir(), "out")
	for _, args := range [][]string{
		{"inspect", "--max-nodes", "1", src},
		{"verify", "--max-proto-bytes", "100", src},
		{"diff", "--max-nodes", "1", src, src},
		{"rewrite", "--quiet", "--max-proto-bytes", "100", src, dst},
	} {
		r := cli(t, args...)
		if r.code != exitIO || !strings.Contains(r.stderr, "saved_model.pb: ") || !strings.Contains(r.stderr, "more than the limit of") {
			t.Errorf("%v: exit %d, stderr:\n%s", args, r.code, r.stderr)
		}
	}
	if _, err := os.Lstat(dst); err == nil {
		t.Error("a refused rewrite wrote DST")
	}
	if r := cli(t, "rewrite", "--quiet", "--verify-fingerprint", src, dst); r.code != exitOK {
		t.Errorf("rewrite --verify-fingerprint of a TF-written model: exit %d\n%s", r.code, r.stderr)
	}
}
