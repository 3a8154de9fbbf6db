package bundle

import (
	"math"
	"testing"

	tslp "github.com/wamuir/graft/tensorflow/core/framework/tensor_slice_go_proto"
	"google.golang.org/protobuf/proto"
)

func extent(start, length int64) *tslp.TensorSliceProto_Extent {
	if length < 0 {
		return &tslp.TensorSliceProto_Extent{}
	}
	return &tslp.TensorSliceProto_Extent{Start: start, HasLength: &tslp.TensorSliceProto_Extent_Length{Length: length}}
}

// Vectors for 0, 1, 63, 64, 8191, 8192, -1, MaxInt64 and -MaxInt64 are those
// of TensorFlow's ordered_code_test.cc; the others are their bitwise inverses.
func TestSignedNumIncreasing(t *testing.T) {
	for _, tc := range []struct {
		v    int64
		want string
	}{
		{0, "\x80"}, {-1, "\x7f"}, {1, "\x81"}, {63, "\xbf"}, {-64, "\x40"},
		{64, "\xc0\x40"}, {-65, "\x3f\xbf"}, {8191, "\xdf\xff"}, {8192, "\xe0\x20\x00"},
		{math.MaxInt64, "\xff\xc0\x7f\xff\xff\xff\xff\xff\xff\xff"},
		{-math.MaxInt64, "\x00\x3f\x80\x00\x00\x00\x00\x00\x00\x01"},
		{math.MinInt64, "\x00\x3f\x80\x00\x00\x00\x00\x00\x00\x00"},
	} {
		got := string(appendSignedNumIncreasing(nil, tc.v))
		if got != tc.want {
			t.Errorf("encode %d = %x, want %x", tc.v, got, tc.want)
		}
		src := []byte(got)
		v, ok := readSignedNumIncreasing(&src)
		if !ok || v != tc.v || len(src) != 0 {
			t.Errorf("decode %x = %d, %v (rest %x), want %d", got, v, ok, src, tc.v)
		}
	}
	// Every length boundary round-trips and sorts like the numbers.
	prev := ""
	for _, v := range []int64{math.MinInt64, -1 << 55, -1 << 40, -1 << 20, -8193, -65, -64, -1, 0, 63, 64, 8192, 1 << 20, 1 << 40, 1 << 55, math.MaxInt64} {
		enc := string(appendSignedNumIncreasing(nil, v))
		if prev != "" && enc <= prev {
			t.Errorf("encoding of %d does not sort after the previous one", v)
		}
		prev = enc
		src := []byte(enc)
		if got, ok := readSignedNumIncreasing(&src); !ok || got != v {
			t.Errorf("round trip of %d = %d, %v", v, got, ok)
		}
	}
}

func TestSliceKey(t *testing.T) {
	// Slice "0,2:-" of tensor "a\x00b" (rank 2): 0 → 00, name → 61 00 ff 62 00 01,
	// rank 2 → 01 02, extents (0, 2) → 80 82 and full (0, -1) → 80 7f.
	s := &tslp.TensorSliceProto{Extent: []*tslp.TensorSliceProto_Extent{extent(0, 2), extent(0, -1)}}
	key := SliceKey("a\x00b", s)
	want := "\x00" + "a\x00\xffb\x00\x01" + "\x01\x02" + "\x80\x82" + "\x80\x7f"
	if key != want {
		t.Fatalf("SliceKey = %x, want %x", key, want)
	}
	name, got, err := ParseSliceKey(key)
	if err != nil || name != "a\x00b" || !proto.Equal(got, s) {
		t.Errorf("ParseSliceKey = %q, %v, %v", name, got, err)
	}
	for _, bad := range []string{"", "\x01\x00", want[:len(want)-1], want + "x", "\x00abc"} {
		if _, _, err := ParseSliceKey(bad); err == nil {
			t.Errorf("ParseSliceKey(%x) succeeded", bad)
		}
	}
}
