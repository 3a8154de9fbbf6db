//go:build tensorflow

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/unmirror/unmirror/internal/tftree"
	tfpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
	"google.golang.org/protobuf/proto"
)

// serveInProcess runs the program in this process and decodes its one line.
func serveInProcess(t *testing.T, stdin string, args ...string) (response, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(args, strings.NewReader(stdin), &out, &errOut)
	var r response
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("serve %v: stdout %q is not one JSON response: %v (stderr %q)", args, out.String(), err, errOut.String())
	}
	if n := bytes.Count(out.Bytes(), []byte("\n")); n != 1 {
		t.Errorf("serve %v printed %d lines, want 1", args, n)
	}
	return r, code
}

func tfTestdata(t *testing.T, name string) string {
	return filepath.Join(tftree.Dir(t), "tensorflow", "cc", "saved_model", "testdata", name)
}

func float32Tensor(shape []int64, vals ...float64) *Tensor {
	for i, v := range vals {
		vals[i] = float64(float32(v))
	}
	return &Tensor{DType: "float32", Shape: shape, Floats: vals}
}

func inputsJSON(t *testing.T, in map[string]*Tensor) string {
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestTFTestModels runs TensorFlow's own test SavedModels. Expected values
// follow from how tensorflow/cc/saved_model/testdata/generate_saved_models.py
// and TF's half_plus_two generator define the models: y = 0.5*x + 2,
// (a + 1) * (b + 2) / 3 + 5, the asset file's contents, and a table mapping
// each line of the asset file to its line number (-1 otherwise).
func TestTFTestModels(t *testing.T) {
	xs := []float64{0, 1, 2.5, -3}
	halfPlusTwo := make([]float64, len(xs))
	for i, x := range xs {
		halfPlusTwo[i] = 0.5*x + 2
	}
	asset, err := os.ReadFile(filepath.Join(tfTestdata(t, "AssetModule"), "assets", "test_asset.txt"))
	if err != nil {
		t.Fatal(err)
	}
	vocab, err := os.ReadFile(filepath.Join(tfTestdata(t, "StaticHashTableModule"), "assets", "static_hashtable_asset.txt"))
	if err != nil {
		t.Fatal(err)
	}
	words := strings.Split(strings.TrimSuffix(string(vocab), "\n"), "\n")
	query := []string{words[len(words)-1], "not-in-vocabulary", words[0]}
	ids := []int64{int64(len(words) - 1), -1, 0}

	tests := []struct {
		model     string
		signature string
		in        map[string]*Tensor
		key       string
		want      *Tensor
	}{
		{"half_plus_two/00000123", "serving_default",
			map[string]*Tensor{"x": float32Tensor([]int64{4, 1}, xs...)}, "y",
			float32Tensor([]int64{4, 1}, halfPlusTwo...)},
		{"half_plus_two_pbtxt/00000123", "serving_default",
			map[string]*Tensor{"x": float32Tensor([]int64{4, 1}, xs...)}, "y",
			float32Tensor([]int64{4, 1}, halfPlusTwo...)},
		{"half_plus_two_main_op/00000123", "serving_default",
			map[string]*Tensor{"x": float32Tensor([]int64{4, 1}, xs...)}, "y",
			float32Tensor([]int64{4, 1}, halfPlusTwo...)},
		{"half_plus_two_v2/00000123", "serving_default",
			map[string]*Tensor{"x": float32Tensor([]int64{4, 1}, xs...)}, "y",
			float32Tensor([]int64{4, 1}, halfPlusTwo...)},
		{"VarsAndArithmeticObjectGraph", "serving_default",
			map[string]*Tensor{"a": float32Tensor([]int64{}, 2), "b": float32Tensor([]int64{}, 3)}, "output_0",
			float32Tensor([]int64{}, (2+1)*(3+2)/3.0+5)},
		{"AssetModule", "serving_default", map[string]*Tensor{}, "output_0",
			&Tensor{DType: "string", Shape: []int64{}, Strings: []string{string(asset)}}},
		{"StaticHashTableModule", "serving_default",
			map[string]*Tensor{"word": {DType: "string", Shape: []int64{3}, Strings: query}}, "output_0",
			&Tensor{DType: "int64", Shape: []int64{3}, Ints: ids}},
	}
	for _, tc := range tests {
		t.Run(tc.model, func(t *testing.T) {
			r, code := serveInProcess(t, inputsJSON(t, tc.in),
				"-dir", tfTestdata(t, tc.model), "-signature", tc.signature, "-inputs", "-")
			if code != exitOK || !r.OK {
				t.Fatalf("exit %d, response %+v", code, r)
			}
			got := r.Signatures[tc.signature].Outputs[tc.key]
			if got == nil {
				t.Fatalf("no output %q in %+v", tc.key, r.Signatures)
			}
			if err := Compare(got, tc.want, 1e-6); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestManifestLayoutRunsEverySignature feeds several signatures at once in
// the manifest's layout.
func TestManifestLayoutRunsEverySignature(t *testing.T) {
	in := fmt.Sprintf(`{"serving_default": {"inputs": {"x": %s}}, "regress_x2_to_y3": {"inputs": {"inputs": %s}}}`,
		`{"dtype": "float32", "shape": [2, 1], "values": [0, 1]}`, `{"dtype": "float32", "shape": [1, 1], "values": [4]}`)
	r, code := serveInProcess(t, in, "-dir", tfTestdata(t, "half_plus_two/00000123"), "-inputs", "-")
	if code != exitOK || len(r.Signatures) != 2 {
		t.Fatalf("exit %d, response %+v", code, r)
	}
	if err := Compare(r.Signatures["serving_default"].Outputs["y"], float32Tensor([]int64{2, 1}, 2, 2.5), 0); err != nil {
		t.Error(err)
	}
	// y3 = 0.5*x2 + 3 in the half_plus_two graph.
	if err := Compare(r.Signatures["regress_x2_to_y3"].Outputs["outputs"], float32Tensor([]int64{1, 1}, 5), 0); err != nil {
		t.Error(err)
	}
}

func TestErrors(t *testing.T) {
	hp2 := tfTestdata(t, "half_plus_two/00000123")
	tests := []struct {
		name  string
		stdin string
		args  []string
		stage string
		error string
	}{
		{"missing dir", "", []string{"-dir", filepath.Join(t.TempDir(), "none")}, stageLoad,
			"Could not find SavedModel .pb or .pbtxt at supplied export directory path"},
		{"tags", "", []string{"-dir", hp2, "-tags", "serve,gpu"}, stageLoad,
			"Could not find meta graph def matching supplied tags: { gpu serve }"},
		{"dtype", `{"x": {"dtype": "float64", "shape": [1, 1], "values": [1]}}`,
			[]string{"-dir", hp2, "-signature", "serving_default", "-inputs", "-"}, stageRun,
			"but double is provided"},
		{"unknown signature", `{"x": {"dtype": "float32", "shape": [1, 1], "values": [1]}}`,
			[]string{"-dir", hp2, "-signature", "nope", "-inputs", "-"}, stageRun, `no signature "nope" in the model`},
		{"missing input", `{}`, []string{"-dir", hp2, "-signature", "serving_default", "-inputs", "-"}, stageRun,
			`input "x" not given`},
		{"extra input", `{"x": {"dtype": "float32", "shape": [1, 1], "values": [1]}, "z": {"dtype": "float32", "shape": [], "values": [1]}}`,
			[]string{"-dir", hp2, "-signature", "serving_default", "-inputs", "-"}, stageRun, `has no input "z"`},
		{"bad json", `{"x": {"dtype": "float32", "shape": [2], "values": [1]}}`,
			[]string{"-dir", hp2, "-signature", "serving_default", "-inputs", "-"}, stageInput, "needs 2 values, got 1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, code := serveInProcess(t, tc.stdin, tc.args...)
			if code != exitError || r.OK || r.Stage != tc.stage || !strings.Contains(r.Error, tc.error) {
				t.Errorf("exit %d, response %+v; want stage %s, error containing %q", code, r, tc.stage, tc.error)
			}
		})
	}
}

// TestNoSoftPlacement pins one node of half_plus_two's main graph to a GPU:
// a serving process (soft placement off, TF's default) must refuse it at
// load, with the placer's error.
func TestNoSoftPlacement(t *testing.T) {
	src := tfTestdata(t, "half_plus_two/00000123")
	dir := t.TempDir()
	for _, sub := range []string{"variables", "assets"} {
		if err := os.Symlink(filepath.Join(src, sub), filepath.Join(dir, sub)); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(filepath.Join(src, "saved_model.pb"))
	if err != nil {
		t.Fatal(err)
	}
	var sm tfpb.SavedModel
	if err := proto.Unmarshal(b, &sm); err != nil {
		t.Fatal(err)
	}
	pinned := ""
	for _, n := range sm.GetMetaGraphs()[0].GetGraphDef().GetNode() {
		if n.GetOp() == "VarHandleOp" || n.GetOp() == "VariableV2" {
			n.Device = "/device:GPU:0"
			pinned = n.GetName()
			break
		}
	}
	if pinned == "" {
		t.Fatal("half_plus_two has no variable node to pin")
	}
	if b, err = proto.Marshal(&sm); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "saved_model.pb"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	r, code := serveInProcess(t, "", "-dir", dir)
	want := fmt.Sprintf("Cannot assign a device for operation %s: {{node %s}} was explicitly assigned to /device:GPU:0", pinned, pinned)
	if code != exitError || r.Stage != stageLoad || !strings.HasPrefix(r.Error, want) {
		t.Errorf("exit %d, response %+v; want a load error starting %q", code, r, want)
	}
}

// TestTensorConversion round-trips JSON tensors through TensorFlow tensors.
func TestTensorConversion(t *testing.T) {
	for _, s := range []string{
		`{"dtype":"float32","shape":[2,3],"values":[1,2,3,4,5,"NaN"]}`,
		`{"dtype":"float64","shape":[],"values":[0.1]}`,
		`{"dtype":"int8","shape":[2],"values":[-128,127]}`,
		`{"dtype":"int16","shape":[1,1,1],"values":[-7]}`,
		`{"dtype":"int32","shape":[2,0],"values":[]}`,
		`{"dtype":"int64","shape":[1],"values":[-9223372036854775808]}`,
		`{"dtype":"uint8","shape":[2],"values":[0,255]}`,
		`{"dtype":"uint16","shape":[1],"values":[65535]}`,
		`{"dtype":"uint32","shape":[1],"values":[4294967295]}`,
		`{"dtype":"uint64","shape":[1],"values":[18446744073709551615]}`,
		`{"dtype":"bool","shape":[3],"values":[true,false,true]}`,
		`{"dtype":"string","shape":[],"values":["one"]}`,
		`{"dtype":"string","shape":[2,3],"values":["a","b","c","d","","f\u0000"]}`,
		`{"dtype":"string","shape":[2,1,2],"values":["a","b","c","d"]}`,
	} {
		want := mustTensor(t, s)
		tt, err := toTF(want)
		if err != nil {
			t.Errorf("%s: toTF: %v", s, err)
			continue
		}
		got, err := fromTF(tt)
		if err != nil {
			t.Errorf("%s: fromTF: %v", s, err)
			continue
		}
		if err := Compare(got, want, 0); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
}
