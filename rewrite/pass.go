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
	// validated holds Validate's result for indexes the pipeline validated
	// after the last change; see validate.
	validated map[*graphdef.Graph]error
}

// validate returns g.Validate(), reusing the pipeline's result when g is an
// index it validated and the pass has changed nothing yet (so the graph is
// as it was validated).
func (c *Context) validate(g *graphdef.Graph) error {
	if err, ok := c.validated[g]; ok && len(c.report.Changes) == 0 {
		return err
	}
	return g.Validate()
}

// MetaGraphs returns the model's MetaGraphDefs; Where.MetaGraph indexes it.
func (c *Context) MetaGraphs() []*tfpb.MetaGraphDef {
	return c.Model.Proto.GetMetaGraphs()
}

// Graph returns the index of meta graph mg's GraphDef. Edits made through
// it change the model. A pass that edits graph protos directly, bypassing
// the index, must not use an index it fetched before that edit (Reindex
// gives a fresh one).
//
// The first call of a pass for mg returns the index the pipeline shares
// between passes (so that a model of a million nodes is not indexed once
// per pass) when the pass has recorded no change yet: that index matches
// the protos as they were when the pass started. Once the pass has
// recorded a change, the first call builds a fresh index, so a pass that
// edits protos directly, records it with Changef and then asks for the
// index sees its edit. Later calls return the same index.
func (c *Context) Graph(mg int) *graphdef.Graph {
	m := c.MetaGraphs()[mg]
	if g, ok := c.graphs[mg]; ok && g.GraphDef() == m.GraphDef && (c.fetched[mg] || len(c.report.Changes) == 0) {
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
	return g
}

func (c *Context) fetch(mg int) {
	if c.fetched == nil {
		c.fetched = map[int]bool{}
	}
	c.fetched[mg] = true
}

// Changef records an edit the pass made at w. Every edit must be recorded,
// and a direct edit of the protos before the pass first calls Graph: the
// pipeline validates and re-indexes the graphs only after a pass that
// recorded a change, and hands a pass the shared index only while it has
// recorded none.
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
