package main

import (
	"encoding/json"
	"fmt"
	"os"
)

// The JSON tensor form: reading rounds float32 values to what TensorFlow is
// fed; writing uses the shortest text that reads back the same.
func ExampleTensor() {
	var x Tensor
	if err := json.Unmarshal([]byte(`{"dtype": "float32", "shape": [2, 2], "values": [0.1, 2, "NaN", 1e-3]}`), &x); err != nil {
		fmt.Println(err)
		return
	}
	out, _ := json.Marshal(&x)
	fmt.Println(string(out))
	// Output: {"dtype":"float32","shape":[2,2],"values":[0.1,2,"NaN",0.001]}
}

// The Go column of the load matrix, as `serve -table` prints it.
func Example_table() {
	g := &Golden{TensorFlowVersion: "2.18.0", Fixtures: []Result{
		{Fixture: "plain", Load: loadOK, Signatures: map[string]string{"serving_default": "ok"}},
		{Fixture: "tf1_towers", Load: loadError, Error: "No OpKernel was registered to support Op 'NcclAllReduce'"},
		{Fixture: "collective_fn", Load: loadOK, Signatures: map[string]string{"serving_default": loadTimeout}},
	}}
	_ = writeTable(os.Stdout, g)
	// Output:
	// | fixture | Go `tf.LoadSavedModel` (TF 2.18.0 C API, CPU, no soft placement) |
	// |---|---|
	// | plain | loads; 1/1 signatures match |
	// | tf1_towers | fails: No OpKernel was registered to support Op 'NcclAllReduce' |
	// | collective_fn | loads; serving_default: timeout (hang) |
}
