package savedmodel

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Version is one version folder of a TensorFlow Serving model base folder
// (models/foo/1/, models/foo/2/, ...).
type Version struct {
	// Number is the version TF Serving gives the folder.
	Number int64
	// Name is the folder's name as it is ("1", "0002").
	Name string
	// Dir is the folder's path: the base folder joined with Name.
	Dir string
}

// Versions lists the version folders of base, a TensorFlow Serving model
// base folder, sorted by number (and name, for two names of one number).
// TF Serving takes as versions the children of the base path whose names
// parse as a 64-bit integer (file_system_storage_path_source.cc,
// ParseVersionNumber: tsl's safe_strto64, which allows spaces around the
// digits and a leading "-", not a "+"), and by default serves the highest;
// Versions lists those that are directories. A folder with none gives an
// empty list and no error.
func Versions(base string) ([]Version, error) {
	ents, err := os.ReadDir(base)
	if err != nil {
		return nil, prefixed(err)
	}
	return versions(base, ents), nil
}

// versions picks the version folders among the entries of base.
func versions(base string, ents []fs.DirEntry) []Version {
	var out []Version
	for _, e := range ents {
		n, ok := parseVersion(e.Name())
		if !ok {
			continue
		}
		if fi, err := os.Stat(filepath.Join(base, e.Name())); err != nil || !fi.IsDir() {
			continue
		}
		out = append(out, Version{Number: n, Name: e.Name(), Dir: filepath.Join(base, e.Name())})
	}
	slices.SortFunc(out, func(a, b Version) int {
		if a.Number != b.Number {
			return cmp.Compare(a.Number, b.Number)
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out
}

// parseVersion parses a version folder's name as TF Serving does.
func parseVersion(name string) (int64, bool) {
	s := strings.Trim(name, " \t\n\v\f\r")
	if s == "" || s[0] == '+' {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// ErrServingBase is matched (errors.Is) by the error of Read for a
// directory that holds no SavedModel but TF Serving version folders: a
// model base folder. The error is a *ServingBaseError listing them; it
// matches ErrNotSavedModel too.
var ErrServingBase = errors.New("a TF Serving model base folder")

// ServingBaseError is Read's error for a TF Serving model base folder.
type ServingBaseError struct {
	Base     string    // the directory as given to Read
	Versions []Version // its version folders, sorted
}

func (e *ServingBaseError) Error() string {
	names := make([]string, len(e.Versions))
	for i, v := range e.Versions {
		names[i] = v.Name
	}
	last := e.Versions[len(e.Versions)-1]
	return fmt.Sprintf("savedmodel: %s holds no %s: it is %s with version folders %s; read one of them (TF Serving serves %s by default)",
		e.Base, SavedModelPB, ErrServingBase, strings.Join(names, ", "), last.Dir)
}

// Is reports whether target is ErrServingBase or ErrNotSavedModel.
func (e *ServingBaseError) Is(target error) bool {
	return target == ErrServingBase || target == ErrNotSavedModel
}
