package ops

import (
	"strconv"
	"strings"
)

// Family is the kind of runtime a distribution op talks to.
type Family uint8

// The families of distribution ops.
const (
	// NotDistribution is the family of every op that is not a distribution op.
	NotDistribution Family = iota
	// NCCL ops (Nccl*, _Nccl*) have GPU kernels only and talk to the other
	// GPUs of one machine.
	NCCL
	// Collective ops (Collective*) talk to the other members of a group
	// through TensorFlow's collective executor.
	Collective
	// TPU replication ops (TPU*, _TPU*).
	TPU
	// Horovod ops (Horovod*) are registered only by Horovod's library.
	Horovod
)

var familyNames = [...]string{"", "nccl", "collective", "tpu", "horovod"}

// String returns the family's lower-case name ("" for NotDistribution).
func (f Family) String() string {
	if int(f) < len(familyNames) {
		return familyNames[f]
	}
	return "family(" + strconv.Itoa(int(f)) + ")"
}

// Kind says what a distribution op does across replicas, and so what it
// becomes in a strategy-free graph.
type Kind uint8

// The kinds of distribution ops.
const (
	// Reduce combines the replicas' inputs (sum, mean, max, ...); over one
	// replica the result is its input.
	Reduce Kind = iota + 1
	// ReduceScatter reduces and gives each replica a slice; one replica gets
	// all of its input.
	ReduceScatter
	// Gather concatenates the replicas' inputs along dimension 0; one
	// replica gets its own input (1/group size of the group's rows).
	Gather
	// AllToAll exchanges slices between replicas; one replica keeps its
	// input.
	AllToAll
	// Broadcast gives every replica the source's input (NcclBroadcast); on
	// one device that is its input.
	Broadcast
	// Send sends its input to peers; on one device there is nobody to send
	// to, and its output, where read, is its input.
	Send
	// Receive receives what the matching sender ([Spec.Peer]) sends; on one
	// device that is the sender's input.
	Receive
	// Setup ops create groups or communicators for the ops above; nothing is
	// left to set up on one device.
	Setup
	// ReplicatedInput (TPUReplicatedInput) picks the input of the running
	// replica; one replica's is input 0.
	ReplicatedInput
	// ReplicatedOutput (TPUReplicatedOutput) fans a result out to
	// num_replicas outputs; with one replica it is an Identity.
	ReplicatedOutput
	// ReplicatedCall (TPUPartitionedCall) calls a function on the TPU core
	// its last input selects; on one device a PartitionedCall of the rest.
	ReplicatedCall
	// Metadata ops describe or compile the replication; TensorFlow's own
	// TPU-to-CPU conversion (convert_tpu_model_to_cpu.cc) removes them.
	Metadata
	// NoSingleDevice ops have no one-device equivalent.
	NoSingleDevice
)

// Arg names an input of an op by position. The zero Arg means "no such
// input"; write In(i) for input i.
type Arg uint8

// In returns the Arg for input position i (0-based).
func In(i int) Arg { return Arg(i + 1) }

// Index returns the input position, and false for the zero Arg.
func (a Arg) Index() (int, bool) { return int(a) - 1, a != 0 }

// Spec is one row of the distribution-op table: the facts about one op that
// a strategy-free rewrite, verify and inspect need.
type Spec struct {
	// Op is the op type (NodeDef.op).
	Op     string
	Family Family
	Kind   Kind
	// Sums marks a reduction that sums when its attrs say so ([IsSum]): a
	// division of its output by the group size then computes a mean.
	Sums bool
	// GroupSize is the input holding the number of replicas in the group.
	// Ops without it carry a group_size or num_devices attr, read by
	// [GroupSize].
	GroupSize Arg
	// GroupAssignment is the input holding a [groups, group size]
	// group_assignment tensor, whose second dimension is the group size.
	GroupAssignment Arg
	// GroupKey and InstanceKey are the inputs holding the group and instance
	// keys that pair a sender with its receivers. Ops without them carry
	// the attrs named by KeyAttrs.
	GroupKey, InstanceKey Arg
	// KeyAttrs are the attrs that pair a sender with its receivers when no
	// key inputs do.
	KeyAttrs []string
	// Peer is, for a Receive, the op type of the sender it pairs with.
	Peer string
	// OneReplica says what the op computes in a group of one replica.
	OneReplica string
}

