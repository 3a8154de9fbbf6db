package savedmodel

import (
	"errors"
	"fmt"
)

// ErrMissingVariables is matched (errors.Is) by the error of
// [Model.RequireVariables]: the model restores its variables from
// variables/variables, and the checkpoint is not there.
var ErrMissingVariables = errors.New("the variables the model restores are missing")

// RequireVariables returns an error matching ErrMissingVariables when a
// MetaGraphDef has a SaverDef (a restore op fed variables/variables) but
// variables/variables.index does not exist, saying whether variables/ or
// only its index is missing; nil otherwise.
//
// Read accepts such a model, as TensorFlow's C++ loader does: it logs "The
// specified SavedModel has no variables; no checkpoints were restored" and
// skips the restore (loader.cc, RunRestore), leaving every variable
// uninitialized, and tf.saved_model.load fails outright ("Unsuccessful
// TensorSliceReader constructor: Failed to find any matching files for
// .../variables/variables"; TF 2.18 on testdata/models/plain without its
// variables/). TensorFlow's own test models bert1 and bert2 are stripped
// that way, and they are useful to read. A rewrite or a verify needs the
// checkpoint, and calls RequireVariables so that the user reads what is
// wrong instead of the restore keys that the checkpoint lacks.
func (m *Model) RequireVariables() error {
	if m.InputCheckpoint != nil {
		return nil
	}
	for i, mg := range m.Proto.GetMetaGraphs() {
		if mg.GetSaverDef().GetRestoreOpName() == "" {
			continue
		}
		what := VariablesDir + "/"
		if ok, _ := exists(m.fsys, VariablesDir); ok {
			what = VariablesPrefix + ".index"
		}
		return &missingVariablesError{dir: m.dir, what: what, metaGraph: i}
	}
	return nil
}

// missingVariablesError is RequireVariables's error.
type missingVariablesError struct {
	dir       string // "" for a model read from ReadOptions.FS
	what      string // "variables/" or "variables/variables.index"
	metaGraph int
}

func (e *missingVariablesError) Error() string {
	where := ""
	if e.dir != "" {
		where = e.dir + ": "
	}
	return fmt.Sprintf("savedmodel: %s%s is missing, and meta graph %d restores its variables from %s (TensorFlow cannot load the model: \"Failed to find any matching files for %s\")",
		where, e.what, e.metaGraph, VariablesPrefix, VariablesPrefix)
}

// Is reports whether target is ErrMissingVariables.
func (e *missingVariablesError) Is(target error) bool { return target == ErrMissingVariables }
