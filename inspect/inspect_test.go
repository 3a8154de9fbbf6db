package inspect_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	attrpb "github.com/wamuir/graft/tensorflow/core/framework/attr_value_go_proto"
	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"

	"github.com/unmirror/unmirror/device"
	"github.com/unmirror/unmirror/inspect"
	"github.com/unmirror/unmirror/internal/fixtures"
	"github.com/unmirror/unmirror/savedmodel"
)

func readFixture(t *testing.T, dir string) *savedmodel.Model {
	t.Helper()
	m, err := savedmodel.Read(context.Background(), dir, savedmodel.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func inspectDir(t *testing.T, dir string) *inspect.Inspection {
	t.Helper()
	in, err := inspect.Model(context.Background(), readFixture(t, dir), inspect.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// TestInspectArtifactsMatchManifest checks that Inspect names exactly the
// artifacts TensorFlow's own reading of each fixture found
// (testdata/tf/fixtures_tf.py inspect_model, recorded in the manifest).
func TestInspectArtifactsMatchManifest(t *testing.T) {
	for _, f := range fixtures.All(t) {
		t.Run(f.Name, func(t *testing.T) {
			in := inspectDir(t, f.Dir)
			var got, want []string
			for _, a := range in.Artifacts {
				got = append(got, a.Name)
				if a.Count < 1 || len(a.Examples) == 0 || len(a.Examples) > 3 {
					t.Errorf("%s: count %d, %d examples", a.Name, a.Count, len(a.Examples))
				}
			}
			for _, a := range f.Artifacts {
				want = append(want, string(a))
			}
			slices.Sort(got)
			slices.Sort(want)
			for _, a := range want {
				if !slices.Contains(got, a) {
					t.Errorf("artifact %s not detected", a)
				}
			}
			for _, a := range got {
				if !slices.Contains(want, a) {
					t.Errorf("extra artifact %s detected: %+v", a, in.Artifact(a).Examples)
				}
			}
			for _, a := range got {
				if !slices.Contains(inspect.Artifacts, a) {
					t.Errorf("artifact %s is not in the vocabulary", a)
				}
			}
		})
	}
}

// TestInspectVocabularyMatchesFixtures keeps the package's vocabulary
// (which the CLI uses) equal to the manifest's.
func TestInspectVocabularyMatchesFixtures(t *testing.T) {
	var want []string
	for _, a := range fixtures.Vocabulary {
		want = append(want, string(a))
	}
	if !slices.Equal(inspect.Artifacts, want) {
		t.Fatalf("inspect.Artifacts = %v, fixtures.Vocabulary = %v", inspect.Artifacts, want)
	}
}

// TestInspectVerdicts checks the CPU verdict of every fixture against
// TensorFlow: portable exactly when every runtime of the manifest's
// "before" column loaded the original and ran its signatures on one CPU.
func TestInspectVerdicts(t *testing.T) {
	for _, f := range fixtures.All(t) {
		t.Run(f.Name, func(t *testing.T) {
			in := inspectDir(t, f.Dir)
			v := in.Verdict(device.CPU)
			if v == nil || in.Verdict(device.GPU) == nil {
				t.Fatalf("verdicts %+v", in.Verdicts)
			}
			want := f.LoadsBefore() && failsWhenCalled[f.Name] == ""
			if v.Portable != want {
				t.Errorf("cpu portable = %v, but TensorFlow's before column is %+v; reasons %+v", v.Portable, f.Before, v.Reasons)
			}
			if v.Portable != (len(v.Reasons) == 0) {
				t.Errorf("portable %v with %d reasons", v.Portable, len(v.Reasons))
			}
			// Every artifact that breaks a runtime is a reason.
			if !f.LoadsBefore() {
				for _, a := range []fixtures.Artifact{fixtures.NCCLOps, fixtures.CollectiveOps, fixtures.DeviceJob} {
					if f.Has(a) && !hasReasonAbout(v, a) {
						t.Errorf("%s present but not a reason: %+v", a, v.Reasons)
					}
				}
			}
		})
	}
}

// failsWhenCalled lists fixtures whose signatures TensorFlow runs on one CPU
// but that hold a saved function TF cannot run there, with TF's error: the
// manifest's "before" column calls signatures only.
var failsWhenCalled = map[string]string{
	// tf.saved_model.load(...).tpu_step(x, x) in TF 2.18 on one CPU.
	"tpu_leftover": "InvalidArgumentError: No OpKernel was registered to support Op 'TPUReplicateMetadata'",
}

// hasReasonAbout reports whether a verdict names artifact a, directly or
// (for device artifacts) through a device reason.
func hasReasonAbout(v *inspect.Verdict, a fixtures.Artifact) bool {
	for _, r := range v.Reasons {
		switch {
		case r.Kind == string(a):
			return true
		case a == fixtures.DeviceJob && r.Kind == "device" && strings.Contains(r.What, "/job:"):
			return true
		case a == fixtures.DeviceCPUN && r.Kind == "device" && strings.Contains(r.What, "CPU:") && strings.Contains(r.What, "does not exist"):
			return true
		}
	}
	return false
}

func TestInspectDevicesAndCounts(t *testing.T) {
	in := inspectDir(t, fixtures.ByName(t, "tf1_towers").Dir)
	if in.Format != "pb" || len(in.MetaGraphs) != 1 || !slices.Equal(in.MetaGraphs[0].Tags, []string{"serve"}) {
		t.Fatalf("format %s, meta graphs %+v", in.Format, in.MetaGraphs)
	}
	var gpu1 *inspect.DeviceUse
	total := 0
	for i, d := range in.Devices {
		total += d.Nodes
		if d.Device == "/device:GPU:1" {
			gpu1 = &in.Devices[i]
		}
	}
	if total != in.MetaGraphs[0].Nodes+in.MetaGraphs[0].FunctionNodes {
		t.Errorf("device census counts %d nodes, graph has %d", total, in.MetaGraphs[0].Nodes)
	}
	if gpu1 == nil || !slices.Equal(gpu1.Blocks, []string{"cpu", "gpu"}) {
		t.Errorf("/device:GPU:1 = %+v, want blocking cpu and gpu", gpu1)
	}
	if in.Shards != 2 || len(in.Variables) != 4 || in.VariableBytes != 128 {
		t.Errorf("shards %d, variables %+v, bytes %d", in.Shards, in.Variables, in.VariableBytes)
	}
	sig := in.MetaGraphs[0].Signatures
	if len(sig) != 1 || sig[0].Key != "serving_default" || sig[0].Inputs[0].DType != "float" ||
		!slices.Equal(sig[0].Inputs[0].Shape, []int64{-1, 3}) {
		t.Errorf("signatures %+v", sig)
	}
}

func TestInspectPBTxtSameAsPB(t *testing.T) {
	a := inspectDir(t, fixtures.ByName(t, "tf1_towers").Dir)
	b := inspectDir(t, fixtures.ByName(t, "tf1_towers_pbtxt").Dir)
	if b.Format != "pbtxt" || b.Artifact(inspect.ArtifactPBTxt) == nil {
		t.Fatalf("pbtxt fixture: format %s, artifacts %+v", b.Format, b.Artifacts)
	}
	if !slices.EqualFunc(a.Devices, b.Devices, func(x, y inspect.DeviceUse) bool {
		return x.Device == y.Device && x.Nodes == y.Nodes
	}) {
		t.Errorf("devices differ between pb and pbtxt:\n%+v\n%+v", a.Devices, b.Devices)
	}
}

func TestInspectCollectiveGroupSize(t *testing.T) {
	in := inspectDir(t, fixtures.ByName(t, "collective_fn").Dir)
	a := in.Artifact(inspect.ArtifactCollectiveOps)
	if a == nil {
		t.Fatal("no collective_ops")
	}
	for _, ex := range a.Examples {
		if !strings.Contains(ex.Detail, "group_size 2") {
			t.Errorf("group size not read: %+v", ex)
		}
	}
}

func TestInspectExamplesOption(t *testing.T) {
	m := readFixture(t, fixtures.ByName(t, "tf1_towers").Dir)
	in, err := inspect.Model(context.Background(), m, inspect.Options{Examples: -1, Targets: []device.Target{device.GPU}})
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Verdicts) != 1 || in.Verdicts[0].Target != "gpu" {
		t.Fatalf("verdicts %+v", in.Verdicts)
	}
	for _, a := range in.Artifacts {
		if len(a.Examples) != 0 || a.Count == 0 {
			t.Errorf("%s: %d examples, count %d", a.Name, len(a.Examples), a.Count)
		}
	}
}

func BenchmarkInspect(b *testing.B) {
	fs, err := fixtures.Load()
	if err != nil {
		b.Fatal(err)
	}
	f, _ := fixtures.Find(fs, "keras_mirrored")
	m, err := savedmodel.Read(context.Background(), f.Dir, savedmodel.ReadOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	for b.Loop() {
		if _, err := inspect.Model(context.Background(), m, inspect.Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkInspectLargeGraph measures Inspect (scan, device census and both
// verdicts, which run the verify pass's checks) on the plain fixture grown
// to 200,000 main-graph nodes spread over a few devices, with colocation.
func BenchmarkInspectLargeGraph(b *testing.B) {
	fs, err := fixtures.Load()
	if err != nil {
		b.Fatal(err)
	}
	f, _ := fixtures.Find(fs, "plain")
	m, err := savedmodel.Read(context.Background(), f.Dir, savedmodel.ReadOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	const n = 200_000
	gd := m.Proto.GetMetaGraphs()[0].GetGraphDef()
	devs := []string{"/job:worker/replica:0/task:1/device:GPU:3", "/device:CPU:0", "", "/job:localhost/replica:0/task:0/device:CPU:1"}
	prev := gd.GetNode()[0].GetName()
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("grown/%d", i)
		gd.Node = append(gd.Node, &nodepb.NodeDef{
			Name: name, Op: "Identity", Input: []string{prev}, Device: devs[i%len(devs)],
			Attr: map[string]*attrpb.AttrValue{"_class": {Value: &attrpb.AttrValue_List{List: &attrpb.AttrValue_ListValue{S: [][]byte{[]byte("loc:@" + prev)}}}}},
		})
		prev = name
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := inspect.Model(context.Background(), m, inspect.Options{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/node")
}
