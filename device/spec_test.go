package device

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestFullAndLocal(t *testing.T) {
	// Basic: FullName("hello", 1, 2, "CPU", 3).
	if got := Full("hello", 1, 2, "CPU", 3).String(); got != "/job:hello/replica:1/task:2/device:CPU:3" {
		t.Errorf("Full = %q", got)
	}
	// Basic: LocalName for CPU, GPU and a custom type.
	for _, tt := range []struct {
		typ  string
		id   int
		want string
	}{{"CPU", 1, "/device:CPU:1"}, {"GPU", 2, "/device:GPU:2"}, {"MySpecialDevice", 13, "/device:MySpecialDevice:13"}} {
		if got := Local(tt.typ, tt.id).String(); got != tt.want {
			t.Errorf("Local(%q, %d) = %q, want %q", tt.typ, tt.id, got, tt.want)
		}
	}
}

func TestValidate(t *testing.T) {
	bad := []struct {
		s     Spec
		field Field
	}{
		{Spec{Job: "a/b", HasJob: true}, FieldJob},
		{Spec{Job: "", HasJob: true}, FieldJob},
		{Spec{Job: "1a", HasJob: true}, FieldJob},
		{Spec{Replica: -1, HasReplica: true}, FieldReplica},
		{Spec{Task: MaxNumber + 1, HasTask: true}, FieldTask},
		{Spec{Type: "GPU:0", HasType: true}, FieldType},
		{Spec{ID: -3, HasID: true}, FieldID},
	}
	for _, tt := range bad {
		err := tt.s.Validate()
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != tt.field {
			t.Errorf("%#v.Validate() = %v, want a *FieldError for %v", tt.s, err, tt.field)
		}
		if _, err := tt.s.MarshalText(); err == nil {
			t.Errorf("%#v.MarshalText() succeeded", tt.s)
		}
	}
	// Values of unset fields do not matter.
	if err := (Spec{Job: "a/b", Replica: -1}).Validate(); err != nil {
		t.Errorf("unset invalid fields: %v", err)
	}
}

func TestTextMarshaling(t *testing.T) {
	type cfg struct {
		Device Spec `json:"device"`
	}
	var c cfg
	if err := json.Unmarshal([]byte(`{"device":"/job:ps/task:1/cpu:0"}`), &c); err != nil {
		t.Fatal(err)
	}
	if c.Device != sp("ps", nil, 1, "CPU", 0) {
		t.Errorf("unmarshalled %#v", c.Device)
	}
	b, err := json.Marshal(c)
	if err != nil || string(b) != `{"device":"/job:ps/task:1/device:CPU:0"}` {
		t.Errorf("Marshal = %s, %v", b, err)
	}
	if err := json.Unmarshal([]byte(`{"device":"CPU:0"}`), &c); !errors.Is(err, ErrMalformed) {
		t.Errorf("unmarshal of a malformed name: %v", err)
	}
}

func TestEqual(t *testing.T) {
	a := Spec{Job: "stale", Replica: 9, Type: "GPU", HasType: true}
	b := Spec{Type: "GPU", HasType: true}
	if !a.Equal(b) || a.Compare(b) != 0 {
		t.Errorf("values of unset fields must be ignored")
	}
	// ParsedName ==: wildcards equal absent fields.
	if !MustParse("/job:*/device:GPU:0").Equal(MustParse("/device:GPU:0")) {
		t.Errorf("/job:* differs from no job")
	}
	// Types are case-sensitive.
	if MustParse("/device:gpu:0").Equal(MustParse("/device:GPU:0")) {
		t.Errorf("gpu equals GPU")
	}
	if MustParse("/device:GPU:0").Equal(MustParse("/device:GPU:*")) {
		t.Errorf("set id equals unset id")
	}
}

func TestPredicates(t *testing.T) {
	tests := []struct {
		in            string
		empty, full   bool
		refersCluster bool
		kind          Kind
	}{
		{"", true, false, false, KindNone},
		{"/job:*/replica:*/task:*/device:*:*", true, false, false, KindNone},
		{"/job:localhost/replica:0/task:0/device:CPU:0", false, true, false, KindCPU},
		{"/job:localhost/replica:0/task:0/device:GPU:1", false, true, false, KindGPU},
		{"/job:localhost/task:0", false, false, false, KindNone},
		{"/device:gpu:1", false, false, false, KindGPU},
		{"/job:worker/replica:0/task:0/device:GPU:0", false, true, true, KindGPU},
		{"/job:ps/replica:0/task:1/device:CPU:0", false, true, true, KindCPU},
		{"/job:worker", false, false, true, KindNone},
		{"/job:localhost/replica:1", false, false, true, KindNone},
		{"/task:1", false, false, true, KindNone},
		{"/job:worker/replica:0/task:0/device:TPU:2", false, true, true, KindTPU},
		{"/device:TPU_SYSTEM:0", false, false, false, KindTPU},
		{"/device:TPU_REPLICATED_CORE", false, false, false, KindTPU},
		{"/job:localhost/replica:0/task:0/device:COMPOSITE:0", false, true, false, KindComposite},
		{"/device:XLA_CPU:0", false, false, false, KindCPU},
		{"/device:xla_gpu:0", false, false, false, KindGPU},
		{"/device:myspecialdevice:13", false, false, false, KindOther},
		{"/device:*:3", false, false, false, KindNone},
	}
	for _, tt := range tests {
		s := MustParse(tt.in)
		if s.IsEmpty() != tt.empty || s.IsFullySpecified() != tt.full || s.RefersToCluster() != tt.refersCluster || s.Kind() != tt.kind {
			t.Errorf("%q: IsEmpty %v, IsFullySpecified %v, RefersToCluster %v, Kind %v; want %v %v %v %v",
				tt.in, s.IsEmpty(), s.IsFullySpecified(), s.RefersToCluster(), s.Kind(), tt.empty, tt.full, tt.refersCluster, tt.kind)
		}
	}
}

