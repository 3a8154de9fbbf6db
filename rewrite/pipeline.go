package rewrite

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/unmirror/unmirror/graphdef"
	"github.com/unmirror/unmirror/progress"
	"github.com/unmirror/unmirror/savedmodel"
)

// A Pipeline is an ordered list of passes.
type Pipeline struct {
	Passes []*Pass
}

// NewPipeline returns a pipeline of the given passes, in order.
func NewPipeline(passes ...*Pass) *Pipeline { return &Pipeline{Passes: passes} }

// ErrInvalidGraph is wrapped by the error of a pass that left a GraphDef
// with a problem the input did not have.
var ErrInvalidGraph = errors.New("invalid graph")

// ErrInvalidPipeline is wrapped by the errors of [Pipeline.Check].
var ErrInvalidPipeline = errors.New("invalid pipeline")

// Check reports whether the pass list can run: every pass has a name and a
// Run function, names are unique, and every pass a pass requires comes
// earlier in the list.
func (p *Pipeline) Check() error {
	seen := map[string]*Pass{}
	for i, ps := range p.Passes {
		switch {
		case ps == nil:
			return fmt.Errorf("rewrite: pass %d is nil: %w", i, ErrInvalidPipeline)
		case ps.Name == "" || strings.ContainsAny(ps.Name, " ,\t\n"):
			return fmt.Errorf("rewrite: pass %d has an invalid name %q: %w", i, ps.Name, ErrInvalidPipeline)
		case ps.Run == nil:
			return fmt.Errorf("rewrite: pass %s has no Run function: %w", ps.Name, ErrInvalidPipeline)
		case seen[ps.Name] != nil:
			return fmt.Errorf("rewrite: pass %s appears twice: %w", ps.Name, ErrInvalidPipeline)
		}
		for _, req := range ps.Requires {
			if seen[req.Name] != req {
				return fmt.Errorf("rewrite: pass %s requires pass %s to run before it: %w", ps.Name, req.Name, ErrInvalidPipeline)
			}
		}
		seen[ps.Name] = ps
	}
	return nil
}

// Names returns the names of the passes, in order.
func (p *Pipeline) Names() []string {
	names := make([]string, len(p.Passes))
	for i, ps := range p.Passes {
		names[i] = ps.Name
	}
	return names
}

// Run checks the pipeline, then runs its passes in order on m, editing it in
// place. After each pass that changed something, every GraphDef of m is
// validated; a problem that the input did not have fails the run with a
// *PassError naming the pass. The report holds what every pass that ran did,
// also when an error stops the run.
func (p *Pipeline) Run(ctx context.Context, m *savedmodel.Model, opts Options) (*Report, error) {
	if err := p.Check(); err != nil {
		return nil, err
	}
	rep := &Report{Target: strings.ToLower(opts.Target.String()), DryRun: opts.DryRun, Passes: []PassReport{}}
	// graphs holds the graph indexes shared by the passes. An index is
	// handed on only while it matches the protos: it was built by the last
	// validation (nothing changed since), or by a pass that changed nothing.
	// After a pass that changed something, validation rebuilds every index
	// from the protos, so a pass that edited protos behind an index's back
	// never passes that index on.
	graphs := map[int]*graphdef.Graph{}
	validated := map[*graphdef.Graph]error{}
	known := graphProblems(m, graphs, validated)
	for i, ps := range p.Passes {
		if err := ctx.Err(); err != nil {
			return rep, fmt.Errorf("rewrite: before pass %s: %w", ps.Name, err)
		}
		if opts.Progress != nil {
			opts.Progress(progress.Event{Phase: progress.Pass, Pass: ps.Name, Index: i + 1, Passes: len(p.Passes)})
		}
		pr := PassReport{Pass: ps.Name, Changes: []Change{}, Findings: []Finding{}, Notes: []Note{}}
		c := &Context{Ctx: ctx, Model: m, Options: opts, pass: ps, report: &pr, graphs: graphs, validated: validated}
		err := ps.Run(c)
		rep.Passes = append(rep.Passes, pr)
		if err != nil {
			var pe *PassError
			if errors.As(err, &pe) {
				return rep, err
			}
			return rep, &PassError{Pass: ps.Name, Where: Where{MetaGraph: -1}, Err: err}
		}
		if len(pr.Changes) == 0 {
			continue
		}
		graphs, validated = map[int]*graphdef.Graph{}, map[*graphdef.Graph]error{}
		now := graphProblems(m, graphs, validated)
		for key, prob := range now {
			if _, old := known[key]; !old {
				return rep, &PassError{Pass: ps.Name, Where: Node(prob.mg, prob.prob.Function, prob.prob.Node),
					Err: fmt.Errorf("left the graph invalid: %s: %w", prob.prob.Msg, ErrInvalidGraph)}
			}
		}
		known = now
	}
	return rep, nil
}

type graphProblem struct {
	mg   int
	prob graphdef.Problem
}

// graphProblems indexes and validates every GraphDef of m, storing the
// indexes in graphs by meta graph and each index's Validate result in
// validated, and returns the problems keyed by meta graph, function, node
// and message, so that problems can be compared across passes.
func graphProblems(m *savedmodel.Model, graphs map[int]*graphdef.Graph, validated map[*graphdef.Graph]error) map[string]graphProblem {
	out := map[string]graphProblem{}
	for i, mg := range m.Proto.GetMetaGraphs() {
		if mg.GetGraphDef() == nil {
			continue
		}
		g := graphdef.New(mg.GetGraphDef())
		graphs[i] = g
		err := g.Validate()
		validated[g] = err
		var ve *graphdef.ValidationError
		if !errors.As(err, &ve) {
			continue
		}
		for _, p := range ve.Problems {
			key := fmt.Sprintf("%d\x00%s\x00%s\x00%s", i, p.Function, p.Node, p.Msg)
			out[key] = graphProblem{mg: i, prob: p}
		}
	}
	return out
}

// Select returns the passes of p whose names are listed, in p's order, with
// an error naming any unknown name. The name "none" alone selects nothing.
func (p *Pipeline) Select(names []string) (*Pipeline, error) {
	if len(names) == 1 && names[0] == "none" {
		return NewPipeline(), nil
	}
	var out []*Pass
	for _, n := range names {
		if !slices.ContainsFunc(p.Passes, func(ps *Pass) bool { return ps.Name == n }) {
			return nil, fmt.Errorf("rewrite: unknown pass %q (known: %s): %w", n, strings.Join(p.Names(), ", "), ErrInvalidPipeline)
		}
	}
	for _, ps := range p.Passes {
		if slices.Contains(names, ps.Name) {
			out = append(out, ps)
		}
	}
	return NewPipeline(out...), nil
}
