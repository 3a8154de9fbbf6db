package rewrite

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDefaultPipelineOrder(t *testing.T) {
	require.NoError(t, Default().Check())
	names := Default().Names()
	assert.Equal(t, []string{"replicas", "shards", "collectives", "saver", "devices", "prune", "verify"}, names)
	for _, o := range Orders() {
		assert.NotEmpty(t, o.Why)
		assert.Contains(t, names, o.After, "a constraint names an unknown pass")
		if o.Before != AnyPass {
			assert.Contains(t, names, o.Before, "a constraint names an unknown pass")
		}
	}
	for _, p := range Passes() {
		assert.Same(t, p, Lookup(p.Name))
	}
}

func TestCheckOrders(t *testing.T) {
	custom := noop("custom")
	for _, tc := range []struct {
		name   string
		passes []*Pass
		ok     bool
	}{
		{"subset in order", []*Pass{Replicas, Saver, Verify}, true},
		{"replicas after saver", []*Pass{Saver, Replicas}, false},
		{"prune before collectives", []*Pass{Prune, Collectives}, false},
		{"a pass after verify", []*Pass{Devices, Verify, custom}, false},
		{"custom before verify", []*Pass{Devices, custom, Verify}, true},
		{"verify alone", []*Pass{Verify}, true},
	} {
		err := NewPipeline(tc.passes...).Check()
		if tc.ok {
			assert.NoError(t, err, tc.name)
		} else {
			assert.ErrorIs(t, err, ErrInvalidPipeline, tc.name)
		}
	}
}

func TestInsertBeforeAfter(t *testing.T) {
	x, y := noop("x"), noop("y")
	p := Default()
	require.NoError(t, p.InsertBefore("verify", x))
	require.NoError(t, p.InsertAfter("replicas", y))
	assert.Equal(t, []string{"replicas", "y", "shards", "collectives", "saver", "devices", "prune", "x", "verify"}, p.Names())
	require.NoError(t, p.Check())
	assert.ErrorIs(t, p.InsertAfter("nope", noop("z")), ErrInvalidPipeline)
	require.NoError(t, p.InsertAfter("verify", noop("late")))
	assert.ErrorIs(t, p.Check(), ErrInvalidPipeline, "nothing may follow verify")
}

// TestOrdersAreNeeded shows what the replicas-before-saver constraint
// prevents: with the constraints lifted and saver run before replicas,
// tf1_towers ends with verify findings.
func TestOrdersAreNeeded(t *testing.T) {
	saved := orders
	orders = nil
	t.Cleanup(func() { orders = saved })
	ps := Default().Passes
	i, j := slices.Index(ps, Replicas), slices.Index(ps, Saver)
	ps[i], ps[j] = ps[j], ps[i]
	rep, err := NewPipeline(ps...).Run(context.Background(), rpReadFixture(t, "tf1_towers"), Options{})
	require.NoError(t, err)
	lacks := slices.ContainsFunc(rep.Findings(), func(f Finding) bool {
		return f.Kind == FindingCheckpoint && strings.Contains(f.What, "which the checkpoint lacks")
	})
	assert.True(t, lacks, "findings: %v", rep.Findings())
}
