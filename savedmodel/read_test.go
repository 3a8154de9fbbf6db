package savedmodel

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	tfpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
	"google.golang.org/protobuf/proto"

	"github.com/unmirror/unmirror/internal/tftree"
)

func TestReadTensorFlowModels(t *testing.T) {
	for _, dir := range tftree.SavedModels(t) {
		t.Run(rel(t, dir), func(t *testing.T) {
			m, err := Read(context.Background(), dir, ReadOptions{})
			if isChunked(dir) {
				if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), SavedModelCPB) {
					t.Fatalf("chunked model: err = %v, want ErrUnsupported naming %s", err, SavedModelCPB)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			if len(m.Proto.GetMetaGraphs()) == 0 {
				t.Fatal("no MetaGraphDef")
			}
			_, pbErr := os.Stat(filepath.Join(dir, SavedModelPB))
			if (pbErr == nil) != (m.Format == FormatBinary) || m.File == "" {
				t.Errorf("Format %v File %q, but saved_model.pb stat err = %v", m.Format, m.File, pbErr)
			}
			_, idxErr := os.Stat(filepath.Join(dir, "variables/variables.index"))
			if (idxErr == nil) != (m.InputCheckpoint != nil) {
				t.Errorf("Variables = %v, but variables.index stat err = %v", m.InputCheckpoint, idxErr)
			}
			if _, err := os.Stat(filepath.Join(dir, FingerprintFile)); (err == nil) != (m.Fingerprint != nil) {
				t.Errorf("Fingerprint = %v, but stat err = %v", m.Fingerprint, err)
			}
			if _, err := os.Stat(filepath.Join(dir, DebugInfoFile)); (err == nil) != (m.DebugInfo != nil) {
				t.Errorf("DebugInfo present = %v, but stat err = %v", m.DebugInfo != nil, err)
			}
			for _, a := range m.Assets {
				fi, err := os.Stat(filepath.Join(dir, a.Path))
				if err != nil || fi.Size() != a.Size {
					t.Errorf("asset %s size %d: stat %v, %v", a.Path, a.Size, fi, err)
				}
			}
		})
	}
}

