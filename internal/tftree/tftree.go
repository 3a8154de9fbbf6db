// Package tftree locates TensorFlow's v2.18.0 source tree in the Go module
// cache, for tests that read the SavedModels and checkpoints TensorFlow ships
// as its own test data. The tree is fetched with `go mod download` on first
// use (about 400 MB); nothing from it is copied into this repository.
package tftree

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"sync"
	"testing"
)

// Module is the module path and version of the TensorFlow source tree used.
const Module = "github.com/tensorflow/tensorflow@v2.18.0+incompatible"

var (
	once    sync.Once
	rootDir string
	rootErr error
)

// Root returns the directory of the TensorFlow source tree, downloading it
// into the module cache if needed.
func Root() (string, error) {
	once.Do(func() {
		out, err := exec.Command("go", "mod", "download", "-json", Module).Output()
		if err != nil {
			rootErr = fmt.Errorf("tftree: go mod download %s: %w", Module, err)
			return
		}
		var info struct {
			Dir   string
			Error string
		}
		if err := json.Unmarshal(out, &info); err != nil {
			rootErr = fmt.Errorf("tftree: parse go mod download output: %w", err)
			return
		}
		if info.Error != "" || info.Dir == "" {
			rootErr = fmt.Errorf("tftree: go mod download %s: %s", Module, info.Error)
			return
		}
		rootDir = info.Dir
	})
	return rootDir, rootErr
}

// Dir returns the TensorFlow source tree, failing the test if it cannot be had.
func Dir(t testing.TB) string {
	t.Helper()
	d, err := Root()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// SavedModels returns every directory in the TensorFlow tree that holds a
// saved_model.pb or saved_model.pbtxt, sorted, as absolute paths.
func SavedModels(t testing.TB) []string {
	t.Helper()
	return walk(t, func(name string) bool {
		return name == "saved_model.pb" || name == "saved_model.pbtxt"
	}, true)
}

// IndexFiles returns every TensorBundle index file (*.index) in the
// TensorFlow tree, sorted, as absolute paths.
func IndexFiles(t testing.TB) []string {
	t.Helper()
	return walk(t, func(name string) bool { return filepath.Ext(name) == ".index" }, false)
}

func walk(t testing.TB, match func(string) bool, parent bool) []string {
	root := Dir(t)
	seen := map[string]bool{}
	err := filepath.WalkDir(filepath.Join(root, "tensorflow"), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() && match(d.Name()) {
			if parent {
				p = filepath.Dir(p)
			}
			seen[p] = true
		}
		return nil
	})
	if err != nil {
		t.Fatalf("tftree: walk %s: %v", root, err)
	}
	out := make([]string, 0, len(seen))
	for p := range seen {
		out = append(out, p)
	}
	sort.Strings(out)
	if len(out) == 0 {
		t.Fatalf("tftree: nothing found under %s", root)
	}
	return out
}

// ReadOnly reports whether path lies inside the module cache, whose files Go
// keeps read-only; tests use it to assert that inputs were not modified.
func ReadOnly(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().Perm()&0o222 == 0
}
