package device

import "strings"

// Parse parses a full or partial device name exactly as TensorFlow's C++
// DeviceNameUtils::ParseFullName does, which is the parser the placer
// applies to NodeDef.device. See the package documentation for the grammar,
// what is normalised, and the one place Parse is stricter than TensorFlow
// (numbers above [MaxNumber]). The error is a *[ParseError].
func Parse(s string) (Spec, error) {
	if s == "/" {
		return Spec{}, nil
	}
	p := parser{in: s}
	for p.pos < len(s) && p.err == nil {
		p.component()
	}
	if p.err != nil {
		return Spec{}, p.err
	}
	return p.spec, nil
}

// MustParse is like [Parse] but panics if s is not a device name. It is
// intended for tests and package-level variables with constant names.
func MustParse(s string) Spec {
	sp, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return sp
}

// ParseLocal parses a local device name of the form <TYPE>:<id>, such as
// "CPU:0" or "GPU:1", with no leading '/' and no wildcard, as TensorFlow's
// DeviceNameUtils::ParseLocalName does. The type keeps its case ("gpu:0"
// has type "gpu"). The placer does not accept local names in NodeDef.device
// (it reports "Malformed device specification"); TensorFlow uses them for
// device lookups and in CanonicalizeDeviceName. The error is a *[ParseError].
func ParseLocal(s string) (Spec, error) {
	p := parser{in: s}
	if !p.name("device type", ":/") {
		return Spec{}, p.err
	}
	p.spec.Type, p.spec.HasType = p.tok, true
	if !p.expect(":") {
		return Spec{}, p.fail("expected ':' and a device id after the device type")
	}
	id, ok := p.number()
	if !ok {
		return Spec{}, p.err
	}
	if p.pos < len(s) {
		return Spec{}, p.fail("unexpected text after the device id")
	}
	p.spec.ID, p.spec.HasID = id, true
	return p.spec, nil
}

// ParseFullOrLocal parses s with [Parse] and, if that fails, with
// [ParseLocal] (TensorFlow's DeviceNameUtils::ParseFullOrLocalName). The
// two forms never overlap: a full name is empty or starts with '/', a local
// name starts with a letter. The error is the *[ParseError] from Parse.
func ParseFullOrLocal(s string) (Spec, error) {
	sp, err := Parse(s)
	if err == nil {
		return sp, nil
	}
	if l, lerr := ParseLocal(s); lerr == nil {
		return l, nil
	}
	return Spec{}, err
}

// parser is the state of one parse: the input, the position reached, the
// Spec built so far and the first error.
type parser struct {
	in   string
	pos  int
	spec Spec
	tok  string // the last name consumed by name
	err  *ParseError
}

func (p *parser) fail(reason string) *ParseError {
	if p.err == nil {
		p.err = &ParseError{Input: p.in, Offset: p.pos, Reason: reason}
	}
	return p.err
}

// expect consumes prefix if the input continues with it.
func (p *parser) expect(prefix string) bool {
	if strings.HasPrefix(p.in[p.pos:], prefix) {
		p.pos += len(prefix)
		return true
	}
	return false
}

// component consumes one /job:, /replica:, /task:, /device: or legacy
// /cpu: /CPU: /gpu: /GPU: component. TensorFlow tries these prefixes in a
// fixed order in a loop; since no two of them can match at the same place,
// matching whichever one is present is the same language. A later component
// overrides an earlier one of the same field.
func (p *parser) component() {
	sp := &p.spec
	switch {
	case p.expect("/job:"):
		sp.Job, sp.HasJob = "", false
		if !p.expect("*") && p.name("job name", "/") {
			sp.Job, sp.HasJob = p.tok, true
		}
	case p.expect("/replica:"):
		sp.Replica, sp.HasReplica = p.optNumber()
	case p.expect("/task:"):
		sp.Task, sp.HasTask = p.optNumber()
	case p.expect("/device:"):
		sp.Type, sp.HasType = "", false
		if !p.expect("*") && p.name("device type", "/:") {
			sp.Type, sp.HasType = p.tok, true
		}
		sp.ID, sp.HasID = 0, false
		if p.err == nil && p.expect(":") {
			sp.ID, sp.HasID = p.optNumber()
		}
	case p.expect("/cpu:"), p.expect("/CPU:"):
		sp.Type, sp.HasType = TypeCPU, true
		sp.ID, sp.HasID = p.optNumber()
	case p.expect("/gpu:"), p.expect("/GPU:"):
		sp.Type, sp.HasType = TypeGPU, true
		sp.ID, sp.HasID = p.optNumber()
	default:
		p.unknown()
	}
}

// unknown fails with the most useful reason for text that starts no
// component.
func (p *parser) unknown() {
	rest := p.in[p.pos:]
	switch {
	case p.pos == 0 && !strings.HasPrefix(rest, "/"):
		p.fail("a device name must be empty or start with '/' (a local name such as CPU:0 parses with ParseLocal)")
	case rest == "/":
		p.fail("trailing '/'")
	case strings.HasPrefix(rest, "/"):
		p.fail("unknown component: want /job:, /replica:, /task:, /device:, /cpu:, /CPU:, /gpu: or /GPU:")
	default:
		p.fail("unexpected text: want '/' and the next component, or the end")
	}
}

// optNumber consumes '*' (unset) or a decimal number (set).
func (p *parser) optNumber() (int, bool) {
	if p.expect("*") {
		return 0, false
	}
	n, ok := p.number()
	return n, ok
}

// number consumes a decimal number of at most MaxNumber. TensorFlow reads
// the digits into a uint64 (failing only on uint64 overflow) and then stores
// them in an int, so larger numbers silently wrap there; Parse rejects them.
func (p *parser) number() (int, bool) {
	start := p.pos
	n := 0
	for p.pos < len(p.in) && isDigit(p.in[p.pos]) {
		if n <= MaxNumber {
			n = n*10 + int(p.in[p.pos]-'0')
		}
		p.pos++
	}
	switch {
	case p.pos == start:
		p.fail("expected a decimal number or '*'")
		return 0, false
	case n > MaxNumber:
		p.pos = start
		p.fail("number out of range: TensorFlow stores it in a C++ int and would truncate it")
		return 0, false
	}
	return n, true
}

// name consumes a job name or device type: an ASCII letter, then letters,
// digits or '_', up to the first byte in stop or the end. The name is left
// in p.tok.
func (p *parser) name(what, stop string) bool {
	if p.pos >= len(p.in) || !isAlpha(p.in[p.pos]) {
		p.fail(what + " must start with an ASCII letter")
		return false
	}
	start := p.pos
	for p.pos < len(p.in) && strings.IndexByte(stop, p.in[p.pos]) < 0 {
		if !isNameChar(p.in[p.pos]) {
			p.fail(what + " may hold only ASCII letters, digits and '_'")
			return false
		}
		p.pos++
	}
	p.tok = p.in[start:p.pos]
	return true
}
