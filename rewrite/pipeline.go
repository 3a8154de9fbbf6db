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
// Run function, names are unique, every pass a pass requires comes earlier
// in the list, and the order respects every constraint of [Orders] between
// the passes it holds (by name: "shards" before "saver", "verify" last, ...).
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
	return checkOrder(p.Passes)
}

// InsertBefore puts pass into p right before the pass named name, or
// returns an error if p has no such pass. Run checks the result.
func (p *Pipeline) InsertBefore(name string, pass *Pass) error {
	return p.insert(name, 0, pass)
}

// InsertAfter puts pass into p right after the pass named name, or returns
// an error if p has no such pass. Run checks the result.
func (p *Pipeline) InsertAfter(name string, pass *Pass) error {
	return p.insert(name, 1, pass)
}

func (p *Pipeline) insert(name string, offset int, pass *Pass) error {
	i := slices.IndexFunc(p.Passes, func(ps *Pass) bool { return ps != nil && ps.Name == name })
	if i < 0 {
		return fmt.Errorf("rewrite: no pass %q to insert %s next to (passes: %s): %w", name, pass, strings.Join(p.Names(), ", "), ErrInvalidPipeline)
	}
	p.Passes = slices.Insert(p.Passes, i+offset, pass)
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
// place. After each pass that changed something (it recorded a change, or
// edited through an index: the index's generation moved), every GraphDef
// of m is validated; a problem that the input did
// not have fails the run with a *PassError naming the pass. The report
// holds what every pass that ran did, also when an error stops the run.
func (p *Pipeline) Run(ctx context.Context, m *savedmodel.Model, opts Options) (*Report, error) {
	if err := p.Check(); err != nil {
		return nil, err
	}
	rep := &Report{Target: strings.ToLower(opts.Target.String()), DryRun: opts.DryRun, Passes: []PassReport{},
		KeptFiles: m.OtherFilePaths()}
	// graphs holds the graph indexes shared by the passes, and checked
	// the last validation's results, valid for the next pass only.
	graphs := map[int]*graphdef.Graph{}
	checked := map[*graphdef.Graph]checkedIndex{}
	known := graphProblems(m, graphs, checked)
	for i, ps := range p.Passes {
		if err := ctx.Err(); err != nil {
			return rep, fmt.Errorf("rewrite: before pass %s: %w", ps.Name, err)
		}
		if opts.Progress != nil {
			opts.Progress(progress.Event{Phase: progress.Pass, Pass: ps.Name, Index: i + 1, Passes: len(p.Passes)})
		}
		before := make(map[int]generation, len(graphs))
		for mg, g := range graphs {
			before[mg] = generation{g, g.Generation()}
		}
		pr := PassReport{Pass: ps.Name, Changes: []Change{}, Findings: []Finding{}, Notes: []Note{}}
		c := &Context{Ctx: ctx, Model: m, Options: opts, pass: ps, report: &pr, graphs: graphs, checked: checked}
		err := ps.Run(c)
		rep.Passes = append(rep.Passes, pr)
		if err != nil {
			var pe *PassError
			if errors.As(err, &pe) {
				return rep, err
			}
			return rep, &PassError{Pass: ps.Name, Where: Where{MetaGraph: -1}, Err: err}
		}
		checked = nil
		if len(pr.Changes) == 0 && !c.edited(before) {
			continue
		}
		checked = map[*graphdef.Graph]checkedIndex{}
		now := graphProblems(m, graphs, checked)
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

// generation is an index and its generation at some point.
type generation struct {
	g   *graphdef.Graph
	gen uint64
}

// edited reports whether the pass edited through an index: one the
// pipeline handed it (before holds their generations then) or one it
// built itself. Building an index is not an edit.
func (c *Context) edited(before map[int]generation) bool {
	for _, b := range before {
		if b.g.Generation() != b.gen {
			return true
		}
	}
	for g, gen := range c.built {
		if g.Generation() != gen {
			return true
		}
	}
	return false
}

type graphProblem struct {
	mg   int
	prob graphdef.Problem
}

// graphProblems validates every GraphDef of m and returns the problems
// keyed by meta graph, function, node and message, so that problems can be
// compared across passes. It keeps an index of graphs that still matches
// its GraphDef (graphdef.Graph.Stale), which edits through the index
// ensure, and replaces any other by a fresh one; it records each index's
// generation and Validate result in checked.
func graphProblems(m *savedmodel.Model, graphs map[int]*graphdef.Graph, checked map[*graphdef.Graph]checkedIndex) map[string]graphProblem {
	out := map[string]graphProblem{}
	for i, mg := range m.Proto.GetMetaGraphs() {
		if mg.GetGraphDef() == nil {
			delete(graphs, i)
			continue
		}
		g := graphs[i]
		if g == nil || g.GraphDef() != mg.GetGraphDef() || g.Stale() {
			g = graphdef.New(mg.GetGraphDef())
			graphs[i] = g
		}
		err := g.Validate()
		checked[g] = checkedIndex{gen: g.Generation(), err: err}
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

// Verified returns p with the verify pass last, where it checks the final
// model: p itself if it already ends with Verify, else a new pipeline of
// p's other passes followed by Verify. unmirror.Rewrite and the CLI run
// every pipeline this way unless the caller explicitly skips verification.
func (p *Pipeline) Verified() *Pipeline {
	if n := len(p.Passes); n > 0 && p.Passes[n-1] == Verify {
		return p
	}
	return NewPipeline(append(p.Without(Verify.Name).Passes, Verify)...)
}

// Without returns a new pipeline of p's passes but those named.
func (p *Pipeline) Without(names ...string) *Pipeline {
	var out []*Pass
	for _, ps := range p.Passes {
		if !slices.Contains(names, ps.Name) {
			out = append(out, ps)
		}
	}
	return NewPipeline(out...)
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
