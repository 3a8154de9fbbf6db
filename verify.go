package unmirror

import (
	"context"

	"github.com/unmirror/unmirror/device"
	"github.com/unmirror/unmirror/inspect"
	"github.com/unmirror/unmirror/savedmodel"
)

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
	return withModel(ctx, dir, opts.Read, func(m *savedmodel.Model) (*inspect.Verification, error) {
		check := m.VerifyChecksums
		if opts.SkipChecksums {
			check = func(context.Context) error { return m.RequireVariables() }
		}
		if err := check(ctx); err != nil {
			return nil, err
		}
		return inspect.Verify(ctx, m, inspect.VerifyOptions{Target: opts.Target, Examples: opts.Examples})
	})
}
