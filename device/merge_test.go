package device

import (
	"errors"
	"testing"
)

// mergeFunc is one of the four merge variants, as a function of two names.
type mergeFunc func(a, b Spec) (Spec, error)

var (
	strict   mergeFunc = Spec.Merge
	soft     mergeFunc = Spec.MergeSoft
	override mergeFunc = Spec.MergeOverride
	unset    mergeFunc = func(a, b Spec) (Spec, error) { return a.MergeUnset(b), nil }
)

// mergeRows are the cases of MergeDevNames and MergeDevNamesAllowSoftPlacement
// in device_name_utils_test.cc. The helper there merges in both orders and
// expects the same result; so does this test.
var mergeRows = []struct {
	name string
	f    mergeFunc
	a, b string
	want string
}{
	// Idempotence.
	{"strict", strict, "", "", ""},
	{"strict", strict, "/job:foo/replica:1/task:2/cpu:1", "/job:foo/replica:1/task:2/cpu:1", "/job:foo/replica:1/task:2/cpu:1"},
	// Merging with the empty name has no effect.
	{"strict", strict, "", "/job:foo", "/job:foo"},
	{"strict", strict, "", "/replica:2", "/replica:2"},
	{"strict", strict, "", "/task:7", "/task:7"},
	{"strict", strict, "", "/device:GPU:1", "/device:GPU:1"},
	// Disjoint names combine.
	{"strict", strict, "/job:foo", "/task:7", "/job:foo/task:7"},
	{"strict", strict, "/job:foo", "/device:GPU:1", "/job:foo/device:GPU:1"},
	// Overlapping names combine.
	{"strict", strict, "/job:foo/replica:0", "/replica:0/task:1", "/job:foo/replica:0/task:1"},
	// Wildcards.
	{"strict", strict, "", "/gpu:*", "/gpu:*"},
	{"strict", strict, "/gpu:*", "/gpu:*", "/gpu:*"},
	{"strict", strict, "/device:GPU:1", "/gpu:*", "/device:GPU:1"},
	// Soft placement: a type conflict drops type and id, an id conflict the id.
	{"soft", soft, "/gpu:*", "/cpu:1", ""},
	{"soft", soft, "/cpu:*", "/device:GPU:1", ""},
	{"soft", soft, "/device:GPU:1", "/device:GPU:2", "/device:GPU:*"},
	// cc: soft placement keeps the address space.
	{"soft", soft, "/job:w/replica:0/task:1/device:GPU:0", "/job:w/cpu:0", "/job:w/replica:0/task:1"},
	// Without conflicts, soft is strict.
	{"soft", soft, "/job:foo", "/device:GPU:1", "/job:foo/device:GPU:1"},
}

func TestMerge(t *testing.T) {
	for _, tt := range mergeRows {
		a, b, want := MustParse(tt.a), MustParse(tt.b), MustParse(tt.want)
		ab, err1 := tt.f(a, b)
		ba, err2 := tt.f(b, a)
		if err1 != nil || err2 != nil || ab != want || ba != want {
			t.Errorf("%s merge of %q and %q = %q (%v), reversed %q (%v); want %q", tt.name, tt.a, tt.b, ab, err1, ba, err2, tt.want)
		}
	}
}

func TestMergeErrors(t *testing.T) {
	tests := []struct {
		f      mergeFunc
		a, b   string
		field  Field
		target string // the target as the message shows it
	}{
		// MergeDevNames: incompatible components.
		{strict, "/job:foo", "/job:bar", FieldJob, "/job:foo"},
		{strict, "/replica:0", "/replica:1", FieldReplica, "/replica:0"},
		{strict, "/task:0", "/task:1", FieldTask, "/task:0"},
		{strict, "/gpu:*", "/cpu:*", FieldType, "/device:GPU:*"},
		{strict, "/device:GPU:0", "/device:GPU:1", FieldID, "/device:GPU:0"},
		// cc: a type case difference is a conflict.
		{strict, "/device:gpu:0", "/device:GPU:0", FieldType, "/device:gpu:0"},
		// cc: fields before the conflict are already merged into the target.
		{strict, "/job:foo/task:0", "/replica:1/task:1", FieldTask, "/job:foo/replica:1/task:0"},
		// cc: soft placement and override never resolve address conflicts.
		{soft, "/job:worker/device:GPU:0", "/job:localhost/device:GPU:0", FieldJob, "/job:worker/device:GPU:0"},
		{override, "/task:1/cpu:0", "/task:0/device:GPU:1", FieldTask, "/task:1/device:CPU:0"},
	}
	for _, tt := range tests {
		a, b := MustParse(tt.a), MustParse(tt.b)
		got, err := tt.f(a, b)
		var me *MergeError
		if !errors.As(err, &me) || !errors.Is(err, ErrIncompatible) {
			t.Errorf("merge %q, %q = %q, %v; want a *MergeError", tt.a, tt.b, got, err)
			continue
		}
		if me.Field != tt.field || me.Target.String() != tt.target || !me.Other.Equal(b) {
			t.Errorf("merge %q, %q: error %+v, want field %v, target %q", tt.a, tt.b, me, tt.field, tt.target)
		}
		want := "device: cannot merge devices with incompatible " + tt.field.String() + "s: '" + tt.target + "' and '" + b.String() + "'"
		if err.Error() != want {
			t.Errorf("message %q, want %q", err, want)
		}
	}
}

