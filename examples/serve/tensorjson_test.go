package main

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
)

func TestTensorRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // canonical re-encoding
	}{
		{"float32 matrix", `{"dtype":"float32","shape":[2,2],"values":[0.10000000149011612,-2,3.5,1e-7]}`,
			`{"dtype":"float32","shape":[2,2],"values":[0.1,-2,3.5,1e-07]}`},
		{"float64 keeps digits", `{"dtype":"float64","shape":[1],"values":[0.10000000149011612]}`,
			`{"dtype":"float64","shape":[1],"values":[0.10000000149011612]}`},
		{"specials", `{"dtype":"float32","shape":[3],"values":["NaN","Infinity","-Infinity"]}`,
			`{"dtype":"float32","shape":[3],"values":["NaN","Infinity","-Infinity"]}`},
		{"scalar", `{"dtype":"int64","shape":[],"values":[-9223372036854775808]}`,
			`{"dtype":"int64","shape":[],"values":[-9223372036854775808]}`},
		{"uint64 max", `{"dtype":"uint64","shape":[1],"values":[18446744073709551615]}`,
			`{"dtype":"uint64","shape":[1],"values":[18446744073709551615]}`},
		{"bool", `{"dtype":"bool","shape":[2],"values":[true,false]}`,
			`{"dtype":"bool","shape":[2],"values":[true,false]}`},
		{"strings", `{"dtype":"string","shape":[2],"values":["gamma","a\"b\u00e9"]}`,
			`{"dtype":"string","shape":[2],"values":["gamma","a\"bé"]}`},
		{"empty", `{"dtype":"float32","shape":[2,0],"values":[]}`,
			`{"dtype":"float32","shape":[2,0],"values":[]}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var x Tensor
			if err := json.Unmarshal([]byte(tc.in), &x); err != nil {
				t.Fatal(err)
			}
			got, err := json.Marshal(&x)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
			var y Tensor
			if err := json.Unmarshal(got, &y); err != nil {
				t.Fatalf("re-read: %v", err)
			}
			if err := Compare(&y, &x, 0); err != nil {
				t.Errorf("re-read differs: %v", err)
			}
		})
	}
}

func TestTensorRejects(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"unknown dtype", `{"dtype":"float16","shape":[1],"values":[1]}`, `unsupported dtype "float16"`},
		{"count", `{"dtype":"float32","shape":[2,3],"values":[1,2,3]}`, "needs 6 values, got 3"},
		{"negative dim", `{"dtype":"float32","shape":[-1],"values":[]}`, "negative dimension"},
		{"overflow shape", `{"dtype":"bool","shape":[4294967296,4294967296],"values":[]}`, "too many elements"},
		{"int range", `{"dtype":"int8","shape":[1],"values":[128]}`, "value out of range"},
		{"uint sign", `{"dtype":"uint8","shape":[1],"values":[-1]}`, "invalid syntax"},
		{"int fraction", `{"dtype":"int32","shape":[1],"values":[1.5]}`, "invalid syntax"},
		{"float32 overflow", `{"dtype":"float32","shape":[1],"values":[1e39]}`, "overflows float32"},
		{"bad special", `{"dtype":"float64","shape":[1],"values":["nan"]}`, `"nan" is not a number`},
		{"no values", `{"dtype":"float64","shape":[]}`, `no "values"`},
		{"type", `{"dtype":"bool","shape":[1],"values":[1]}`, "cannot unmarshal"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var x Tensor
			err := json.Unmarshal([]byte(tc.in), &x)
			if !errors.Is(err, errTensor) {
				t.Fatalf("error %v does not wrap errTensor", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

func mustTensor(t *testing.T, s string) *Tensor {
	t.Helper()
	var x Tensor
	if err := json.Unmarshal([]byte(s), &x); err != nil {
		t.Fatal(err)
	}
	return &x
}

func TestCompare(t *testing.T) {
	want := `{"dtype":"float32","shape":[3],"values":[1,-200,"NaN"]}`
	tests := []struct {
		name, got string
		tol       float64
		mismatch  string // "" when equal
	}{
		{"same", want, 0, ""},
		{"within atol", `{"dtype":"float32","shape":[3],"values":[1.000009,-200,"NaN"]}`, 1e-5, ""},
		{"within rtol", `{"dtype":"float32","shape":[3],"values":[1,-200.0019,"NaN"]}`, 1e-5, ""},
		{"outside", `{"dtype":"float32","shape":[3],"values":[1.0001,-200.01,"NaN"]}`, 1e-5,
			"2 of 3 values differ; first at flat index 0"},
		{"nan vs number", `{"dtype":"float32","shape":[3],"values":[1,-200,0]}`, 1, "first at flat index 2"},
		{"dtype", `{"dtype":"float64","shape":[3],"values":[1,-200,"NaN"]}`, 0, "dtype float64, want float32"},
		{"shape", `{"dtype":"float32","shape":[1,3],"values":[1,-200,"NaN"]}`, 0, "shape [1 3], want [3]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Compare(mustTensor(t, tc.got), mustTensor(t, want), tc.tol)
			if tc.mismatch == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var m *Mismatch
			if !errors.As(err, &m) || !strings.Contains(m.Reason, tc.mismatch) {
				t.Fatalf("got %v, want a Mismatch containing %q", err, tc.mismatch)
			}
		})
	}
	s1 := mustTensor(t, `{"dtype":"string","shape":[2],"values":["a","b"]}`)
	s2 := mustTensor(t, `{"dtype":"string","shape":[2],"values":["a","c"]}`)
	if err := Compare(s1, s2, 1); err == nil || !strings.Contains(err.Error(), `got "b", want "c"`) {
		t.Errorf("strings compare exactly whatever the tolerance: %v", err)
	}
	i1 := mustTensor(t, `{"dtype":"int64","shape":[1],"values":[1]}`)
	i2 := mustTensor(t, `{"dtype":"int64","shape":[1],"values":[2]}`)
	if err := Compare(i1, i2, 10); err == nil {
		t.Error("integers compare exactly whatever the tolerance")
	}
}

func TestReadInputs(t *testing.T) {
	manifestSigs := `{"serving_default": {"inputs": {"x": {"dtype": "float32", "shape": [1], "values": [2]}},
		"outputs": {"y": {"dtype": "float32", "shape": [1], "values": [3]}}},
		"other": {"inputs": {}}}`
	in, err := readInputs(strings.NewReader(manifestSigs), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(in) != 2 || in["serving_default"]["x"].Floats[0] != 2 || len(in["other"]) != 0 {
		t.Errorf("manifest layout read as %+v", in)
	}
	one, err := readInputs(strings.NewReader(`{"x": {"dtype": "bool", "shape": [], "values": [true]}}`), "sig")
	if err != nil {
		t.Fatal(err)
	}
	if !one["sig"]["x"].Bools[0] {
		t.Errorf("one-signature layout read as %+v", one)
	}
	if _, err := readInputs(strings.NewReader(`{"s": {"inputs": {"x": null}}}`), ""); err == nil {
		t.Error("a null input must be rejected")
	}
	if _, err := readInputs(strings.NewReader(`{"x": {"dtype": "int8", "shape": [1], "values": [300]}}`), "s"); !errors.Is(err, errTensor) {
		t.Errorf("bad tensor: got %v", err)
	}
}

// FuzzTensor checks that any tensor the reader accepts is written back in a
// form that reads to an equal tensor.
func FuzzTensor(f *testing.F) {
	for _, s := range []string{
		`{"dtype":"float32","shape":[2,2],"values":[0.1,-2,3.5,1e-7]}`,
		`{"dtype":"float64","shape":[3],"values":["NaN","Infinity",-0.0]}`,
		`{"dtype":"int8","shape":[],"values":[-128]}`,
		`{"dtype":"uint64","shape":[1],"values":[18446744073709551615]}`,
		`{"dtype":"string","shape":[1,1],"values":["\u0000é"]}`,
		`{"dtype":"bool","shape":[0,5],"values":[]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var x Tensor
		if err := json.Unmarshal(b, &x); err != nil {
			return
		}
		out, err := json.Marshal(&x)
		if err != nil {
			t.Fatalf("accepted %q but cannot write it: %v", b, err)
		}
		var y Tensor
		if err := json.Unmarshal(out, &y); err != nil {
			t.Fatalf("wrote %q, which does not read back: %v", out, err)
		}
		if err := Compare(&y, &x, 0); err != nil {
			t.Fatalf("%q -> %q: %v", b, out, err)
		}
		if x.DType == "float64" {
			for i := range x.Floats {
				if math.Float64bits(x.Floats[i]) != math.Float64bits(y.Floats[i]) && !math.IsNaN(x.Floats[i]) {
					t.Fatalf("float64 value %d changed: %v -> %v", i, x.Floats[i], y.Floats[i])
				}
			}
		}
	})
}

// BenchmarkTensorJSON reads and writes a 1M-element float32 tensor (4 MB of
// data, about 11 MB of JSON).
func BenchmarkTensorJSON(b *testing.B) {
	const n = 1 << 20
	src := &Tensor{DType: "float32", Shape: []int64{1024, 1024}, Floats: make([]float64, n)}
	for i := range src.Floats {
		src.Floats[i] = float64(float32(math.Sin(float64(i))))
	}
	data, err := json.Marshal(src)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("read", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			var t Tensor
			if err := json.Unmarshal(data, &t); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("write", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, err := json.Marshal(src); err != nil {
				b.Fatal(err)
			}
		}
	})
}
