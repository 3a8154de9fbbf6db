package device

import "strings"

// Matches reports whether other satisfies the pattern s: every field set in
// s is also set in other, with the same value. Device types compare
// case-sensitively, as in TensorFlow, so "/device:cpu:0" matches no CPU
// device. An empty s matches everything.
//
// This is TensorFlow's DeviceNameUtils::IsSpecification(s, other). When
// other is a concrete device (fully specified), it is also
// IsCompleteSpecification(s, other), the test DeviceSet::FindMatchingDevices
// uses to find the devices a requested name may be placed on.
func (s Spec) Matches(other Spec) bool {
	return (!s.HasJob || other.HasJob && s.Job == other.Job) &&
		(!s.HasReplica || other.HasReplica && s.Replica == other.Replica) &&
		(!s.HasTask || other.HasTask && s.Task == other.Task) &&
		(!s.HasType || other.HasType && s.Type == other.Type) &&
		(!s.HasID || other.HasID && s.ID == other.ID)
}

// CompatibleWith reports whether some device name could satisfy both s and
// o: no field is set in both to different values (TensorFlow's
// DeviceNameUtils::AreCompatibleDevNames). Two compatible names merge
// without error.
func (s Spec) CompatibleWith(o Spec) bool {
	return s.conflict(o) < 0
}

// conflict returns the first field set in both s and o to different values,
// or -1.
func (s Spec) conflict(o Spec) Field {
	switch {
	case s.HasJob && o.HasJob && s.Job != o.Job:
		return FieldJob
	case s.HasReplica && o.HasReplica && s.Replica != o.Replica:
		return FieldReplica
	case s.HasTask && o.HasTask && s.Task != o.Task:
		return FieldTask
	case s.HasType && o.HasType && s.Type != o.Type:
		return FieldType
	case s.HasID && o.HasID && s.ID != o.ID:
		return FieldID
	}
	return -1
}

// SameAddressSpace reports whether s and o both set job, replica and task,
// to the same values, so the devices share one process (TensorFlow's
// DeviceNameUtils::IsSameAddressSpace).
func (s Spec) SameAddressSpace(o Spec) bool {
	return s.HasJob && o.HasJob && s.Job == o.Job &&
		s.HasReplica && o.HasReplica && s.Replica == o.Replica &&
		s.HasTask && o.HasTask && s.Task == o.Task
}

// DifferentAddressSpace reports whether s and o set the job, replica or task
// to different values, so they cannot share a process (TensorFlow's
// DeviceNameUtils::IsDifferentAddressSpace). Names that leave these unset
// are in neither the same nor a different address space.
func (s Spec) DifferentAddressSpace(o Spec) bool {
	return s.HasJob && o.HasJob && s.Job != o.Job ||
		s.HasReplica && o.HasReplica && s.Replica != o.Replica ||
		s.HasTask && o.HasTask && s.Task != o.Task
}

// Compare orders Specs as TensorFlow's ParsedName::operator< does, for
// sorting: field by field in the order job, replica, task, type, id, an
// unset field sorts before any set one, and set values compare as strings
// (byte-wise) or numbers. It returns -1, 0 or +1; 0 exactly when s.Equal(o).
func (s Spec) Compare(o Spec) int {
	if c := cmpField(s.HasJob, o.HasJob, strings.Compare(s.Job, o.Job)); c != 0 {
		return c
	}
	if c := cmpField(s.HasReplica, o.HasReplica, cmpInt(s.Replica, o.Replica)); c != 0 {
		return c
	}
	if c := cmpField(s.HasTask, o.HasTask, cmpInt(s.Task, o.Task)); c != 0 {
		return c
	}
	if c := cmpField(s.HasType, o.HasType, strings.Compare(s.Type, o.Type)); c != 0 {
		return c
	}
	return cmpField(s.HasID, o.HasID, cmpInt(s.ID, o.ID))
}

func cmpField(a, b bool, values int) int {
	switch {
	case a != b && !a:
		return -1
	case a != b:
		return 1
	case !a:
		return 0
	}
	return values
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
