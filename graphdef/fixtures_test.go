package graphdef

import (
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"
	tfpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
)

// fixtureModels returns the SavedModels under testdata/models (written by
// real TensorFlow under distribution strategies), or skips the test when
// none are present yet.
func fixtureModels(t *testing.T) []realModel {
	t.Helper()
	var dirs []string
	for _, pat := range []string{"saved_model.pb", "saved_model.pbtxt"} {
		m, _ := filepath.Glob(filepath.Join("..", "testdata", "models", "*", pat))
		for _, p := range m {
			dirs = append(dirs, filepath.Dir(p))
		}
	}
	sort.Strings(dirs)
	if len(dirs) == 0 {
		t.Fatal("no fixtures in testdata/models")
	}
	var out []realModel
	for _, d := range dirs {
		sm := loadSavedModel(t, d)
		for i, mg := range sm.GetMetaGraphs() {
			name := filepath.Base(d)
			if i > 0 {
				name += "#" + string(rune('0'+i))
			}
			out = append(out, realModel{name, mg})
		}
	}
	return out
}

// crossDeviceOps are the ops a de-distribution pass turns into Identity.
var crossDeviceOps = map[string]bool{
	"NcclAllReduce": true, "CollectiveReduceV2": true, "CollectiveReduce": true,
	"CollectiveGatherV2": true, "CollectiveGather": true, "CollectiveReduceScatterV2": true,
}

// TestFixtures runs the checks a rewrite relies on over every fixture:
// valid as written, unchanged by indexing and write-back, every function
// reachable from the SavedModel roots, no training-gradient node on a
// serving path; then the edits of a de-distribution (collectives to
// Identity, replica handles folded into the primary, devices cleared) keep
// the graph valid and the index exact.
func TestFixtures(t *testing.T) {
	for _, m := range fixtureModels(t) {
		t.Run(m.name, func(t *testing.T) {
			mg := proto.Clone(m.mg).(*tfpb.MetaGraphDef)
			gd := mg.GetGraphDef()
			g := New(gd)
			if err := g.Validate(); err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(gd, m.mg.GetGraphDef()) {
				t.Fatal("indexing changed the GraphDef")
			}
			all := g.Reachable(SavedModelRoots(mg))
			if len(all.Missing) > 0 {
				t.Errorf("roots name missing things: %v", all.Missing)
			}
			for _, b := range g.Functions() {
				if !all.Function(b.Name()) {
					t.Errorf("function %s unreachable from the SavedModel roots", b.Name())
				}
			}
			serving := g.Reachable(ServingRoots(mg))
			for loc := range g.All() {
				if loc.Function == "" && serving.Node(loc) && strings.Contains(loc.Node, "gradients/") {
					t.Errorf("training node %s on a serving path", loc)
				}
			}

			colls := 0
			for _, op := range g.OpTypes() {
				if !crossDeviceOps[op] {
					continue
				}
				for _, r := range g.Ops(op) {
					if err := r.Body.ReplaceByIdentity(r.Node.GetName(), 0); err != nil {
						t.Fatalf("%s: %v", r.Location(), err)
					}
					colls++
				}
			}
			var replicas []string
			for _, r := range g.Ops("VarHandleOp") {
				name := r.Node.GetName()
				if i := strings.Index(name, "/replica_"); i > 0 && r.Body == g.Main() && g.Main().Node(name[:i]) != nil {
					if _, err := g.Main().RedirectNode(name, name[:i]); err != nil {
						t.Fatal(err)
					}
					replicas = append(replicas, name)
				}
			}
			// Reads of a replica handle are left without consumers; drop
			// them with the handle.
			var drop []string
			for _, name := range replicas {
				for _, u := range g.Main().Consumers(name) {
					drop = append(drop, u.Node.GetName())
				}
			}
			if err := g.Main().Remove(DanglingDropControl, append(drop, replicas...)...); err != nil {
				t.Fatal(err)
			}
			if err := g.Walk(func(_ Location, n *nodepb.NodeDef) error { n.Device = ""; return nil }); err != nil {
				t.Fatal(err)
			}
			checkIndex(t, g)
			if err := g.Validate(); err != nil {
				t.Errorf("after de-distribution edits: %v", err)
			}
			for _, n := range g.All() {
				if n.GetDevice() != "" || crossDeviceOps[n.GetOp()] {
					t.Fatalf("node %s still has device %q / op %s", n.GetName(), n.GetDevice(), n.GetOp())
				}
			}
			b, err := proto.Marshal(mg)
			if err != nil {
				t.Fatal(err)
			}
			back := &tfpb.MetaGraphDef{}
			if err := proto.Unmarshal(b, back); err != nil || !proto.Equal(back, mg) {
				t.Fatalf("edited MetaGraphDef does not round-trip: %v", err)
			}
			t.Logf("%d cross-device ops replaced, %d replica handles folded", colls, len(replicas))
		})
	}
}
