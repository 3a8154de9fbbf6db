package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestJSONErrors: with --json, a command that cannot read its input prints
// one JSON error document on stdout (and its message on stderr), for every
// command; a script piping stdout to jq sees what failed.
func TestJSONErrors(t *testing.T) {
	tmp := t.TempDir()
	missing := filepath.Join(tmp, "missing")
	notModel := filepath.Join(tmp, "not-a-model")
	truncated := filepath.Join(tmp, "truncated")
	dirWithFile(t, notModel, "notes.txt", []byte("mine"))
	pb, err := os.ReadFile(filepath.Join(fixture("plain"), "saved_model.pb"))
	if err != nil {
		t.Fatal(err)
	}
	dirWithFile(t, truncated, "saved_model.pb", pb[:len(pb)/2])
	inputs := []struct {
		dir  string
		file string // the error document's "file"
	}{{missing, ""}, {notModel, ""}, {truncated, "saved_model.pb"}}
	for _, in := range inputs {
		for _, args := range [][]string{
			{"inspect", "--json", in.dir},
			{"verify", "--json", in.dir},
			{"verify", "--json", "--target", "gpu", in.dir},
			{"diff", "--json", fixture("plain"), in.dir},
			{"diff", in.dir, fixture("plain"), "--json"},
			{"rewrite", "--json", in.dir, filepath.Join(tmp, "out")},
			{"rewrite", "--dry-run", "--json", in.dir},
		} {
			t.Run(filepath.Base(in.dir)+"/"+strings.Join(args[:2], " "), func(t *testing.T) {
				r := cli(t, args...)
				if r.code != exitIO {
					t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, exitIO, r.stdout, r.stderr)
				}
				var doc map[string]any
				dec := json.NewDecoder(strings.NewReader(r.stdout))
				if err := dec.Decode(&doc); err != nil {
					t.Fatalf("stdout is not a JSON document: %v\n%q", err, r.stdout)
				}
				if dec.More() {
					t.Fatalf("stdout holds more than one document:\n%s", r.stdout)
				}
				first, _, _ := strings.Cut(r.stderr, "\n")
				want := map[string]any{"command": args[0], "error": strings.TrimPrefix(first, "unmirror "+args[0]+": "), "exit_code": float64(exitIO)}
				if in.file != "" {
					want["file"] = in.file
				}
				for k, v := range want {
					if doc[k] != v {
						t.Errorf("%s = %v, want %v", k, doc[k], v)
					}
				}
				if !strings.Contains(doc["error"].(string), "cannot read "+in.dir) {
					t.Errorf("error does not name the input: %q", doc["error"])
				}
			})
		}
	}
	if _, err := os.Stat(filepath.Join(tmp, "out")); !os.IsNotExist(err) {
		t.Errorf("output written from an unreadable input: %v", err)
	}
}

// dirWithFile makes the directory dir holding one file, name, with data.
func dirWithFile(t *testing.T, dir, name string, data []byte) {
	t.Helper()
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
		t.Fatal(err)
	}
}
