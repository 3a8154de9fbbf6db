// Package ops holds what unmirror knows about TensorFlow ops, in one place.
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
