package table

import (
	"bytes"
	"io"
	"testing"
)

func BenchmarkWrite(b *testing.B) {
	entries := genEntries(20000, 40)
	var size int64
	for _, e := range entries {
		size += int64(len(e.k) + len(e.v))
	}
	b.SetBytes(size)
	for b.Loop() {
		w := NewWriter(io.Discard, Options{})
		for _, e := range entries {
			if err := w.Add(e.k, e.v); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRead(b *testing.B) {
	data := write(b, genEntries(20000, 40), Options{})
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		r, err := NewReader(bytes.NewReader(data), int64(len(data)), "bench")
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for range r.All() {
			n++
		}
		if r.Err() != nil || n != 20001 {
			b.Fatal(r.Err(), n)
		}
	}
}
