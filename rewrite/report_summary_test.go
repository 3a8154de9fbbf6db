package rewrite

import (
	"strings"
	"testing"
)

// WriteSummary aligns the change counts whatever the lengths of the pass
// names and counts.
func TestWriteSummaryAligns(t *testing.T) {
	changes := func(n int) []Change { return make([]Change, n) }
	rep := &Report{Passes: []PassReport{
		{Pass: "a", Changes: changes(1)},
		{Pass: "a-custom-pass-with-a-long-name", Changes: changes(123456)},
		{Pass: "verify", Findings: []Finding{{What: "x"}}},
	}}
	var b strings.Builder
	if err := rep.WriteSummary(&b); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines:\n%s", len(lines), b.String())
	}
	col := strings.Index(lines[0], " change")
	for _, l := range lines {
		if strings.Index(l, " change") != col {
			t.Errorf("counts not aligned:\n%s", b.String())
			break
		}
	}
	for i, want := range []string{" 1 change", "123456 changes", " 0 changes, 1 finding"} {
		if !strings.Contains(lines[i], want) {
			t.Errorf("line %q does not say %q", lines[i], want)
		}
	}
}
