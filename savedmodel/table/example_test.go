package table_test

import (
	"bytes"
	"fmt"
	"log"

	"github.com/unmirror/unmirror/savedmodel/table"
)

func Example() {
	var buf bytes.Buffer
	w := table.NewWriter(&buf, table.Options{}) // TensorFlow's TensorBundle settings
	for _, k := range []string{"", "a/.ATTRIBUTES/VARIABLE_VALUE", "b/.ATTRIBUTES/VARIABLE_VALUE"} {
		if err := w.Add([]byte(k), []byte("value of "+k)); err != nil {
			log.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}

	r, err := table.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()), "variables.index")
	if err != nil {
		log.Fatal(err)
	}
	for k, v := range r.All() {
		fmt.Printf("%q => %q\n", k, v)
	}
	if err := r.Err(); err != nil {
		log.Fatal(err)
	}
	// Output:
	// "" => "value of "
	// "a/.ATTRIBUTES/VARIABLE_VALUE" => "value of a/.ATTRIBUTES/VARIABLE_VALUE"
	// "b/.ATTRIBUTES/VARIABLE_VALUE" => "value of b/.ATTRIBUTES/VARIABLE_VALUE"
}
