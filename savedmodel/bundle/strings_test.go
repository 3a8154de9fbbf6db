package bundle

import (
	"bytes"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	tfpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
	"google.golang.org/protobuf/proto"
)

// TestObjectGraphString decodes _CHECKPOINTABLE_OBJECT_GRAPH, a DT_STRING
// scalar, in every TensorFlow checkpoint that has one and parses it.
func TestObjectGraphString(t *testing.T) {
	found := 0
	for _, b := range tfBundles(t) {
		r, err := Open(os.DirFS(b.dir), b.prefix)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := r.Entry("_CHECKPOINTABLE_OBJECT_GRAPH"); !ok {
			continue
		}
		strs, err := r.ReadStrings("_CHECKPOINTABLE_OBJECT_GRAPH")
		if err != nil {
			t.Fatalf("%s: %v", b.name, err)
		}
		if len(strs) != 1 {
			t.Fatalf("%s: %d strings, want 1", b.name, len(strs))
		}
		var g tfpb.TrackableObjectGraph
		if err := proto.Unmarshal(strs[0], &g); err != nil {
			t.Fatalf("%s: parse TrackableObjectGraph: %v", b.name, err)
		}
		// The graph names the bundle's keys. Not all of them: TensorFlow's
		// testdata has uninitialized variables and legacy saveables whose
		// attribute keys are not stored as such.
		named, present := 0, 0
		for _, n := range g.GetNodes() {
			for _, a := range n.GetAttributes() {
				named++
				// Legacy saveables store "<key>-keys", "<key>-values" and the like.
				i, _ := slices.BinarySearch(r.Keys(), a.GetCheckpointKey())
				if i < len(r.Keys()) && strings.HasPrefix(r.Keys()[i], a.GetCheckpointKey()) {
					present++
				}
			}
		}
		if named > 0 && present == 0 {
			t.Errorf("%s: none of the %d keys the object graph names is in the index", b.name, named)
		}
		found++
		r.Close()
	}
	if found < 10 {
		t.Errorf("decoded %d object graphs, want at least 10", found)
	}
}

func TestStringsRoundTrip(t *testing.T) {
	for _, strs := range [][][]byte{
		{},
		{{}},
		{[]byte("a"), []byte(""), bytes.Repeat([]byte("xy"), 200), make([]byte, 2<<20)},
	} {
		var buf bytes.Buffer
		n, err := WriteStrings(&buf, strs)
		if err != nil || n != int64(buf.Len()) {
			t.Fatalf("WriteStrings = %d, %v; wrote %d", n, err, buf.Len())
		}
		c := newChecker(7, int64(len(strs))) // DT_STRING
		if err := c.write(buf.Bytes()); err != nil {
			t.Fatal(err)
		}
		if _, err := c.finish(); err != nil || c.badCk {
			t.Fatalf("checker rejects WriteStrings output: %v %v", err, c.badCk)
		}
		got, err := ReadStrings(bytes.NewReader(buf.Bytes()), int64(len(strs)))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(strs) {
			t.Fatalf("got %d strings, want %d", len(got), len(strs))
		}
		for i := range strs {
			if !bytes.Equal(got[i], strs[i]) {
				t.Errorf("string %d differs", i)
			}
		}
	}
}

func TestReadStringsCorrupt(t *testing.T) {
	var buf bytes.Buffer
	WriteStrings(&buf, [][]byte{[]byte("hello")})
	b := buf.Bytes()
	// Flip the length checksum.
	bad := bytes.Clone(b)
	bad[2] ^= 1
	if _, err := ReadStrings(bytes.NewReader(bad), 1); !errors.Is(err, ErrCorrupt) {
		t.Errorf("bad length checksum: %v", err)
	}
	// A huge length must fail on the missing bytes, not allocate them.
	huge := []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}
	var h bytes.Buffer
	h.Write(huge)
	c := newChecker(7, 1)
	c.write(huge)
	h.Write([]byte{0, 0, 0, 0})
	hb := h.Bytes()
	ck := mask(c.crc)
	hb[len(hb)-4], hb[len(hb)-3], hb[len(hb)-2], hb[len(hb)-1] = byte(ck), byte(ck>>8), byte(ck>>16), byte(ck>>24)
	if _, err := ReadStrings(bytes.NewReader(hb), 1); err == nil {
		t.Errorf("a 2^56-byte string claimed by 12 bytes was accepted")
	}
}