var v1Keys = []string{"group_key", "instance_key"}

// Distribution is the table of distribution ops, the one place that lists
// them. Its order is the order in which the collectives pass handles NCCL and
// collective ops: receivers before their senders (a receiver finds its
// sender's input), setup ops last (they are removed once nothing reads
// them). TPU rows follow.
var Distribution = []Spec{
	{Op: "NcclAllReduce", Family: NCCL, Kind: Reduce, Sums: true, OneReplica: "its input"},
	{Op: "NcclReduce", Family: NCCL, Kind: Reduce, Sums: true, OneReplica: "input 0, the primary tower's"},
	{Op: "NcclBroadcast", Family: NCCL, Kind: Broadcast, OneReplica: "its input"},
	{Op: "_NcclReduceRecv", Family: NCCL, Kind: Reduce, Sums: true, OneReplica: "its input"},
	{Op: "_NcclReduceSend", Family: NCCL, Kind: Send, OneReplica: "nothing (its input where read)"},
	{Op: "_NcclBroadcastRecv", Family: NCCL, Kind: Receive, KeyAttrs: []string{"shared_name"}, Peer: "_NcclBroadcastSend",
		OneReplica: "the input of the matching _NcclBroadcastSend"},
	{Op: "_NcclBroadcastSend", Family: NCCL, Kind: Send, KeyAttrs: []string{"shared_name"}, OneReplica: "nothing (its input where read)"},

	{Op: "CollectiveReduce", Family: Collective, Kind: Reduce, Sums: true, KeyAttrs: v1Keys, OneReplica: "its input"},
	{Op: "CollectiveReduceV2", Family: Collective, Kind: Reduce, Sums: true, GroupSize: In(1), GroupKey: In(2), InstanceKey: In(3),
		OneReplica: "its input"},
	{Op: "CollectiveReduceV3", Family: Collective, Kind: Reduce, Sums: true, GroupAssignment: In(2), OneReplica: "its input"},
	{Op: "CollectiveReduceScatterV2", Family: Collective, Kind: ReduceScatter, Sums: true, GroupSize: In(1), GroupKey: In(2),
		InstanceKey: In(3), OneReplica: "its input"},
	{Op: "CollectiveGather", Family: Collective, Kind: Gather, KeyAttrs: v1Keys, OneReplica: "its input"},
	{Op: "CollectiveGatherV2", Family: Collective, Kind: Gather, GroupSize: In(1), GroupKey: In(2), InstanceKey: In(3),
		OneReplica: "its input"},
	{Op: "CollectiveAllToAllV2", Family: Collective, Kind: AllToAll, GroupSize: In(1), GroupKey: In(2), InstanceKey: In(3),
		OneReplica: "its input"},
	{Op: "CollectiveAllToAllV3", Family: Collective, Kind: AllToAll, GroupAssignment: In(2), OneReplica: "its input"},
	{Op: "CollectiveBcastRecv", Family: Collective, Kind: Receive, KeyAttrs: v1Keys, Peer: "CollectiveBcastSend",
		OneReplica: "the input of the CollectiveBcastSend with the same group and instance keys"},
	{Op: "CollectiveBcastRecvV2", Family: Collective, Kind: Receive, GroupSize: In(0), GroupKey: In(1), InstanceKey: In(2),
		Peer: "CollectiveBcastSendV2", OneReplica: "the input of the CollectiveBcastSendV2 with the same group and instance keys"},
	{Op: "CollectiveBcastSend", Family: Collective, Kind: Send, KeyAttrs: v1Keys, OneReplica: "nothing (its input where read)"},
	{Op: "CollectiveBcastSendV2", Family: Collective, Kind: Send, GroupSize: In(1), GroupKey: In(2), InstanceKey: In(3),
		OneReplica: "nothing (its input where read)"},
	{Op: "CollectiveAssignGroupV2", Family: Collective, Kind: Setup, OneReplica: "nothing"},
	{Op: "CollectiveInitializeCommunicator", Family: Collective, Kind: Setup, GroupKey: In(0), GroupSize: In(2),
		OneReplica: "nothing"},

	{Op: "TPUReplicatedInput", Family: TPU, Kind: ReplicatedInput, OneReplica: "input 0"},
	{Op: "TPUReplicatedOutput", Family: TPU, Kind: ReplicatedOutput, OneReplica: "its input, when num_replicas is 1"},
	{Op: "TPUPartitionedCall", Family: TPU, Kind: ReplicatedCall, OneReplica: "a PartitionedCall without the device ordinal"},
	{Op: "TPUReplicateMetadata", Family: TPU, Kind: Metadata, OneReplica: "nothing"},
	{Op: "TPUCompilationResult", Family: TPU, Kind: Metadata, OneReplica: "nothing"},
	{Op: "TPUOrdinalSelector", Family: TPU, Kind: Metadata, OneReplica: "nothing"},
	{Op: "_TPUReplicate", Family: TPU, Kind: NoSingleDevice},
	{Op: "TPUCompile", Family: TPU, Kind: NoSingleDevice},
	{Op: "TPUExecute", Family: TPU, Kind: NoSingleDevice},
	{Op: "TPUExecuteAndUpdateVariables", Family: TPU, Kind: NoSingleDevice},
	{Op: "TPUPartitionedInput", Family: TPU, Kind: NoSingleDevice},
	{Op: "TPUPartitionedInputV2", Family: TPU, Kind: NoSingleDevice},
	{Op: "TPUPartitionedOutput", Family: TPU, Kind: NoSingleDevice},
	{Op: "TPUPartitionedOutputV2", Family: TPU, Kind: NoSingleDevice},
	{Op: "TPUReshardVariables", Family: TPU, Kind: NoSingleDevice},
	{Op: "TPURoundRobin", Family: TPU, Kind: NoSingleDevice},
	{Op: "ConfigureDistributedTPU", Family: TPU, Kind: NoSingleDevice},
	{Op: "ShutdownDistributedTPU", Family: TPU, Kind: NoSingleDevice},
}

