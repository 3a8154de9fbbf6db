package tftree

import "testing"

func TestFindsTensorFlowTestData(t *testing.T) {
	if n := len(SavedModels(t)); n < 30 {
		t.Errorf("found %d SavedModels in the TensorFlow tree, want at least 30", n)
	}
	if n := len(IndexFiles(t)); n < 25 {
		t.Errorf("found %d index files in the TensorFlow tree, want at least 25", n)
	}
}
