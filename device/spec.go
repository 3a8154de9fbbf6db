package device

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// LocalJob is the job name of every device in a single local TensorFlow
// process (a DirectSession or an eager context without a cluster):
// /job:localhost/replica:0/task:0/device:CPU:0 and so on.
const LocalJob = "localhost"

// MaxNumber is the largest replica, task or device id that Parse accepts:
// TensorFlow stores these numbers in a C++ int.
const MaxNumber = math.MaxInt32

// Spec is a parsed device name: a full name such as
// /job:worker/replica:0/task:1/device:GPU:0, or a partial one (a pattern) in
// which any of the five fields may be unset. It mirrors TensorFlow's
// DeviceNameUtils::ParsedName: each field has a Has flag, and a field whose
// flag is false means "any value"; its value is then ignored.
//
// An unset field and a wildcard "*" are the same thing, as in TensorFlow:
// "/job:*/device:GPU:0" and "/device:GPU:0" parse to equal Specs, and
// [Spec.String] writes neither an unset field nor a "*" for it (except the
// id of a set type, which prints as "*", as TensorFlow does).
//
// Specs returned by this package keep the values of unset fields at their
// zero values, so == on them agrees with [Spec.Equal]. For Specs built by
// hand, use Equal. The zero Spec is the empty name "", which matches every
// device.
type Spec struct {
	Job     string // job name, such as "worker", "ps" or "localhost"
	Replica int    // replica index, >= 0
	Task    int    // task index, >= 0
	Type    string // device type, such as "CPU", "GPU", "TPU"; case preserved
	ID      int    // device index within the task, >= 0

	HasJob, HasReplica, HasTask, HasType, HasID bool
}

// Full returns the fully specified Spec
// /job:<job>/replica:<replica>/task:<task>/device:<typ>:<id>, the form of
// TensorFlow's DeviceNameUtils::FullName. It does not validate its
// arguments; see [Spec.Validate].
func Full(job string, replica, task int, typ string, id int) Spec {
	return Spec{
		Job: job, Replica: replica, Task: task, Type: typ, ID: id,
		HasJob: true, HasReplica: true, HasTask: true, HasType: true, HasID: true,
	}
}

// Local returns the Spec /device:<typ>:<id>: a type and id with no job,
// replica or task, the form of TensorFlow's DeviceNameUtils::LocalName. It
// does not validate its arguments; see [Spec.Validate].
func Local(typ string, id int) Spec {
	return Spec{Type: typ, ID: id, HasType: true, HasID: true}
}

// String returns the canonical text of s, the form TensorFlow's
// DeviceNameUtils::ParsedNameToString prints:
//
//	/job:<job>/replica:<r>/task:<t>/device:<type>:<id>
//
// Each unset component is left out; a set type with an unset id prints the id
// as "*". The empty Spec prints as "".
//
// One case differs from TensorFlow: a Spec with an id but no type (which
// Parse returns for "/device:*:3") prints as "/device:*:3", which parses back
// to the same Spec; TensorFlow's printer drops the id there and so loses it.
//
// String does not validate s; for a Spec built by hand, call [Spec.Validate]
// first if the result must parse.
func (s Spec) String() string {
	var b strings.Builder
	b.Grow(48 + len(s.Job) + len(s.Type))
	if s.HasJob {
		b.WriteString("/job:")
		b.WriteString(s.Job)
	}
	if s.HasReplica {
		b.WriteString("/replica:")
		b.WriteString(strconv.Itoa(s.Replica))
	}
	if s.HasTask {
		b.WriteString("/task:")
		b.WriteString(strconv.Itoa(s.Task))
	}
	if s.HasType || s.HasID {
		b.WriteString("/device:")
		if s.HasType {
			b.WriteString(s.Type)
		} else {
			b.WriteByte('*')
		}
		b.WriteByte(':')
		if s.HasID {
			b.WriteString(strconv.Itoa(s.ID))
		} else {
			b.WriteByte('*')
		}
	}
	return b.String()
}

// Validate reports whether every set field of s is one [Parse] could have
// produced: a job name that starts with an ASCII letter and holds only ASCII
// letters, digits and '_'; a device type of the same form; and numbers from 0
// to [MaxNumber]. A Spec that validates prints (with [Spec.String]) as text
// that parses back to an equal Spec. The error is a *[FieldError].
func (s Spec) Validate() error {
	if s.HasJob && !isName(s.Job) {
		return &FieldError{Field: FieldJob, Value: s.Job, Reason: "not a job name: want a letter, then letters, digits or '_'"}
	}
	nums := [...]struct {
		has bool
		f   Field
		v   int
	}{{s.HasReplica, FieldReplica, s.Replica}, {s.HasTask, FieldTask, s.Task}, {s.HasID, FieldID, s.ID}}
	for _, n := range nums {
		if n.has && (n.v < 0 || n.v > MaxNumber) {
			return &FieldError{Field: n.f, Value: strconv.Itoa(n.v), Reason: fmt.Sprintf("out of range [0, %d]", MaxNumber)}
		}
	}
	if s.HasType && !isName(s.Type) {
		return &FieldError{Field: FieldType, Value: s.Type, Reason: "not a device type: want a letter, then letters, digits or '_'"}
	}
	return nil
}

