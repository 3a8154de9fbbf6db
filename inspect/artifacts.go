package inspect

// The artifact vocabulary: names of the distribution leftovers and storage
// features [Model] detects, the same names testdata/models/manifest.json
// uses. Each constant's comment is its detection rule. "Device string" means
// NodeDef.device in a main graph or a function body, SavedVariable.device,
// a distributed component's device, or SavedResource.device.
const (
	// a device string names a GPU
	ArtifactDeviceGPU = "device_gpu"
	// a device string names CPU:N with N > 0
	ArtifactDeviceCPUN = "device_cpu_n"
	// a device string names a job other than localhost, or a task > 0
	ArtifactDeviceJob = "device_job"
	// a VarHandleOp/VariableV2/Variable/_VarHandlesOp whose name or
	// shared_name ends in /replica_N or lies under tower_N/ (N > 0), or a
	// SavedVariable with distributed components
	ArtifactReplicaVariables = "replica_variables"
	// a SavedVariable has experimental_distributed_variable_components
	ArtifactDistributedVariableComponents = "distributed_variable_components"
	// an NCCL op (ops.FamilyOf: a row of ops.Distribution, or named Nccl* or _Nccl*)
	ArtifactNCCLOps = "nccl_ops"
	// a collective op (ops.FamilyOf: a row of ops.Distribution, or named Collective*)
	ArtifactCollectiveOps = "collective_ops"
	// a TPU op (ops.FamilyOf: a row of ops.Distribution, or named TPU* or
	// _TPU*), or a node with a _tpu_replicate attr
	ArtifactTPUOps = "tpu_ops"
	// a Horovod op (named Horovod*)
	ArtifactHorovodOps = "horovod_ops"
	// the checkpoint has more than one data shard
	ArtifactShardedSaver = "sharded_saver"
	// a SaveV2/RestoreV2/SaveSlices/RestoreSlice shape_and_slices Const holds
	// a slice spec, or a checkpoint key has a part_N path component
	ArtifactShardedVariable = "sharded_variable"
	// a SavedVariable has synchronization ON_READ
	ArtifactSyncOnReadVariables = "sync_on_read_variables"
	// a checkpoint key contains .OPTIMIZER_SLOT/, lies under
	// optimizer/_variables/N/, or ends in a TF1 slot suffix (/Adam, /Adam_1,
	// /Momentum, /RMSProp, /Adagrad, /Ftrl, /Adadelta, /Nadam, ...)
	ArtifactOptimizerSlots = "optimizer_slots"
	// keras_metadata.pb is present
	ArtifactKerasMetadata = "keras_metadata"
	// the checkpoint holds a DT_STRING tensor other than the object graph
	ArtifactStringTensors = "string_tensors"
	// a MetaGraph has asset_file_defs or a saved_model_assets collection,
	// or assets/ is not empty
	ArtifactAssets = "assets"
	// the model is stored as saved_model.pbtxt
	ArtifactPBTxt = "pbtxt"
	// a node has a _class attr with a loc:@ entry
	ArtifactColocation = "colocation"
)

// Artifacts lists the artifact vocabulary in the order inspections report it.
var Artifacts = []string{
	ArtifactDeviceGPU, ArtifactDeviceCPUN, ArtifactDeviceJob, ArtifactReplicaVariables,
	ArtifactDistributedVariableComponents, ArtifactNCCLOps, ArtifactCollectiveOps, ArtifactTPUOps,
	ArtifactHorovodOps, ArtifactShardedSaver, ArtifactShardedVariable, ArtifactSyncOnReadVariables,
	ArtifactOptimizerSlots, ArtifactKerasMetadata, ArtifactStringTensors, ArtifactAssets, ArtifactPBTxt,
	ArtifactColocation,
}
