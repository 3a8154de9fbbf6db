package savedmodel

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A saved_model.pb or fingerprint.pb cut short says that the file ends
// early, at which byte, and how many bytes the proto needs, once (no
// "offset N" beside "at byte N"), instead of protobuf's "cannot parse
// invalid wire-format data" at the offset of the field that runs past the
// end.
func TestReadTruncatedProto(t *testing.T) {
	plain := filepath.Join("..", "testdata", "models", "plain")
	for _, file := range []string{SavedModelPB, FingerprintFile} {
		full, err := os.ReadFile(filepath.Join(plain, file))
		if err != nil {
			t.Fatal(err)
		}
		size := len(full)
		for _, tc := range []struct {
			cut  int
			want string
		}{
			{size - 1, fmt.Sprintf("savedmodel: %s: file ends early, at byte %d of the %d the proto needs", file, size-1, size)},
			{size / 2, fmt.Sprintf("file ends early, at byte %d", size/2)},
			{1, "savedmodel: " + file + ": file ends early, at byte 1, inside a field"},
		} {
			t.Run(fmt.Sprintf("%s/%d", file, tc.cut), func(t *testing.T) {
				dir := copyTree(t, plain)
				if err := os.WriteFile(filepath.Join(dir, file), full[:tc.cut], 0o644); err != nil {
					t.Fatal(err)
				}
				m, err := Read(context.Background(), dir, ReadOptions{})
				if err == nil {
					m.Close()
					t.Fatal("Read succeeded")
				}
				var fe *FormatError
				if !errors.As(err, &fe) || !fe.Truncated || fe.Offset != int64(tc.cut) || fe.File != file {
					t.Fatalf("err = %#v, want a truncated *FormatError for %s at %d", err, file, tc.cut)
				}
				if !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "offset") || strings.Count(err.Error(), file) != 1 {
					t.Errorf("err = %v\nwant it to say %q once, without offset", err, tc.want)
				}
			})
		}
	}
}

// A malformed file that is not cut short keeps the offset of the first bad
// field.
func TestReadMalformedProtoOffset(t *testing.T) {
	dir := copyTree(t, filepath.Join("..", "testdata", "models", "plain"))
	if err := os.WriteFile(filepath.Join(dir, SavedModelPB), []byte("\x08\x01\x12\x02\x00\x00\x12\x00"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Read(context.Background(), dir, ReadOptions{})
	var fe *FormatError
	if !errors.As(err, &fe) || fe.Truncated || fe.Offset != 4 {
		t.Fatalf("err = %v, want a *FormatError at offset 4 (a zero tag inside the meta graph)", err)
	}
}
