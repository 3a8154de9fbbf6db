package device

import (
	"errors"
	"regexp"
	"strconv"
	"testing"
)

// grammar is ParseFullName's language written as a regular expression, an
// oracle independent of the parser (see the package documentation).
var (
	grammar = regexp.MustCompile(`^(?:/|(?:` +
		`/job:(?:\*|[A-Za-z][A-Za-z0-9_]*)` +
		`|/replica:(?:\*|[0-9]+)` +
		`|/task:(?:\*|[0-9]+)` +
		`|/device:(?:\*|[A-Za-z][A-Za-z0-9_]*)(?::(?:\*|[0-9]+))?` +
		`|/(?:cpu|CPU|gpu|GPU):(?:\*|[0-9]+)` +
		`)*)$`)
	// Names start with a letter, so every ":digits" is a number field.
	numberField = regexp.MustCompile(`:([0-9]+)`)
)

// maxFuzzLen is the longest input FuzzParse checks.
const maxFuzzLen = 256

// oracleAccepts reports whether the grammar accepts s and all its numbers
// fit in MaxNumber.
func oracleAccepts(s string) bool {
	if !grammar.MatchString(s) {
		return false
	}
	for _, m := range numberField.FindAllStringSubmatch(s, -1) {
		if n, err := strconv.ParseUint(m[1], 10, 64); err != nil || n > MaxNumber {
			return false
		}
	}
	return true
}

func TestParseAgreesWithGrammar(t *testing.T) {
	for _, tt := range parseOK {
		if !oracleAccepts(tt.in) {
			t.Errorf("grammar rejects %q, which Parse accepts", tt.in)
		}
	}
	for _, tt := range parseBad {
		if oracleAccepts(tt.in) {
			t.Errorf("grammar accepts %q, which Parse rejects", tt.in)
		}
	}
}

// FuzzParse, seeded with the test tables and the device names found in
// TensorFlow's test data (testdata/tfnames.txt), checks that Parse never panics, agrees with the grammar, and
// round-trips what it accepts; and that every Policy maps what it accepts to
// a name a local process can place.
func FuzzParse(f *testing.F) {
	for _, tt := range parseOK {
		f.Add(tt.in)
	}
	for _, tt := range parseBad {
		f.Add(tt.in)
	}
	for _, n := range readGoldenNames(f) {
		f.Add(n)
	}
	f.Fuzz(func(t *testing.T, in string) {
		// Real names are under 100 bytes, and Parse is linear (the tables
		// test long numbers and names). Longer inputs are skipped so that
		// the fuzzer does not spend its time minimising 16 KiB strings,
		// which costs a number of runs quadratic in the length.
		if len(in) > maxFuzzLen {
			return
		}
		s, err := Parse(in)
		if ok := oracleAccepts(in); ok != (err == nil) {
			t.Fatalf("Parse(%q) error %v, but the grammar says accepted=%v", in, err, ok)
		}
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Input != in || pe.Offset < 0 || pe.Offset > len(in) {
				t.Fatalf("Parse(%q) returned a bad error %#v", in, err)
			}
		} else {
			checkRoundTrip(t, in)
		}
		local, lerr := ParseFullOrLocal(in)
		if err == nil && (lerr != nil || local != s) {
			t.Fatalf("ParseFullOrLocal(%q) = %v, %v; Parse gave %v", in, local, lerr, s)
		}
		policies := allPolicies
		if lerr != nil {
			policies = policies[:1] // all of them only parse, and fail the same way
		}
		for _, p := range policies {
			out, perr := p.Apply(in)
			switch {
			case lerr != nil:
				if !errors.Is(perr, ErrMalformed) {
					t.Fatalf("%+v.Apply(%q) error %v, want ErrMalformed", p, in, perr)
				}
			case perr != nil:
				if !errors.Is(perr, ErrUnsupported) || p.Other != OtherError {
					t.Fatalf("%+v.Apply(%q): %v", p, in, perr)
				}
			default:
				checkPlaceable(t, p, in, out)
			}
		}
	})
}
