package graphdef

import (
	"testing"
)

func TestParseInput(t *testing.T) {
	tests := []struct {
		s    string
		fn   bool
		want Input
		err  bool
	}{
		{"x", false, Input{Node: "x"}, false},
		{"dense/MatMul:2", false, Input{Node: "dense/MatMul", Index: 2, HasIndex: true}, false},
		{"x:0", false, Input{Node: "x", HasIndex: true}, false},
		{"^init", false, Input{Node: "init", Control: true}, false},
		{"x:out", false, Input{}, true},
		{"x:1:2", false, Input{}, true},
		{"^x:0", false, Input{}, true},
		{"", false, Input{}, true},
		{"^", false, Input{}, true},
		{":0", false, Input{}, true},
		{"x:01", false, Input{}, true},
		{"x:-1", false, Input{}, true},
		{"args_0", true, Input{Node: "args_0"}, false},
		{"args:3", true, Input{Node: "args", Index: 3, HasIndex: true}, false},
		{"read:value:0", true, Input{Node: "read", Output: "value", HasIndex: true}, false},
		{"split:output:1", true, Input{Node: "split", Output: "output", Index: 1, HasIndex: true}, false},
		{"split:output", true, Input{Node: "split", Output: "output"}, false},
		{"^NoOp", true, Input{Node: "NoOp", Control: true}, false},
		{"a:b:c", true, Input{}, true},
		{"a::0", true, Input{}, true},
		{"a:b:", true, Input{}, true},
	}
	for _, tt := range tests {
		got, err := parseInput(tt.s, tt.fn)
		if (err != nil) != tt.err {
			t.Errorf("parse(%q, fn=%v) error = %v, want error %v", tt.s, tt.fn, err, tt.err)
			continue
		}
		if err != nil {
			continue
		}
		if got != tt.want {
			t.Errorf("parse(%q, fn=%v) = %+v, want %+v", tt.s, tt.fn, got, tt.want)
		}
		if got.String() != tt.s {
			t.Errorf("parse(%q).String() = %q", tt.s, got.String())
		}
	}
}

// FuzzParseInput checks, on inputs seeded from every input string of TF's
// own SavedModels, that parsing never panics, that a parsed input formats
// back to the same text, and that the producer name the index uses agrees
// with the parser.
func FuzzParseInput(f *testing.F) {
	seen := map[string]bool{}
	for _, m := range realModels(f) {
		for _, n := range m.mg.GetGraphDef().GetNode() {
			for _, s := range n.Input {
				if !seen[s] && len(seen) < 300 {
					seen[s] = true
					f.Add(s, false)
				}
			}
		}
		for _, fd := range m.mg.GetGraphDef().GetLibrary().GetFunction() {
			for _, n := range fd.GetNodeDef() {
				for _, s := range n.Input {
					if !seen[s] && len(seen) < 600 {
						seen[s] = true
						f.Add(s, true)
					}
				}
			}
		}
	}
	f.Fuzz(func(t *testing.T, s string, fn bool) {
		in, err := parseInput(s, fn)
		if err != nil {
			return
		}
		if in.String() != s {
			t.Fatalf("parse(%q) = %+v formats as %q", s, in, in.String())
		}
		if Producer(s) != in.Node {
			t.Fatalf("Producer(%q) = %q, parser says %q", s, Producer(s), in.Node)
		}
		again, err := parseInput(in.String(), fn)
		if err != nil || again != in {
			t.Fatalf("re-parse of %q gave %+v, %v", in.String(), again, err)
		}
	})
}
