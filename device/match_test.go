package device

import (
	"sort"
	"testing"
)

func TestMatches(t *testing.T) {
	tests := []struct {
		pattern, name string
		want          bool
	}{
		// IsCompleteSpecification: concrete device names.
		{"/job:*", "/job:work/replica:1/task:2/device:GPU:3", true},
		{"/job:*/replica:*", "/job:work/replica:1/task:2/device:GPU:3", true},
		{"/job:*/task:*", "/job:work/replica:1/task:2/device:GPU:3", true},
		{"/job:*/replica:*/task:*", "/job:work/replica:1/task:2/device:GPU:3", true},
		{"/job:*/replica:*/gpu:*", "/job:work/replica:1/task:2/device:GPU:3", true},
		{"/cpu:*", "/job:worker/replica:1/task:2/device:GPU:3", false},
		{"/device:GPU:2", "/job:worker/replica:1/task:2/device:GPU:1", false},
		{"/gpu:*", "/job:worker/replica:1/task:2/device:GPU:3", true},

		// IsSpecification: partial names on both sides.
		{"/job:*", "/job:work/replica:1/device:GPU:3", true},
		{"/job:*", "/job:work/replica:1", true},
		{"/job:*", "/replica:1", true},
		{"/job:*", "/job:work", true},
		{"/job:work/replica:1/gpu:*", "/job:work/replica:1/task:2/device:GPU:3", true},
		{"/job:work/replica:1/device:GPU:3", "/job:work/replica:1/task:2/device:GPU:3", true},
		{"/job:work/replica:1/task:2", "/job:work/replica:1/task:2/device:GPU:3", true},
		{"/job:work/replica:*/task:2", "/job:work/replica:1/task:2/device:GPU:3", true},
		{"/task:*", "/job:*/replica:1/task:2/device:GPU:3", true},
		{"/task:2", "/job:*/replica:1/task:2/device:GPU:3", true},
		{"/cpu:*", "/job:*/replica:1/task:2/cpu:1", true},
		{"/cpu:0", "/cpu:0", true},
		{"/job:worker/replica:1/task:2/device:GPU:3", "/gpu:*", false},
		{"/cpu:*", "/job:*/replica:1/task:2", false},
		{"/cpu:*", "/job:*/replica:1/task:2/device:GPU:1", false},
		{"/job:work/replica:*/task:0", "/job:work/replica:1/task:2/device:GPU:3", false},
		{"/job:work/replica:0/task:2", "/job:work/replica:*/task:2/device:GPU:3", false},

		// device_set.cc: what a local process can place. Types are exact.
		{"", "/job:localhost/replica:0/task:0/device:CPU:0", true},
		{"/device:CPU:0", "/job:localhost/replica:0/task:0/device:CPU:0", true},
		{"/cpu:0", "/job:localhost/replica:0/task:0/device:CPU:0", true},
		{"/device:cpu:0", "/job:localhost/replica:0/task:0/device:CPU:0", false},
		{"/device:GPU:1", "/job:localhost/replica:0/task:0/device:GPU:0", false},
		{"/job:worker/device:CPU:0", "/job:localhost/replica:0/task:0/device:CPU:0", false},
		{"/job:localhost/replica:0/task:0/device:COMPOSITE:0", "/job:localhost/replica:0/task:0/device:CPU:0", false},
	}
	for _, tt := range tests {
		p, n := MustParse(tt.pattern), MustParse(tt.name)
		if got := p.Matches(n); got != tt.want {
			t.Errorf("%q.Matches(%q) = %v, want %v", tt.pattern, tt.name, got, tt.want)
		}
		// A name that satisfies a pattern is compatible with it.
		if tt.want && !p.CompatibleWith(n) {
			t.Errorf("%q matches %q but is not compatible with it", tt.pattern, tt.name)
		}
	}
}

func TestCompatibleWith(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		// Basic: AreCompatibleDevNames.
		{"/job:work/replica:1/task:3/device:GPU:*", "/device:CPU:*", false},
		{"/job:work/replica:1/task:3", "/device:CPU:*", true},
		{"/device:GPU:0", "/device:GPU:1", false},
		{"/job:a", "/job:b", false},
		{"/device:GPU:0", "/job:a/device:GPU:*", true},
		{"/device:gpu:0", "/device:GPU:0", false},
	}
	for _, tt := range tests {
		a, b := MustParse(tt.a), MustParse(tt.b)
		if a.CompatibleWith(b) != tt.want || b.CompatibleWith(a) != tt.want {
			t.Errorf("CompatibleWith(%q, %q) = %v, want %v (both ways)", tt.a, tt.b, a.CompatibleWith(b), tt.want)
		}
		if _, err := a.Merge(b); (err == nil) != tt.want {
			t.Errorf("Merge(%q, %q) error %v, but compatible = %v", tt.a, tt.b, err, tt.want)
		}
	}
}

