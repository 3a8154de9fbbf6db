// Command serve loads a TensorFlow SavedModel through TensorFlow's own C++
// loader, the one TF Serving and the Go bindings use, runs its signatures on
// inputs given as JSON and prints the outputs as JSON. It is the proof that
// a SavedModel (an original, or one rewritten by unmirror) loads and computes
// in a Go process on a CPU-only machine, with default session options: no
// soft placement, exactly as a serving process.
//
// The loader comes from the cgo bindings github.com/wamuir/graft/tensorflow,
// so the program needs the build tag tensorflow and a libtensorflow to link
// against; examples/serve/cgo-env.sh prepares both from the repository's
// pinned tensorflow-cpu wheel (see README.md). Without the tag the package
// still builds (pure Go) and only its -table mode works; every other use
// prints an error.
//
// Usage:
//
//	serve -dir DIR [-tags serve[,more]] [-signature NAME] [-inputs FILE|-] [-list]
//	serve -table GOLDEN.json
//
// Inputs: with -signature, the file holds one signature's inputs,
//
//	{"x": {"dtype": "float32", "shape": [2, 3], "values": [1, 2, 3, 4, 5, 6]}}
//
// Without -signature it holds several signatures in the fixture manifest's
// layout (testdata/models/manifest.json), and every signature named there
// runs; keys other than "inputs" are ignored, so a manifest entry's
// "signatures" object can be passed as is:
//
//	{"serving_default": {"inputs": {"x": {...}}}, "other": {"inputs": {...}}}
//
// A tensor is {"dtype", "shape", "values"}: dtype is a numpy name (float16,
// bfloat16, float32, float64, int8 to int64, uint8 to uint64, bool,
// string), shape the list of dimensions ([] for a scalar) and values the
// elements in row-major order. Float values that JSON cannot hold are the
// strings "NaN", "Infinity" and "-Infinity".
//
// Output: exactly one JSON line on stdout.
//
//	{"ok":true,"signatures":{"serving_default":{"outputs":{"y":{...}}}}}
//	{"ok":false,"stage":"load","error":"Cannot assign a device for operation ..."}
//	{"ok":false,"stage":"run","signature":"serving_default","error":"..."}
//
// stage is "input" (the JSON could not be read), "load" (TensorFlow's
// loader failed: placement, missing kernels, restore, init op) or "run"
// (a signature failed). The exit status is 0 on success, 1 on a
// TensorFlow or input error and 2 on a usage error. -list prints the
// model's signatures (input and output keys, dtypes, shapes) instead of
// running them. Once the model has loaded, the line "serve: model loaded"
// goes to stderr (with TensorFlow's own logs), then one line per signature
// run, so a caller that kills a hung process can tell where it hung.
//
// -table prints a conformance golden file (testdata/before.json for the
// original fixtures or testdata/after.json for the rewritten ones, written
// by conformance_test.go) as a markdown table. The same two files are the
// "go" rows of the generated table in testdata/models/README.md
// (testdata/tf/check_corpus.py reads them).
package main
