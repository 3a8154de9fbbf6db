//go:build unix

package savedmodel

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// stuckCtx blocks forever once Err has been called left times, freezing a
// Write mid-way so that the test can kill the process.
type stuckCtx struct {
	context.Context
	left int
}

func (c *stuckCtx) Err() error {
	if c.left--; c.left < 0 {
		select {}
	}
	return nil
}

// TestWriteAfterSIGKILL runs a Write in a child process, kills it with
// SIGKILL while its temporary directory exists, and checks that the next
// Write succeeds and removes the leftover.
func TestWriteAfterSIGKILL(t *testing.T) {
	if out := os.Getenv("UNMIRROR_SIGKILL_CHILD"); out != "" {
		m, err := Read(context.Background(), os.Getenv("UNMIRROR_SIGKILL_SRC"), ReadOptions{})
		if err != nil {
			os.Exit(2)
		}
		m.Write(&stuckCtx{Context: context.Background(), left: 3}, out, WriteOptions{})
		os.Exit(3) // not reached
	}
	src := tfModel(t, "half_plus_two_v2/00000123")
	out := outDir(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestWriteAfterSIGKILL$")
	cmd.Env = append(os.Environ(), "UNMIRROR_SIGKILL_CHILD="+out, "UNMIRROR_SIGKILL_SRC="+src)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for len(siblings(t, out)) == 0 {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("child never created its temporary directory")
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // let it get stuck mid-write
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	left := siblings(t, out)
	if len(left) != 1 || !strings.Contains(left[0], tmpMarker) {
		t.Fatalf("after SIGKILL: %q, want one temporary directory", left)
	}
	m := mustRead(t, src)
	if err := m.Write(context.Background(), out, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if s := siblings(t, out); !slices.Equal(s, []string{"out"}) {
		t.Errorf("after the next Write: %q, want only the output", s)
	}
	checkWritten(t, m, src, filepath.Clean(out))
}
