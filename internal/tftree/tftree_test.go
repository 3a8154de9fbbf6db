package tftree

import (
	"strings"
	"testing"
)

func TestFindsTensorFlowTestData(t *testing.T) {
	if n := len(SavedModels(t)); n < 30 {
		t.Errorf("found %d SavedModels in the TensorFlow tree, want at least 30", n)
	}
	if n := len(IndexFiles(t)); n < 25 {
		t.Errorf("found %d index files in the TensorFlow tree, want at least 25", n)
	}
}

// TestDownloadFailureSaysWhy: without a module proxy (and an empty module
// cache), the error carries the go command's reason and what to do, not
// just "exit status 1".
func TestDownloadFailureSaysWhy(t *testing.T) {
	tests := []struct {
		name string
		env  []string
		want string
	}{
		{"proxy off", []string{"GOPROXY=off"}, "module lookup disabled by GOPROXY=off"},
		{"proxy unreachable", []string{"GOPROXY=http://127.0.0.1:1"}, "connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := append([]string{"GOMODCACHE=" + t.TempDir(), "GOFLAGS=-mod=mod"}, tt.env...)
			_, err := download(Module, env)
			if err == nil {
				t.Fatal("download succeeded without a module proxy")
			}
			for _, want := range []string{tt.want, "go mod download " + Module, "GOPROXY", "GOMODCACHE"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error does not say %q:\n%v", want, err)
				}
			}
		})
	}
}
