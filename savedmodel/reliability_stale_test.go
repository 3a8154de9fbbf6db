//go:build unix

package savedmodel

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
)

// A Write killed while replacing an output leaves the old output under
// ".<base>.unmirror-old-<pid>-*"; the next Write to the same place removes
// it, as it removes a dead process's temporary directory, and leaves those
// of a live process alone.
func TestWriteRemovesStaleOldOutputs(t *testing.T) {
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	out := outDir(t)
	parent := filepath.Dir(out)
	stale := []string{
		fmt.Sprintf(".out%s%d-123", oldMarker, dead.Process.Pid),
		fmt.Sprintf(".out%s%d-456", tmpMarker, dead.Process.Pid),
	}
	live := fmt.Sprintf(".out%s%d-789", oldMarker, os.Getppid())
	for _, d := range append(stale, live) {
		if err := os.MkdirAll(filepath.Join(parent, d, "variables"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	m := mustRead(t, tfModel(t, "half_plus_two_v2/00000123"))
	if err := m.Write(context.Background(), out, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if got, want := siblings(t, out), []string{live, "out"}; !slices.Equal(got, want) {
		t.Errorf("after Write: %q, want %q", got, want)
	}
}
