// Package unmirror rewrites a TensorFlow SavedModel that was written under a
// distribution strategy into a strategy-free SavedModel that loads and
// computes the same on one CPU or one GPU, without TensorFlow.
//
// # The problem
//
// Models trained with tf.distribute.MirroredStrategy, MultiWorkerMirroredStrategy,
// ParameterServerStrategy or Horovod carry their training topology into the
// saved artifact. Loading it anywhere else fails, in TensorFlow's own words:
//
//   - "Cannot assign a device for operation dense/kernel: {{node dense/kernel}}
//     was explicitly assigned to /job:localhost/replica:0/task:0/device:GPU:1 but
//     available devices are [ /job:localhost/replica:0/task:0/device:CPU:0 ]"
//     (device strings pinned in the main graph; the C++ loader used by TF
//     Serving, Go and Java does not soft-place it. Function bodies are
//     soft-placed in every runtime, where only job, replica and task count);
//   - the same error for /job:worker and /job:ps devices, which even soft
//     placement cannot fix, since it keeps job, replica and task;
//   - "No OpKernel was registered to support Op 'NcclAllReduce'" (NCCL ops
//     have GPU kernels only);
//   - collectives with group_size > 1 that wait forever for peers;
//   - "Could not find variable dense/kernel/replica_1" for per-replica
//     variables that nothing restores;
//   - for ParameterServerStrategy's sharded variables, "Looks like you are
//     trying to run a loaded non-Keras model that was trained using
//     tf.distribute.experimental.ParameterServerStrategy with variable
//     partitioning, which is not currently supported" (TF 2.8 to 2.12), or,
//     for a function that reads the parts directly, "Resource .../part_0
//     does not exist" from the C++ loader and a silently wrong result from
//     Python.
//
// # Packages and data flow
//
// A rewrite reads a model, edits it in memory with a pipeline of passes, and
// writes a new directory atomically; the input is never modified.
//
//	read                 model                     passes                     write
//	savedmodel.Read  ->  savedmodel.Model      ->  rewrite.Pipeline       ->  Model.Write
//	(saved_model.pb,     (SavedModel proto,        (replicas, shards,         (temp dir, fsync,
//	 variables/ index)    graphdef index,           collectives, saver,        rename; unchanged
//	                      bundle handle)            devices, prune, verify)    shards streamed)
//
// The packages, each named for what it is:
//
//   - [github.com/unmirror/unmirror/device]: TensorFlow device names: parse,
//     print, match, merge, and the remap policy for a one-device target.
//   - [github.com/unmirror/unmirror/savedmodel]: read and write SavedModel
//     directories (MetaGraphDefs, SavedObjectGraph, assets, fingerprint).
//   - savedmodel/bundle and savedmodel/table: the TensorBundle checkpoint under
//     variables/ and the LevelDB-style table its index is stored in, read and
//     written as streams with CRC32C checks.
//   - [github.com/unmirror/unmirror/ops]: TensorFlow op facts in one place:
//     OpDefs and GPU kernels generated from TensorFlow 2.18's registries, and
//     the table of distribution ops. Where do I add a new collective op? In
//     that table, ops/distribution.go.
//   - savedmodel/cppproto: C++ protobuf's deterministic encoding, in which
//     saved_model.pb is written and fingerprints are hashed.
//   - [github.com/unmirror/unmirror/graphdef]: an indexed, editable view of a
//     GraphDef and its function library.
//   - [github.com/unmirror/unmirror/rewrite]: the pass pipeline and the passes.
//     Where do I add a new pass? In rewrite/default.go: the default pipeline
//     is the one list there, beside the ordering constraints between passes,
//     each with its reason (a program adds its own with
//     rewrite.Pipeline.InsertBefore, as examples/custompass does).
//   - [github.com/unmirror/unmirror/inspect]: what is in a model (devices,
//     distribution artifacts, checkpoint entries), whether it loads on a
//     target as it is, and the semantic diff of two models.
//   - This package: the entry points below, thin over the packages above.
//   - examples/unmirror: the command-line tool; examples/serve: loading a
//     model from Go through TensorFlow's C API; examples/custompass: adding
//     your own pass to the pipeline.
//
// # Entry points
//
// One function per command of the unmirror tool, each taking a context, the
// model directory (two for Diff) and an options struct whose zero value is
// the default:
//
//   - [Rewrite]: read, run the pass pipeline, write the result atomically
//     ([Options]; Options{DryRun: true} writes nothing);
//   - [Inspect]: what a model holds and whether it loads on one CPU or GPU
//     as it is ([InspectOptions]);
//   - [Verify]: whether it loads on one device of a target, and why not
//     ([VerifyOptions]); a model that does not is an answer, not an error;
//   - [Diff]: what differs between two models for their users ([DiffOptions]).
//
// A model that cannot be read is a *[ReadError] naming it; an existing output
// matches errors.Is(err, fs.ErrExist); a rewrite that leaves problems is a
// *[FindingsError]. To work on a model already in memory, call the packages
// themselves: savedmodel.Read, rewrite.Pipeline.Run, inspect.Model.
//
// TensorFlow itself is used only to make the fixture models under testdata/
// and to check conformance; it is never needed at run time.
package unmirror
