package savedmodel

import (
	"context"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// syncRecorder records the paths a Write fsyncs, through
// WriteOptions.syncHook (per Write: tests may run in parallel).
type syncRecorder struct {
	mu    sync.Mutex
	paths []string
}

func (r *syncRecorder) hook(p string) {
	r.mu.Lock()
	r.paths = append(r.paths, p)
	r.mu.Unlock()
}

// synced returns the paths recorded since the last call.
func (r *syncRecorder) synced() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.paths
	r.paths = nil
	return out
}

// A durable Write fsyncs every directory and every file it wrote (not the
// hard-linked ones: their data is the input's) and the parent directory
// after the rename; with NoSync it fsyncs nothing; and the bytes are the
// same either way, for a copied, hard-linked and rebuilt checkpoint.
func TestWriteNoSync(t *testing.T) {
	t.Parallel() // Write's test settings are per Write (WriteOptions), not globals
	for _, tc := range []struct {
		name    string
		link    bool
		rebuild bool
	}{
		{name: "copy"},
		{name: "hardlink", link: true},
		{name: "rebuilt", rebuild: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := copyTree(t, tfModel(t, "AssetModule"))
			m := mustRead(t, src)
			if tc.rebuild {
				forcePlan(t, m)
			}
			var rec syncRecorder
			durable := outDir(t)
			if err := m.Write(context.Background(), durable, WriteOptions{HardLink: tc.link, syncHook: rec.hook}); err != nil {
				t.Fatal(err)
			}
			got := map[string]bool{}
			for _, p := range rec.synced() {
				got[syncedRel(t, durable, p)] = true
			}
			want := map[string]bool{"<parent>": true}
			err := filepath.WalkDir(durable, func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				r, _ := filepath.Rel(durable, p)
				if !d.IsDir() && tc.link && sameInode(t, filepath.Join(src, r), p) {
					return nil
				}
				want[filepath.ToSlash(r)] = true
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(want) < 4 {
				t.Fatalf("only %d paths to sync: %v", len(want), want)
			}
			if !maps.Equal(got, want) {
				t.Errorf("synced %v\nwant %v", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
			}

			fast := outDir(t)
			if err := m.Write(context.Background(), fast, WriteOptions{HardLink: tc.link, NoSync: true, syncHook: rec.hook}); err != nil {
				t.Fatal(err)
			}
			if s := rec.synced(); len(s) != 0 {
				t.Errorf("NoSync Write fsynced %q", s)
			}
			if s := siblings(t, fast); !slices.Equal(s, []string{"out"}) {
				t.Errorf("NoSync Write left %q beside its output", s)
			}
			if a, b := treeHashes(t, durable), treeHashes(t, fast); !maps.Equal(a, b) {
				t.Errorf("NoSync output differs:\n%v\n%v", a, b)
			}
		})
	}
}

// syncedRel names a synced path relative to the output directory out: the
// path inside the temporary sibling it was written in, "." for that
// directory itself, or "<parent>" for out's parent.
func syncedRel(t *testing.T, out, p string) string {
	t.Helper()
	parent := filepath.Dir(out)
	if p == parent {
		return "<parent>"
	}
	r, err := filepath.Rel(parent, p)
	if err != nil {
		t.Fatal(err)
	}
	first, rest, _ := strings.Cut(filepath.ToSlash(r), "/")
	if !strings.HasPrefix(first, "."+filepath.Base(out)+tmpMarker) {
		t.Fatalf("fsync of %s, outside the temporary directory", p)
	}
	if rest == "" {
		return "."
	}
	return rest
}

// sameInode reports whether the output file p is a hard link of the input
// file in (which may not exist).
func sameInode(t *testing.T, in, p string) bool {
	a, err := os.Stat(in)
	if err != nil {
		return false
	}
	b, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return os.SameFile(a, b)
}
