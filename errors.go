package unmirror

import (
	"context"
	"fmt"

	"github.com/unmirror/unmirror/rewrite"
	"github.com/unmirror/unmirror/savedmodel"
)

// ReadError is returned by the entry points when a model cannot be read:
// Path is the directory as given, Err what is wrong with it (a savedmodel
// error, such as one matching [savedmodel.ErrNotSavedModel]).
type ReadError struct {
	Path string
	Err  error
}

func (e *ReadError) Error() string { return "unmirror: cannot read " + e.Path + ": " + e.Err.Error() }

// Unwrap returns Err.
func (e *ReadError) Unwrap() error { return e.Err }

// read reads the SavedModel in dir, failing with a *ReadError.
func read(ctx context.Context, dir string, opts savedmodel.ReadOptions) (*savedmodel.Model, error) {
	m, err := savedmodel.Read(ctx, dir, opts)
	if err != nil {
		return nil, &ReadError{Path: dir, Err: err}
	}
	return m, nil
}

// withModel reads the SavedModel in dir (unless ctx is done), calls f with
// it and closes it.
func withModel[T any](ctx context.Context, dir string, opts savedmodel.ReadOptions, f func(*savedmodel.Model) (T, error)) (T, error) {
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	m, err := read(ctx, dir, opts)
	if err != nil {
		return zero, err
	}
	defer m.Close()
	return f(m)
}

// FindingsError is returned by [Rewrite] when passes left problems in the
// model; nothing was written.
type FindingsError struct {
	Findings []rewrite.Finding
}

func (e *FindingsError) Error() string {
	if len(e.Findings) == 1 {
		f := e.Findings[0]
		return fmt.Sprintf("unmirror: the rewritten model is not strategy-free: %s: %s", f.Where, f.What)
	}
	f := e.Findings[0]
	return fmt.Sprintf("unmirror: the rewritten model is not strategy-free: %d findings, first: %s: %s", len(e.Findings), f.Where, f.What)
}
