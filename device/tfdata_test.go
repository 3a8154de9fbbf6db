package device

import (
	"bufio"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/unmirror/unmirror/internal/tftree"
	tfpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
)

var update = flag.Bool("update", false, "rewrite testdata/tfnames.txt from the TensorFlow tree")

// goldenNames is the file that records the device names found in
// TensorFlow's test data, one Go-quoted name per line, sorted. It is written
// only with -update, and seeds FuzzParse without a walk of the tree.
const goldenNames = "testdata/tfnames.txt"

// readGoldenNames returns the names in goldenNames.
func readGoldenNames(tb testing.TB) []string {
	tb.Helper()
	f, err := os.Open(goldenNames)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var names []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		n, err := strconv.Unquote(sc.Text())
		if err != nil {
			tb.Fatalf("%s: line %q: %v", goldenNames, sc.Text(), err)
		}
		names = append(names, n)
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return names
}

func writeGoldenNames(tb testing.TB, names []string) {
	var b strings.Builder
	for _, n := range names {
		b.WriteString(strconv.Quote(n))
		b.WriteByte('\n')
	}
	if err := os.WriteFile(goldenNames, []byte(b.String()), 0o644); err != nil {
		tb.Fatal(err)
	}
}

// pbtxtDevice finds device fields in text-format protos.
var pbtxtDevice = regexp.MustCompile(`\bdevice: "([^"\\]*)"`)

// tfDeviceNames returns every device name found in TensorFlow's own test
// data, mapped to one file that holds it: the NodeDef.device of the main
// graphs and function bodies of the SavedModels, and the device fields of
// every .pbtxt file (GraphDefs, MetaGraphDefs) under tensorflow/.
func tfDeviceNames(tb testing.TB) map[string]string {
	tb.Helper()
	names := map[string]string{}
	for _, dir := range tftree.SavedModels(tb) {
		mgs, err := readMetaGraphs(dir)
		if err != nil {
			tb.Fatalf("%s: %v", dir, err)
		}
		for _, mg := range mgs {
			for _, n := range mg.GetGraphDef().GetNode() {
				add(names, n.GetDevice(), dir)
			}
			for _, fn := range mg.GetGraphDef().GetLibrary().GetFunction() {
				for _, n := range fn.GetNodeDef() {
					add(names, n.GetDevice(), dir)
				}
			}
		}
	}
	root := filepath.Join(tftree.Dir(tb), "tensorflow")
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() || !strings.HasSuffix(p, ".pbtxt") {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, m := range pbtxtDevice.FindAllSubmatch(b, -1) {
			add(names, string(m[1]), p)
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return names
}

func add(names map[string]string, dev, where string) {
	if _, ok := names[dev]; !ok {
		names[dev] = where
	}
}

func readMetaGraphs(dir string) ([]*tfpb.MetaGraphDef, error) {
	var sm tfpb.SavedModel
	b, err := os.ReadFile(filepath.Join(dir, "saved_model.pb"))
	if err == nil {
		err = proto.Unmarshal(b, &sm)
	} else if b, err = os.ReadFile(filepath.Join(dir, "saved_model.pbtxt")); err == nil {
		err = prototext.Unmarshal(b, &sm)
	}
	return sm.GetMetaGraphs(), err
}

// TestTensorFlowTestData parses every device name in TensorFlow's test
// data: all of them are names TensorFlow itself wrote or loads, so Parse
// must accept them, round-trip them, and every Policy must map them to a
// placeable name.
func TestTensorFlowTestData(t *testing.T) {
	names := tfDeviceNames(t)
	if len(names) < 10 {
		t.Fatalf("found only %d distinct device names in the TensorFlow tree", len(names))
	}
	var sorted []string
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	if *update {
		writeGoldenNames(t, sorted)
	}
	if golden := readGoldenNames(t); !slices.Equal(golden, sorted) {
		t.Errorf("%s is stale (run go test -update): it has %d names, the tree %d", goldenNames, len(golden), len(sorted))
	}
	kinds := map[Kind]int{}
	for _, n := range sorted {
		s, err := Parse(n)
		if err != nil {
			t.Errorf("%s: %v", names[n], err)
			continue
		}
		kinds[s.Kind()]++
		checkRoundTrip(t, n)
		for _, p := range allPolicies {
			out, err := p.Apply(n)
			if err != nil && !(p.Other == OtherError && s.Kind() >= KindTPU) {
				t.Errorf("%+v.Apply(%q): %v", p, n, err)
				continue
			}
			if err == nil {
				checkPlaceable(t, p, n, out)
			}
		}
	}
	t.Logf("%d distinct device names; by kind: %v", len(sorted), kinds)
	// The tree has CPU, GPU and TPU names; if not, the scan is broken.
	for _, k := range []Kind{KindCPU, KindGPU, KindTPU} {
		if kinds[k] == 0 {
			t.Errorf("no %v device names found", k)
		}
	}
}
