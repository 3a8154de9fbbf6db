package device

// Merge combines s and other as TensorFlow's DeviceNameUtils::MergeDevNames
// does with allow_soft_placement false, which is how the placer combines
// the names of colocated nodes: every field set in other is copied into s,
// and a field set in both to different values is an error (a *[MergeError]
// wrapping [ErrIncompatible]). Merge is symmetric when it succeeds.
func (s Spec) Merge(other Spec) (Spec, error) {
	return s.merge(other, false, false)
}

// MergeSoft is [Spec.Merge] with allow_soft_placement true: job, replica
// and task conflicts are still errors, but a type conflict drops both type
// and id (the result may go on any device type) and an id conflict drops the
// id. A dropped field ends the merge, as in TensorFlow: after a type
// conflict other's id is not looked at.
func (s Spec) MergeSoft(other Spec) (Spec, error) {
	return s.merge(other, true, false)
}

// MergeOverride is TensorFlow's DeviceNameUtils::MergeOverrideDevNames:
// like [Spec.MergeSoft], but a type or id conflict takes other's value
// instead of dropping the field. Job, replica and task conflicts are still
// errors. If other sets a different type but no id, s's id is kept.
func (s Spec) MergeOverride(other Spec) (Spec, error) {
	return s.merge(other, true, true)
}

// MergeUnset copies into s each field that other sets and s does not, and
// never fails: where both set a field, s wins (TensorFlow's
// DeviceNameUtils::MergeUnsetDevNames). Function inlining uses it to give
// a body node's name the caller's unset fields.
func (s Spec) MergeUnset(other Spec) Spec {
	if other.HasJob && !s.HasJob {
		s.Job, s.HasJob = other.Job, true
	}
	if other.HasReplica && !s.HasReplica {
		s.Replica, s.HasReplica = other.Replica, true
	}
	if other.HasTask && !s.HasTask {
		s.Task, s.HasTask = other.Task, true
	}
	if other.HasType && !s.HasType {
		s.Type, s.HasType = other.Type, true
	}
	if other.HasID && !s.HasID {
		s.ID, s.HasID = other.ID, true
	}
	return s.clean()
}

// merge follows TensorFlow's MergeDevNamesImpl field by field, so that the
// error names the first conflicting field and shows the target as merged up
// to that point.
func (s Spec) merge(o Spec, soft, override bool) (Spec, error) {
	s = s.clean()
	fail := func(f Field) (Spec, error) {
		return Spec{}, &MergeError{Field: f, Target: s, Other: o.clean()}
	}
	if o.HasJob {
		if s.HasJob && s.Job != o.Job {
			return fail(FieldJob)
		}
		s.Job, s.HasJob = o.Job, true
	}
	if o.HasReplica {
		if s.HasReplica && s.Replica != o.Replica {
			return fail(FieldReplica)
		}
		s.Replica, s.HasReplica = o.Replica, true
	}
	if o.HasTask {
		if s.HasTask && s.Task != o.Task {
			return fail(FieldTask)
		}
		s.Task, s.HasTask = o.Task, true
	}
	if o.HasType {
		switch {
		case !s.HasType || s.Type == o.Type || override:
			s.Type, s.HasType = o.Type, true
		case !soft:
			return fail(FieldType)
		default:
			s.Type, s.HasType, s.ID, s.HasID = "", false, 0, false
			return s, nil
		}
	}
	if o.HasID {
		switch {
		case !s.HasID || s.ID == o.ID || override:
			s.ID, s.HasID = o.ID, true
		case !soft:
			return fail(FieldID)
		default:
			s.ID, s.HasID = 0, false
		}
	}
	return s, nil
}
