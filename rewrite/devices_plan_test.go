package rewrite

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/unmirror/unmirror/device"
	"github.com/unmirror/unmirror/internal/fixtures"
)

// TestVerifyReportsWhatDevicesChanges: verify's device findings come from
// the plan the devices pass applies, so every device a finding names is a
// device the pass changes, at the same place, and after the pass none is
// left (issue 17 item 3).
func TestVerifyReportsWhatDevicesChanges(t *testing.T) {
	findings := 0
	for _, fx := range fixtures.All(t) {
		for _, target := range []device.Target{device.CPU, device.GPU} {
			opts := Options{Target: target}
			m := rpReadFixture(t, fx.Name)
			before := dvFindingsOf(Check(m, opts), "device:")
			rep, err := NewPipeline(Devices).Run(context.Background(), m, opts)
			require.NoError(t, err, fx.Name)
			changed := map[string]bool{}
			for _, c := range rep.Passes[0].Changes {
				changed[c.Where.String()] = true
			}
			for _, f := range before {
				if f.Device == "" {
					continue // a config_proto or a colocation group: no single name
				}
				findings++
				assert.True(t, changed[f.Where.String()], "%s/%s: verify reports %s: %s, which the devices pass leaves", fx.Name, target, f.Where, f.What)
			}
			assert.Empty(t, dvFindingsOf(Check(m, opts), "device:"), "%s/%s: device findings after the devices pass", fx.Name, target)
		}
	}
	assert.Positive(t, findings, "no fixture has a device finding: the test checks nothing")
}
