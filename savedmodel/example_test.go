package savedmodel_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/unmirror/unmirror/internal/tftree"
	"github.com/unmirror/unmirror/savedmodel"
)

func tfTestdata(name string) string {
	root, err := tftree.Root()
	if err != nil {
		log.Fatal(err)
	}
	return filepath.Join(root, "tensorflow/cc/saved_model/testdata", name)
}

func ExampleRead() {
	m, err := savedmodel.Read(context.Background(), tfTestdata("half_plus_two_v2/00000123"), savedmodel.ReadOptions{})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	mg, err := m.MetaGraph(savedmodel.TagServe)
	if err != nil {
		log.Fatal(err)
	}
	for _, sig := range savedmodel.Signatures(mg) {
		fmt.Println(strings.TrimSpace(sig.Key + " " + sig.MethodName))
	}
	for _, v := range m.OutputVariables() {
		fmt.Println(v.Key, v.DType, v.Shape, v.Size)
	}
	for _, a := range m.Assets {
		fmt.Println(a.Path, a.Size)
	}
	// Output:
	// __saved_model_init_op
	// classify_x_to_y tensorflow/serving/classify
	// regress_x2_to_y3 tensorflow/serving/regress
	// regress_x_to_y tensorflow/serving/regress
	// regress_x_to_y2 tensorflow/serving/regress
	// serving_default tensorflow/serving/predict
	// a DT_FLOAT [] 4
	// b DT_FLOAT [] 4
	// c DT_FLOAT [] 4
	// assets/foo.txt 19
	// assets.extra/validation_result_do_not_edit 651
}

func ExampleModel_Write() {
	m, err := savedmodel.Read(context.Background(), tfTestdata("VarsAndArithmeticObjectGraph"), savedmodel.ReadOptions{})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	// Drop a variable from the output checkpoint (the input is not touched).
	// A real pass would also update the graph and SetOutputObjectGraph.
	if err := m.DeleteVariable("child/z/.ATTRIBUTES/VARIABLE_VALUE"); err != nil {
		log.Fatal(err)
	}
	tmp, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	out := filepath.Join(tmp, "model")
	if err := m.Write(context.Background(), out, savedmodel.WriteOptions{}); err != nil {
		log.Fatal(err)
	}
	w, err := savedmodel.Read(context.Background(), out, savedmodel.ReadOptions{})
	if err != nil {
		log.Fatal(err)
	}
	defer w.Close()
	fmt.Println(w.OutputKeys())
	fmt.Println(w.Fingerprint.GetSignatureDefHash())
	// Output:
	// [_CHECKPOINTABLE_OBJECT_GRAPH x/.ATTRIBUTES/VARIABLE_VALUE y/.ATTRIBUTES/VARIABLE_VALUE]
	// 15570736222402453744
}

// TensorFlow's own half_plus_two test model is laid out as TF Serving reads
// it: a base folder with one version folder.
func ExampleVersions() {
	base := tfTestdata("half_plus_two")
	_, err := savedmodel.Read(context.Background(), base, savedmodel.ReadOptions{})
	fmt.Println(errors.Is(err, savedmodel.ErrServingBase))
	vs, err := savedmodel.Versions(base)
	if err != nil {
		log.Fatal(err)
	}
	for _, v := range vs {
		fmt.Println(v.Number, v.Name)
	}
	// Output:
	// true
	// 123 00000123
}

func ExampleModel_VerifyChecksums() {
	m, err := savedmodel.Read(context.Background(), tfTestdata("half_plus_two_v2/00000123"), savedmodel.ReadOptions{})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	// Read checks the checkpoint's index; this reads every tensor and
	// checks its CRC-32C, as TensorFlow's restore does.
	if err := m.VerifyChecksums(context.Background()); err != nil {
		log.Fatal(err)
	}
	fmt.Println("checksums ok:", len(m.InputCheckpoint.Keys()), "entries")
	// Output:
	// checksums ok: 3 entries
}
