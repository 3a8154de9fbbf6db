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
// Every edit must be recorded with Changef: the report is what the user
// sees of it.
//
// # Where a new pass goes
//
// One file: default.go. The default pipeline ([Default], [Passes]) is the
// literal list there, and next to it the ordering constraints between
// passes ([Orders]: "replicas" before "saver", "collectives" before
// "prune", "verify" last), each with its reason. [Pipeline.Check] enforces
// them on every pipeline, so a custom one that breaks them is refused
// before it runs. A program adds its own pass to a pipeline with
// [Pipeline.InsertBefore] or [Pipeline.InsertAfter] (examples/custompass);
// unmirror.Rewrite runs verify last in every pipeline ([Pipeline.Verified]).
//
// # Pipeline
//
// [Pipeline.Run] checks the pass list first ([Pipeline.Check]: names unique,
// every required pass present earlier in the list, the ordering
// constraints kept), then runs the passes in order. After a
// pass that changed something (it recorded a change, or edited through an
// index: [graphdef.Graph.Generation] moved), every GraphDef of the model is
// checked with [graphdef.Graph.Validate]; a problem the input did not
// already have fails the run with an error naming the pass.
//
// Indexing a graph costs about as much as a pass, so passes share indexes:
// [Context.Graph] returns the pipeline's index, which edits made through it
// keep current. After a pass that changed something, the pipeline keeps an
// index only if it still matches the protos ([graphdef.Graph.Stale]) and
// builds a fresh one otherwise. A pass that edits indexed parts of the
// protos directly (inputs, ops, func attrs, _class, nodes, functions) calls
// graphdef.Body.Update or [Context.Reindex] before it uses the index again.
//
// The verify pass never trusts a cached index or an earlier validation: it
// checks the protos as they are. It reuses the pipeline's validation only
// when that ran right before it and nothing was edited since; otherwise it
// checks its index against the protos (rebuilding it if stale) and
// validates again, so even an edit a custom pass neither recorded nor made
// through the index is caught.
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
