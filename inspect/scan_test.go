package inspect

import (
	"slices"
	"testing"
)

// TestDeviceKinds checks the device artifacts read from device strings as
// TensorFlow parses them: legacy forms, any case of the type, bare types
// (SavedResource.device), and strings TensorFlow does not parse.
func TestDeviceKinds(t *testing.T) {
	for _, tt := range []struct {
		dev  string
		want []string
	}{
		{"", nil},
		{"/job:localhost/replica:0/task:0/device:CPU:0", nil},
		{"/device:CPU:1", []string{ArtifactDeviceCPUN}},
		{"/cpu:2", []string{ArtifactDeviceCPUN}},
		{"/device:XLA_CPU:1", []string{ArtifactDeviceCPUN}},
		{"/device:GPU:0", []string{ArtifactDeviceGPU}},
		{"/gpu:1", []string{ArtifactDeviceGPU}},
		{"/device:gpu:0", []string{ArtifactDeviceGPU}},
		{"/device:XLA_GPU:0", []string{ArtifactDeviceGPU}},
		{"GPU", []string{ArtifactDeviceGPU}},
		{"/job:worker/replica:0/task:1/device:GPU:3", []string{ArtifactDeviceGPU, ArtifactDeviceJob}},
		{"/job:ps/task:0/device:CPU:0", []string{ArtifactDeviceJob}},
		{"/job:localhost/task:2", []string{ArtifactDeviceJob}},
		{"/device:TPU:0", nil},
		{"gpu is not a device", nil},
	} {
		if got := deviceKinds(tt.dev); !slices.Equal(got, tt.want) {
			t.Errorf("deviceKinds(%q) = %v, want %v", tt.dev, got, tt.want)
		}
	}
}
