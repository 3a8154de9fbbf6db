// Package ops holds what unmirror knows about TensorFlow ops, in one place.
//
// # Generated from TensorFlow
//
// [Op] and [Stateful] give the OpDef facts of every op TensorFlow 2.18
// registers: statefulness as the registry records it (SetIsStateful, and
// SetDoNotOptimize, which ops reading or writing resources use), and the
// input and output arguments with what sets their lengths. [HasGPUKernel]
// says, per node and dtype, whether TensorFlow 2.18's GPU build has a
// kernel for it (the KernelDefs of device type GPU or DEFAULT, their type
// constraints and labels). Both tables are generated (opdefs_gen.go,
// kernels_gen.go; `go generate ./ops`) from tensorflow/core/ops/ops.pbtxt
// of the pinned source tree and from dumps of the pinned wheels' registries
// in testdata/ (registry.txt from tensorflow-cpu==2.18.0, kernels.txt from
// the GPU-enabled tensorflow==2.18.0, which lists its GPU kernels without a
// GPU). ops/internal/opgen/dump.sh refreshes the dumps; .ci/run checks them
// against the live wheels, and the tests check the generated files against
// the dumps and ops.pbtxt against the wheel.
//
// # Distribution ops
//
// The distribution ops (NCCL, Collective* in all versions, TPU replication,
// Horovod) are listed in one table, [Distribution], in distribution.go: for
// each op its family, its kind (what it does across replicas), which inputs
// carry the group size, group key and instance key, and what one replica
// computes in a strategy-free graph. The rewrite passes (collectives, verify)
// and inspect read that table and nothing else; [GroupSize] and [IsSum] read
// the facts a node carries in its attrs or constant inputs.
//
// # Where do I add a new collective op?
//
// Add a row to the Distribution table in distribution.go (in the position
// that gives the collectives pass the order it needs: receivers before their
// senders, setup ops last). TestDistributionInputsMatchOpDefs checks every
// input index in the row against the op's OpDef in TensorFlow's registry.
package ops
