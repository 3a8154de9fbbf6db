package device

import (
	"fmt"
	"strings"
)

// Devices returns the devices of one local process of the target, as
// TensorFlow names them: the host CPU, and for the GPU target one GPU.
func (t Target) Devices() []Spec {
	cpu := Full(LocalJob, 0, 0, TypeCPU, 0)
	if t == GPU {
		return []Spec{cpu, Full(LocalJob, 0, 0, TypeGPU, 0)}
	}
	return []Spec{cpu}
}

// Unplaceable says why TensorFlow's placer, in one local process of the
// target with soft placement off, finds no device for a node pinned to s,
// or returns "" when it finds one: s must match (Spec.Matches) one of
// t.Devices(), every set field exactly and the type case-sensitively. A
// model whose device names are all placeable loads on the target as it is,
// whatever the rewrite would still normalise.
func (t Target) Unplaceable(s Spec) string {
	for _, d := range t.Devices() {
		if s.Matches(d) {
			return ""
		}
	}
	var why []string
	if s.HasJob && s.Job != LocalJob {
		why = append(why, "job "+s.Job+" is not localhost")
	}
	if s.HasReplica && s.Replica != 0 {
		why = append(why, fmt.Sprintf("replica %d is not 0", s.Replica))
	}
	if s.HasTask && s.Task != 0 {
		why = append(why, fmt.Sprintf("task %d is not 0", s.Task))
	}
	switch {
	case !s.HasType:
		if s.HasID && s.ID != 0 {
			why = append(why, fmt.Sprintf("device %d does not exist, a one-device process has device 0", s.ID))
		}
	case s.Type == TypeCPU || (s.Type == TypeGPU && t == GPU):
		if s.HasID && s.ID != 0 {
			why = append(why, fmt.Sprintf("%s:%d does not exist, a one-device process has %s:0", s.Type, s.ID, s.Type))
		}
	case s.Type == TypeGPU:
		why = append(why, "a CPU process has no GPU")
	case KindOf(s.Type) == KindCPU || KindOf(s.Type) == KindGPU:
		why = append(why, fmt.Sprintf("type %q matches no device (the placer compares types case-sensitively)", s.Type))
	default:
		why = append(why, fmt.Sprintf("no %s device", s.Type))
	}
	return strings.Join(why, ", ")
}

// SoftUnplaceable says why TensorFlow's placer finds no device for a node
// pinned to s in one local process of the target even with soft placement
// on, or returns "" when it finds one. Soft placement
// (ColocationGraph::GetSoftDeviceCandidates) drops the requested device
// type and index but keeps the job, replica and task, so only those must
// match the local process: "/device:CPU:1" and "/device:GPU:0" place on a
// CPU target, "/job:worker/task:0/device:CPU:0" does not.
func (t Target) SoftUnplaceable(s Spec) string {
	s.HasType, s.Type, s.HasID, s.ID = false, "", false, 0
	return t.Unplaceable(s)
}