func TestNormalizeType(t *testing.T) {
	for in, want := range map[string]string{
		"/device:gpu:1":              "/device:GPU:1",
		"/job:w/device:Cpu:*":        "/job:w/device:CPU:*",
		"/device:tpu_system:0":       "/device:TPU_SYSTEM:0",
		"/device:composite:0":        "/device:COMPOSITE:0",
		"/device:GPU:1":              "/device:GPU:1",
		"/device:myspecialdevice:13": "/device:myspecialdevice:13",
		"/job:localhost/replica:0":   "/job:localhost/replica:0",
	} {
		if got := MustParse(in).NormalizeType().String(); got != want {
			t.Errorf("NormalizeType(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParts(t *testing.T) {
	s := MustParse("/job:foo/replica:1/task:2/device:abc:73")
	// Basic (LocalName of a full name) and SplitDeviceName.
	if got := s.LocalPart().String(); got != "/device:abc:73" {
		t.Errorf("LocalPart = %q", got)
	}
	if got := s.AddressSpace().String(); got != "/job:foo/replica:1/task:2" {
		t.Errorf("AddressSpace = %q", got)
	}
	// SplitDeviceName: the task part of a name with only a device is empty.
	if got := MustParse("/device:GPU:3").AddressSpace(); !got.IsEmpty() {
		t.Errorf("AddressSpace(/device:GPU:3) = %q", got)
	}
	// DeviceNameToCpuDeviceName keeps the address space.
	if got := MustParse("/job:worker/replica:0/task:3/device:GPU:1").HostCPU().String(); got != "/job:worker/replica:0/task:3/device:CPU:0" {
		t.Errorf("HostCPU = %q", got)
	}
	if got := MustParse("/device:TPU:*").HostCPU().String(); got != "/device:CPU:0" {
		t.Errorf("HostCPU = %q", got)
	}
}

func TestComplete(t *testing.T) {
	// CanonicalizeDeviceName with a good base name.
	base := MustParse("/job:foo/replica:10/task:0/device:CPU:0")
	for in, want := range map[string]string{
		"/job:foo/replica:10/task:0/device:CPU:1": "/job:foo/replica:10/task:0/device:CPU:1",
		"/job:foo/task:0/replica:10/device:CPU:1": "/job:foo/replica:10/task:0/device:CPU:1",
		"/job:foo/task:0/replica:10/cpu:1":        "/job:foo/replica:10/task:0/device:CPU:1",
		"CPU:0":                                   "/job:foo/replica:10/task:0/device:CPU:0",
		"/device:GPU:*":                           "/job:foo/replica:10/task:0/device:GPU:0",
		"":                                        "/job:foo/replica:10/task:0/device:CPU:0",
	} {
		s, err := ParseFullOrLocal(in)
		if err != nil {
			t.Fatalf("ParseFullOrLocal(%q): %v", in, err)
		}
		got, err := s.Complete(base)
		if err != nil || got.String() != want || !got.IsFullySpecified() {
			t.Errorf("Complete(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	// CanonicalizeDeviceName: a base that is not fully specified is an error.
	for _, b := range []string{"/device:CPU:0", "/job:foo/replica:1/task:0/device:CPU:*"} {
		var fe *FieldError
		if _, err := MustParse("/device:CPU:0").Complete(MustParse(b)); !errors.As(err, &fe) {
			t.Errorf("Complete with base %q: %v, want a *FieldError", b, err)
		}
	}
}

func TestStringers(t *testing.T) {
	for want, got := range map[string]string{
		"job": FieldJob.String(), "id": FieldID.String(), "Field(9)": Field(9).String(),
		"TPU": KindTPU.String(), "other": KindOther.String(), "Kind(-1)": Kind(-1).String(),
		"GPU": GPU.String(), "Target(5)": Target(5).String(),
		"auto": Auto.String(), "remap": Remap.String(), "Mode(7)": Mode(7).String(),
	} {
		if got != want {
			t.Errorf("String() = %q, want %q", got, want)
		}
	}
}

// TestStringOfBuiltSpecs checks, for every combination of set fields with
// edge values and stale values in unset fields, that a Spec that validates
// prints as text that parses back to an equal Spec.
func TestStringOfBuiltSpecs(t *testing.T) {
	for mask := 0; mask < 32; mask++ {
		for _, v := range []struct {
			job, typ string
			n        int
		}{{"localhost", "CPU", 0}, {"w_2", "TPU_SYSTEM", MaxNumber}, {"A", "gpu", 7}} {
			s := Spec{Job: v.job, Replica: v.n, Task: v.n, Type: v.typ, ID: v.n,
				HasJob: mask&1 != 0, HasReplica: mask&2 != 0, HasTask: mask&4 != 0, HasType: mask&8 != 0, HasID: mask&16 != 0}
			if err := s.Validate(); err != nil {
				t.Fatalf("%#v.Validate() = %v", s, err)
			}
			back, err := Parse(s.String())
			if err != nil || !back.Equal(s) || back != s.clean() {
				t.Errorf("Parse(%q) = %#v, %v; want %#v", s, back, err, s.clean())
			}
			if text, err := s.MarshalText(); err != nil || string(text) != s.String() {
				t.Errorf("MarshalText = %q, %v", text, err)
			}
		}
	}
}
