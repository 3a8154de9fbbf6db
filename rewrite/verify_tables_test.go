package rewrite

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/unmirror/unmirror/device"
	"github.com/unmirror/unmirror/graphdef"
)

// TestCheckTables: assets_strings (TF 2.18) reads a static hash table whose
// initializer runs in a function the __saved_model_init_op calls; it loads
// everywhere. Without that init op, TF's TF1 and C++ loaders fail with
// "Table not initialized" (the model matrix's TF1 SavedModelBuilder export
// of a TextVectorization model without main_op, TF 2.21), and so must
// verify.
func TestCheckTables(t *testing.T) {
	tableFindings := func(fs []Finding) []Finding {
		var out []Finding
		for _, f := range fs {
			if strings.Contains(f.What, "Table not initialized") {
				out = append(out, f)
			}
		}
		return out
	}
	opts := Options{Target: device.CPU}
	m := rpReadFixture(t, "assets_strings")
	assert.Empty(t, tableFindings(Check(m, opts)), "the init op initializes the table")

	meta := m.Proto.MetaGraphs[0]
	delete(meta.SignatureDef, graphdef.InitOpSignatureKey)
	delete(meta.CollectionDef, graphdef.MainOpCollection)
	got := tableFindings(Check(m, opts))
	if assert.Len(t, got, 1) {
		assert.Equal(t, Node(0, "", "hash_table"), got[0].Where)
	}
}
