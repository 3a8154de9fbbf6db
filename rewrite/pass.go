package rewrite

import (
	"context"
	"fmt"

	graphpb "github.com/wamuir/graft/tensorflow/core/framework/graph_go_proto"
	tfpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"

	"github.com/unmirror/unmirror/graphdef"
	"github.com/unmirror/unmirror/savedmodel"
)

// A Pass is one step of a rewrite: a named, documented unit that edits a
// model in place and records what it did.
type Pass struct {
	// Name identifies the pass in pipelines, reports and the CLI's
	// --passes flag: lower case, no spaces, unique in a pipeline.
	Name string

	// Doc says what the pass does; its first sentence is a summary.
	Doc string

	// Requires lists passes that must run earlier in the same pipeline.
	Requires []*Pass

	// Run edits c.Model. It records every edit with c.Changef, every
	// problem it leaves in the model with c.Findf (a finding means the
	// result is not strategy-free: unmirror.Rewrite then writes nothing),
	// and what else the user should know with c.Notef. An error stops the
	// pipeline.
	Run func(c *Context) error
}

func (p *Pass) String() string { return p.Name }

// Context is what a Pass works with during one run.
type Context struct {
	// Ctx is cancelled when the caller gives up; long passes check it.
	Ctx context.Context

	// Model is the model being rewritten. Passes edit it in place.
	Model *savedmodel.Model

	// Options are the pipeline's options.
	Options Options

	pass   *Pass
	report *PassReport
	graphs map[int]*graphdef.Graph
	// fetched records the meta graphs whose index this pass asked for.
	fetched map[int]bool
	// checked holds what the pipeline's validation found right before
	// this pass (after the pass before it, or before the first pass),
	// per index, with the index's generation then; see checkedGraph.
	checked map[*graphdef.Graph]checkedIndex
	// built holds the indexes this pass built (Reindex) and their
	// generation then.
	built map[*graphdef.Graph]uint64
}

// checkedIndex is an index the pipeline found matching the protos, at
// generation gen, and what Validate returned for it.
type checkedIndex struct {
	gen uint64
	err error
}

// checkedGraph returns the index of meta graph mg and its Validate
// result, both true to the protos as they are now: the pipeline's result
// when it checked the index right before this pass and nothing was edited
// through the index since (no pass ran in between, and this one edits
// nothing behind the index's back before asking, as verify does not);
// otherwise the index is checked against the protos (rebuilt if stale)
// and validated again. Verification never trusts anything older.
func (c *Context) checkedGraph(mg int) (*graphdef.Graph, error) {
	g := c.Graph(mg)
	if k, ok := c.checked[g]; ok && k.gen == g.Generation() && len(c.report.Changes) == 0 {
		return g, k.err
	}
	// An index this pass built and has not edited since is fresh.
	if gen, ok := c.built[g]; (!ok || gen != g.Generation()) && g.Stale() {
		g = c.Reindex(mg)
	}
	return g, g.Validate()
}

// MetaGraphs returns the model's MetaGraphDefs; Where.MetaGraph indexes it.
func (c *Context) MetaGraphs() []*tfpb.MetaGraphDef {
	return c.Model.Proto.GetMetaGraphs()
}

// Graph returns the index of meta graph mg's GraphDef. Edits made through
// it change the model and keep it current. A pass that edits the protos
// of an indexed node directly (its inputs, op, func attrs or _class) calls
// Body.Update afterwards, or Reindex, before it uses the index again.
//
// The first call of a pass for mg returns the index the pipeline shares
// between passes, so that a model of a million nodes is not indexed once
// per pass. If the pass has recorded a change before that first call, the
// shared index is first checked against the protos (graphdef.Graph.Stale)
// and rebuilt if they differ, so a pass that edits protos directly, then
// asks for the index, sees its edit. Later calls return the same index.
func (c *Context) Graph(mg int) *graphdef.Graph {
	m := c.MetaGraphs()[mg]
	if g, ok := c.graphs[mg]; ok && g.GraphDef() == m.GraphDef && (c.fetched[mg] || len(c.report.Changes) == 0 || !g.Stale()) {
		c.fetch(mg)
		return g
	}
	return c.Reindex(mg)
}

// Reindex builds a fresh index of meta graph mg's GraphDef from the protos,
// which Graph returns from then on, and returns it. A pass calls it after
// editing protos directly when it needs the index again.
func (c *Context) Reindex(mg int) *graphdef.Graph {
	m := c.MetaGraphs()[mg]
	if m.GraphDef == nil {
		m.GraphDef = new(graphpb.GraphDef)
	}
	g := graphdef.New(m.GraphDef)
	c.graphs[mg] = g
	c.fetch(mg)
	if c.built == nil {
		c.built = map[*graphdef.Graph]uint64{}
	}
	c.built[g] = g.Generation()
	return g
}

func (c *Context) fetch(mg int) {
	if c.fetched == nil {
		c.fetched = map[int]bool{}
	}
	c.fetched[mg] = true
}

// Changef records an edit the pass made at w. Every edit must be recorded:
// the report is what the user sees. The pipeline does not rely on it
// alone: it validates the graphs after a pass that recorded a change or
// edited through an index (graphdef.Graph.Generation), and verify checks
// the protos as they are, so an edit that was not recorded is still
// checked.
func (c *Context) Changef(w Where, format string, args ...any) {
	c.report.Changes = append(c.report.Changes, Change{Where: w, What: sprintf(format, args)})
}

// sprintf is fmt.Sprintf without its cost for the common format "%s" of
// one string: passes such as devices record hundreds of thousands of
// changes on big graphs.
func sprintf(format string, args []any) string {
	if format == "%s" && len(args) == 1 {
		if s, ok := args[0].(string); ok {
			return s
		}
	}
	return fmt.Sprintf(format, args...)
}

// Findf records a problem the pass found at w and left in the model.
func (c *Context) Findf(w Where, format string, args ...any) {
	c.report.Findings = append(c.report.Findings, Finding{Where: w, What: sprintf(format, args)})
}

// Find records f, a problem the pass found and left in the model, with its
// Kind and Device when they apply.
func (c *Context) Find(f Finding) {
	c.report.Findings = append(c.report.Findings, f)
}

// Notef records something the user should know about what the pass did at
// w that leaves the model strategy-free; unlike a finding, a note never
// makes a rewrite fail.
func (c *Context) Notef(w Where, format string, args ...any) {
	c.report.Notes = append(c.report.Notes, Note{Where: w, What: sprintf(format, args)})
}

// Errorf returns an error for the pass, naming where the problem is.
func (c *Context) Errorf(w Where, format string, args ...any) error {
	return &PassError{Pass: c.pass.Name, Where: w, Err: fmt.Errorf(format, args...)}
}

// PassError is an error a pass returned, or a graph problem it introduced.
type PassError struct {
	Pass  string
	Where Where
	Err   error
}

func (e *PassError) Error() string {
	return fmt.Sprintf("rewrite: pass %s: %s: %v", e.Pass, e.Where, e.Err)
}

func (e *PassError) Unwrap() error { return e.Err }
