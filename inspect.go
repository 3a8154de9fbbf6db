package unmirror

import (
	"context"

	"github.com/unmirror/unmirror/inspect"
	"github.com/unmirror/unmirror/savedmodel"
)

// Inspect reports what m holds and whether it loads on each target as it
// is; see [inspect.Model].
func Inspect(m *savedmodel.Model, opts inspect.Options) (*inspect.Inspection, error) {
	return inspect.Model(context.Background(), m, opts)
}

// Diff compares two models by what a user of them sees; see [inspect.Diff].
func Diff(a, b *savedmodel.Model) *inspect.Difference {
	return inspect.Diff(a, b)
}
