package device

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

var unplaceableTests = []struct {
	dev      string
	cpu, gpu string // "" means placeable
}{
	{"", "", ""},
	{"/device:CPU:0", "", ""},
	{"/job:localhost/replica:0/task:0/device:CPU:0", "", ""},
	{"/cpu:0", "", ""},         // legacy form, normalised by TF's parser
	{"/device:CPU:*", "", ""},  // any CPU
	{"/job:localhost", "", ""}, // any local device
	{"/device:cpu:0", `type "cpu" matches no device (the placer compares types case-sensitively)`, `type "cpu" matches no device (the placer compares types case-sensitively)`},
	{"/device:CPU:1", "CPU:1 does not exist, a one-device process has CPU:0", "CPU:1 does not exist, a one-device process has CPU:0"},
	{"/device:GPU:0", "a CPU process has no GPU", ""},
	{"/device:GPU:1", "a CPU process has no GPU", "GPU:1 does not exist, a one-device process has GPU:0"},
	{"/job:ps/task:0/device:CPU:0", "job ps is not localhost", "job ps is not localhost"},
	{"/job:localhost/task:1", "task 1 is not 0", "task 1 is not 0"},
	{"/job:worker/replica:1/task:2/device:GPU:1", "job worker is not localhost, replica 1 is not 0, task 2 is not 0, a CPU process has no GPU", "job worker is not localhost, replica 1 is not 0, task 2 is not 0, GPU:1 does not exist, a one-device process has GPU:0"},
	{"/device:TPU:0", "no TPU device", "no TPU device"},
	{"/device:*:3", "device 3 does not exist, a one-device process has device 0", "device 3 does not exist, a one-device process has device 0"},
}

func TestUnplaceable(t *testing.T) {
	for _, tt := range unplaceableTests {
		s := MustParse(tt.dev)
		assert.Equal(t, tt.cpu, CPU.Unplaceable(s), "%s on CPU", tt.dev)
		assert.Equal(t, tt.gpu, GPU.Unplaceable(s), "%s on GPU", tt.dev)
	}
}

// TestUnplaceableAgreesWithMatches checks, on every device name of TF's own
// test models and of the table above, that a name has reasons exactly when
// it matches no device of the target.
func TestUnplaceableAgreesWithMatches(t *testing.T) {
	names := readGoldenNames(t)
	for _, tt := range unplaceableTests {
		names = append(names, tt.dev)
	}
	for _, name := range names {
		s, err := Parse(name)
		if err != nil {
			continue
		}
		for _, tg := range []Target{CPU, GPU} {
			matches := false
			for _, d := range tg.Devices() {
				matches = matches || s.Matches(d)
			}
			assert.Equal(t, matches, tg.Unplaceable(s) == "", "%s on %s", name, tg)
		}
	}
}

// TestSoftUnplaceable checks the soft-placement rule on the device names
// of TF-made models: a function body traced under MirroredStrategy.run
// keeps "/job:localhost/replica:0/task:0/device:CPU:1" and TF 2.18 runs it
// on one CPU (testdata/models/mirrored_none); a body pinned to
// "/job:worker/..." fails there (multiworker_none).
func TestSoftUnplaceable(t *testing.T) {
	for _, tt := range []struct {
		dev      string
		cpu, gpu string
	}{
		{"/job:localhost/replica:0/task:0/device:CPU:1", "", ""},
		{"/device:GPU:3", "", ""},
		{"/device:TPU:0", "", ""},
		{"/job:localhost/replica:0/task:0/device:CPU:0", "", ""},
		{"/job:worker/replica:0/task:0/device:CPU:0", "job worker is not localhost", "job worker is not localhost"},
		{"/job:localhost/replica:0/task:1/device:CPU:0", "task 1 is not 0", "task 1 is not 0"},
		{"/job:localhost/replica:2/device:GPU:0", "replica 2 is not 0", "replica 2 is not 0"},
	} {
		s := MustParse(tt.dev)
		assert.Equal(t, tt.cpu, CPU.SoftUnplaceable(s), "%s on CPU", tt.dev)
		assert.Equal(t, tt.gpu, GPU.SoftUnplaceable(s), "%s on GPU", tt.dev)
	}
}
