package main

import (
	"regexp"
	"strings"
	"testing"
)

// section returns the text under the Markdown heading line heading, up to
// the next heading.
func section(md, heading string) string {
	_, rest, ok := strings.Cut(md, "\n"+heading+"\n")
	if !ok {
		return ""
	}
	if i := strings.Index(rest, "\n#"); i >= 0 {
		rest = rest[:i]
	}
	return rest
}

// flagLine matches a flag in "unmirror CMD -h" (flag.PrintDefaults).
var flagLine = regexp.MustCompile(`(?m)^  -([a-z0-9-]+)`)

// TestREADMEDocumentsEveryFlag: every flag "unmirror CMD -h" lists is in the
// README, in the command's "### CMD flags" section or, for the flags every
// reading command shares, in "### Read flags"; and -h prints a "Flags:"
// heading only for a command that has flags.
func TestREADMEDocumentsEveryFlag(t *testing.T) {
	md := readme(t)
	shared := section(md, "### Read flags (inspect, verify, diff, rewrite)")
	if shared == "" {
		t.Fatal(`README.md has no "### Read flags (inspect, verify, diff, rewrite)" section`)
	}
	for _, c := range commands {
		r := cli(t, c.name, "-h")
		if r.code != 0 {
			t.Fatalf("%s -h: exit %d\n%s", c.name, r.code, r.stderr)
		}
		own := section(md, "### "+c.name+" flags")
		if own == "" {
			t.Errorf(`README.md has no "### %s flags" section`, c.name)
		}
		flags := flagLine.FindAllStringSubmatch(r.stdout, -1)
		if strings.Contains(r.stdout, "\nFlags:\n") != (len(flags) > 0) {
			t.Errorf("%s -h: a Flags: heading with %d flags:\n%s", c.name, len(flags), r.stdout)
		}
		for _, m := range flags {
			name := m[1]
			if !strings.Contains(own+shared, "`-"+name) && !strings.Contains(own+shared, "`--"+name) {
				t.Errorf("%s: flag -%s is not documented in README.md", c.name, name)
			}
		}
	}
}
