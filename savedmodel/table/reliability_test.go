package table

import (
	"bytes"
	"errors"
	"os"
	"testing"

	"github.com/unmirror/unmirror/internal/tftree"
)

// Every single-bit flip anywhere in a TensorFlow index file, footer
// included, is reported as corruption by NewReader or by a full scan.
func TestEveryBitFlipDetected(t *testing.T) {
	files, bits := 0, 0
	for _, name := range tftree.IndexFiles(t) {
		orig, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if len(orig) > 4096 {
			continue
		}
		files++
		data := bytes.Clone(orig)
		for i := range data {
			for bit := 0; bit < 8; bit++ {
				data[i] ^= 1 << bit
				if err := scan(data); !errors.Is(err, ErrCorrupt) {
					t.Errorf("%s: flip of bit %d at offset %d (of %d): err = %v, want ErrCorrupt", name, bit, i, len(data), err)
				}
				data[i] ^= 1 << bit
				bits++
			}
		}
	}
	if files == 0 {
		t.Fatal("no index file")
	}
	t.Logf("%d files, %d flips", files, bits)
}

// scan opens and reads the whole table, returning the first error.
func scan(data []byte) error {
	r, err := NewReader(bytes.NewReader(data), int64(len(data)), "x.index")
	if err != nil {
		return err
	}
	for range r.All() {
	}
	return r.Err()
}
