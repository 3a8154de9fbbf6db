package corrupt

import (
	"os"
	"path/filepath"

	tfpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	"github.com/unmirror/unmirror/savedmodel"
)

// protoEdits damage the SavedModel proto file: malformed text, both
// formats, unsafe asset names.
func (m *model) protoEdits() ([]Case, error) {
	const pbtxt = savedmodel.SavedModelPBText
	asset := func(name string) func(string) (string, error) {
		return editProto(func(sm *tfpb.SavedModel) {
			mg := sm.GetMetaGraphs()[0]
			mg.AssetFileDef = append(mg.AssetFileDef, &tfpb.AssetFileDef{
				TensorInfo: &tfpb.TensorInfo{Encoding: &tfpb.TensorInfo_Name{Name: "asset_path:0"}}, Filename: name})
		})
	}
	return []Case{
		{Name: "malformed saved_model.pbtxt", Sample: true, As: new(*savedmodel.FormatError),
			Apply: func(dir string) (string, error) {
				if err := os.Remove(filepath.Join(dir, pbFile)); err != nil {
					return "", err
				}
				return dir, writeFile(dir, pbtxt, []byte("saved_model_schema_version: 1\nmeta_graphs {\n  graph_def { node { name: \"x\" op: } }\n"))
			},
			Mention: []string{pbtxt, "line 3"}},
		{Name: "saved_model.pb and saved_model.pbtxt", Sample: true, Is: savedmodel.ErrAmbiguous,
			Apply: func(dir string) (string, error) {
				sm, err := readProto(dir)
				if err != nil {
					return "", err
				}
				b, err := prototext.Marshal(sm)
				if err != nil {
					return "", err
				}
				return dir, writeFile(dir, pbtxt, b)
			},
			Mention: []string{pbtxt}},
		{Name: "asset name with ..", Sample: true, Is: savedmodel.ErrUnsafePath,
			Apply: asset("../../../etc/passwd"), Mention: []string{pbFile, `"../../../etc/passwd"`}},
		{Name: "absolute asset name", Sample: true, Is: savedmodel.ErrUnsafePath,
			Apply: asset("/etc/passwd"), Mention: []string{pbFile, `"/etc/passwd"`}},
	}, nil
}

func readProto(dir string) (*tfpb.SavedModel, error) {
	b, err := os.ReadFile(filepath.Join(dir, pbFile))
	if err != nil {
		return nil, err
	}
	sm := &tfpb.SavedModel{}
	return sm, proto.Unmarshal(b, sm)
}

func editProto(edit func(*tfpb.SavedModel)) func(string) (string, error) {
	return func(dir string) (string, error) {
		sm, err := readProto(dir)
		if err != nil {
			return "", err
		}
		edit(sm)
		b, err := proto.MarshalOptions{Deterministic: true}.Marshal(sm)
		if err != nil {
			return "", err
		}
		return dir, writeFile(dir, pbFile, b)
	}
}

// pathCases: symbolic links leaving the directory, an empty directory, a
// file where the directory should be.
func (m *model) pathCases() ([]Case, error) {
	shard := m.dataFile(0)
	return []Case{
		{Name: "asset symlink to a file outside", Sample: true, Is: savedmodel.ErrUnsafePath,
			Apply: func(dir string) (string, error) {
				outside := filepath.Join(filepath.Dir(dir), "outside.txt")
				if err := os.WriteFile(outside, []byte("secret\n"), 0o644); err != nil {
					return "", err
				}
				if err := os.MkdirAll(filepath.Join(dir, savedmodel.AssetsDir), 0o755); err != nil {
					return "", err
				}
				return dir, os.Symlink("../../outside.txt", filepath.Join(dir, savedmodel.AssetsDir, "evil.txt"))
			},
			Mention: []string{"assets/evil.txt"}},
		{Name: "data shard symlink to an absolute path", Sample: true, Is: savedmodel.ErrUnsafePath,
			Apply: func(dir string) (string, error) {
				p := filepath.Join(dir, filepath.FromSlash(shard))
				outside := filepath.Join(filepath.Dir(dir), "shard-outside")
				if err := os.Rename(p, outside); err != nil {
					return "", err
				}
				return dir, os.Symlink(outside, p)
			},
			Mention: []string{shard}},
		{Name: "empty directory", Sample: true, Is: savedmodel.ErrNotSavedModel,
			Apply: func(dir string) (string, error) {
				ents, err := os.ReadDir(dir)
				if err != nil {
					return "", err
				}
				for _, e := range ents {
					if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
						return "", err
					}
				}
				return dir, nil
			},
			Mention: []string{"no saved_model.pb"}},
		{Name: "a file given for the directory", Sample: true, Is: savedmodel.ErrNotSavedModel,
			Apply: func(dir string) (string, error) {
				f := dir + ".pb"
				b, err := os.ReadFile(filepath.Join(dir, pbFile))
				if err != nil {
					return "", err
				}
				return f, os.WriteFile(f, b, 0o644)
			},
			Mention: []string{"not a directory"}},
	}, nil
}
