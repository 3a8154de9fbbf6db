package device

import (
	"errors"
	"strings"
	"testing"
)

// sp builds a Spec from a compact description for test tables: pass the
// fields in order job, replica, task, type, id; a nil entry leaves the field
// unset.
func sp(job any, replica, task any, typ any, id any) Spec {
	var s Spec
	if job != nil {
		s.Job, s.HasJob = job.(string), true
	}
	if replica != nil {
		s.Replica, s.HasReplica = replica.(int), true
	}
	if task != nil {
		s.Task, s.HasTask = task.(int), true
	}
	if typ != nil {
		s.Type, s.HasType = typ.(string), true
	}
	if id != nil {
		s.ID, s.HasID = id.(int), true
	}
	return s
}

// parseOK lists names Parse must accept, with the Spec they mean and the
// canonical text String must print. Rows whose comment names a TensorFlow
// test mirror a case of that test in device_name_utils_test.cc; rows marked
// "cc:" follow from reading ParseFullName in device_name_utils.cc; rows
// marked "saved:" are names strategies write into SavedModels.
var parseOK = []struct {
	in   string
	want Spec
	str  string
}{
	// Basic: every field set.
	{"/job:foo/replica:1/task:2/device:GPU:3", sp("foo", 1, 2, "GPU", 3), "/job:foo/replica:1/task:2/device:GPU:3"},
	// Basic: an underscore is allowed in job names.
	{"/job:foo_bar/replica:1/task:2/device:GPU:3", sp("foo_bar", 1, 2, "GPU", 3), "/job:foo_bar/replica:1/task:2/device:GPU:3"},
	// Basic: wildcard job, legacy gpu with a wildcard id.
	{"/job:*/replica:4/gpu:*", sp(nil, 4, nil, "GPU", nil), "/replica:4/device:GPU:*"},
	// Basic: the same with the /device: form.
	{"/job:*/replica:4/device:GPU:*", sp(nil, 4, nil, "GPU", nil), "/replica:4/device:GPU:*"},
	// Basic: /device: without an id, and components out of order.
	{"/job:*/device:GPU/replica:4", sp(nil, 4, nil, "GPU", nil), "/replica:4/device:GPU:*"},
	// Basic: a custom device type keeps its case.
	{"/job:*/replica:4/device:myspecialdevice:13", sp(nil, 4, nil, "myspecialdevice", 13), "/replica:4/device:myspecialdevice:13"},
	// Basic: "/" alone is the empty name.
	{"/", Spec{}, ""},
	// Basic: wildcard job with a concrete GPU.
	{"/job:*/replica:4/device:GPU:5", sp(nil, 4, nil, "GPU", 5), "/replica:4/device:GPU:5"},
	// Basic: reordering the components gives the same result.
	{"/gpu:*/job:*/replica:4", sp(nil, 4, nil, "GPU", nil), "/replica:4/device:GPU:*"},
	// Basic (IsSameAddressSpace inputs): legacy cpu after a full address.
	{"/job:foo/replica:1/task:2/cpu:3", sp("foo", 1, 2, "CPU", 3), "/job:foo/replica:1/task:2/device:CPU:3"},
	// Basic (LocalName input): a lowercase custom type.
	{"/job:foo/replica:1/task:2/device:abc:73", sp("foo", 1, 2, "abc", 73), "/job:foo/replica:1/task:2/device:abc:73"},
	// SplitDeviceName: legacy cpu in the middle, task and replica swapped.
	{"/job:foo/cpu:1/task:2/replica:1", sp("foo", 1, 2, "CPU", 1), "/job:foo/replica:1/task:2/device:CPU:1"},
	// SplitDeviceName: a local-looking full name.
	{"/device:myspecialdevice:3", sp(nil, nil, nil, "myspecialdevice", 3), "/device:myspecialdevice:3"},
	// CanonicalizeDeviceName: replica after task.
	{"/job:foo/task:0/replica:10/device:CPU:1", sp("foo", 10, 0, "CPU", 1), "/job:foo/replica:10/task:0/device:CPU:1"},
	// MergeDevNames: the empty string is the empty name.
	{"", Spec{}, ""},
	// MergeOverrideDevNames: uppercase legacy /CPU: with a wildcard.
	{"/job:foo/CPU:*", sp("foo", nil, nil, "CPU", nil), "/job:foo/device:CPU:*"},
	// MergeOverrideDevNames: uppercase legacy /GPU:.
	{"/task:0/GPU:1", sp(nil, nil, 0, "GPU", 1), "/task:0/device:GPU:1"},
	// MergeUnsetDevNames: a type without an id.
	{"/job:foo/device:GPU", sp("foo", nil, nil, "GPU", nil), "/job:foo/device:GPU:*"},
	// IsSpecification: a wildcard job in front of a full address.
	{"/job:*/replica:1/task:2/device:GPU:3", sp(nil, 1, 2, "GPU", 3), "/replica:1/task:2/device:GPU:3"},
	// IsSpecification: every component a wildcard but the type.
	{"/job:*/replica:*/gpu:*", sp(nil, nil, nil, "GPU", nil), "/device:GPU:*"},

	// cc: lowercase /device:gpu keeps its case (and matches nothing).
	{"/device:gpu:1", sp(nil, nil, nil, "gpu", 1), "/device:gpu:1"},
	// cc: legacy forms become uppercase.
	{"/gpu:0", sp(nil, nil, nil, "GPU", 0), "/device:GPU:0"},
	{"/cpu:0", sp(nil, nil, nil, "CPU", 0), "/device:CPU:0"},
	{"/GPU:0", sp(nil, nil, nil, "GPU", 0), "/device:GPU:0"},
	{"/CPU:1", sp(nil, nil, nil, "CPU", 1), "/device:CPU:1"},
	// cc: a later component overrides an earlier one.
	{"/job:a/job:b", sp("b", nil, nil, nil, nil), "/job:b"},
	{"/job:a/job:*", Spec{}, ""},
	{"/gpu:1/device:GPU", sp(nil, nil, nil, "GPU", nil), "/device:GPU:*"},
	{"/device:GPU:2/cpu:0", sp(nil, nil, nil, "CPU", 0), "/device:CPU:0"},
	{"/task:1/task:*/task:3", sp(nil, nil, 3, nil, nil), "/task:3"},
	// cc: an id with no type; String keeps it (TensorFlow's printer drops it).
	{"/device:*:3", sp(nil, nil, nil, nil, 3), "/device:*:3"},
	{"/device:*", Spec{}, ""},
	{"/device:*:*", Spec{}, ""},
	{"/job:*/replica:*/task:*/device:*:*", Spec{}, ""},
	// cc: leading zeros are dropped; the largest int is accepted.
	{"/task:007/device:CPU:00", sp(nil, nil, 7, "CPU", 0), "/task:7/device:CPU:0"},
	{"/replica:2147483647", sp(nil, 2147483647, nil, nil, nil), "/replica:2147483647"},
	// cc: digits and underscores inside names.
	{"/job:worker2/device:XLA_GPU:0", sp("worker2", nil, nil, "XLA_GPU", 0), "/job:worker2/device:XLA_GPU:0"},

	// saved: MirroredStrategy under TF2 (SAVE_VARIABLE_DEVICES, function bodies).
	{"/job:localhost/replica:0/task:0/device:GPU:1", sp("localhost", 0, 0, "GPU", 1), "/job:localhost/replica:0/task:0/device:GPU:1"},
	// saved: saver functions and the object-graph constant.
	{"/device:CPU:0", sp(nil, nil, nil, "CPU", 0), "/device:CPU:0"},
	{"/device:CPU:*", sp(nil, nil, nil, "CPU", nil), "/device:CPU:*"},
	// saved: MirroredStrategy in TF1 graph mode (no job).
	{"/replica:0/task:0/device:GPU:1", sp(nil, 0, 0, "GPU", 1), "/replica:0/task:0/device:GPU:1"},
	// saved: MultiWorkerMirroredStrategy.
	{"/job:worker/replica:0/task:3/device:GPU:1", sp("worker", 0, 3, "GPU", 1), "/job:worker/replica:0/task:3/device:GPU:1"},
	{"/job:chief/replica:0/task:0/device:CPU:0", sp("chief", 0, 0, "CPU", 0), "/job:chief/replica:0/task:0/device:CPU:0"},
	{"/job:worker/task:1", sp("worker", nil, 1, nil, nil), "/job:worker/task:1"},
	// saved: ParameterServerStrategy variables.
	{"/job:ps/replica:0/task:1/device:CPU:0", sp("ps", 0, 1, "CPU", 0), "/job:ps/replica:0/task:1/device:CPU:0"},
	{"/job:ps/task:0", sp("ps", nil, 0, nil, nil), "/job:ps/task:0"},
	// saved: TPUStrategy.
	{"/job:worker/replica:0/task:0/device:TPU:2", sp("worker", 0, 0, "TPU", 2), "/job:worker/replica:0/task:0/device:TPU:2"},
	{"/job:localhost/replica:0/task:0/device:TPU:0", sp("localhost", 0, 0, "TPU", 0), "/job:localhost/replica:0/task:0/device:TPU:0"},
	{"/job:localhost/replica:0/task:0/device:COMPOSITE:0", sp("localhost", 0, 0, "COMPOSITE", 0), "/job:localhost/replica:0/task:0/device:COMPOSITE:0"},
	{"/device:TPU_REPLICATED_CORE", sp(nil, nil, nil, "TPU_REPLICATED_CORE", nil), "/device:TPU_REPLICATED_CORE:*"},
	{"/device:TPU_SYSTEM:0", sp(nil, nil, nil, "TPU_SYSTEM", 0), "/device:TPU_SYSTEM:0"},
}

