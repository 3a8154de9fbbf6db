package inspect_test

import (
	"slices"
	"testing"

	typespb "github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"

	"github.com/unmirror/unmirror/inspect"
	"github.com/unmirror/unmirror/internal/fixtures"
)

func TestDiffSame(t *testing.T) {
	for _, pair := range [][2]string{{"plain", "plain"}, {"tf1_towers", "tf1_towers_pbtxt"}} {
		a := readFixture(t, fixtures.ByName(t, pair[0]).Dir)
		b := readFixture(t, fixtures.ByName(t, pair[1]).Dir)
		d := inspect.Diff(a, b)
		if !d.Same {
			t.Errorf("%s vs %s: %+v", pair[0], pair[1], d)
		}
		if d.Signatures == nil || d.Ops == nil || d.Devices == nil || d.Variables == nil ||
			d.Functions.Added == nil || d.Functions.Removed == nil {
			t.Errorf("%s vs %s: nil lists (JSON would print null): %+v", pair[0], pair[1], d)
		}
	}
}

// TestDiffEdits edits one copy of a model in memory and checks each edit
// shows up, in the right list, and nothing else does.
func TestDiffEdits(t *testing.T) {
	dir := fixtures.ByName(t, "plain").Dir
	a, b := readFixture(t, dir), readFixture(t, dir)
	mg := b.Proto.GetMetaGraphs()[0]
	// A signature input changes dtype, another signature appears.
	sig := mg.GetSignatureDef()["serving_default"]
	sig.GetInputs()["x"].Dtype = typespb.DataType_DT_DOUBLE
	mg.GetSignatureDef()["extra"] = sig
	// One node moves to a GPU.
	n := mg.GetGraphDef().GetNode()[0]
	oldDev := n.GetDevice()
	n.Device = "/device:GPU:0"
	// A function is renamed (removed + added).
	fn := mg.GetGraphDef().GetLibrary().GetFunction()[0]
	oldFn := fn.GetSignature().GetName()
	fn.GetSignature().Name = "renamed_fn"
	// A variable goes, another is renamed.
	if err := b.DeleteVariable("b/.ATTRIBUTES/VARIABLE_VALUE"); err != nil {
		t.Fatal(err)
	}
	if err := b.RenameVariable("w/.ATTRIBUTES/VARIABLE_VALUE", "w2/.ATTRIBUTES/VARIABLE_VALUE"); err != nil {
		t.Fatal(err)
	}

	d := inspect.Diff(a, b)
	if d.Same {
		t.Fatal("same")
	}
	var sigs []string
	for _, s := range d.Signatures {
		sigs = append(sigs, s.Change+" "+s.Key)
	}
	if !slices.Equal(sigs, []string{"added extra", "changed serving_default"}) {
		t.Errorf("signatures %+v", d.Signatures)
	}
	if det := d.Signatures[1].Details; len(det) != 1 || det[0] != "input x: float[2,3] serving_default_x:0 -> double[2,3] serving_default_x:0" {
		t.Errorf("details %q", det)
	}
	wantDev := []inspect.CountChange{{Name: "/device:GPU:0", A: 0, B: 1}}
	if oldDev != "/device:GPU:0" {
		c := inspect.CountChange{Name: oldDev}
		for _, u := range inspectDir(t, dir).Devices {
			if u.Device == oldDev {
				c.A, c.B = u.Nodes+u.Objects, u.Nodes+u.Objects-1
			}
		}
		wantDev = append(wantDev, c)
		slices.SortFunc(wantDev, func(x, y inspect.CountChange) int {
			if x.Name < y.Name {
				return -1
			}
			return 1
		})
	}
	if !slices.Equal(d.Devices, wantDev) {
		t.Errorf("devices %+v, want %+v", d.Devices, wantDev)
	}
	if len(d.Ops) != 0 {
		t.Errorf("ops %+v", d.Ops)
	}
	if !slices.Equal(d.Functions.Added, []string{"renamed_fn"}) || !slices.Equal(d.Functions.Removed, []string{oldFn}) {
		t.Errorf("functions %+v", d.Functions)
	}
	var vars []string
	for _, v := range d.Variables {
		vars = append(vars, v.Change+" "+v.Key)
		if (v.Change == "added") != (v.A == nil) || (v.Change == "removed") != (v.B == nil) {
			t.Errorf("variable %+v", v)
		}
	}
	if !slices.Equal(vars, []string{"removed b/.ATTRIBUTES/VARIABLE_VALUE", "removed w/.ATTRIBUTES/VARIABLE_VALUE", "added w2/.ATTRIBUTES/VARIABLE_VALUE"}) {
		t.Errorf("variables %v", vars)
	}
}

func TestDiffOpsAcrossFixtures(t *testing.T) {
	a := readFixture(t, fixtures.ByName(t, "tf1_towers").Dir)
	b := readFixture(t, fixtures.ByName(t, "plain").Dir)
	d := inspect.Diff(a, b)
	var nccl *inspect.CountChange
	for i, c := range d.Ops {
		if c.Name == "NcclAllReduce" {
			nccl = &d.Ops[i]
		}
		if c.A == c.B {
			t.Errorf("unchanged count listed: %+v", c)
		}
	}
	if nccl == nil || nccl.A != 4 || nccl.B != 0 {
		t.Errorf("NcclAllReduce %+v", nccl)
	}
}
