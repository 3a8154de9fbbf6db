package main

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/unmirror/unmirror"
	"github.com/unmirror/unmirror/graphdef"
	"github.com/unmirror/unmirror/internal/fixtures"
	"github.com/unmirror/unmirror/savedmodel"
)

func TestPipelineEndsWithVerify(t *testing.T) {
	p, err := pipeline()
	require.NoError(t, err)
	names := p.Names()
	require.GreaterOrEqual(t, len(names), 2)
	assert.Equal(t, "strip-debug-name", names[len(names)-2])
	assert.Equal(t, "verify", names[len(names)-1])
}

func TestStripDebugNameOnFixture(t *testing.T) {
	fx := fixtures.ByName(t, "mirrored_expand")
	count := func(dir string) int {
		m, err := savedmodel.Read(context.Background(), dir, savedmodel.ReadOptions{})
		require.NoError(t, err)
		defer m.Close()
		n := 0
		for _, mg := range m.Proto.MetaGraphs {
			for _, node := range graphdef.New(mg.GraphDef).All() {
				if _, ok := node.Attr["debug_name"]; ok {
					n++
				}
			}
		}
		return n
	}
	require.Positive(t, count(fx.Dir), "fixture has no debug_name attrs to strip")
	out := filepath.Join(t.TempDir(), "out")
	p, err := pipeline()
	require.NoError(t, err)
	rep, err := unmirror.Rewrite(context.Background(), fx.Dir, out, unmirror.Options{Pipeline: p})
	require.NoError(t, err)
	assert.Zero(t, count(out))
	var stripped int
	for _, p := range rep.Passes {
		if p.Pass == StripDebugName.Name {
			stripped = len(p.Changes)
		}
	}
	assert.Positive(t, stripped)
}