// parseBad lists names Parse must reject and the byte offset its error must
// name.
var parseBad = []struct {
	in     string
	offset int
}{
	// Basic: no leading slash.
	{"foobar", 0},
	// Basic: a job name must start with a letter.
	{"/job:123/replica:1/task:2/device:GPU:3", 5},
	// Basic: legacy gpu without an id.
	{"/job:123/replica:1/task:2/gpu:", 5},
	{"/job:foo/replica:1/task:2/gpu:", 30},
	// Basic: /device:gpu: without an id.
	{"/job:foo/replica:1/task:2/device:gpu:", 37},
	// Basic: negative replica and task.
	{"/job:foo/replica:-1/task:2/device:GPU:3", 17},
	{"/job:foo/replica:1/task:-2/device:GPU:3", 24},
	// Basic: an unknown component.
	{"/job:foo/replica:1/task:2/bar:3", 25},
	// Basic: trailing text after a complete name.
	{"/job:foo/replica:1/task:2/device:GPU:3/extra", 38},
	// CanonicalizeDeviceName: a component without its ':'.
	{"/job:foo/task:0/replica/cpu:1", 15},
	// SplitDeviceName: a local name is not a full name.
	{"gpu:3", 0},
	// CompareFullNames: an unparseable name.
	{"unparseablename", 0},

	// cc: a local name needs ParseLocal.
	{"CPU:0", 0},
	// cc: only cpu and gpu have the legacy form, in these two cases only.
	{"/tpu:0", 0},
	{"/TPU:0", 0},
	{"/Cpu:0", 0},
	{"/cpu", 0},
	{"/cpu:", 5},
	{"/cpu:x", 5},
	// cc: empty or malformed fields.
	{"/job:", 5},
	{"/job:a:b", 6},
	{"/job:a-b", 6},
	{"/job:_a", 5},
	{"/job:*a", 6},
	{"/device:", 8},
	{"/device:CPU:", 12},
	{"/device:1CPU:0", 8},
	{"/device:CP-U:0", 10},
	{"/device:CPU:0x", 13},
	{"/device:**", 9},
	{"/replica:", 9},
	{"/replica:+1", 9},
	{"/task:1.0", 7},
	// cc: stray slashes and spaces.
	{"//", 0},
	{"/job:foo/", 8},
	{"/job:foo//task:1", 8},
	{" /device:CPU:0", 0},
	{"/device:CPU:0 ", 13},
	{"/job:wörker", 6},
	// cc: TensorFlow fails on uint64 overflow; Parse also on int overflow.
	{"/task:99999999999999999999999", 6},
	{"/task:2147483648", 6},
	{"/device:GPU:4294967296", 12},
}

