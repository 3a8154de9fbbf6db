// Package tftree locates TensorFlow's v2.18.0 source tree in the Go module
// cache, for tests that read the SavedModels and checkpoints TensorFlow ships
// as its own test data. The tree is fetched with `go mod download` on first
// use (about 400 MB, once per module cache); nothing from it is copied into
// this repository.
//
// The first fetch says what it is doing on the terminal (/dev/tty, since go
// test hides a passing package's output), or on stderr without one. When the
// fetch fails, the error holds the go command's own reason (no network, a
// proxy refusing, GOPROXY=off, GOFLAGS=-mod=vendor) and what to do.
package tftree

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
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
		// From the module cache alone first, so that only a real download
		// is announced.
		if dir, err := download(Module, []string{"GOPROXY=off"}); err == nil {
			rootDir = dir
			return
		}
		announce()
		rootDir, rootErr = download(Module, nil)
	})
	return rootDir, rootErr
}

// announce tells the person running the tests that the (long) first
// download is under way.
func announce() {
	var w io.Writer = os.Stderr
	if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
		defer tty.Close()
		w = tty
	}
	fmt.Fprintf(w, "tftree: downloading TensorFlow's source tree (%s, about 400 MB, test data only) into the Go module cache; once per cache\n", Module)
}

// download runs `go mod download -json module` with env added to the
// environment and returns the module's directory, or an error with the go
// command's own reason and what to do about it.
func download(module string, env []string) (string, error) {
	cmd := exec.Command("go", "mod", "download", "-json", module)
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, runErr := cmd.Output()
	var info struct {
		Dir   string
		Error string
	}
	// go mod download -json reports a module's failure in its JSON (and
	// exits 1); anything else (go missing, a bad flag) only on stderr.
	jsonErr := json.Unmarshal(out, &info)
	reason := strings.TrimSpace(info.Error)
	if reason == "" {
		reason = strings.TrimSpace(stderr.String())
	}
	switch {
	case runErr == nil && jsonErr == nil && info.Error == "" && info.Dir != "":
		return info.Dir, nil
	case reason == "" && runErr != nil:
		reason = runErr.Error()
	case reason == "" && jsonErr != nil:
		reason = "unreadable output: " + jsonErr.Error()
	case reason == "":
		reason = "no directory in its output"
	}
	var ee *exec.Error
	if errors.As(runErr, &ee) {
		reason = runErr.Error()
	}
	return "", fmt.Errorf("tftree: go mod download %s failed: %s\n"+
		"The tests read TensorFlow's own test SavedModels from its source tree, which the go command fetches from the Go module proxy (GOPROXY, now %q). "+
		"Let it reach a proxy that serves the module, or fill the module cache once on a machine that can (go mod download %s) and share GOMODCACHE",
		module, reason, goEnv("GOPROXY", env), module)
}

// goEnv returns the go command's value of the variable name with env added
// to the environment, or "" if it cannot be had.
func goEnv(name string, env []string) string {
	cmd := exec.Command("go", "env", name)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
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
