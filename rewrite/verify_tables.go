package rewrite

import (
	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"
	tfpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"

	"github.com/unmirror/unmirror/graphdef"
)

// verifyStaticTableOps create a main-graph lookup table that fails every
// lookup with "Table not initialized" until an initializer ran
// (InitializableLookupTable); mutable tables start empty and need none.
var verifyStaticTableOps = map[string]bool{"HashTable": true, "HashTableV2": true}

// verifyTableInitOps initialize the table that is their input 0.
var verifyTableInitOps = map[string]bool{
	"InitializeTable": true, "InitializeTableV2": true,
	"InitializeTableFromTextFile": true, "InitializeTableFromTextFileV2": true,
	"InitializeTableFromDataset": true,
	// KeyValueTensorInitializer (StaticHashTable) imports its keys and
	// values (testdata/models/tf1_gpu_table's main op).
	"LookupTableImport": true, "LookupTableImportV2": true,
}

// checkTables reports a static lookup table of the main graph that a
// signature reads but that the init op (the __saved_model_init_op
// signature, the main op or the legacy init op) does not initialize: TF1's
// loader, the C++ loader, TF Serving and the C API run only the restore op
// and that init op, so the signature fails with "Table not initialized"
// (a TF1 SavedModelBuilder export without main_op; the tables_initializer
// collection is not run). Seen with TF 2.18 and 2.21 in the model matrix.
func checkTables(mg int, meta *tfpb.MetaGraphDef, g *graphdef.Graph, f verifyFindFunc) {
	sigReach := g.Reachable(verifySignatureRoots(meta))
	var tables []string
	for _, n := range g.Main().Nodes() {
		if verifyStaticTableOps[n.GetOp()] && sigReach.Node(graphdef.Location{Node: n.GetName()}) {
			tables = append(tables, n.GetName())
		}
	}
	if len(tables) == 0 {
		return
	}
	// The initializers may sit in functions the init op calls, with the
	// table passed as an argument (TF2 exports): follow it back.
	initialised := map[string]bool{}
	if roots := verifyInitRoots(meta); len(roots.Nodes) > 0 {
		reach := g.Reachable(roots)
		verifyForReached(g, reach, func(b *graphdef.Body, n *nodepb.NodeDef) {
			if d := graphdef.DataInputs(n); verifyTableInitOps[n.GetOp()] && len(d) > 0 {
				for _, t := range verifyResolveTo(g, reach, b, d[0], verifyStaticTableOps) {
					initialised[t] = true
				}
			}
		})
	}
	for _, t := range tables {
		if !initialised[t] {
			f(Node(mg, "", t), "lookup table %s is read by a signature but the init op does not initialize it: TensorFlow's TF1 and C++ loaders fail with \"Table not initialized\"", t)
		}
	}
}
