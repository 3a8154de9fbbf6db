package bundle

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// DisplayKey renders a checkpoint key for people, never as raw bytes, and
// injectively (two different keys never render the same):
//
//   - a slice key (made by [SliceKey]) is the tensor's name, a space and
//     the slice in TensorFlow's notation (TensorSlice::DebugString) in
//     brackets, for example "embedding/.ATTRIBUTES/VARIABLE_VALUE [0,3:-]":
//     per dimension "-" for a full extent or "start,length", separated by
//     ":". An extent TensorFlow's writers never produce (a negative length
//     other than a full one) is still shown as "start,length";
//   - any other key, and the name in a slice key, is shown as it is when it
//     is non-empty printable UTF-8 that neither starts with '"' nor ends
//     with ']'; otherwise it is Go-quoted (strconv.Quote), as is a key
//     that decodes as a slice key but is not encoded the way [SliceKey]
//     encodes it.
//
// So a rendering that ends with ']' is a slice key's, and the name part of
// one ends at its last " [".
func DisplayKey(key string) string {
	if name, ext, ok := decodeSliceKey(key); ok {
		return displayName(name) + " [" + ext + "]"
	}
	return displayName(key)
}

// displayName returns s as it is when that is unambiguous, else quoted.
func displayName(s string) string {
	if s == "" || s[0] == '"' || strings.HasSuffix(s, "]") || !utf8.ValidString(s) {
		return strconv.Quote(s)
	}
	for _, r := range s {
		if !strconv.IsPrint(r) {
			return strconv.Quote(s)
		}
	}
	return s
}

// decodeSliceKey decodes a slice key into the tensor name and its extents
// in TensorFlow's notation, keeping every extent as stored. ok is false
// unless key is exactly what SliceKey encodes for the decoded values.
func decodeSliceKey(key string) (name, ext string, ok bool) {
	src := []byte(key)
	if x, ok := readNumIncreasing(&src); !ok || x != 0 {
		return "", "", false
	}
	name, ok = readOrderedString(&src)
	if !ok {
		return "", "", false
	}
	rank, ok := readNumIncreasing(&src)
	if !ok || rank > uint64(len(src)) {
		return "", "", false
	}
	canon := appendNumIncreasing(appendOrderedString(appendNumIncreasing(nil, 0), name), rank)
	parts := make([]string, 0, rank)
	for d := uint64(0); d < rank; d++ {
		start, ok1 := readSignedNumIncreasing(&src)
		length, ok2 := readSignedNumIncreasing(&src)
		if !ok1 || !ok2 {
			return "", "", false
		}
		canon = appendSignedNumIncreasing(appendSignedNumIncreasing(canon, start), length)
		if start == 0 && length == -1 {
			parts = append(parts, "-")
		} else {
			parts = append(parts, strconv.FormatInt(start, 10)+","+strconv.FormatInt(length, 10))
		}
	}
	if len(src) != 0 || string(canon) != key {
		return "", "", false
	}
	return name, strings.Join(parts, ":"), true
}

// errKey quotes a key for an error message: a slice key as its DisplayKey
// (so that no raw bytes are printed), any other key as it is.
func errKey(key string) string {
	if _, _, ok := decodeSliceKey(key); ok {
		return strconv.Quote(DisplayKey(key))
	}
	return strconv.Quote(key)
}