func TestParse(t *testing.T) {
	for _, tt := range parseOK {
		got, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q) error: %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("Parse(%q) = %#v, want %#v", tt.in, got, tt.want)
		}
		if s := got.String(); s != tt.str {
			t.Errorf("Parse(%q).String() = %q, want %q", tt.in, s, tt.str)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, tt := range parseBad {
		got, err := Parse(tt.in)
		if err == nil {
			t.Errorf("Parse(%q) = %v, want error", tt.in, got)
			continue
		}
		var pe *ParseError
		if !errors.As(err, &pe) || !errors.Is(err, ErrMalformed) {
			t.Errorf("Parse(%q) error %v is not a *ParseError wrapping ErrMalformed", tt.in, err)
			continue
		}
		if pe.Input != tt.in || pe.Offset != tt.offset {
			t.Errorf("Parse(%q) error at offset %d (input %q), want offset %d: %v", tt.in, pe.Offset, pe.Input, tt.offset, err)
		}
		if !strings.HasPrefix(err.Error(), "device: ") || pe.Reason == "" {
			t.Errorf("Parse(%q) error message %q lacks the prefix or a reason", tt.in, err)
		}
	}
}

// TestParseRoundTrip checks Parse(s.String()) == s for every accepted name.
func TestParseRoundTrip(t *testing.T) {
	for _, tt := range parseOK {
		checkRoundTrip(t, tt.in)
	}
}