func TestReadAssetsAndExtras(t *testing.T) {
	m, err := Read(context.Background(), tfModel(t, "half_plus_two_v2/00000123"), ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	var got []string
	for _, a := range m.Assets {
		got = append(got, a.Path)
	}
	want := []string{"assets/foo.txt", "assets.extra/validation_result_do_not_edit"}
	if !slices.Equal(got, want) {
		t.Errorf("assets %q, want %q", got, want)
	}
	if m.Assets[0].Size != 19 || m.Assets[1].Size != 651 {
		t.Errorf("sizes %d, %d; want 19, 651", m.Assets[0].Size, m.Assets[1].Size)
	}
}

func TestReadTextModel(t *testing.T) {
	dir := tfModel(t, "half_plus_two_pbtxt/00000123")
	m, err := Read(context.Background(), dir, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if m.Format != FormatText || m.File != SavedModelPBText {
		t.Errorf("Format %v File %q", m.Format, m.File)
	}
	// The legacy assets collection holds an Any-expanded AssetFileDef.
	anys := m.Proto.GetMetaGraphs()[0].GetCollectionDef()["saved_model_assets"].GetAnyList().GetValue()
	if len(anys) != 1 {
		t.Fatalf("saved_model_assets has %d values, want 1", len(anys))
	}
	var a tfpb.AssetFileDef
	if err := anys[0].UnmarshalTo(&a); err != nil || a.GetFilename() != "foo.txt" {
		t.Errorf("asset %v, %v; want foo.txt", &a, err)
	}
}

func TestMetaGraphByTags(t *testing.T) {
	m, err := Read(context.Background(), tfModel(t, "half_plus_two/00000123"), ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if mg, err := m.MetaGraph("serve"); err != nil || mg == nil {
		t.Errorf("MetaGraph(serve) = %v, %v", mg, err)
	}
	_, err = m.MetaGraph("serve", "gpu")
	if !errors.Is(err, ErrNoMetaGraph) || !strings.Contains(err.Error(), "{serve}") {
		t.Errorf("MetaGraph(serve, gpu) err = %v, want ErrNoMetaGraph listing {serve}", err)
	}
	if _, err := m.MetaGraph(); !errors.Is(err, ErrNoMetaGraph) {
		t.Errorf("MetaGraph() err = %v, want ErrNoMetaGraph", err)
	}
	empty, err := Read(context.Background(), filepath.Join(tftree.Dir(t), "tensorflow/go/testdata/saved_model/half_plus_two_empty_tags/00000123"), ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer empty.Close()
	if _, err := empty.MetaGraph(); err != nil {
		t.Errorf("empty tag set: %v", err)
	}
}

func TestSignatures(t *testing.T) {
	m, err := Read(context.Background(), tfModel(t, "VarsAndArithmeticObjectGraph"), ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	mg, err := m.MetaGraph(TagServe)
	if err != nil {
		t.Fatal(err)
	}
	sigs := Signatures(mg)
	var keys []string
	for _, s := range sigs {
		keys = append(keys, s.Key)
	}
	if !slices.Contains(keys, "serving_default") {
		t.Fatalf("signatures %q lack serving_default", keys)
	}
	for _, s := range sigs {
		if s.Key != "serving_default" {
			continue
		}
		if len(s.Inputs) == 0 || len(s.Outputs) == 0 {
			t.Fatalf("serving_default %+v has no inputs or outputs", s)
		}
		for _, in := range append(s.Inputs, s.Outputs...) {
			if in.Name == "" || in.DType == 0 {
				t.Errorf("tensor %+v lacks name or dtype", in)
			}
		}
	}
}

// writeFiles makes a directory with the given files.
func writeFiles(t *testing.T, files map[string][]byte) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "m")
	for name, b := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.MkdirAll(dir, 0o755)
	return dir
}

func TestReadBadInput(t *testing.T) {
	good, err := os.ReadFile(filepath.Join(tfModel(t, "half_plus_two/00000123"), SavedModelPB))
	if err != nil {
		t.Fatal(err)
	}
	flipped := slices.Clone(good)
	flipped[1] ^= 0xff // schema version varint now swallows the MetaGraphDef tag
	withAsset := func(name string) []byte {
		sm := &tfpb.SavedModel{MetaGraphs: []*tfpb.MetaGraphDef{{AssetFileDef: []*tfpb.AssetFileDef{{Filename: name}}}}}
		b, _ := proto.Marshal(sm)
		return b
	}
	for _, tc := range []struct {
		name   string
		files  map[string][]byte
		is     error  // sentinel, or nil for a *FormatError
		substr string // in the message
	}{
		{"empty dir", map[string][]byte{}, ErrNotSavedModel, "no saved_model.pb or saved_model.pbtxt in"},
		{"truncated pb", map[string][]byte{SavedModelPB: good[:len(good)/2]}, nil, "saved_model.pb: file ends early, at byte "},
		{"bit-flipped pb", map[string][]byte{SavedModelPB: flipped}, nil, "saved_model.pb: offset "},
		{"empty pb", map[string][]byte{SavedModelPB: {}}, nil, "no MetaGraphDef"},
		{"malformed pbtxt", map[string][]byte{SavedModelPBText: []byte("meta_graphs { bogus: 1 }")}, nil, "saved_model.pbtxt"},
		{"both", map[string][]byte{SavedModelPB: good, SavedModelPBText: []byte("")}, ErrAmbiguous, ""},
		{"chunked", map[string][]byte{SavedModelCPB: []byte("x")}, ErrUnsupported, SavedModelCPB},
		{"asset ..", map[string][]byte{SavedModelPB: withAsset("../etc/passwd")}, ErrUnsafePath, `"../etc/passwd"`},
		{"asset absolute", map[string][]byte{SavedModelPB: withAsset("/etc/passwd")}, ErrUnsafePath, "absolute"},
		{"bad fingerprint", map[string][]byte{SavedModelPB: good, FingerprintFile: {0x08}}, nil, "fingerprint.pb: file ends early, at byte 1, inside a field"},
		{"bad keras", map[string][]byte{SavedModelPB: good, KerasMetadataFile: {0x0a, 0x05, 0x10}}, nil, "keras_metadata.pb: file ends early, at byte 3 of the 7"},
		{"bad keras object", map[string][]byte{SavedModelPB: good, KerasMetadataFile: {0x0a, 0x02, 0x10, 0x80}}, nil, "keras_metadata.pb: offset 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeFiles(t, tc.files)
			m, err := Read(context.Background(), dir, ReadOptions{})
			if err == nil {
				m.Close()
				t.Fatal("Read succeeded")
			}
			var fe *FormatError
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("err = %v, want %v", err, tc.is)
			} else if tc.is == nil && !errors.As(err, &fe) {
				t.Errorf("err = %v (%T), want *FormatError", err, err)
			}
			if !strings.Contains(err.Error(), tc.substr) || !strings.HasPrefix(err.Error(), "savedmodel: ") {
				t.Errorf("err = %q, want it to start with \"savedmodel: \" and contain %q", err, tc.substr)
			}
			// Reading the same files from an fs.FS must agree.
			mfs := fstest.MapFS{}
			for n, b := range tc.files {
				mfs[n] = &fstest.MapFile{Data: b}
			}
			if _, err2 := Read(context.Background(), ".", ReadOptions{FS: mfs}); err2 == nil {
				t.Errorf("read from an fs.FS succeeded")
			}
		})
	}
}

func TestReadNotADirectory(t *testing.T) {
	f := filepath.Join(tfModel(t, "half_plus_two/00000123"), SavedModelPB)
	_, err := Read(context.Background(), f, ReadOptions{})
	if !errors.Is(err, ErrNotSavedModel) || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("err = %v, want ErrNotSavedModel saying not a directory", err)
	}
	if _, err := Read(context.Background(), filepath.Join(t.TempDir(), "missing"), ReadOptions{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing dir: err = %v, want ErrNotExist", err)
	}
}

func TestReadSymlinks(t *testing.T) {
	src := tfModel(t, "AssetModule")
	outside := filepath.Join(t.TempDir(), "secret.txt")
	if err := os.WriteFile(outside, []byte("secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, link, target string
		ok                 bool
	}{
		{"absolute", "assets/evil.txt", outside, false},
		{"relative outside", "assets/evil.txt", "../../" + filepath.Base(filepath.Dir(outside)) + "/secret.txt", false},
		{"dotdot chain", "assets/evil.txt", "../../../../../../../../etc/hostname", false},
		{"inside file", "assets/alias.txt", "test_asset.txt", true},
		{"inside dir", "assets/sub", ".", false}, // a cycle
		{"dir link to variables", "assets/vars", "../variables", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyTree(t, src)
			if err := os.Symlink(tc.target, filepath.Join(dir, tc.link)); err != nil {
				t.Fatal(err)
			}
			m, err := Read(context.Background(), dir, ReadOptions{})
			if tc.ok {
				if err != nil {
					t.Fatal(err)
				}
				defer m.Close()
				found := false
				for _, a := range m.Assets {
					found = found || strings.HasPrefix(a.Path, tc.link)
				}
				if !found {
					t.Errorf("assets %v lack %s", m.Assets, tc.link)
				}
				return
			}
			if err == nil {
				m.Close()
				t.Fatal("Read succeeded")
			}
			if tc.name != "inside dir" && !errors.Is(err, ErrUnsafePath) {
				t.Errorf("err = %v, want ErrUnsafePath", err)
			}
			if !strings.Contains(err.Error(), tc.link) {
				t.Errorf("err = %v, want it to name %s", err, tc.link)
			}
		})
	}
}

func TestKerasMetadataRoundTrip(t *testing.T) {
	version := []byte{0x08, 0x01, 0x10, 0x01} // producer 1, min_consumer 1
	km := &KerasMetadata{Nodes: []KerasObject{
		{NodeID: 0, NodePath: "root", Identifier: "_tf_keras_model", Metadata: `{"name": "m"}`, Version: version},
		{NodeID: 7, NodePath: "root.layer-0", Identifier: "_tf_keras_layer", Metadata: "{}", Version: version,
			Unknown: []byte{0x38, 0x05}}, // field 7 varint 5: unknown, must survive
	}}
	b := km.Marshal()
	got, err := ParseKerasMetadata(b)
	if err != nil {
		t.Fatal(err)
	}
	if string(got.Marshal()) != string(b) {
		t.Errorf("re-encoding differs:\n%x\n%x", got.Marshal(), b)
	}
	if got.Nodes[1].NodeID != 7 || got.Nodes[1].Identifier != "_tf_keras_layer" || string(got.Nodes[1].Unknown) != "\x38\x05" {
		t.Errorf("decoded %+v", got.Nodes[1])
	}
	// Remapping a node id changes only that field.
	got.Nodes[1].NodeID = 3
	back, err := ParseKerasMetadata(got.Marshal())
	if err != nil || back.Nodes[1].NodeID != 3 || back.Nodes[1].Metadata != "{}" {
		t.Errorf("after remap: %+v, %v", back, err)
	}
}

// The expanded Any form is parsed, and asset names inside it are checked.
func TestReadTextExpandedAny(t *testing.T) {
	text := func(name string) []byte {
		return []byte(`meta_graphs {
  meta_info_def { tags: "serve" }
  collection_def {
    key: "saved_model_assets"
    value { any_list { value {
      [type.googleapis.com/tensorflow.AssetFileDef] { tensor_info { name: "Const:0" } filename: "` + name + `" }
    } } }
  }
}`)
	}
	m, err := Read(context.Background(), ".", ReadOptions{FS: fstest.MapFS{SavedModelPBText: {Data: text("foo.txt")}}})
	if err != nil {
		t.Fatal(err)
	}
	anys := m.Proto.GetMetaGraphs()[0].GetCollectionDef()["saved_model_assets"].GetAnyList().GetValue()
	var a tfpb.AssetFileDef
	if len(anys) != 1 || anys[0].UnmarshalTo(&a) != nil || a.GetFilename() != "foo.txt" {
		t.Errorf("expanded Any not decoded: %v", anys)
	}
	if _, err := Read(context.Background(), ".", ReadOptions{FS: fstest.MapFS{SavedModelPBText: {Data: text("../x")}}}); !errors.Is(err, ErrUnsafePath) {
		t.Errorf("err = %v, want ErrUnsafePath", err)
	}
}
