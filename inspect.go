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
	m, err := read(dir, opts.Read)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	return inspect.Model(ctx, m, inspect.Options{Examples: opts.Examples, Targets: opts.Targets})
}

// VerifyOptions configure [Verify]. The zero value verifies for one CPU,
// checks every checkpoint entry's checksum, and keeps three examples per
// reason.
//
// Target and Examples are the fields of [inspect.VerifyOptions].
type VerifyOptions struct {
	// Target is the device the model must load on.
	Target device.Target

	// Examples is how many example locations each reason keeps; 0 means 3,
	// a negative value keeps none.
	Examples int

	// SkipChecksums reads only the checkpoint's index, not its data: the
	// tensors' checksums ([savedmodel.Model.VerifyChecksums]) go unchecked;
	// a missing checkpoint is still an error ([savedmodel.ErrMissingVariables]).
	SkipChecksums bool

	// Read holds the input limits for untrusted models.
	Read savedmodel.ReadOptions
}

// Verify reads the SavedModel in dir and says whether it loads on one
// device of opts.Target as it is, and if not, why (see [inspect.Verify]). A
// model that does not is not an error: the Verification says so.
//
// First, unless opts.SkipChecksums is set, it reads every tensor of the
// checkpoint and checks its CRC-32C, as TensorFlow does when it restores
// them, streaming (its memory does not grow with the checkpoint). Damaged
// data is an error matching [savedmodel.ErrCorruptInput], naming the data
// file and the key. If dir cannot be read, the error is a *[ReadError].
func Verify(ctx context.Context, dir string, opts VerifyOptions) (*inspect.Verification, error) {
	m, err := read(dir, opts.Read)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	check := m.VerifyChecksums
	if opts.SkipChecksums {
		check = func(context.Context) error { return m.RequireVariables() }
	}
	if err := check(ctx); err != nil {
		return nil, err
	}
	return inspect.Verify(ctx, m, inspect.VerifyOptions{Target: opts.Target, Examples: opts.Examples})
}

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
	ma, err := read(a, opts.Read)
	if err != nil {
		return nil, err
	}
	defer ma.Close()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	mb, err := read(b, opts.Read)
	if err != nil {
		return nil, err
	}
	defer mb.Close()
	return inspect.Diff(ma, mb), nil
}
