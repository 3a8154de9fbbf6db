package savedmodel

import (
	"io/fs"
	"slices"
	"strings"
)

// formatNames are the top-level names of a SavedModel directory that the
// format defines (see the package doc); every other file is one of the
// user's (Model.OtherFiles).
var formatNames = []string{SavedModelPB, SavedModelPBText, SavedModelCPB, FingerprintFile,
	KerasMetadataFile, VariablesDir, AssetsDir, AssetsExtraDir}

// walkOther lists the regular files of the model directory that are not
// part of the SavedModel format: every file outside the names above,
// variables/ and debug/saved_model_debug_info.pb (such as README.txt,
// labels.txt, or TF Hub's TF1 tfhub_module.pb beside saved_model.pb),
// sorted by path. Symbolic links are followed as for assets, and must stay
// inside the directory (ErrUnsafePath); a file system that cannot list its
// root has none.
func walkOther(fsys fs.FS) ([]Asset, error) {
	ents, err := fs.ReadDir(fsys, ".")
	if err != nil {
		// An fs.FS that cannot list its root (its files are not
		// fs.ReadDirFile) holds no other file that Read could name.
		return nil, nil
	}
	var out []Asset
	for _, e := range ents {
		if slices.Contains(formatNames, e.Name()) {
			continue
		}
		as, err := walkAssets(fsys, e.Name())
		if err != nil {
			return nil, err
		}
		for _, a := range as {
			if a.Path != DebugInfoFile {
				out = append(out, a)
			}
		}
	}
	slices.SortFunc(out, func(a, b Asset) int { return strings.Compare(a.Path, b.Path) })
	return out, nil
}

// OtherFilePaths returns the paths of m.OtherFiles, in order (an empty,
// non-nil slice when there are none, for JSON reports).
func (m *Model) OtherFilePaths() []string {
	out := make([]string, 0, len(m.OtherFiles))
	for _, f := range m.OtherFiles {
		out = append(out, f.Path)
	}
	return out
}
