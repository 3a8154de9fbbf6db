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
// # Edits
//
// [Body.Add], [Body.Remove], [Body.Replace], [Body.Redirect],
// [Body.Rename], [Body.Update], [Graph.AddFunction] and
// [Graph.RemoveFunctions] keep inputs, FunctionDef ret/control_ret,
// signature control outputs and "_class" colocation attrs ("loc:@node")
// consistent with the nodes that exist. [Validate] reports every dangling
// reference, duplicate name, missing function and self-recursive function;
// [Dump] prints a stable text form for debugging and golden tests.
package graphdef
