package bundle

import (
	"errors"
	"fmt"
	"math"
	"math/bits"

	tslp "github.com/wamuir/graft/tensorflow/core/framework/tensor_slice_go_proto"
)

// SliceKey returns the key under which TensorFlow stores one slice of the
// sliced tensor fullKey (checkpoint::EncodeTensorNameSlice). It is the
// OrderedCode encoding of: the number 0, the string fullKey, the rank, and
// for each dimension the signed numbers start and length, where a full
// extent (an Extent without length) is written as start, -1.
//
// OrderedCode: an unsigned number is a byte holding its big-endian length
// followed by those bytes with leading zeros dropped; a string has 0x00
// escaped as 00 ff and 0xff as ff 00, and ends with 00 01; a signed number
// of magnitude below 64 is one byte 0x80^v, larger ones take a length header
// in the leading bits of a sign-extended big-endian encoding.
func SliceKey(fullKey string, slice *tslp.TensorSliceProto) string {
	var b []byte
	b = appendNumIncreasing(b, 0)
	b = appendOrderedString(b, fullKey)
	b = appendNumIncreasing(b, uint64(len(slice.GetExtent())))
	for _, e := range slice.GetExtent() {
		length := int64(-1)
		if _, has := e.GetHasLength().(*tslp.TensorSliceProto_Extent_Length); has {
			length = e.GetLength()
		}
		b = appendSignedNumIncreasing(b, e.GetStart())
		b = appendSignedNumIncreasing(b, length)
	}
	return string(b)
}

var errSliceKey = errors.New("not a tensor slice key")

// ParseSliceKey decodes a key made by [SliceKey]. Extents with a negative
// length decode as full extents (no length, start 0).
func ParseSliceKey(key string) (fullKey string, slice *tslp.TensorSliceProto, err error) {
	src := []byte(key)
	fail := func(what string) (string, *tslp.TensorSliceProto, error) {
		return "", nil, fmt.Errorf("bundle: slice key %q: %s: %w", key, what, errSliceKey)
	}
	x, ok := readNumIncreasing(&src)
	if !ok || x != 0 {
		return fail("leading number is not 0")
	}
	name, ok := readOrderedString(&src)
	if !ok {
		return fail("bad tensor name")
	}
	rank, ok := readNumIncreasing(&src)
	if !ok || rank == 0 || rank > maxRank {
		return fail("bad rank")
	}
	slice = &tslp.TensorSliceProto{}
	for d := uint64(0); d < rank; d++ {
		start, ok1 := readSignedNumIncreasing(&src)
		length, ok2 := readSignedNumIncreasing(&src)
		if !ok1 || !ok2 {
			return fail(fmt.Sprintf("bad extent %d", d))
		}
		e := &tslp.TensorSliceProto_Extent{}
		if length >= 0 {
			e.Start = start
			e.HasLength = &tslp.TensorSliceProto_Extent_Length{Length: length}
		}
		slice.Extent = append(slice.Extent, e)
	}
	if len(src) != 0 {
		return fail("trailing bytes")
	}
	return name, slice, nil
}

func appendNumIncreasing(b []byte, v uint64) []byte {
	n := (bits.Len64(v) + 7) / 8
	b = append(b, byte(n))
	for i := n - 1; i >= 0; i-- {
		b = append(b, byte(v>>(8*i)))
	}
	return b
}

func readNumIncreasing(src *[]byte) (uint64, bool) {
	s := *src
	if len(s) == 0 {
		return 0, false
	}
	n := int(s[0])
	if n > 8 || len(s) < n+1 {
		return 0, false
	}
	var v uint64
	for _, c := range s[1 : n+1] {
		v = v<<8 | uint64(c)
	}
	*src = s[n+1:]
	return v, true
}

func appendOrderedString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case 0x00:
			b = append(b, 0x00, 0xff)
		case 0xff:
			b = append(b, 0xff, 0x00)
		default:
			b = append(b, c)
		}
	}
	return append(b, 0x00, 0x01)
}

func readOrderedString(src *[]byte) (string, bool) {
	s := *src
	var out []byte
	for i := 0; i+1 < len(s); i++ {
		c := s[i]
		switch {
		case c == 0x00 && s[i+1] == 0x01:
			*src = s[i+2:]
			return string(out), true
		case c == 0x00 && s[i+1] == 0xff:
			out = append(out, 0x00)
			i++
		case c == 0xff && s[i+1] == 0x00:
			out = append(out, 0xff)
			i++
		case c == 0x00 || c == 0xff:
			return "", false
		default:
			out = append(out, c)
		}
	}
	return "", false
}

// Header bits of a signed OrderedCode number by encoded length (1 to 10 bytes).
var signedHeader = [11][2]byte{{}, {0x80, 0}, {0xc0, 0}, {0xe0, 0}, {0xf0, 0}, {0xf8, 0}, {0xfc, 0}, {0xfe, 0}, {0xff, 0}, {0xff, 0x80}, {0xff, 0xc0}}

// signedLen is the encoded length of a signed number: 7 payload bits per byte.
// Header bits that overlap the value, by encoded length, as TensorFlow's kLengthToMask.
var signedMask = [11]uint64{0, 0x80, 0xc000, 0xe00000, 0xf0000000, 0xf800000000, 0xfc0000000000,
	0xfe000000000000, 0xff00000000000000, 0x8000000000000000, 0}

func signedLen(v int64) int {
	x := uint64(v)
	if v < 0 {
		x = ^x
	}
	// Bits needed including the sign bit, then 7 bits per byte of header+payload.
	return min(bits.Len64(x)/7+1, 10)
}

func appendSignedNumIncreasing(b []byte, v int64) []byte {
	n := signedLen(v)
	var buf [10]byte
	sign := byte(0)
	if v < 0 {
		sign = 0xff
	}
	buf[0], buf[1] = sign, sign
	for i := 0; i < 8; i++ {
		buf[2+i] = byte(uint64(v) >> (56 - 8*i))
	}
	enc := buf[10-n:]
	enc[0] ^= signedHeader[n][0]
	if n > 1 {
		enc[1] ^= signedHeader[n][1]
	}
	return append(b, enc...)
}

func readSignedNumIncreasing(src *[]byte) (int64, bool) {
	s := *src
	if len(s) == 0 {
		return 0, false
	}
	xorMask := byte(0)
	if s[0]&0x80 == 0 {
		xorMask = 0xff // negative numbers have inverted header bits
	}
	first := s[0] ^ xorMask
	n := bits.LeadingZeros8(^first) // count of leading 1 bits
	if n == 8 {
		if len(s) < 2 {
			return 0, false
		}
		second := s[1] ^ xorMask
		switch {
		case second < 0x80:
			n = 8
		case second < 0xc0:
			n = 9
		default:
			if len(s) < 3 || second != 0xc0 || s[2]^xorMask >= 0x80 {
				return 0, false
			}
			n = 10
		}
	}
	if n == 0 || len(s) < n {
		return 0, false
	}
	// Shift the raw bytes into a sign-extended value, then clear the header.
	v := uint64(0)
	if xorMask != 0 {
		v = math.MaxUint64
	}
	for _, c := range s[:n] {
		v = v<<8 | uint64(c)
	}
	v ^= signedMask[n]
	*src = s[n:]
	return int64(v), true
}