var byOp = func() map[string]*Spec {
	m := make(map[string]*Spec, len(Distribution))
	for i := range Distribution {
		m[Distribution[i].Op] = &Distribution[i]
	}
	return m
}()

// Lookup returns the row of op in [Distribution]. Horovod ops, which no
// TensorFlow registry lists, are every op whose name starts with "Horovod";
// Lookup returns a NoSingleDevice row for them.
func Lookup(op string) (Spec, bool) {
	if s := byOp[op]; s != nil {
		return *s, true
	}
	if strings.HasPrefix(op, "Horovod") {
		return Spec{Op: op, Family: Horovod, Kind: NoSingleDevice}, true
	}
	return Spec{}, false
}

// FamilyOf returns the family of op: its row's in [Distribution], else the
// family its name announces (Nccl* and _Nccl*, Collective*, TPU* and _TPU*,
// Horovod*), which also covers ops of those runtimes that the table does
// not list because no pass rewrites them (CollectivePermute,
// TPUEmbedding*, ...).
func FamilyOf(op string) Family {
	if s := byOp[op]; s != nil {
		return s.Family
	}
	switch {
	case strings.HasPrefix(op, "Nccl"), strings.HasPrefix(op, "_Nccl"):
		return NCCL
	case strings.HasPrefix(op, "Collective"):
		return Collective
	case strings.HasPrefix(op, "TPU"), strings.HasPrefix(op, "_TPU"):
		return TPU
	case strings.HasPrefix(op, "Horovod"):
		return Horovod
	}
	return NotDistribution
}
