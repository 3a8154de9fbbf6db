package savedmodel

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A model whose SaverDef restores from variables/variables but whose
// checkpoint is gone reads (TensorFlow's C++ loader accepts it too) and
// RequireVariables, and so VerifyChecksums, say what is missing, instead of
// leaving the user with the restore keys the checkpoint lacks.
func TestRequireVariables(t *testing.T) {
	plain := filepath.Join("..", "testdata", "models", "plain")
	for _, tc := range []struct {
		name   string
		dir    func(t *testing.T) string
		substr string // "" means no error
	}{
		{"intact", func(t *testing.T) string { return plain }, ""},
		{"no variables/", func(t *testing.T) string {
			return without(t, copyTree(t, plain), "variables")
		}, "variables/ is missing, and meta graph 0 restores its variables from variables/variables"},
		{"no index", func(t *testing.T) string {
			return without(t, copyTree(t, plain), "variables/variables.index")
		}, "variables/variables.index is missing, and meta graph 0"},
		{"TF's stripped bert1", func(t *testing.T) string { return tfModel(t, "bert1") }, "variables/ is missing"},
		{"no SaverDef, no variables/", func(t *testing.T) string {
			dir := without(t, copyTree(t, plain), "variables")
			m := mustRead(t, dir)
			m.Proto.GetMetaGraphs()[0].SaverDef = nil
			out := outDir(t)
			if err := m.Write(context.Background(), out, WriteOptions{}); err != nil {
				t.Fatal(err)
			}
			return out
		}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := mustRead(t, tc.dir(t))
			for _, err := range []error{m.RequireVariables(), m.VerifyChecksums(context.Background())} {
				switch {
				case tc.substr == "" && err != nil:
					t.Errorf("err = %v, want nil", err)
				case tc.substr != "" && (!errors.Is(err, ErrMissingVariables) || !strings.Contains(err.Error(), tc.substr)):
					t.Errorf("err = %v, want ErrMissingVariables saying %q", err, tc.substr)
				}
			}
		})
	}
}

// without removes rel (a file or a directory tree) from dir and returns dir.
func without(t *testing.T, dir, rel string) string {
	t.Helper()
	if err := os.RemoveAll(filepath.Join(dir, filepath.FromSlash(rel))); err != nil {
		t.Fatal(err)
	}
	return dir
}
