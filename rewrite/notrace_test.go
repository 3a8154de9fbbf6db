package rewrite

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	tfpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
	"google.golang.org/protobuf/proto"

	"github.com/unmirror/unmirror/device"
	"github.com/unmirror/unmirror/graphdef"
	"github.com/unmirror/unmirror/internal/fixtures"
)

// TestFixturesLeaveNoTrace checks, on every fixture and both targets, that
// the output names no trace of the training cluster where a reader looks:
// no call node's config_proto names a job, a collective group leader or a
// coordination service, and meta_info_def.stripped_op_list lists only ops
// the output's graphs use.
func TestFixturesLeaveNoTrace(t *testing.T) {
	for _, fx := range fixtures.All(t) {
		for _, target := range []device.Target{device.CPU, device.GPU} {
			t.Run(fx.Name+"/"+target.String(), func(t *testing.T) {
				m := rpReadFixture(t, fx.Name)
				_, err := Default().Run(context.Background(), m, Options{Target: target})
				require.NoError(t, err)
				for mg, meta := range m.Proto.GetMetaGraphs() {
					g := graphdef.New(meta.GetGraphDef())
					for _, b := range g.Bodies() {
						for _, n := range b.Nodes() {
							raw := n.GetAttr()["config_proto"].GetS()
							if len(raw) == 0 {
								continue
							}
							var cfg tfpb.ConfigProto
							require.NoError(t, proto.Unmarshal(raw, &cfg))
							x := cfg.GetExperimental()
							assert.Empty(t, x.GetCollectiveGroupLeader(), "%s: collective_group_leader", Node(mg, b.Name(), n.GetName()))
							assert.Nil(t, x.GetCoordinationConfig(), "%s: coordination_config", Node(mg, b.Name(), n.GetName()))
							assert.Empty(t, cfg.GetDeviceFilters(), "%s: device_filters", Node(mg, b.Name(), n.GetName()))
							assert.Nil(t, cfg.GetClusterDef(), "%s: cluster_def", Node(mg, b.Name(), n.GetName()))
						}
					}
					used := g.OpTypes()
					for _, op := range meta.GetMetaInfoDef().GetStrippedOpList().GetOp() {
						assert.True(t, slices.Contains(used, op.GetName()), "meta graph %d: stripped_op_list lists %s, which no node uses", mg, op.GetName())
					}
				}
			})
		}
	}
}

// The multi-worker fixtures are the ones whose call nodes name the cluster:
// the test above must have something to check.
func TestFixturesMultiWorkerNameTheCluster(t *testing.T) {
	found := 0
	for _, fx := range fixtures.All(t) {
		if !strings.HasPrefix(fx.Name, "multiworker") {
			continue
		}
		m := rpReadFixture(t, fx.Name)
		g := graphdef.New(m.Proto.GetMetaGraphs()[0].GetGraphDef())
		for _, b := range g.Bodies() {
			for _, n := range b.Nodes() {
				var cfg tfpb.ConfigProto
				if raw := n.GetAttr()["config_proto"].GetS(); len(raw) > 0 && proto.Unmarshal(raw, &cfg) == nil &&
					strings.HasPrefix(cfg.GetExperimental().GetCollectiveGroupLeader(), "/job:worker") {
					found++
				}
			}
		}
	}
	assert.Positive(t, found, "no multiworker fixture has a /job:worker collective group leader")
}