func checkRoundTrip(t *testing.T, in string) {
	t.Helper()
	s, err := Parse(in)
	if err != nil {
		return
	}
	if err := s.Validate(); err != nil {
		t.Errorf("Parse(%q).Validate() = %v", in, err)
	}
	text := s.String()
	if !oracleAccepts(text) {
		t.Errorf("Parse(%q).String() = %q, which TensorFlow's grammar rejects", in, text)
	}
	back, err := Parse(text)
	if err != nil {
		t.Fatalf("Parse(%q).String() = %q, which does not parse: %v", in, text, err)
	}
	if back != s || !back.Equal(s) || back.String() != text {
		t.Fatalf("Parse(%q) = %#v, but Parse(%q) = %#v", in, s, text, back)
	}
}

// TestRoundTripPartialNames mirrors the round-trip loop of TensorFlow's
// Basic test: every subset of job, replica, task and device components, the
// device written as /device:T:n or as legacy /t:n (which prints upper-cased).
func TestRoundTripPartialNames(t *testing.T) {
	devices := []struct {
		dev      string
		explicit bool
	}{
		{"CPU:3", false}, {"GPU:3", false}, {"cpu:3", false}, {"gpu:3", false},
		{"CPU:3", true}, {"GPU:3", true}, {"cpu:3", true}, {"gpu:3", true}, {"someDevice:3", true},
	}
	for mask := 0; mask < 16; mask++ {
		for _, d := range devices {
			var in, want strings.Builder
			for i, part := range []string{"/job:foo", "/replica:3", "/task:2"} {
				if mask&(1<<i) != 0 {
					in.WriteString(part)
					want.WriteString(part)
				}
			}
			if mask&8 != 0 {
				if d.explicit {
					in.WriteString("/device:" + d.dev)
					want.WriteString("/device:" + d.dev)
				} else {
					in.WriteString("/" + d.dev)
					want.WriteString("/device:" + strings.ToUpper(d.dev))
				}
			}
			s, err := Parse(in.String())
			if err != nil {
				t.Errorf("Parse(%q): %v", in.String(), err)
				continue
			}
			if s.String() != want.String() {
				t.Errorf("Parse(%q).String() = %q, want %q", in.String(), s, want.String())
			}
		}
	}
}

