package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteTable(t *testing.T) {
	g := &Golden{TensorFlowVersion: "2.18.0", Fixtures: []Result{
		{Fixture: "plain", Load: loadOK, Signatures: map[string]string{"serving_default": "ok", "b": "ok"}},
		{Fixture: "partly", Load: loadOK, Signatures: map[string]string{"serving_default": "ok", "b": "error: Could not find variable x"}},
		{Fixture: "gpu", Load: loadError, Error: "Cannot assign a device for operation v: {{node v}} | x"},
		{Fixture: "collective", Load: loadTimeout},
		{Fixture: "long", Load: loadError, Error: strings.Repeat("é", 300)},
	}}
	dir := t.TempDir()
	path := filepath.Join(dir, "before.json")
	b, err := marshalGolden(g)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := printTable(&out, path); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	want := []string{
		"| fixture | Go `tf.LoadSavedModel` (TF 2.18.0 C API, CPU, no soft placement) |",
		"|---|---|",
		"| plain | loads; 2/2 signatures match |",
		"| partly | loads; b: error: Could not find variable x |",
		`| gpu | fails: Cannot assign a device for operation v: {{node v}} \| x |`,
		"| collective | timeout (hang) |",
		"| long | fails: " + strings.Repeat("é", 240-len("fails: ")) + "… |",
	}
	if len(lines) != len(want) {
		t.Fatalf("got %d lines:\n%s", len(lines), out.String())
	}
	for i := range want {
		if lines[i] != want[i] {
			t.Errorf("line %d:\ngot  %s\nwant %s", i, lines[i], want[i])
		}
	}
	if err := printTable(&out, filepath.Join(dir, "missing.json")); err == nil {
		t.Error("a missing golden file must be an error")
	}
}

func TestFirstLine(t *testing.T) {
	for in, want := range map[string]string{
		"No OpKernel was registered to support Op 'NcclAllReduce'\nRegistered devices: [CPU]": "No OpKernel was registered to support Op 'NcclAllReduce'",
		"  one line  ": "one line",
		"":             "",
	} {
		if got := firstLine(in); got != want {
			t.Errorf("firstLine(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNormalizeError(t *testing.T) {
	tests := []struct{ in, want string }{
		{"No OpKernel was registered to support Op 'NcclAllReduce' used by {{node NcclAllReduce}} with these attrs: [num_devices=2, T=DT_FLOAT, shared_name=\"c0, d]\", reduction=\"sum\", _output_shapes=[[3,4], [5]]]\nRegistered devices: [CPU]",
			"No OpKernel was registered to support Op 'NcclAllReduce' used by {{node NcclAllReduce}} with these attrs: [T=DT_FLOAT, _output_shapes=[[3,4], [5]], num_devices=2, reduction=\"sum\", shared_name=\"c0, d]\"]"},
		{"Key dense/bias not found in checkpoint /m/x/variables/variables", "Key dense/bias not found in checkpoint <model>/variables/variables"},
		{"Op type not registered 'Foo' in binary running on host-1.example. Make sure", "Op type not registered 'Foo' in binary running on <host>. Make sure"},
		{"with these attrs: [a=1, b=[2", "with these attrs: [a=1, b=[2"},
		{"binary running on h", "binary running on <host>"},
	}
	for _, tc := range tests {
		if got := normalizeError(tc.in, "/m/x"); got != tc.want {
			t.Errorf("normalizeError(%q)\n got  %q\n want %q", tc.in, got, tc.want)
		}
	}
}
