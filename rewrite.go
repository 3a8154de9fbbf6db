package unmirror

import (
	"context"

	"github.com/unmirror/unmirror/device"
	"github.com/unmirror/unmirror/progress"
	"github.com/unmirror/unmirror/rewrite"
	"github.com/unmirror/unmirror/savedmodel"
)

// Options configure [Rewrite]. The zero value rewrites for one CPU with the
// default pipeline, keeps optimizer state, refuses replicas whose values
// diverge and refuses to replace an existing output.
//
// The first six fields are those of [rewrite.Options], which the pipeline
// receives; see there for their full meaning.
type Options struct {
	// Target is the device the rewritten model must load on.
	Target device.Target

	// DryRun runs the pipeline on the model in memory and writes nothing.
	DryRun bool

	// AllowDivergence lets the replicas pass collapse replicas whose
	// checkpoint values differ from the primary's (the primary wins).
	AllowDivergence bool

	// DropOptimizer removes training-only state (optimizer slots and
	// hyper-parameters, with their checkpoint entries).
	DropOptimizer bool

	// Devices overrides the device remap policy derived from Target; nil
	// means device.Policy{Target: Target}.
	Devices *device.Policy

	// Progress, if set, hears of each phase of the rewrite, in order: read,
	// every pass, then the write with the checkpoint bytes written (unless
	// Write.Progress is set, which then hears of the write instead).
	Progress progress.Func

	// Pipeline is the pipeline to run; nil means rewrite.Default(). The
	// verify pass always runs last (rewrite.Pipeline.Verified), whatever
	// the pipeline, unless SkipVerify is set.
	Pipeline *rewrite.Pipeline

	// SkipVerify leaves the verify pass out (even if the pipeline holds
	// it), so that nothing checks the result before it is written. The
	// report then has Unverified set and prints a warning. Use it only to
	// convert a model you will check otherwise.
	SkipVerify bool

	// Write holds the output options: format, overwrite, hard links,
	// fingerprint.
	Write savedmodel.WriteOptions

	// Read holds the input limits for untrusted models (proto size, node
	// count) and the fingerprint check.
	Read savedmodel.ReadOptions
}

// pipeline returns the options the pipeline runs with.
func (o Options) pipeline() rewrite.Options {
	return rewrite.Options{Target: o.Target, DryRun: o.DryRun, AllowDivergence: o.AllowDivergence,
		DropOptimizer: o.DropOptimizer, Devices: o.Devices, Progress: o.Progress}
}

// Rewrite reads the SavedModel in src, runs the pipeline on it and, unless
// opts.DryRun is set, writes the result to dst atomically: dst is either
// absent or complete when Rewrite returns, whatever happens. src is never
// modified. Cancelling ctx stops the passes and the write; opts.Progress
// hears of each phase. A src whose
// variables/ is missing (while its SaverDef restores from it) is an error
// matching savedmodel.ErrMissingVariables.
//
// The verify pass runs last in every pipeline, so nothing is written that
// it has not checked (unless opts.SkipVerify). The report says what every
// pass changed and found. If any pass recorded
// findings (the verify pass does when the result is not strategy-free for
// the target), Rewrite writes nothing and returns a *[FindingsError] along
// with the report. If src cannot be read, the report is nil and the error a
// *[ReadError]. If dst exists and opts.Write.Overwrite is not set, the
// error matches errors.Is(err, fs.ErrExist) ([savedmodel.ErrOutputExists]).
func Rewrite(ctx context.Context, src, dst string, opts Options) (*rewrite.Report, error) {
	if opts.Progress != nil {
		opts.Progress(progress.Event{Phase: progress.Read})
	}
	m, err := read(ctx, src, opts.Read)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	if err := m.RequireVariables(); err != nil {
		return nil, &ReadError{Path: src, Err: err} // not the restore keys the missing checkpoint lacks
	}
	p := opts.Pipeline
	if p == nil {
		p = rewrite.Default()
	}
	if opts.SkipVerify {
		p = p.Without(rewrite.Verify.Name)
	} else {
		p = p.Verified()
	}
	rep, err := p.Run(ctx, m, opts.pipeline())
	if rep != nil {
		rep.Unverified = opts.SkipVerify
		if opts.Write.DropOtherFiles {
			rep.KeptFiles = []string{}
		}
	}
	if err != nil {
		return rep, err
	}
	if f := rep.Findings(); len(f) > 0 {
		return rep, &FindingsError{Findings: f}
	}
	if opts.DryRun {
		return rep, nil
	}
	w := opts.Write
	if w.Progress == nil {
		w.Progress = opts.Progress
	}
	if err := m.Write(ctx, dst, w); err != nil {
		return rep, err
	}
	return rep, nil
}
