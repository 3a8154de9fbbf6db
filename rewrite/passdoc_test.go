package rewrite

import (
	"strings"
	"testing"
)

// The default passes' docs ("unmirror passes" prints them) share one
// style: a sentence starting with the pass's name, capitalised, and a verb,
// ending with a period.
func TestPassDocStyle(t *testing.T) {
	for _, p := range Default().Passes {
		name := strings.ToUpper(p.Name[:1]) + p.Name[1:]
		if !strings.HasPrefix(p.Doc, name+" ") || !strings.HasSuffix(p.Doc, ".") {
			t.Errorf("pass %s: doc %q does not start with %q and end with a period", p.Name, p.Doc, name+" ")
		}
	}
}
