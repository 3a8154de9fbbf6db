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

	"github.com/unmirror/unmirror/savedmodel/internal/fsync"
)

// recordSyncs makes every fsync of a Write record its path until the test
// ends.
func recordSyncs(t *testing.T) func() []string {
	var mu sync.Mutex
	var paths []string
	fsync.Hook = func(p string) {
		mu.Lock()
		paths = append(paths, p)
		mu.Unlock()
	}
	t.Cleanup(func() { fsync.Hook = nil })
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		out := paths
		paths = nil
		return out
	}
}

// A durable Write fsyncs every directory and every file it wrote (not the
// hard-linked ones: their data is the input's) and the parent directory
// after the rename; with NoSync it fsyncs nothing; and the bytes are the
// same either way, for a copied, hard-linked and rebuilt checkpoint.
func TestWriteNoSync(t *testing.T) {
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
			synced := recordSyncs(t)
			durable := outDir(t)
			if err := m.Write(context.Background(), durable, WriteOptions{HardLink: tc.link}); err != nil {
				t.Fatal(err)
			}
			got := map[string]bool{}
			for _, p := range synced() {
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
			if err := m.Write(context.Background(), fast, WriteOptions{HardLink: tc.link, NoSync: true}); err != nil {
				t.Fatal(err)
			}
			if s := synced(); len(s) != 0 {
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
