package savedmodel

import (
	"errors"
	"io/fs"
	"path"
	"strings"
)

// File and directory names inside a SavedModel directory
// (tensorflow/cc/saved_model/constants.h).
const (
	SavedModelPB     = "saved_model.pb"
	SavedModelPBText = "saved_model.pbtxt"
	SavedModelCPB    = "saved_model.cpb"
	FingerprintFile  = "fingerprint.pb"
	DebugInfoFile    = "debug/saved_model_debug_info.pb"
	AssetsDir        = "assets"
	AssetsExtraDir   = "assets.extra"
	VariablesPrefix  = "variables/variables"
	VariablesDir     = "variables"
)

// maxLinkHops bounds symbolic-link resolution, as the OS does (ELOOP).
const maxLinkHops = 40

// resolve follows the symbolic links in name, component by component, and
// returns the path of the file it denotes inside fsys. A link with an
// absolute target, or any step that leaves the root of fsys, is an
// ErrUnsafePath error naming name.
func resolve(fsys fs.FS, name string) (string, error) {
	fsys = orEmpty(fsys)
	parts := strings.Split(name, "/")
	cur := "."
	hops := 0
	for len(parts) > 0 {
		p := parts[0]
		parts = parts[1:]
		if p == "" || p == "." {
			continue
		}
		next := path.Join(cur, p)
		if next == ".." || strings.HasPrefix(next, "../") {
			return "", pathErr(name, ErrUnsafePath, "resolves outside the model directory")
		}
		fi, err := fs.Lstat(fsys, next)
		if err != nil {
			return "", err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			cur = next
			continue
		}
		if hops++; hops > maxLinkHops {
			return "", pathErr(name, ErrUnsafePath, "too many levels of symbolic links")
		}
		target, err := fs.ReadLink(fsys, next)
		if err != nil {
			return "", err
		}
		if isAbs(target) {
			return "", pathErr(name, ErrUnsafePath, "symbolic link %s points to absolute path %q", next, target)
		}
		parts = append(strings.Split(target, "/"), parts...)
	}
	return cur, nil
}

func isAbs(p string) bool {
	return strings.HasPrefix(p, "/") || strings.HasPrefix(p, `\`) ||
		(len(p) >= 2 && p[1] == ':' && (p[0]|0x20) >= 'a' && (p[0]|0x20) <= 'z')
}

// checkAssetName validates a file name recorded in an AssetFileDef: the
// loader joins it to "<export_dir>/assets/", so it must be relative and
// stay inside assets/.
func checkAssetName(file, name string) error {
	if name == "" {
		return pathErr(file, ErrUnsafePath, "empty asset file name")
	}
	if isAbs(name) {
		return pathErr(file, ErrUnsafePath, "asset file name %q is absolute", name)
	}
	for _, part := range strings.FieldsFunc(name, func(r rune) bool { return r == '/' || r == '\\' }) {
		if part == ".." {
			return pathErr(file, ErrUnsafePath, "asset file name %q contains \"..\"", name)
		}
	}
	return nil
}

// exists reports whether name exists in fsys (without following a final
// symbolic link).
func exists(fsys fs.FS, name string) (bool, error) {
	_, err := fs.Lstat(orEmpty(fsys), name)
	if err == nil {
		return true, nil
	}
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return false, err
}

// Asset is one file that Write copies verbatim: under assets/ or
// assets.extra/ (Model.Assets), or another file of the directory
// (Model.OtherFiles).
type Asset struct {
	// Path is the slash-separated path relative to the model directory,
	// e.g. "assets/vocab.txt", "assets.extra/tf_serving_warmup_requests" or
	// "README.txt".
	Path string
	// Size is the file's size in bytes.
	Size int64

	src string // resolved path inside the source file system
}

// walkAssets lists the regular files under dir ("assets" or
// "assets.extra"), following symbolic links that stay inside fsys.
func walkAssets(fsys fs.FS, dir string) ([]Asset, error) {
	ok, err := exists(fsys, dir)
	if err != nil || !ok {
		return nil, err
	}
	var out []Asset
	visited := map[string]bool{}
	var walk func(logical string) error
	walk = func(logical string) error {
		real, err := resolve(fsys, logical)
		if err != nil {
			return err
		}
		fi, err := fs.Stat(fsys, real)
		if err != nil {
			return err
		}
		switch {
		case fi.Mode().IsRegular():
			out = append(out, Asset{Path: logical, Size: fi.Size(), src: real})
			return nil
		case !fi.IsDir():
			return pathErr(logical, ErrUnsupported, "not a regular file or directory (mode %v)", fi.Mode())
		}
		if visited[real] {
			return pathErr(logical, ErrUnsupported, "directory symbolic-link cycle")
		}
		visited[real] = true
		defer delete(visited, real)
		ents, err := fs.ReadDir(fsys, real)
		if err != nil {
			return err
		}
		for _, e := range ents {
			if err := walk(logical + "/" + e.Name()); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(dir); err != nil {
		return nil, err
	}
	return out, nil
}

// noFiles is the file system of a Model built in memory (not read from a
// directory): it holds no file.
type noFiles struct{}

func (noFiles) Open(name string) (fs.File, error) {
	return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
}

// orEmpty returns fsys, or noFiles for the nil fsys of a Model literal.
func orEmpty(fsys fs.FS) fs.FS {
	if fsys == nil {
		return noFiles{}
	}
	return fsys
}
