package unmirror

import (
	"context"

	"github.com/unmirror/unmirror/device"
	"github.com/unmirror/unmirror/inspect"
	"github.com/unmirror/unmirror/savedmodel"
)

// InspectOptions configure [Inspect]. The zero value keeps three examples
// per artifact and judges the model for a CPU and a GPU target.
//
// Examples and Targets are the fields of [inspect.Options].
type InspectOptions struct {
	// Examples is how many example locations each artifact and verdict
	// reason keeps; 0 means 3, a negative value keeps none.
	Examples int

	// Targets are the devices a verdict is given for; nil means CPU and GPU.
	Targets []device.Target

	// Read holds the input limits for untrusted models.
	Read savedmodel.ReadOptions
}

// Inspect reads the SavedModel in dir and reports what it holds and whether
// it loads on each target as it is (see [inspect.Model] for the rules). It
// reads the graphs and the checkpoint index, never tensor data. If dir
// cannot be read, the error is a *[ReadError].
func Inspect(ctx context.Context, dir string, opts InspectOptions) (*inspect.Inspection, error) {
	return withModel(ctx, dir, opts.Read, func(m *savedmodel.Model) (*inspect.Inspection, error) {
		return inspect.Model(ctx, m, inspect.Options{Examples: opts.Examples, Targets: opts.Targets})
	})
}
