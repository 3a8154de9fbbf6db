// Package inspect says what a SavedModel holds and whether it loads on one
// CPU or one GPU as it is, and compares two models by what their users see.
// It reads graphs, object graphs and the checkpoint index; never tensor
// data, and it never edits the model.
//
// [Model] takes the census of a model: its meta graphs and signatures, every
// device string, the checkpoint's entries, and the distribution artifacts it
// carries, named by the vocabulary in [Artifacts] (the names
// testdata/models/manifest.json uses; each constant's comment is its
// detection rule). Device strings are read with [device.Parse], as
// TensorFlow's placer reads them. A [Verdict] per target combines the
// rewrite pipeline's verify checks with the artifacts that break loading.
//
// [Diff] compares signatures, op counts, devices, checkpoint entries and
// library functions of two models.
//
// The JSON form of [Inspection] and [Difference] is the schema of
// "unmirror inspect --json" and "unmirror diff --json"
// (examples/unmirror/README.md); fields are only ever added to it.
package inspect