// MarshalText implements [encoding.TextMarshaler]. It returns s.String(),
// or the [Spec.Validate] error if s would not parse back.
func (s Spec) MarshalText() ([]byte, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return []byte(s.String()), nil
}

// UnmarshalText implements [encoding.TextUnmarshaler] with [Parse].
func (s *Spec) UnmarshalText(text []byte) error {
	p, err := Parse(string(text))
	if err != nil {
		return err
	}
	*s = p
	return nil
}

// Equal reports whether s and o name the same devices: the same fields are
// set, and set fields hold the same values (types compare case-sensitively).
// Values of unset fields are ignored. This is TensorFlow's
// ParsedName::operator==.
func (s Spec) Equal(o Spec) bool {
	return s.clean() == o.clean()
}

// IsEmpty reports whether s sets no field, so that it matches every device:
// the Spec of "", "/" and "/job:*/replica:*/task:*/device:*:*". It is the
// negation of TensorFlow's DeviceNameUtils::HasSomeDetails.
func (s Spec) IsEmpty() bool {
	return !s.HasJob && !s.HasReplica && !s.HasTask && !s.HasType && !s.HasID
}

// IsFullySpecified reports whether all five fields are set, as in the names
// of concrete devices (/job:localhost/replica:0/task:0/device:CPU:0).
func (s Spec) IsFullySpecified() bool {
	return s.HasJob && s.HasReplica && s.HasTask && s.HasType && s.HasID
}

// RefersToCluster reports whether s names a device that a single local
// process does not have whatever its device type: a job other than
// [LocalJob], or a replica or task other than 0. Such names fail to place in
// a local process even with soft placement, which only drops the type and id.
// Unset fields do not count: "/device:GPU:1" and "/job:localhost/task:0" do
// not refer to a cluster; "/job:worker" and "/task:1" do.
func (s Spec) RefersToCluster() bool {
	return (s.HasJob && s.Job != LocalJob) ||
		(s.HasReplica && s.Replica != 0) ||
		(s.HasTask && s.Task != 0)
}

// AddressSpace returns the job, replica and task of s, with no type or id
// (TensorFlow's DeviceNameUtils::AddressSpace).
func (s Spec) AddressSpace() Spec {
	return Spec{Job: s.Job, Replica: s.Replica, Task: s.Task,
		HasJob: s.HasJob, HasReplica: s.HasReplica, HasTask: s.HasTask}.clean()
}

// LocalPart returns the type and id of s, with no job, replica or task: the
// device part of TensorFlow's DeviceNameUtils::SplitDeviceName.
func (s Spec) LocalPart() Spec {
	return Spec{Type: s.Type, ID: s.ID, HasType: s.HasType, HasID: s.HasID}.clean()
}

// HostCPU returns the CPU:0 device in the same address space as s: s with
// type "CPU" and id 0, job, replica and task kept as they are (TensorFlow's
// DeviceNameUtils::DeviceNameToCpuDeviceName).
func (s Spec) HostCPU() Spec {
	s.Type, s.HasType = TypeCPU, true
	s.ID, s.HasID = 0, true
	return s.clean()
}

// Complete fills every unset field of s from base, which must be fully
// specified; the result is fully specified. This is TensorFlow's
// DeviceNameUtils::CanonicalizeDeviceName once the name is parsed (with
// [ParseFullOrLocal], which accepts the same names it does). The error for a
// base that is not fully specified is a *[FieldError].
func (s Spec) Complete(base Spec) (Spec, error) {
	if !base.IsFullySpecified() {
		return Spec{}, &FieldError{Field: firstUnset(base), Value: base.String(),
			Reason: "base name must be fully specified"}
	}
	return s.MergeUnset(base), nil
}

func firstUnset(s Spec) Field {
	switch {
	case !s.HasJob:
		return FieldJob
	case !s.HasReplica:
		return FieldReplica
	case !s.HasTask:
		return FieldTask
	case !s.HasType:
		return FieldType
	}
	return FieldID
}

// clean zeroes the values of unset fields, keeping the invariant that makes
// == agree with Equal.
func (s Spec) clean() Spec {
	if !s.HasJob {
		s.Job = ""
	}
	if !s.HasReplica {
		s.Replica = 0
	}
	if !s.HasTask {
		s.Task = 0
	}
	if !s.HasType {
		s.Type = ""
	}
	if !s.HasID {
		s.ID = 0
	}
	return s
}

// isName reports whether v is a job name or device type as TensorFlow
// parses them: an ASCII letter, then ASCII letters, digits or '_'.
func isName(v string) bool {
	if v == "" || !isAlpha(v[0]) {
		return false
	}
	for i := 1; i < len(v); i++ {
		if !isNameChar(v[i]) {
			return false
		}
	}
	return true
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isNameChar(c byte) bool { return isAlpha(c) || isDigit(c) || c == '_' }
