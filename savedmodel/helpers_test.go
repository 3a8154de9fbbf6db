package savedmodel

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/unmirror/unmirror/internal/tftree"
)

// tfModel returns a SavedModel directory of TF's cc/saved_model/testdata.
func tfModel(t testing.TB, name string) string {
	t.Helper()
	return filepath.Join(tftree.Dir(t), "tensorflow/cc/saved_model/testdata", name)
}

// rel names a TF-tree directory for test names.
func rel(t testing.TB, dir string) string {
	r, err := filepath.Rel(tftree.Dir(t), dir)
	if err != nil {
		return dir
	}
	return r
}

// isChunked reports whether dir holds a chunked saved_model.cpb.
func isChunked(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, SavedModelCPB))
	return err == nil
}

// copyTree copies the directory src to a new writable temporary directory.
func copyTree(t testing.TB, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "model")
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		r, _ := filepath.Rel(src, p)
		out := filepath.Join(dst, r)
		if d.IsDir() {
			return os.MkdirAll(out, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(out, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// treeHashes maps each path under dir (relative, slash-separated) to the
// SHA-256 of its content ("dir" for directories, "-> target" for links).
func treeHashes(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		r, _ := filepath.Rel(dir, p)
		r = filepath.ToSlash(r)
		switch {
		case d.IsDir():
			out[r] = "dir"
		case d.Type()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			out[r] = "-> " + target
		default:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			h := sha256.Sum256(b)
			out[r] = hex.EncodeToString(h[:])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// siblings lists the entries of dir's parent whose names mention dir's base.
func siblings(t testing.TB, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Dir(dir))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if strings.Contains(e.Name(), filepath.Base(dir)) {
			out = append(out, e.Name())
		}
	}
	return out
}
