package unmirror_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/unmirror/unmirror"
	"github.com/unmirror/unmirror/device"
	"github.com/unmirror/unmirror/inspect"
	"github.com/unmirror/unmirror/internal/fixtures"
	"github.com/unmirror/unmirror/rewrite"
	"github.com/unmirror/unmirror/savedmodel"
)

// TestOptionsMirrorPackages keeps the root's option structs flat (so that
// unmirror.Options{DryRun: true} compiles) and complete: every field of the
// options a facade passes on is a field of the root's, with the same type.
// A field added to rewrite.Options or inspect's options fails here until the
// root offers it too.
func TestOptionsMirrorPackages(t *testing.T) {
	for _, tt := range []struct{ root, pkg any }{
		{unmirror.Options{}, rewrite.Options{}},
		{unmirror.InspectOptions{}, inspect.Options{}},
		{unmirror.VerifyOptions{}, inspect.VerifyOptions{}},
	} {
		root, pkg := reflect.TypeOf(tt.root), reflect.TypeOf(tt.pkg)
		for i := 0; i < pkg.NumField(); i++ {
			f := pkg.Field(i)
			r, ok := root.FieldByName(f.Name)
			if !ok || len(r.Index) != 1 || r.Type != f.Type {
				t.Errorf("%s has no field %s %s of %s", root, f.Name, f.Type, pkg)
			}
		}
	}
}

// TestRewriteOptionsReachThePipeline checks that the flat options are the
// ones the pipeline runs with: the report's target and dry run, and
// DropOptimizer's effect.
func TestRewriteOptionsReachThePipeline(t *testing.T) {
	fx := fixtures.ByName(t, "keras_mirrored")
	dst := filepath.Join(t.TempDir(), "never")
	keep, err := unmirror.Rewrite(context.Background(), fx.Dir, dst, unmirror.Options{Target: device.GPU, DryRun: true})
	require.NoError(t, err)
	drop, err := unmirror.Rewrite(context.Background(), fx.Dir, dst, unmirror.Options{DryRun: true, DropOptimizer: true})
	require.NoError(t, err)
	assert.Equal(t, "gpu", keep.Target)
	assert.Equal(t, "cpu", drop.Target)
	assert.True(t, keep.DryRun && drop.DryRun)
	assert.True(t, keep.Changed())
	count := func(r *rewrite.Report) (n int) {
		for _, p := range r.Passes {
			n += len(p.Changes)
		}
		return n
	}
	assert.Greater(t, count(drop), count(keep), "DropOptimizer changed nothing more")
}

// TestRewriteOutputExists checks that an existing output is refused with an
// error that both errors.Is(fs.ErrExist) and savedmodel.ErrOutputExists
// match, and left as it was.
func TestRewriteOutputExists(t *testing.T) {
	dst := t.TempDir()
	keep := filepath.Join(dst, "keep")
	require.NoError(t, os.WriteFile(keep, []byte("x"), 0o644))
	_, err := unmirror.Rewrite(context.Background(), fixtures.ByName(t, "plain").Dir, dst, unmirror.Options{})
	assert.ErrorIs(t, err, fs.ErrExist)
	assert.ErrorIs(t, err, savedmodel.ErrOutputExists)
	_, statErr := os.Stat(keep)
	assert.NoError(t, statErr)
}

