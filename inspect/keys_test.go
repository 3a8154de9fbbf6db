package inspect_test

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/unmirror/unmirror/inspect"
	"github.com/unmirror/unmirror/internal/fixtures"
)

// readable reports whether s is valid UTF-8 with only printable runes, as a
// key must be shown.
func readable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !strconv.IsPrint(r) {
			return false
		}
	}
	return true
}

// jsonKeys returns the "key" of every variable of an inspection as its JSON
// carries it: invalid UTF-8 would come out as U+FFFD there, so that two
// binary keys could print the same.
func jsonKeys(t *testing.T, in *inspect.Inspection) []string {
	t.Helper()
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Variables []struct {
			Key, SliceOf, Slice string
		} `json:"variables"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, v := range doc.Variables {
		keys = append(keys, v.Key)
	}
	return keys
}

// TestSliceKeysReadable checks the entries of sharded_variable, a TF2
// model whose embedding is saved in two slices: each slice shows as the
// tensor's key and the slice in TensorFlow's notation, with both parts in
// slice_of and slice, in Go and in JSON.
func TestSliceKeysReadable(t *testing.T) {
	in := inspectDir(t, fixtures.ByName(t, "sharded_variable").Dir)
	const full = "embedding/.ATTRIBUTES/VARIABLE_VALUE"
	want := map[string][2]string{
		full + " [0,3:0,4]":            {full, "0,3:0,4"},
		full + " [3,3:0,4]":            {full, "3,3:0,4"},
		full:                           {"", ""},
		"_CHECKPOINTABLE_OBJECT_GRAPH": {"", ""},
	}
	if len(in.Variables) != len(want) {
		t.Fatalf("variables %+v", in.Variables)
	}
	for _, v := range in.Variables {
		w, ok := want[v.Key]
		if !ok || v.SliceOf != w[0] || v.Slice != w[1] {
			t.Errorf("variable %q: slice_of %q, slice %q; want one of %v", v.Key, v.SliceOf, v.Slice, want)
		}
	}
	for i, k := range jsonKeys(t, in) {
		if k != in.Variables[i].Key {
			t.Errorf("JSON key %q, want %q", k, in.Variables[i].Key)
		}
	}
}

// TestKeysNeverPrintTheSame checks every fixture: each checkpoint key shows
// readably and differently from every other, in Go and in JSON; a slice's
// slice_of names an entry of the same checkpoint that has slices.
func TestKeysNeverPrintTheSame(t *testing.T) {
	for _, f := range fixtures.All(t) {
		t.Run(f.Name, func(t *testing.T) {
			in := inspectDir(t, f.Dir)
			seen := map[string]bool{}
			sliced := map[string]bool{}
			for _, v := range in.Variables {
				if v.Slices > 0 {
					sliced[v.Key] = true
				}
			}
			for _, k := range jsonKeys(t, in) {
				if seen[k] || !readable(k) {
					t.Errorf("key %q shown twice or not readable", k)
				}
				seen[k] = true
			}
			for _, v := range in.Variables {
				if v.SliceOf != "" && (!sliced[v.SliceOf] || v.Key != v.SliceOf+" ["+v.Slice+"]") {
					t.Errorf("slice %q: slice_of %q, slice %q", v.Key, v.SliceOf, v.Slice)
				}
			}
		})
	}
}

// TestDiffShowsSliceKeys checks that diff lists removed slices by the same
// readable keys as inspect.
func TestDiffShowsSliceKeys(t *testing.T) {
	a := readFixture(t, fixtures.ByName(t, "sharded_variable").Dir)
	b := readFixture(t, fixtures.ByName(t, "plain").Dir)
	d := inspect.Diff(a, b)
	in, err := inspect.Model(context.Background(), a, inspect.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var removed []string
	for _, v := range d.Variables {
		if !readable(v.Key) {
			t.Errorf("key %q not readable", v.Key)
		}
		if v.Change == "removed" && strings.Contains(v.Key, " [") {
			removed = append(removed, v.Key)
			if v.A == nil || v.A.Key != v.Key || v.A.Slice == "" {
				t.Errorf("removed slice %q: a = %+v", v.Key, v.A)
			}
		}
	}
	var slices []string
	for _, v := range in.Variables {
		if v.Slice != "" {
			slices = append(slices, v.Key)
		}
	}
	if strings.Join(removed, "|") != strings.Join(slices, "|") || len(slices) != 2 {
		t.Errorf("diff removed slices %q, inspect lists %q", removed, slices)
	}
}