func TestAddressSpace(t *testing.T) {
	tests := []struct {
		a, b            string
		same, different bool
	}{
		// Basic: IsSameAddressSpace.
		{"/job:foo/replica:1/task:2/cpu:3", "/job:foo/replica:1/task:2/device:GPU:4", true, false},
		{"/job:foo/replica:1/task:2/cpu:3", "/job:foo/replica:1/task:3/device:GPU:4", false, true},
		{"/job:foo/replica:1/task:2/cpu:3", "/job:foo/replica:10/task:2/device:GPU:4", false, true},
		{"/job:foo/replica:1/task:2/cpu:3", "/job:bar/replica:1/task:2/device:GPU:4", false, true},
		// Partial names are in neither.
		{"/job:foo/task:2", "/job:foo/replica:1/task:2", false, false},
	}
	for _, tt := range tests {
		a, b := MustParse(tt.a), MustParse(tt.b)
		if a.SameAddressSpace(b) != tt.same || a.DifferentAddressSpace(b) != tt.different {
			t.Errorf("(%q, %q): same %v, different %v; want %v %v", tt.a, tt.b,
				a.SameAddressSpace(b), a.DifferentAddressSpace(b), tt.same, tt.different)
		}
	}
}

func TestCompare(t *testing.T) {
	// CompareFullNames: a < b for each pair, never b < a.
	less := [][2]string{
		{"/job:foo/replica:0/task:0/device:CPU:0", "/job:foo/replica:0/task:0/device:CPU:1"},
		{"/job:foo/replica:0/task:0/device:CPU:0", "/job:foo/replica:0/task:1/device:CPU:0"},
		{"/job:foo/replica:0/task:0/device:CPU:0", "/job:foo/replica:1/task:0/device:CPU:0"},
		{"/job:foo/replica:0/task:0/device:CPU:0", "/job:goo/replica:0/task:0/device:CPU:0"},
		{"/job:foo/replica:0/task:0/device:CPU:0", "/job:foo/replica:0/task:0/device:GPU:0"},
		// Partial names sort before complete ones.
		{"/replica:0/task:0/device:CPU:1", "/job:foo/replica:0/task:0/device:CPU:0"},
		{"/replica:0/task:0/device:CPU:0", "/replica:0/task:0/device:CPU:1"},
		{"/task:0/device:CPU:0", "/task:0/device:CPU:1"},
		{"/device:CPU:0", "/device:CPU:1"},
	}
	for _, p := range less {
		a, b := MustParse(p[0]), MustParse(p[1])
		if a.Compare(b) != -1 || b.Compare(a) != 1 {
			t.Errorf("Compare(%q, %q) = %d, reverse %d; want -1, 1", p[0], p[1], a.Compare(b), b.Compare(a))
		}
	}
	// CompareFullNames: equal names are not less.
	a := MustParse("/job:foo/replica:0/task:0/cpu:0")
	if a.Compare(MustParse("/job:foo/replica:0/task:0/device:CPU:0")) != 0 {
		t.Errorf("equal names compare unequal")
	}
	// Sorting a strategy's devices gives TensorFlow's device order.
	names := []string{
		"/job:worker/replica:0/task:1/device:GPU:0",
		"/job:worker/replica:0/task:0/device:GPU:1",
		"/device:CPU:0",
		"/job:chief/replica:0/task:0/device:CPU:0",
		"/job:worker/replica:0/task:0/device:GPU:0",
	}
	specs := make([]Spec, len(names))
	for i, n := range names {
		specs[i] = MustParse(n)
	}
	sort.Slice(specs, func(i, j int) bool { return specs[i].Compare(specs[j]) < 0 })
	want := []string{
		"/device:CPU:0",
		"/job:chief/replica:0/task:0/device:CPU:0",
		"/job:worker/replica:0/task:0/device:GPU:0",
		"/job:worker/replica:0/task:0/device:GPU:1",
		"/job:worker/replica:0/task:1/device:GPU:0",
	}
	for i := range want {
		if specs[i].String() != want[i] {
			t.Errorf("sorted[%d] = %q, want %q", i, specs[i], want[i])
		}
	}
}