func TestMergeOverride(t *testing.T) {
	// MergeOverrideDevNames: target, name, expected.
	tests := [][3]string{
		{"", "", ""},
		{"/job:foo/replica:1/task:2/cpu:1", "/job:foo/replica:1/task:2/cpu:1", "/job:foo/replica:1/task:2/cpu:1"},
		{"", "/job:foo", "/job:foo"},
		{"", "/replica:2", "/replica:2"},
		{"", "/task:7", "/task:7"},
		{"", "/device:GPU:1", "/device:GPU:1"},
		{"/job:foo", "/task:7", "/job:foo/task:7"},
		{"/job:foo", "/device:GPU:1", "/job:foo/device:GPU:1"},
		{"/job:foo/replica:0", "/replica:0/task:1", "/job:foo/replica:0/task:1"},
		{"", "/gpu:*", "/gpu:*"},
		{"/gpu:*", "/gpu:*", "/gpu:*"},
		{"/device:GPU:1", "/gpu:*", "/device:GPU:1"},
		// The override itself.
		{"/gpu:0", "/cpu:1", "/cpu:1"},
		{"/gpu:*", "/cpu:1", "/cpu:1"},
		{"/cpu:*", "/device:GPU:1", "/gpu:1"},
		{"/device:GPU:1", "/device:GPU:2", "/device:GPU:2"},
		// Override with regular merging.
		{"/job:foo/CPU:*", "/device:GPU:1", "/job:foo/GPU:1"},
		{"/cpu:*", "/job:foo/device:GPU:1", "/job:foo/GPU:1"},
		{"/task:0/cpu:*", "/device:GPU:1", "/task:0/GPU:1"},
		{"/cpu:*", "/task:0/device:GPU:1", "/task:0/GPU:1"},
		// cc: a new type without an id keeps the target's id.
		{"/device:GPU:0", "/device:CPU:*", "/device:CPU:0"},
	}
	for _, tt := range tests {
		got, err := MustParse(tt[0]).MergeOverride(MustParse(tt[1]))
		if err != nil || got != MustParse(tt[2]) {
			t.Errorf("MergeOverride(%q, %q) = %q, %v; want %q", tt[0], tt[1], got, err, tt[2])
		}
	}
}

func TestMergeUnset(t *testing.T) {
	// MergeUnsetDevNames: a, b, a<-b, b<-a.
	tests := [][4]string{
		{"", "", "", ""},
		{"/job:foo/replica:1/task:2/cpu:1", "/job:foo/replica:1/task:2/cpu:1", "/job:foo/replica:1/task:2/cpu:1", "/job:foo/replica:1/task:2/cpu:1"},
		{"", "/job:foo", "/job:foo", "/job:foo"},
		{"", "/replica:2", "/replica:2", "/replica:2"},
		{"", "/task:7", "/task:7", "/task:7"},
		{"", "/device:GPU:1", "/device:GPU:1", "/device:GPU:1"},
		{"/job:foo", "/task:7", "/job:foo/task:7", "/job:foo/task:7"},
		{"/job:foo", "/device:GPU:1", "/job:foo/device:GPU:1", "/job:foo/device:GPU:1"},
		{"/job:foo/replica:0", "/replica:0/task:1", "/job:foo/replica:0/task:1", "/job:foo/replica:0/task:1"},
		{"", "/gpu:*", "/gpu:*", "/gpu:*"},
		{"/gpu:*", "/gpu:*", "/gpu:*", "/gpu:*"},
		{"/device:GPU:1", "/gpu:*", "/device:GPU:1", "/device:GPU:1"},
		// Conflicts: the target wins.
		{"/job:foo", "/job:bar", "/job:foo", "/job:bar"},
		{"/replica:0", "/replica:1", "/replica:0", "/replica:1"},
		{"/task:0", "/task:1", "/task:0", "/task:1"},
		{"/gpu:*", "/cpu:*", "/gpu:*", "/cpu:*"},
		{"/device:GPU:0", "/device:GPU:1", "/device:GPU:0", "/device:GPU:1"},
		{"/job:foo/device:GPU", "/job:bar", "/job:foo/device:GPU", "/job:bar/device:GPU"},
		// inline_function_utils.cc: a body node inherits the caller's address.
		{"/device:CPU:0", "/job:localhost/replica:0/task:0/device:GPU:1", "/job:localhost/replica:0/task:0/device:CPU:0", "/job:localhost/replica:0/task:0/device:GPU:1"},
	}
	for _, tt := range tests {
		a, b := MustParse(tt[0]), MustParse(tt[1])
		if got := a.MergeUnset(b); got != MustParse(tt[2]) {
			t.Errorf("MergeUnset(%q, %q) = %q, want %q", tt[0], tt[1], got, tt[2])
		}
		if got := b.MergeUnset(a); got != MustParse(tt[3]) {
			t.Errorf("MergeUnset(%q, %q) = %q, want %q", tt[1], tt[0], got, tt[3])
		}
	}
}

// TestMergeProperties checks, over every pair of names in the parse table,
// that a successful strict merge satisfies both inputs and is what MergeUnset
// gives, and that soft and override merges never fail where strict succeeds.
func TestMergeProperties(t *testing.T) {
	for _, x := range parseOK {
		for _, y := range parseOK {
			a, b := x.want, y.want
			m, err := a.Merge(b)
			if err != nil {
				if a.CompatibleWith(b) {
					t.Errorf("Merge(%q, %q) failed for compatible names: %v", a, b, err)
				}
				continue
			}
			if !a.Matches(m) || !b.Matches(m) || m != a.MergeUnset(b) {
				t.Errorf("Merge(%q, %q) = %q does not satisfy both or differs from MergeUnset", a, b, m)
			}
			for _, f := range []mergeFunc{soft, override} {
				if got, err := f(a, b); err != nil || got != m {
					t.Errorf("soft/override merge of compatible %q, %q = %q, %v; want %q", a, b, got, err, m)
				}
			}
		}
	}
}
