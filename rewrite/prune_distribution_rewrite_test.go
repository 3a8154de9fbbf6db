package rewrite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/unmirror/unmirror"
	"github.com/unmirror/unmirror/device"
	"github.com/unmirror/unmirror/internal/fixtures"
	"github.com/unmirror/unmirror/rewrite"
	"github.com/unmirror/unmirror/savedmodel"
)

// TestRewriteTPULeftover writes tpu_leftover with unmirror.Rewrite for
// both targets: before the prune pass removed the saved tf.function
// holding TPU replication ops, verify's findings made Rewrite refuse. The
// output must be a fixed point, and keep the signature and its function.
func TestRewriteTPULeftover(t *testing.T) {
	fx := fixtures.ByName(t, "tpu_leftover")
	for _, target := range []device.Target{device.CPU, device.GPU} {
		t.Run(target.String(), func(t *testing.T) {
			opts := unmirror.Options{Target: target}
			out := filepath.Join(t.TempDir(), "out")
			_, err := unmirror.Rewrite(context.Background(), fx.Dir, out, opts)
			require.NoError(t, err)

			m, err := savedmodel.Read(context.Background(), out, savedmodel.ReadOptions{})
			require.NoError(t, err)
			defer m.Close()
			meta := m.Proto.MetaGraphs[0]
			assert.Contains(t, meta.GetSignatureDef(), "serving_default")
			og := meta.GetObjectGraphDef()
			assert.NotContains(t, og.GetConcreteFunctions(), "__inference_tpu_step_72")
			for id, obj := range og.GetNodes() {
				assert.NotEqual(t, "__inference_tpu_step_72", obj.GetBareConcreteFunction().GetConcreteFunctionName(), "object %d", id)
				assert.NotContains(t, obj.GetFunction().GetConcreteFunctions(), "__inference_tpu_step_72", "object %d", id)
			}
			for _, fn := range meta.GetGraphDef().GetLibrary().GetFunction() {
				assert.NotEqual(t, "__inference_tpu_step_72", fn.GetSignature().GetName())
			}
			assert.Empty(t, rewrite.Check(m, rewrite.Options{Target: target}))

			rep, err := unmirror.Rewrite(context.Background(), out, filepath.Join(t.TempDir(), "out2"), opts)
			require.NoError(t, err)
			assert.False(t, rep.Changed(), "second rewrite changed the model: %v", rep.Passes)
		})
	}
}
