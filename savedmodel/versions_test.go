package savedmodel

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Versions takes the subfolders whose names TF Serving parses as a version
// (tsl's safe_strto64: spaces around, a leading "-", no "+", within int64),
// sorted by number; files and other names are not versions.
func TestVersions(t *testing.T) {
	base := t.TempDir()
	for _, d := range []string{"1", "0002", " 3 ", "-1", "+4", "x", "1.5", "99999999999999999999", "10"} {
		if err := os.Mkdir(filepath.Join(base, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(base, "5"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	vs, err := Versions(base)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range vs {
		got = append(got, v.Name)
		if v.Dir != filepath.Join(base, v.Name) {
			t.Errorf("version %q: Dir %q", v.Name, v.Dir)
		}
	}
	if want := "-1|1|0002| 3 |10"; strings.Join(got, "|") != want {
		t.Errorf("versions %q, want %q", strings.Join(got, "|"), want)
	}
}

// Reading a TF Serving base folder says what it is and names its version
// folders (a *ServingBaseError, also ErrNotSavedModel); an empty folder is
// just not a SavedModel.
func TestReadServingBase(t *testing.T) {
	base := filepath.Join(t.TempDir(), "foo")
	for _, v := range []string{"1", "2"} {
		if err := os.MkdirAll(filepath.Join(base, v), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	_, err := Read(context.Background(), base, ReadOptions{})
	var be *ServingBaseError
	if !errors.As(err, &be) || !errors.Is(err, ErrServingBase) || !errors.Is(err, ErrNotSavedModel) || len(be.Versions) != 2 {
		t.Fatalf("err = %v, want a *ServingBaseError with 2 versions", err)
	}
	for _, want := range []string{"version folders 1, 2", filepath.Join(base, "2") + " by default"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want it to say %q", err, want)
		}
	}
	_, err = Read(context.Background(), t.TempDir(), ReadOptions{})
	if !errors.Is(err, ErrNotSavedModel) || errors.Is(err, ErrServingBase) {
		t.Errorf("empty folder: err = %v, want ErrNotSavedModel only", err)
	}
}
