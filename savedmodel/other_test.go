package savedmodel

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// userFiles are files a user keeps beside a SavedModel (TF Hub's TF1
// format keeps tfhub_module.pb beside saved_model.pb).
var userFiles = map[string]string{
	"README.txt":       "how to serve this model\n",
	"labels.txt":       "cat\ndog\n",
	"tfhub_module.pb":  "\x08\x03",
	"notes/eval.md":    "# eval\n",
	"debug/trace.json": "{}",
}

func withUserFiles(t *testing.T, fixture string) string {
	t.Helper()
	dir := copyTree(t, filepath.Join("..", "testdata", "models", fixture))
	for name, content := range userFiles {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// Files that are not part of the SavedModel format are listed by Read and
// copied verbatim by Write (copied or rebuilt checkpoint, hard links or
// not), and left out with DropOtherFiles; the model's own files are not
// among them.
func TestOtherFilesKept(t *testing.T) {
	dir := withUserFiles(t, "keras_mirrored")
	m := mustRead(t, dir)
	want := []string{"README.txt", "debug/trace.json", "labels.txt", "notes/eval.md", "tfhub_module.pb"}
	if got := m.OtherFilePaths(); !slices.Equal(got, want) {
		t.Fatalf("OtherFiles = %q, want %q", got, want)
	}
	for _, tc := range []struct {
		name    string
		rebuild bool
		opts    WriteOptions
	}{
		{"copy", false, WriteOptions{}},
		{"hardlink", false, WriteOptions{HardLink: true}},
		{"rebuilt", true, WriteOptions{}},
		{"drop", false, WriteOptions{DropOtherFiles: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := mustRead(t, dir)
			if tc.rebuild {
				forcePlan(t, m)
			}
			out := outDir(t)
			if err := m.Write(context.Background(), out, tc.opts); err != nil {
				t.Fatal(err)
			}
			for name, content := range userFiles {
				b, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(name)))
				switch {
				case tc.opts.DropOtherFiles && !errors.Is(err, os.ErrNotExist):
					t.Errorf("%s: written with DropOtherFiles (%v)", name, err)
				case !tc.opts.DropOtherFiles && (err != nil || string(b) != content):
					t.Errorf("%s: %q, %v; want %q", name, b, err, content)
				}
			}
			back := mustRead(t, out)
			if _, err := os.Stat(filepath.Join(out, KerasMetadataFile)); err != nil || back.Keras == nil {
				t.Errorf("keras_metadata.pb not written: %v", err)
			}
		})
	}
}

// A model with no other file lists none (an empty, non-nil list for JSON).
func TestOtherFilesNone(t *testing.T) {
	m := mustRead(t, filepath.Join("..", "testdata", "models", "plain"))
	if got := m.OtherFilePaths(); got == nil || len(got) != 0 {
		t.Errorf("OtherFilePaths = %#v, want empty", got)
	}
}

// A symbolic link among the other files that leads outside the directory
// is ErrUnsafePath, as for assets: Write would copy a file from outside.
func TestOtherFilesUnsafeLink(t *testing.T) {
	dir := copyTree(t, filepath.Join("..", "testdata", "models", "plain"))
	if err := os.Symlink("/etc/passwd", filepath.Join(dir, "README.txt")); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(context.Background(), dir, ReadOptions{}); !errors.Is(err, ErrUnsafePath) {
		t.Errorf("err = %v, want ErrUnsafePath", err)
	}
}
