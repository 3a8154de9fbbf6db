package rewrite

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	tfpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
	"google.golang.org/protobuf/proto"

	"github.com/unmirror/unmirror/device"
	"github.com/unmirror/unmirror/savedmodel"
)

// FuzzCollectivesDevicesVerify feeds arbitrary SavedModel protos, seeded with
// the fixtures TensorFlow wrote and the MEAN all-reduce test model, to the
// collectives, devices and verify passes for both targets: they may refuse a
// model with an error, never panic, and Check agrees with the verify pass.
func FuzzCollectivesDevicesVerify(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("..", "testdata", "models", "*", "saved_model.pb"))
	seeds = append(seeds, filepath.Join("testdata", "collectives", "mean_v2", "saved_model.pb"))
	for _, p := range seeds {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, false)
	}
	f.Fuzz(func(t *testing.T, raw []byte, gpu bool) {
		var sm tfpb.SavedModel
		if proto.Unmarshal(raw, &sm) != nil {
			return
		}
		opts := Options{}
		if gpu {
			opts.Target = device.GPU
		}
		m := &savedmodel.Model{Proto: &sm}
		before := Check(m, opts)
		rep, err := NewPipeline(Verify).Run(context.Background(), m, opts)
		if err != nil {
			t.Fatalf("verify failed: %v", err)
		}
		if len(rep.Findings()) != len(before) {
			t.Fatalf("verify found %d, Check %d", len(rep.Findings()), len(before))
		}
		_, _ = NewPipeline(Collectives, Devices, Verify).Run(context.Background(), m, opts)
	})
}