// TestReadErrorNamesTheModel checks that every entry point says which
// directory it could not read, and keeps savedmodel's error in the chain.
func TestReadErrorNamesTheModel(t *testing.T) {
	ctx := context.Background()
	good := fixtures.ByName(t, "plain").Dir
	missing := filepath.Join(t.TempDir(), "missing")
	calls := map[string]func() error{
		"Rewrite": func() error {
			_, err := unmirror.Rewrite(ctx, missing, filepath.Join(t.TempDir(), "out"), unmirror.Options{})
			return err
		},
		"Inspect": func() error { _, err := unmirror.Inspect(ctx, missing, unmirror.InspectOptions{}); return err },
		"Verify":  func() error { _, err := unmirror.Verify(ctx, missing, unmirror.VerifyOptions{}); return err },
		"Diff A":  func() error { _, err := unmirror.Diff(ctx, missing, good, unmirror.DiffOptions{}); return err },
		"Diff B":  func() error { _, err := unmirror.Diff(ctx, good, missing, unmirror.DiffOptions{}); return err },
	}
	for name, call := range calls {
		err := call()
		var re *unmirror.ReadError
		if !errors.As(err, &re) || re.Path != missing {
			t.Errorf("%s: %v, want a *ReadError for %s", name, err, missing)
		}
		assert.ErrorIs(t, err, fs.ErrNotExist, name)
	}
}

// TestVerifyMatchesInspect checks that Verify's answer is Inspect's verdict
// for the same target, with the verify pass's findings behind it.
func TestVerifyMatchesInspect(t *testing.T) {
	ctx := context.Background()
	for _, fx := range fixtures.All(t) {
		for _, target := range []device.Target{device.CPU, device.GPU} {
			in, err := unmirror.Inspect(ctx, fx.Dir, unmirror.InspectOptions{Targets: []device.Target{target}})
			require.NoError(t, err)
			v, err := unmirror.Verify(ctx, fx.Dir, unmirror.VerifyOptions{Target: target})
			require.NoError(t, err)
			want := in.Verdicts[0]
			assert.Equal(t, want.Portable, v.OK, "%s %s", fx.Name, target)
			assert.Equal(t, want.Reasons, v.Reasons, "%s %s", fx.Name, target)
			assert.Equal(t, want.Notes, v.Notes, "%s %s", fx.Name, target)
			assert.NotNil(t, v.Findings)
		}
	}
}

// TestEntryPointsStopWhenCancelled checks that a cancelled context stops
// each entry point with the context's error and writes nothing.
func TestEntryPointsStopWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dir := fixtures.ByName(t, "mirrored_expand").Dir
	dst := filepath.Join(t.TempDir(), "out")
	_, err := unmirror.Rewrite(ctx, dir, dst, unmirror.Options{})
	assert.ErrorIs(t, err, context.Canceled, "Rewrite")
	_, statErr := os.Stat(dst)
	assert.ErrorIs(t, statErr, fs.ErrNotExist)
	_, err = unmirror.Inspect(ctx, dir, unmirror.InspectOptions{})
	assert.ErrorIs(t, err, context.Canceled, "Inspect")
	_, err = unmirror.Verify(ctx, dir, unmirror.VerifyOptions{})
	assert.ErrorIs(t, err, context.Canceled, "Verify")
	_, err = unmirror.Diff(ctx, dir, dir, unmirror.DiffOptions{})
	assert.ErrorIs(t, err, context.Canceled, "Diff")
}

// TestVerifyChecksums checks that Verify reads the checkpoint's data by
// default: four overwritten bytes of a data shard are an error naming the
// input as corrupt, and SkipChecksums (reading only the index) gives the
// verdict instead.
func TestVerifyChecksums(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "plain")
	require.NoError(t, os.CopyFS(dir, os.DirFS(fixtures.ByName(t, "plain").Dir)))
	data := filepath.Join(dir, "variables", "variables.data-00000-of-00001")
	b, err := os.ReadFile(data)
	require.NoError(t, err)
	require.Greater(t, len(b), 8)
	copy(b[len(b)/2:], []byte{0xde, 0xad, 0xbe, 0xef})
	require.NoError(t, os.WriteFile(data, b, 0o644))

	_, err = unmirror.Verify(ctx, dir, unmirror.VerifyOptions{})
	assert.ErrorIs(t, err, savedmodel.ErrCorruptInput)
	v, err := unmirror.Verify(ctx, dir, unmirror.VerifyOptions{SkipChecksums: true})
	require.NoError(t, err)
	assert.True(t, v.OK)
}
