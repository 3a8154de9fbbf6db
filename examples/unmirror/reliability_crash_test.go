//go:build unix

package main

import (
	"context"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/unmirror/unmirror/savedmodel"
)

// TestRewriteSIGKILL kills "unmirror rewrite --force" with SIGKILL at 60
// points spread over 1.2 times what a complete rewrite of a 200 MiB model takes
// (10 with -short), always to the same DST (removed before every other
// run, so that half the kills hit a first write and half an overwrite of a
// complete DST), and checks after each kill that
// DST is absent or complete and valid: it reads, every checkpoint checksum
// holds, it has the files of a complete rewrite with their sizes, and "unmirror
// verify" accepts it. Every tenth kill, and at the end, a rewrite runs to
// completion: it must succeed and leave nothing beside DST (the temporary
// and moved-aside directories of the killed runs are removed).
func TestRewriteSIGKILL(t *testing.T) {
	kills := 60
	if testing.Short() {
		kills = 10
	}
	src := bigModel(t, 200<<20)
	parent := t.TempDir()
	dst := filepath.Join(parent, "out")

	// Complete runs: their time spreads the kill points, their files are the
	// reference. The longer of two runs, since the first one's page cache
	// and the machine's load make times vary.
	var full time.Duration
	for range 2 {
		start := time.Now()
		if r := cli(t, "rewrite", "--quiet", "--force", src, dst); r.code != exitOK {
			t.Fatalf("reference rewrite: exit %d\n%s", r.code, r.stderr)
		}
		full = max(full, time.Since(start))
	}
	want := fileSizes(t, dst)
	checkComplete(t, dst, want)
	// Kill points cover 1.2 times a complete run, so that the last ones
	// fall after the end even when later runs are slower.
	span := full * 6 / 5
	t.Logf("a complete rewrite takes %v; killing at %d points in [0, %v)", full, kills, span)

	var absent, complete int
	for k := 0; k < kills; k++ {
		// Even kills hit a first write (DST absent before), odd ones an
		// overwrite of a complete DST.
		if k%2 == 0 {
			if err := os.RemoveAll(dst); err != nil {
				t.Fatal(err)
			}
		}
		cmd := exec.Command(binary, "rewrite", "--quiet", "--force", src, dst)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(k) * span / time.Duration(kills))
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		if _, err := os.Lstat(dst); err != nil {
			absent++
		} else {
			checkComplete(t, dst, want)
			complete++
		}
		for _, e := range entries(t, parent) {
			if e != "out" && !strings.HasPrefix(e, ".out.unmirror-tmp-") && !strings.HasPrefix(e, ".out.unmirror-old-") {
				t.Errorf("kill %d: unexpected %s beside DST", k, e)
			}
		}
		if k%10 == 9 || k == kills-1 {
			if r := cli(t, "rewrite", "--quiet", "--force", src, dst); r.code != exitOK {
				t.Fatalf("rewrite after kill %d: exit %d\n%s", k, r.code, r.stderr)
			}
			if got := entries(t, parent); !slices.Equal(got, []string{"out"}) {
				t.Errorf("after the rewrite that followed kill %d: %q beside DST, want only out", k, got)
			}
			checkComplete(t, dst, want)
		}
	}
	t.Logf("%d kills: DST absent after %d, complete after %d", kills, absent, complete)
}

// checkComplete checks that dir is a complete rewrite: the same files with
// the same sizes as want, it reads, every tensor's checksum holds, and
// "unmirror verify" accepts it.
func checkComplete(t *testing.T, dir string, want map[string]int64) {
	t.Helper()
	if got := fileSizes(t, dir); !maps.Equal(got, want) {
		t.Fatalf("%s holds %v, want %v", dir, got, want)
	}
	m, err := savedmodel.Read(context.Background(), dir, savedmodel.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	r := m.InputCheckpoint
	for i := 0; i < r.NumShards(); i++ {
		if _, err := r.CopyShard(context.Background(), io.Discard, i); err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
	}
	if res := cli(t, "verify", dir); res.code != exitOK {
		t.Fatalf("verify %s: exit %d\n%s%s", dir, res.code, res.stdout, res.stderr)
	}
}

func fileSizes(t *testing.T, dir string) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out[rel] = fi.Size()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func entries(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}
