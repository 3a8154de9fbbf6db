package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"
)

// Load outcomes recorded per fixture.
const (
	loadOK      = "ok"
	loadError   = "error"
	loadTimeout = "timeout (hang)"
)

// Result is what one fixture did when loaded and run in a Go process with
// default session options: a row of the golden files testdata/before.json
// (original fixtures) and testdata/after.json (rewritten fixtures).
type Result struct {
	Fixture string `json:"fixture"`
	// Load is "ok", "error" (TensorFlow's loader failed) or "timeout (hang)".
	Load string `json:"load"`
	// Error is the first line of TensorFlow's error when Load is "error".
	Error string `json:"error,omitempty"`
	// Signatures maps each signature run to "ok", "mismatch: <why>" or
	// "error: <first line of TF's error>"; empty unless the model loaded.
	Signatures map[string]string `json:"signatures,omitempty"`
}

// Golden is the golden file: one Result per fixture, in manifest order.
type Golden struct {
	TensorFlowVersion string   `json:"tensorflow_version"`
	Fixtures          []Result `json:"fixtures"`
}

// readGolden reads a golden file.
func readGolden(path string) (*Golden, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	var g Golden
	if err := json.Unmarshal(b, &g); err != nil {
		return nil, fmt.Errorf("serve: %s: %w", path, err)
	}
	return &g, nil
}

// marshalGolden is the golden file's exact bytes (indented, newline-ended,
// map keys sorted by encoding/json).
func marshalGolden(g *Golden) ([]byte, error) {
	b, err := json.MarshalIndent(g, "", " ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// firstLine is s up to its first newline, trimmed.
func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}

// passes reports whether the model loaded and every signature matched.
func (r Result) passes() bool {
	if r.Load != loadOK {
		return false
	}
	for _, s := range r.Signatures {
		if s != "ok" {
			return false
		}
	}
	return true
}

// Summary is the one-cell description of r used in the markdown table.
func (r Result) Summary() string {
	switch r.Load {
	case loadOK:
		names := make([]string, 0, len(r.Signatures))
		for n := range r.Signatures {
			names = append(names, n)
		}
		sort.Strings(names)
		bad := []string{}
		for _, n := range names {
			if r.Signatures[n] != "ok" {
				bad = append(bad, n+": "+r.Signatures[n])
			}
		}
		if len(bad) == 0 {
			return fmt.Sprintf("loads; %d/%d signatures match", len(names), len(names))
		}
		return "loads; " + strings.Join(bad, "; ")
	case loadError:
		return "fails: " + r.Error
	default:
		return r.Load
	}
}

// writeTable prints g as a markdown table with the Go column of the load
// matrix.
func writeTable(w io.Writer, g *Golden) error {
	var b strings.Builder
	fmt.Fprintf(&b, "| fixture | Go `tf.LoadSavedModel` (TF %s C API, CPU, no soft placement) |\n", g.TensorFlowVersion)
	b.WriteString("|---|---|\n")
	for _, r := range g.Fixtures {
		fmt.Fprintf(&b, "| %s | %s |\n", mdCell(r.Fixture), mdCell(r.Summary()))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// mdCell escapes s for a markdown table cell and shortens very long text.
func mdCell(s string) string {
	const max = 240
	if r := []rune(s); len(r) > max {
		s = string(r[:max]) + "…"
	}
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "\n", " ")
}

// printTable prints the golden file at path as a markdown table.
func printTable(w io.Writer, path string) error {
	g, err := readGolden(path)
	if err != nil {
		return err
	}
	return writeTable(w, g)
}

var hostRE = regexp.MustCompile(`binary running on \S+?(\.?(\s|$))`)

// normalizeError keeps what is stable across machines, checkouts and runs
// of a TF error: its first line, with the model directory and host name
// masked and the node's attribute list (printed in map order) sorted.
func normalizeError(msg, dir string) string {
	msg = strings.ReplaceAll(msg, dir, "<model>")
	msg = hostRE.ReplaceAllString(msg, "binary running on <host>$1")
	return sortAttrList(firstLine(msg))
}

// sortAttrList sorts the items of "with these attrs: [a=1, b=[2, 3]]", as
// TF's "No OpKernel was registered" error lists them in hash-map order.
func sortAttrList(s string) string {
	const marker = "with these attrs: ["
	i := strings.Index(s, marker)
	if i < 0 {
		return s
	}
	start := i + len(marker)
	var items []string
	depth, quoted, from := 0, false, start
	for j := start; j < len(s); j++ {
		switch c := s[j]; {
		case c == '"' && (j == 0 || s[j-1] != '\\'):
			quoted = !quoted
		case quoted:
		case c == '[':
			depth++
		case c == ']' && depth > 0:
			depth--
		case c == ']':
			items = append(items, s[from:j])
			sort.Strings(items)
			return s[:start] + strings.Join(items, ", ") + s[j:]
		case c == ',' && depth == 0 && strings.HasPrefix(s[j:], ", "):
			items = append(items, s[from:j])
			from = j + 2
		}
	}
	return s // unbalanced: leave as printed
}
