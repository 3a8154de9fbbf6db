package main

import (
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/unmirror/unmirror/internal/corrupt"
	"github.com/unmirror/unmirror/rewrite"
	"github.com/unmirror/unmirror/savedmodel"
)

// The write flags of rewrite reach savedmodel.WriteOptions.
func TestRewriteWriteFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want savedmodel.WriteOptions
	}{
		{nil, savedmodel.WriteOptions{}},
		{[]string{"--no-sync"}, savedmodel.WriteOptions{NoSync: true}},
		{[]string{"--hardlink", "--no-sync", "--force"}, savedmodel.WriteOptions{HardLink: true, NoSync: true, Overwrite: true}},
		{[]string{"--text"}, savedmodel.WriteOptions{Format: savedmodel.FormatText}},
	} {
		fs, f := rewriteFlagSet(&env{})
		if err := fs.Parse(tc.args); err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		if got := f.writeOptions(); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%v: WriteOptions %+v, want %+v", tc.args, got, tc.want)
		}
	}
}

// rewrite --no-sync writes the same bytes as rewrite.
func TestRewriteNoSyncSameOutput(t *testing.T) {
	var trees []map[string]string
	for _, args := range [][]string{{"rewrite", "--quiet"}, {"rewrite", "--quiet", "--no-sync"}} {
		out := filepath.Join(t.TempDir(), "out")
		if r := cli(t, append(args, fixture("mirrored_expand"), out)...); r.code != 0 {
			t.Fatalf("%v: exit %d\n%s%s", args, r.code, r.stdout, r.stderr)
		}
		h, err := corrupt.HashTree(out)
		if err != nil {
			t.Fatal(err)
		}
		trees = append(trees, h)
	}
	if !maps.Equal(trees[0], trees[1]) {
		t.Errorf("--no-sync output differs:\n%v\n%v", trees[0], trees[1])
	}
}

// A partial pipeline is still verified (issue 16 item 1): --passes devices
// leaves mirrored_expand's replica variables unrestored, so nothing is
// written and the exit code is 1; --no-verify writes it with a warning.
func TestRewritePartialPipelineIsVerified(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	r := cli(t, "rewrite", "--passes", "devices", fixture("mirrored_expand"), out)
	if r.code != exitFindings || !strings.Contains(r.stderr, "nothing written") || !strings.Contains(r.stdout, "verify") {
		t.Fatalf("--passes devices: exit %d, want %d\n%s%s", r.code, exitFindings, r.stdout, r.stderr)
	}
	if _, err := os.Stat(out); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("--passes devices wrote %s (%v)", out, err)
	}
	r = cli(t, "rewrite", "--passes", "devices", "--no-verify", fixture("mirrored_expand"), out)
	if r.code != exitOK || !strings.Contains(r.stderr, "warning: --no-verify") || !strings.Contains(r.stdout, rewrite.UnverifiedWarning) {
		t.Fatalf("--no-verify: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := cli(t, "verify", out); r.code != exitFindings {
		t.Errorf("verify of the unchecked output: exit %d, want %d (the fixture needs more than devices)", r.code, exitFindings)
	}
}
