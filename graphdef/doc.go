// Package graphdef is an indexed, editable view of a TensorFlow GraphDef and
// its function library, the ground on which unmirror's rewrite passes
// stand.
//
// # Model
//
// A [Graph] indexes one *GraphDef in place. It has one [Body] for the main
// graph (GraphDef.node) and one per library function
// (FunctionDefLibrary.function[].node_def); TF2 SavedModels keep nearly all
// ops in functions, so every query and edit treats both alike. A node is
// named by a [Location]: Function is "" for the main graph. [Graph.Walk]
// and [Graph.All] visit every node of every body, so a pass that clears
// devices or looks for collective ops cannot forget the functions.
//
// Each Body indexes nodes by name, every input by the name it references
// (so [Body.Consumers] is proportional to the answer), and "_class"
// colocation entries by the node they name; the Graph indexes nodes by op
// type ([Graph.Ops]) and the nodes that name each function in a func attr.
// Building the index is linear in nodes plus inputs. Edits update the index
// incrementally; none re-indexes the graph.
//
// [New] is built for graphs of a million nodes: a few allocations per
// body rather than per node (about 0.2 per node, 320 bytes per node), at
// about 0.35-0.45 µs of CPU per node, a third of it reading each node's
// attr map (any op may carry a func attr, so every map is read).
// [Graph.Validate] costs about 0.16 µs per node and allocates only for
// the problems it reports (BenchmarkNew, BenchmarkValidate and their Rich
// variants in bench_test.go).
//
// # Input grammar
//
// Main graph (tensorflow/core/graph/tensor_id.cc, graph.proto):
//
//	"node"       output 0 of node
//	"node:N"     output N of node
//	"^node"      control edge from node
//
// Function bodies and FunctionDef.ret values (function.proto,
// tensorflow/core/framework/function.cc, FunctionInstantiationHelper):
//
//	"arg"        function input argument arg (all of it, if a list)
//	"arg:N"      element N of list argument arg
//	"node:out"   output argument out of node (all of it, if a list)
//	"node:out:N" element N of output argument out of node
//	"node"       a node with no outputs (only meaningful as a control ref)
//	"^node"      control edge from node (or argument)
//
// Output argument names come from the producer's OpDef, or for a call to a
// library function from that function's signature.output_arg. Node names
// never contain ':'. Control inputs follow all data inputs. FunctionDef
// control_ret values are bare node names. [ParseGraphInput] and
// [ParseFunctionInput] parse these into an [Input], whose String gives the
// same text back.
//
// # Calls and roots
//
// A node calls a function when its op is a library function name or when
// any attr of type func or list(func) names it (f of
// PartitionedCall/StatefulPartitionedCall, then_branch/else_branch of If,
// cond/body of While, branches of Case, and any other, found generically,
// also nested in the attrs of a NameAttrList). library.gradient adds an
// edge from a function to its gradient function. [Graph.Callers],
// [Graph.Callees] and [Graph.Reachable] answer questions over that call
// graph; [SavedModelRoots] and [ServingRoots] list the roots of a
// MetaGraphDef.
//
// # Reachability
//
// [Graph.Reachable] walks main-graph nodes backwards from root nodes
// through data and control inputs. Functions are reached from reached
// main-graph nodes that call them, from root functions, from any node of a
// reached function (bodies count whole, since TF may run stateful nodes no
// return depends on) and through library.gradient. Inside a reached
// function, [Reach.Node] is true for the nodes TF keeps when it
// instantiates the body: those a ret or control_ret value depends on, plus
// stateful and control-flow ops and unknown custom ops, with what they
// depend on ([Graph.KeptByTF]; statefulness is the OpDef's is_stateful in
// TF 2.18's registry, ops.Stateful). [ServingRoots] gives what the C++/Go loader and a serving caller
// touch (signatures including __saved_model_init_op, the main-op and
// legacy-init collections, SaverDef tensors, asset placeholders);
// [SavedModelRoots] adds the concrete functions of the SavedObjectGraph,
// which only Python's loader instantiates.
//
// # Edits
//
// All edits go through a [Body] (or the [Graph] for library-level edits)
// and update the index incrementally; an edit that fails changes nothing.
//
//	Add(n)                          append a node with a new name
//	Remove(policy, names...)        delete nodes; policy (Dangling) for
//	                                control edges from survivors: refuse,
//	                                drop, or forward to the removed node's
//	                                own dependencies; data refs refuse
//	Replace(old, n, remap)          put n in old's place; consumers remapped
//	ReplaceByIdentity(name, i)      the common case: collective -> Identity
//	                                of data input i ("x:data:0" becomes
//	                                "x:output:0" in function bodies)
//	Redirect(from, to Input)        every reader of one tensor reads another
//	RedirectNode(from, to)          every reference to a node (inputs, ret,
//	                                control_ret, _class) names another
//	Rename(old, new)                rename with every reference
//	SetColocation(node, targets...) rewrite a _class attr
//	Update(name)                    re-index after an in-place change of
//	                                inputs, op, func attrs or _class
//	RemoveArg(name)                 drop an unused function argument, with
//	                                arg_attr, resource_arg_unique_id and
//	                                call sites (inputs, Tin,
//	                                _read_only_resource_inputs)
//	Graph.AddFunction(fd)
//	Graph.RemoveFunctions(names...) refuse while callers remain; drops
//	                                library.gradient entries
//
// Edits keep FunctionDef ret/control_ret, the signature's control outputs
// and "_class" colocation attrs ("loc:@node") consistent with the nodes
// that exist: removing a node drops "loc:@node" entries; renaming or
// redirecting a node rewrites them. Tensor names held outside the GraphDef
// (SignatureDef, SaverDef, collections) are the caller's to update when a
// main-graph node is renamed or removed.
//
// Costs: Add, Replace (usually), Redirect, RedirectNode, Rename and Update
// are proportional to the nodes touched. Remove and RemoveFunctions make one
// pass over the affected node list, so batch them. Walk must not be used to
// add or remove nodes while it runs; collect, then edit.
//
// Every edit moves [Graph.Generation], so a holder of an index can tell
// that it was edited. An edit made to the protos directly does not; after
// it, [Graph.Stale] reports whether the index no longer matches them (a
// linear check at about 40% of New's cost), and Update or a fresh New
// brings it back in line.
//
// # Validation and dumps
//
// [Validate] (or [Graph.Validate]) returns a [*ValidationError] listing
// every [Problem], each naming its function and node: dangling inputs,
// ret/control_ret that do not resolve, duplicate names, missing functions
// (func attrs, gradients), outputs that a library function or a registered
// op does not have (the op's output arguments and their lengths, from the
// OpDefs of TF 2.18's registry in package ops), Const nodes without a value
// and self-recursive functions (the C++ loader rejects the last two). Op
// types that are neither library functions nor registered by TF 2.18
// (custom ops) are not checked. [Dump] prints a stable, sorted text form for debugging
// and golden tests.
package graphdef
