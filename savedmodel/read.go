package savedmodel

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	tfpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	"github.com/unmirror/unmirror/savedmodel/bundle"
)

// Format is the encoding of the SavedModel proto file.
type Format int

const (
	// FormatDefault, in WriteOptions, means "the format the model was read
	// from". A Model never reports it.
	FormatDefault Format = iota
	// FormatBinary is saved_model.pb.
	FormatBinary
	// FormatText is saved_model.pbtxt (protobuf text format).
	FormatText
)

func (f Format) String() string {
	switch f {
	case FormatBinary:
		return "binary"
	case FormatText:
		return "text"
	}
	return "default"
}

// Model is a SavedModel directory held in memory: every proto and small
// file, the list of assets, and an open handle on the variables' index. No
// tensor data and no asset content is loaded.
//
// A Model is not safe for concurrent use. Close releases the bundle reader.
type Model struct {
	// Proto is the SavedModel: every MetaGraphDef, in file order. Rewrite
	// passes edit it in place.
	Proto *tfpb.SavedModel
	// Format is the encoding Proto was read from, and File its file name
	// (SavedModelPB or SavedModelPBText).
	Format Format
	File   string
	// Assets lists the files under assets/ and assets.extra/, sorted by
	// path. Write copies them unchanged.
	Assets []Asset
	// OtherFiles lists the files of the directory that are not part of the
	// SavedModel format (README.txt, labels.txt, TF Hub's tfhub_module.pb
	// beside saved_model.pb, ...): everything but saved_model.pb/.pbtxt,
	// fingerprint.pb, keras_metadata.pb, debug/saved_model_debug_info.pb,
	// variables/, assets/ and assets.extra/. Sorted by path. They are the
	// user's: Write copies them verbatim unless WriteOptions.DropOtherFiles.
	OtherFiles []Asset
	// Keras is keras_metadata.pb, nil if absent.
	Keras *KerasMetadata
	// Fingerprint is fingerprint.pb as read, nil if absent. Write never
	// copies it: it writes a recomputed one (see WriteOptions.Fingerprint).
	Fingerprint *tfpb.FingerprintDef
	// DebugInfo is the content of debug/saved_model_debug_info.pb (a
	// serialized GraphDebugInfo), nil if absent. Write copies it verbatim.
	DebugInfo []byte
	// InputCheckpoint is the reader of the input's
	// variables/variables.{index,data-*}, nil when the model has no
	// variables/variables.index. The checkpoint Write will write is the
	// plan: the Output* methods read it, DeleteVariable and friends edit
	// it.
	InputCheckpoint *bundle.Reader

	fsys fs.FS
	raw  []byte // the bytes of File, for the fingerprint check (dropped after Read)
	dir  string // the absolute OS directory read, "" when read from ReadOptions.FS
	plan *plan
}

// Read reads the SavedModel in the directory dir: the OS directory, or
// the directory dir of opts.FS when it is set ("." for its root). It
// reads:
//
//   - saved_model.pb, or saved_model.pbtxt (both present is an
//     ErrAmbiguous error; a saved_model.cpb is ErrUnsupported; neither is
//     ErrNotSavedModel, or a *ServingBaseError for an OS directory that
//     holds TF Serving version folders);
//   - fingerprint.pb, keras_metadata.pb, debug/saved_model_debug_info.pb
//     when present;
//   - the names and sizes of the files under assets/ and assets.extra/,
//     and of the other files of the directory (Model.OtherFiles);
//   - the index of variables/variables, through bundle.Open (only the
//     index; data files are only checked to exist).
//
// Asset names in the MetaGraphDefs must be relative and free of "..";
// symbolic links must stay inside the directory (ErrUnsafePath). Malformed
// files give a *FormatError naming the file and, where known, the offset.
// opts bounds what an untrusted model may cost (see ReadOptions); its zero
// value applies the default limits. Read stops with ctx's error when ctx
// is done between the files it reads.
func Read(ctx context.Context, dir string, opts ReadOptions) (*Model, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("savedmodel: read %s: %w", dir, err)
	}
	if opts.FS != nil {
		fsys := opts.FS
		if dir != "." {
			sub, err := fs.Sub(fsys, dir)
			if err != nil {
				return nil, prefixed(err)
			}
			fsys = sub
		}
		return readFS(ctx, fsys, dir, opts)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, prefixed(err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("savedmodel: %s is a file, not a directory: %w", dir, ErrNotSavedModel)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, prefixed(err)
	}
	m, err := readFS(ctx, os.DirFS(abs), dir, opts)
	if errors.Is(err, ErrNotSavedModel) {
		if vs, verr := Versions(dir); verr == nil && len(vs) > 0 {
			return nil, &ServingBaseError{Base: dir, Versions: vs}
		}
	}
	if err != nil {
		return nil, err
	}
	m.dir = abs
	return m, nil
}

