// Package rewrite runs a pipeline of passes that turn a SavedModel written
// under a distribution strategy into one that loads and computes the same on
// a single CPU or a single GPU.
//
// # Passes
//
// A [Pass] is a value, in the manner of golang.org/x/tools/go/analysis: a
// name, a doc string, the passes it requires to have run before it, and a Run
// function. Run receives a [*Context] that holds the model being rewritten
// (a [*savedmodel.Model], edited in place), the options, and methods to record
// what the pass did: [Context.Changef] for an edit, [Context.Findf] or
// [Context.Find] for a finding (a problem left in the model, which makes
// unmirror.Rewrite refuse to write it; a [Finding] may carry a Kind and a
// Device), [Context.Notef] for anything else the user should know. Users may
// write their own passes and put them in a [Pipeline] beside the built-in
// ones.
//
// Every edit must be recorded with Changef: the pipeline relies on it to
// know when the graphs must be validated and re-indexed.
//
// # Pipeline
//
// [Pipeline.Run] checks the pass list first (names unique, every required
// pass present earlier in the list), then runs the passes in order. After a
// pass that recorded a change, every GraphDef of the model is indexed afresh
// and checked with [graphdef.Graph.Validate]; a problem the input did not
// already have fails the run with an error naming the pass.
//
// Indexing a graph costs about as much as a pass, so passes share indexes:
// [Context.Graph] returns the index the last validation built, or one an
// earlier pass that changed nothing built, and builds one only when there is
// none. An index is handed on only while it matches the protos, so a pass
// may still edit protos directly without another pass ever seeing a stale
// index, provided it records the edit with Changef before it first calls
// Graph (or calls [Context.Reindex] after it). On the 1M-node benchmark this
// cut the pipeline's CPU time by 44% (BENCHMARKS.md, section 2).
//
// The result is a [Report]: per pass, every change and finding with where
// it happened (meta graph, function, node, object id, checkpoint key) and
// why.
//
// A dry run ([Options.DryRun]) runs the same passes on the in-memory model
// and returns the same report; the caller writes nothing.
//
// [Default] returns the pipeline for a target device; the root package's
// unmirror.Rewrite reads a model, runs it and writes the result atomically.
package rewrite
