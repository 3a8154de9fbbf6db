package unmirror

import (
	"context"
	"fmt"

	"github.com/unmirror/unmirror/rewrite"
	"github.com/unmirror/unmirror/savedmodel"
)

// Options configure [Rewrite]. The zero value rewrites for one CPU with the
// default pipeline and refuses to replace an existing output.
type Options struct {
	// Rewrite holds the pipeline options: target device, dry run,
	// divergence and optimizer policies.
	rewrite.Options

	// Pipeline is the pipeline to run; nil means rewrite.Default().
	Pipeline *rewrite.Pipeline

	// Write holds the output options: format, overwrite, hard links,
	// fingerprint.
	Write savedmodel.WriteOptions

	// Read holds the input limits for untrusted models (proto size, node
	// count) and the fingerprint check.
	Read savedmodel.ReadOptions
}

// Rewrite reads the SavedModel in src, runs the pipeline on it and, unless
// opts.DryRun is set, writes the result to dst atomically: dst is either
// absent or complete when Rewrite returns, whatever happens. src is never
// modified.
//
// The report says what every pass changed and found. If any pass recorded
// findings (the verify pass does when the result is not strategy-free for
// the target), Rewrite writes nothing and returns a *FindingsError along
// with the report.
func Rewrite(ctx context.Context, src, dst string, opts Options) (*rewrite.Report, error) {
	m, err := savedmodel.ReadWith(src, opts.Read)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	p := opts.Pipeline
	if p == nil {
		p = rewrite.Default()
	}
	rep, err := p.Run(ctx, m, opts.Options)
	if err != nil {
		return rep, err
	}
	if f := rep.Findings(); len(f) > 0 {
		return rep, &FindingsError{Findings: f}
	}
	if opts.DryRun {
		return rep, nil
	}
	if err := m.Write(ctx, dst, opts.Write); err != nil {
		return rep, err
	}
	return rep, nil
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