func TestParseLocal(t *testing.T) {
	ok := []struct {
		in   string
		want Spec
	}{
		// Basic: ParseLocalName and ParseFullOrLocalName accept CPU:10.
		{"CPU:10", Local("CPU", 10)},
		// cc: the type keeps its case.
		{"gpu:0", Local("gpu", 0)},
		{"TPU_SYSTEM:0", Local("TPU_SYSTEM", 0)},
	}
	for _, tt := range ok {
		for _, f := range []func(string) (Spec, error){ParseLocal, ParseFullOrLocal} {
			got, err := f(tt.in)
			if err != nil || got != tt.want {
				t.Errorf("parse local %q = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		}
	}
	// Basic: these are not local names (and, but for the last, not full names).
	for _, in := range []string{"cpu:abc", "abc:", "abc", "myspecialdevice", "CPU:*", "CPU:0/", "/CPU:0x", ":0", "CPU:-1", "CPU:4294967296"} {
		if got, err := ParseLocal(in); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseLocal(%q) = %v, %v; want ErrMalformed", in, got, err)
		}
		if got, err := ParseFullOrLocal(in); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseFullOrLocal(%q) = %v, %v; want ErrMalformed", in, got, err)
		}
	}
	// ParseFullOrLocal tries the full form first.
	if got, err := ParseFullOrLocal("/job:foo_bar/replica:1/task:2/device:GPU:3"); err != nil || got != sp("foo_bar", 1, 2, "GPU", 3) {
		t.Errorf("ParseFullOrLocal(full name) = %v, %v", got, err)
	}
}

// TestPythonOnlyForms pins down how names that only Python's DeviceSpec
// understands, or understands differently, fare in C++ and so in Parse
// (device_spec.py and device_spec_test.py).
func TestPythonOnlyForms(t *testing.T) {
	// Python accepts these; C++ ParseFullName does not.
	for _, in := range []string{"CPU:0", "/TPU:0", "/job:muu/TPU:1", "GPU"} {
		if _, err := Parse(in); err == nil {
			t.Errorf("Parse(%q) succeeded; C++ rejects it", in)
		}
	}
	// test_parse_legacy: Python rejects two device types; C++ keeps the last.
	if got := MustParse("/job:muu/device:GPU:2/cpu:0"); got != sp("muu", nil, nil, "CPU", 0) {
		t.Errorf("two device components: got %v", got)
	}
	// test_merge_legacy: Python upper-cases "cpu" in any form; C++ only in the
	// legacy component.
	if got := MustParse("/replica:1/task:0/cpu:0").String(); got != "/replica:1/task:0/device:CPU:0" {
		t.Errorf("legacy cpu: got %q", got)
	}
	if got := MustParse("/device:cpu:0"); got.Type != "cpu" {
		t.Errorf("/device:cpu:0 has type %q, want cpu kept", got.Type)
	}
	// test_to_from_string: Python's output for a custom type parses the same.
	if got := MustParse("/job:muu/task:1/device:MyFunnyDevice:2"); got != sp("muu", nil, 1, "MyFunnyDevice", 2) {
		t.Errorf("custom type: got %v", got)
	}
}

func TestMustParsePanics(t *testing.T) {
	defer func() {
		if r := recover(); r == nil {
			t.Error("MustParse(\"CPU:0\") did not panic")
		} else if err, ok := r.(error); !ok || !errors.Is(err, ErrMalformed) {
			t.Errorf("MustParse panicked with %v, want a *ParseError", r)
		}
	}()
	MustParse("CPU:0")
}

func BenchmarkParse(b *testing.B) {
	// The input of TensorFlow's BM_ParseFullName.
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse("/job:worker/replica:3/task:0/cpu:0"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkString(b *testing.B) {
	s := MustParse("/job:worker/replica:3/task:0/device:GPU:1")
	b.ReportAllocs()
	for b.Loop() {
		_ = s.String()
	}
}
