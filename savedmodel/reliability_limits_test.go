package savedmodel

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestReadLimits(t *testing.T) {
	dir := filepath.Join("..", "testdata", "models", "mirrored_expand")
	fi, err := os.Stat(filepath.Join(dir, SavedModelPB))
	if err != nil {
		t.Fatal(err)
	}
	m, err := Read(context.Background(), dir, ReadOptions{MaxProtoBytes: fi.Size()})
	if err != nil {
		t.Fatalf("limit equal to the size: %v", err)
	}
	nodes := 0
	for _, mg := range m.Proto.GetMetaGraphs() {
		nodes += len(mg.GetGraphDef().GetNode())
		for _, f := range mg.GetGraphDef().GetLibrary().GetFunction() {
			nodes += len(f.GetNodeDef())
		}
	}
	m.Close()
	for _, tc := range []struct {
		opts ReadOptions
		want string
	}{
		{ReadOptions{MaxProtoBytes: fi.Size() - 1}, "saved_model.pb: " + strconv.FormatInt(fi.Size(), 10) + " bytes"},
		{ReadOptions{MaxNodes: nodes - 1}, "saved_model.pb: " + strconv.Itoa(nodes) + " nodes"},
	} {
		_, err := Read(context.Background(), dir, tc.opts)
		if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err = %v, want ErrTooLarge saying %q", tc.opts, err, tc.want)
		}
	}
	if m, err := Read(context.Background(), dir, ReadOptions{MaxNodes: nodes, MaxProtoBytes: -1}); err != nil {
		t.Errorf("limits met exactly: %v", err)
	} else {
		m.Close()
	}
}

// Every fixture TensorFlow wrote with a fingerprint.pb passes
// VerifyFingerprint; a one-bit change in saved_model.pb that still parses
// (a character of a node name) or in the checkpoint index is caught.
func TestReadVerifyFingerprint(t *testing.T) {
	fps, _ := filepath.Glob(filepath.Join("..", "testdata", "models", "*", FingerprintFile))
	if len(fps) == 0 {
		t.Fatal("no fixture has a fingerprint.pb")
	}
	for _, fp := range fps {
		m, err := Read(context.Background(), filepath.Dir(fp), ReadOptions{VerifyFingerprint: true})
		if err != nil {
			t.Errorf("%s: %v", filepath.Dir(fp), err)
			continue
		}
		m.Close()
	}
	dir := copyTree(t, filepath.Dir(fps[0]))
	pb := filepath.Join(dir, SavedModelPB)
	b, err := os.ReadFile(pb)
	if err != nil {
		t.Fatal(err)
	}
	m := mustRead(t, dir)
	name := m.Proto.GetMetaGraphs()[0].GetGraphDef().GetNode()[0].GetName()
	i := strings.Index(string(b), name)
	b[i+len(name)-1] ^= 0x20 // flip the case of a letter
	if err := os.WriteFile(pb, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if m, err := Read(context.Background(), dir, ReadOptions{}); err != nil {
		t.Fatalf("the flipped file no longer parses (%v): pick another byte", err)
	} else {
		m.Close()
	}
	_, err = Read(context.Background(), dir, ReadOptions{VerifyFingerprint: true})
	var fe *FormatError
	if !errors.Is(err, ErrFingerprintMismatch) || !errors.As(err, &fe) || fe.File != SavedModelPB {
		t.Errorf("err = %v, want a *FormatError for saved_model.pb wrapping ErrFingerprintMismatch", err)
	}
}