func readFS(ctx context.Context, fsys fs.FS, name string, opts ReadOptions) (m *Model, err error) {
	m = &Model{fsys: fsys}
	if err := m.readProto(name, opts); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("savedmodel: read %s: %w", name, err)
	}
	if err := m.checkAssetNames(); err != nil {
		return nil, err
	}
	if m.Fingerprint, err = readOptionalProto(fsys, FingerprintFile, &tfpb.FingerprintDef{}); err != nil {
		return nil, err
	}
	b, err := readOptional(fsys, KerasMetadataFile)
	if err != nil {
		return nil, err
	}
	if b != nil {
		if m.Keras, err = ParseKerasMetadata(b); err != nil {
			return nil, err
		}
	}
	if m.DebugInfo, err = readOptional(fsys, DebugInfoFile); err != nil {
		return nil, err
	}
	for _, dir := range []string{AssetsDir, AssetsExtraDir} {
		as, err := walkAssets(fsys, dir)
		if err != nil {
			return nil, prefixed(err)
		}
		m.Assets = append(m.Assets, as...)
	}
	if m.OtherFiles, err = walkOther(fsys); err != nil {
		return nil, prefixed(err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("savedmodel: read %s: %w", name, err)
	}
	if err := m.openVariables(); err != nil {
		return nil, err
	}
	if err := m.checkFingerprint(opts); err != nil {
		m.Close()
		return nil, err
	}
	return m, nil
}

// readProto finds and parses the SavedModel proto file.
func (m *Model) readProto(dirName string, opts ReadOptions) error {
	var found [3]bool
	for i, n := range []string{SavedModelPB, SavedModelPBText, SavedModelCPB} {
		ok, err := exists(m.fsys, n)
		if err != nil {
			if errors.Is(err, fs.ErrInvalid) || isNotDir(err) {
				return fmt.Errorf("savedmodel: %s is not a directory: %w", dirName, ErrNotSavedModel)
			}
			return prefixed(err)
		}
		found[i] = ok
	}
	switch {
	case found[2]:
		return pathErr(SavedModelCPB, ErrUnsupported, "chunked SavedModel (proto splitter format) cannot be read")
	case found[0] && found[1]:
		return fmt.Errorf("savedmodel: %s: %w", dirName, ErrAmbiguous)
	case found[0]:
		m.Format, m.File = FormatBinary, SavedModelPB
	case found[1]:
		m.Format, m.File = FormatText, SavedModelPBText
	default:
		return fmt.Errorf("savedmodel: no %s or %s in %s: %w", SavedModelPB, SavedModelPBText, dirName, ErrNotSavedModel)
	}
	if err := checkFileSize(m.fsys, m.File, opts.maxProtoBytes()); err != nil {
		return err
	}
	b, err := readFile(m.fsys, m.File)
	if err != nil {
		return err
	}
	sm := &tfpb.SavedModel{}
	if m.Format == FormatBinary {
		if err := proto.Unmarshal(b, sm); err != nil {
			return protoErr(m.File, b, sm, "malformed SavedModel", err)
		}
	} else if err := prototext.Unmarshal(b, sm); err != nil {
		return formatErr(m.File, -1, "malformed SavedModel text", err)
	}
	if len(sm.GetMetaGraphs()) == 0 {
		return formatErr(m.File, -1, "SavedModel has no MetaGraphDef", nil)
	}
	if err := checkNodes(m.File, sm, opts.maxNodes()); err != nil {
		return err
	}
	m.Proto = sm
	m.raw = b
	return nil
}

