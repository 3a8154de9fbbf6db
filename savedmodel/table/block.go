package table

import (
	"bytes"
	"encoding/binary"
)

// blockEntries parses block contents and calls fn for each entry in order.
// Keys passed to fn are freshly allocated; values alias contents. On a
// malformed entry it returns the reason and the entry's offset in contents.
// fn returns false to stop early.
func blockEntries(contents []byte, fn func(key, value []byte) bool) (reason string, at int, ok bool) {
	if len(contents) < 4 {
		return "bad block contents (too short for restart count)", 0, false
	}
	numRestarts := binary.LittleEndian.Uint32(contents[len(contents)-4:])
	maxRestarts := uint32((len(contents) - 4) / 4)
	if numRestarts == 0 || numRestarts > maxRestarts {
		return "bad block contents (restart count)", len(contents) - 4, false
	}
	limit := len(contents) - 4 - 4*int(numRestarts)
	restarts := contents[limit : len(contents)-4]
	prevRestart := -1
	for i := 0; i < int(numRestarts); i++ {
		r := int(binary.LittleEndian.Uint32(restarts[4*i:]))
		if r <= prevRestart || (r > limit) || (i == 0 && r != 0) {
			return "bad block contents (restart point)", limit + 4*i, false
		}
		prevRestart = r
	}
	var prev []byte
	for p := 0; p < limit; {
		start := p
		shared, n1 := uvarint32(contents[p:limit])
		if n1 == 0 {
			return "bad entry in block", start, false
		}
		p += n1
		nonShared, n2 := uvarint32(contents[p:limit])
		if n2 == 0 {
			return "bad entry in block", start, false
		}
		p += n2
		valueLen, n3 := uvarint32(contents[p:limit])
		if n3 == 0 {
			return "bad entry in block", start, false
		}
		p += n3
		if int(shared) > len(prev) || uint64(nonShared)+uint64(valueLen) > uint64(limit-p) {
			return "bad entry in block", start, false
		}
		key := make([]byte, int(shared)+int(nonShared))
		copy(key, prev[:shared])
		copy(key[shared:], contents[p:p+int(nonShared)])
		p += int(nonShared)
		value := contents[p : p+int(valueLen) : p+int(valueLen)]
		p += int(valueLen)
		if prev != nil && bytes.Compare(key, prev) <= 0 {
			return "keys out of order in block", start, false
		}
		prev = key
		if !fn(key, value) {
			return "", 0, true
		}
	}
	return "", 0, true
}
