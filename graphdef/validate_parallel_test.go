package graphdef

import (
	"runtime"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A graph big enough for Validate to check its bodies on several
// goroutines gets the same problems, in the same order, as when it checks
// them on one.
func TestValidateParallelMatchesSequential(t *testing.T) {
	gd := synth(4 * parallelValidateNodes)
	fns := gd.GetLibrary().GetFunction()
	// Problems spread over the main graph and functions at both ends and
	// in the middle of the library, so that every worker finds some.
	for _, i := range []int{0, 1, len(fns) / 3, len(fns) / 2, len(fns) - 1} {
		fd := fns[i]
		fd.NodeDef[3].Input = append(fd.NodeDef[3].Input, "gone"+strconv.Itoa(i)+":out:0")
		fd.NodeDef = append(fd.NodeDef, withAttr(node("self", fd.GetSignature().GetName()), "f", funcAttr("missing_"+strconv.Itoa(i))))
		fd.NodeDef = append(fd.NodeDef, fd.NodeDef[7]) // a duplicate name
	}
	gd.Node[0].Input = []string{"^nowhere"}

	g := New(gd)
	parallel := g.Validate()
	old := runtime.GOMAXPROCS(1)
	sequential := g.Validate()
	runtime.GOMAXPROCS(old)

	var pe, se *ValidationError
	require.ErrorAs(t, parallel, &pe)
	require.ErrorAs(t, sequential, &se)
	assert.Equal(t, se.Problems, pe.Problems)
	assert.Len(t, pe.Problems, 1+5*4, "one main-graph problem and four per damaged function")
	if runtime.GOMAXPROCS(0) < 2 {
		t.Log("one CPU: both runs were sequential")
	}
}