// isNotDir reports a path error because a parent is a file.
func isNotDir(err error) bool { return errors.Is(err, syscall.ENOTDIR) }

// checkAssetNames validates every AssetFileDef file name, both the
// asset_file_def field and the legacy saved_model_assets collection.
func (m *Model) checkAssetNames() error {
	for _, mg := range m.Proto.GetMetaGraphs() {
		for _, a := range mg.GetAssetFileDef() {
			if err := checkAssetName(m.File, a.GetFilename()); err != nil {
				return err
			}
		}
		for _, any := range mg.GetCollectionDef()["saved_model_assets"].GetAnyList().GetValue() {
			var a tfpb.AssetFileDef
			if any.UnmarshalTo(&a) != nil {
				continue // not an AssetFileDef; TF's loader would reject it, not our concern
			}
			if err := checkAssetName(m.File, a.GetFilename()); err != nil {
				return err
			}
		}
	}
	return nil
}

// openVariables opens the checkpoint index if there is one.
func (m *Model) openVariables() error {
	index := VariablesPrefix + ".index"
	ok, err := exists(m.fsys, index)
	if err != nil {
		return prefixed(err)
	}
	if !ok {
		return nil
	}
	if _, err := resolve(m.fsys, index); err != nil {
		return prefixed(err)
	}
	r, err := bundle.Open(m.fsys, VariablesPrefix)
	if err != nil {
		return fmt.Errorf("savedmodel: variables: %w", err)
	}
	for i := 0; i < r.NumShards(); i++ {
		if _, err := resolve(m.fsys, r.DataFile(i)); err != nil {
			r.Close()
			return prefixed(err)
		}
	}
	m.InputCheckpoint = r
	return nil
}

// Dir returns the absolute OS directory the model was read from by Read, or
// "" for a model read from ReadOptions.FS.
func (m *Model) Dir() string { return m.dir }

// Close releases the variables reader. The Model's protos stay usable.
func (m *Model) Close() error {
	if m.InputCheckpoint == nil {
		return nil
	}
	return m.InputCheckpoint.Close()
}

// readFile reads a file of the model after checking that it stays inside.
func readFile(fsys fs.FS, name string) ([]byte, error) {
	real, err := resolve(fsys, name)
	if err != nil {
		return nil, prefixed(err)
	}
	b, err := fs.ReadFile(fsys, real)
	if err != nil {
		return nil, prefixed(err)
	}
	return b, nil
}

// readOptional reads name, returning nil, nil if it does not exist.
func readOptional(fsys fs.FS, name string) ([]byte, error) {
	ok, err := exists(fsys, name)
	if err != nil || !ok {
		if err != nil && !isNotDir(err) {
			return nil, prefixed(err)
		}
		return nil, nil
	}
	return readFile(fsys, name)
}

func readOptionalProto[T proto.Message](fsys fs.FS, name string, msg T) (T, error) {
	var zero T
	b, err := readOptional(fsys, name)
	if err != nil || b == nil {
		return zero, err
	}
	if err := proto.Unmarshal(b, msg); err != nil {
		return zero, protoErr(name, b, msg, "malformed file", err)
	}
	return msg, nil
}

// prefixed starts err's message with "savedmodel: " unless it already does
// (path errors made by this package do).
func prefixed(err error) error {
	if strings.HasPrefix(err.Error(), "savedmodel: ") {
		return err
	}
	return fmt.Errorf("savedmodel: %w", err)
}
