package unmirror

import (
	"context"

	"github.com/unmirror/unmirror/inspect"
	"github.com/unmirror/unmirror/savedmodel"
)

// DiffOptions configure [Diff]. The zero value reads both models with the
// default limits.
type DiffOptions struct {
	// Read holds the input limits for untrusted models, for both.
	Read savedmodel.ReadOptions
}

// Diff reads the SavedModels in a and b and compares them by what a user of
// them sees: signatures, op types, devices, checkpoint entries (not values)
// and library functions (see [inspect.Diff]). Models that differ are not an
// error: the Difference says so. If a or b cannot be read, the error is a
// *[ReadError] naming it.
func Diff(ctx context.Context, a, b string, opts DiffOptions) (*inspect.Difference, error) {
	return withModel(ctx, a, opts.Read, func(ma *savedmodel.Model) (*inspect.Difference, error) {
		return withModel(ctx, b, opts.Read, func(mb *savedmodel.Model) (*inspect.Difference, error) {
			return inspect.Diff(ma, mb), nil
		})
	})
}
