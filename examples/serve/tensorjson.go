package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"unsafe"
)

// kind is how a dtype's values are held in JSON and in a Tensor.
type kind int

const (
	kindFloat kind = iota
	kindInt
	kindUint
	kindBool
	kindString
)

// dtypeInfo describes one dtype name of the JSON form.
type dtypeInfo struct {
	kind kind
	bits int // element width for numbers; 0 for bool and string
}

// dtypes lists the dtype names (numpy's) the JSON form accepts. float16 and
// bfloat16 are absent: the Go bindings can neither build nor read them.
var dtypes = map[string]dtypeInfo{
	"float32": {kindFloat, 32},
	"float64": {kindFloat, 64},
	"int8":    {kindInt, 8},
	"int16":   {kindInt, 16},
	"int32":   {kindInt, 32},
	"int64":   {kindInt, 64},
	"uint8":   {kindUint, 8},
	"uint16":  {kindUint, 16},
	"uint32":  {kindUint, 32},
	"uint64":  {kindUint, 64},
	"bool":    {kindBool, 0},
	"string":  {kindString, 0},
}

// errTensor is wrapped by every error about a malformed JSON tensor.
var errTensor = errors.New("serve: bad tensor")

// Tensor is one tensor in the JSON form of the fixture manifest:
// {"dtype": "float32", "shape": [2, 3], "values": [...]}. Exactly the value
// slice that matches the dtype's kind is set; its length is the product of
// Shape.
type Tensor struct {
	DType   string
	Shape   []int64
	Floats  []float64
	Ints    []int64
	Uints   []uint64
	Bools   []bool
	Strings []string
}

// wireTensor is the JSON layout of a Tensor.
type wireTensor struct {
	DType  string          `json:"dtype"`
	Shape  []int64         `json:"shape"`
	Values json.RawMessage `json:"values"`
}

// Len is the number of elements held.
func (t *Tensor) Len() int {
	switch dtypes[t.DType].kind {
	case kindFloat:
		return len(t.Floats)
	case kindInt:
		return len(t.Ints)
	case kindUint:
		return len(t.Uints)
	case kindBool:
		return len(t.Bools)
	default:
		return len(t.Strings)
	}
}

// numElements is the product of shape, or an error if a dimension is
// negative or the product overflows.
func numElements(shape []int64) (int64, error) {
	n := int64(1)
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("%w: negative dimension in shape %v", errTensor, shape)
		}
		if d != 0 && n > math.MaxInt64/d {
			return 0, fmt.Errorf("%w: shape %v has too many elements", errTensor, shape)
		}
		n *= d
	}
	return n, nil
}

// UnmarshalJSON reads the JSON form and checks dtype, value ranges and that
// the number of values matches the shape. float32 values are rounded to
// float32, the value TensorFlow will be fed.
func (t *Tensor) UnmarshalJSON(b []byte) error {
	var w wireTensor
	if err := json.Unmarshal(b, &w); err != nil {
		return fmt.Errorf("%w: %w", errTensor, err)
	}
	info, ok := dtypes[w.DType]
	if !ok {
		return fmt.Errorf("%w: unsupported dtype %q", errTensor, w.DType)
	}
	n, err := numElements(w.Shape)
	if err != nil {
		return err
	}
	out := Tensor{DType: w.DType, Shape: w.Shape}
	if out.Shape == nil {
		out.Shape = []int64{}
	}
	if len(bytes.TrimSpace(w.Values)) == 0 {
		return fmt.Errorf("%w: dtype %s: no \"values\"", errTensor, w.DType)
	}
	switch info.kind {
	case kindFloat:
		out.Floats, err = decodeFloats(w.Values, info.bits)
	case kindInt:
		out.Ints, err = decodeInts(w.Values, info.bits)
	case kindUint:
		out.Uints, err = decodeUints(w.Values, info.bits)
	case kindBool:
		err = json.Unmarshal(w.Values, &out.Bools)
	case kindString:
		err = json.Unmarshal(w.Values, &out.Strings)
	}
	if err != nil {
		return fmt.Errorf("%w: dtype %s: %w", errTensor, w.DType, err)
	}
	if int64(out.Len()) != n {
		return fmt.Errorf("%w: shape %v needs %d values, got %d", errTensor, w.Shape, n, out.Len())
	}
	*t = out
	return nil
}

// specialFloats are the strings that stand for floats JSON cannot hold.
var specialFloats = map[string]float64{
	"NaN":       math.NaN(),
	"Infinity":  math.Inf(1),
	"-Infinity": math.Inf(-1),
}

// scanArray calls each with every element of the JSON array raw, as raw
// bytes (a number, a string with its quotes, or a literal). Nested arrays
// and objects are refused. It avoids encoding/json's per-element
// allocations: tensors hold millions of values. raw has already been
// checked to be valid JSON by encoding/json.
func scanArray(raw []byte, each func(i int, item []byte) error) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) < 2 || raw[0] != '[' || raw[len(raw)-1] != ']' {
		return errors.New("values is not an array")
	}
	body := raw[1 : len(raw)-1]
	i, n := 0, 0
	for {
		for i < len(body) && isSpace(body[i]) {
			i++
		}
		if i == len(body) {
			if n > 0 {
				return errors.New("trailing comma in values")
			}
			return nil
		}
		start := i
		switch body[i] {
		case '[', '{':
			return fmt.Errorf("value %d: nested arrays and objects are not tensor values", n)
		case '"':
			for i++; i < len(body) && body[i] != '"'; i++ {
				if body[i] == '\\' {
					i++
				}
			}
			i++ // closing quote
		default:
			for i < len(body) && body[i] != ',' && !isSpace(body[i]) {
				i++
			}
		}
		if i > len(body) {
			return fmt.Errorf("value %d: unterminated string", n)
		}
		if err := each(n, body[start:i]); err != nil {
			return fmt.Errorf("value %d: %w", n, err)
		}
		n++
		for i < len(body) && isSpace(body[i]) {
			i++
		}
		if i == len(body) {
			return nil
		}
		if body[i] != ',' {
			return fmt.Errorf("value %d: expected ','", n)
		}
		i++
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// numberText is item as a string without copying, if it is a plain JSON
// number (digits, sign, point, exponent); strconv alone would also accept
// "Inf", "NaN", hex and underscores.
func numberText(item []byte) (string, error) {
	if len(item) == 0 {
		return "", errors.New("empty value")
	}
	for _, c := range item {
		if !(c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E') {
			return "", fmt.Errorf("%q is not a number", item)
		}
	}
	return unsafe.String(&item[0], len(item)), nil
}

func decodeFloats(raw json.RawMessage, bits int) ([]float64, error) {
	var out []float64
	err := scanArray(raw, func(i int, item []byte) error {
		if item[0] == '"' {
			var s string
			if err := json.Unmarshal(item, &s); err != nil {
				return err
			}
			v, ok := specialFloats[s]
			if !ok {
				return fmt.Errorf("%q is not a number, \"NaN\", \"Infinity\" or \"-Infinity\"", s)
			}
			out = append(out, v)
			return nil
		}
		text, err := numberText(item)
		if err != nil {
			return err
		}
		v, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return err
		}
		if bits == 32 {
			if math.Abs(v) > math.MaxFloat32 {
				return fmt.Errorf("%v overflows float32", v)
			}
			v = float64(float32(v)) // the value TensorFlow will see
		}
		out = append(out, v)
		return nil
	})
	return out, err
}

// decodeIntegers reads a JSON array of integers with parse, which checks
// the dtype's range.
func decodeIntegers[T int64 | uint64](raw json.RawMessage, parse func(string) (T, error)) ([]T, error) {
	var out []T
	err := scanArray(raw, func(i int, item []byte) error {
		text, err := numberText(item)
		if err != nil {
			return err
		}
		v, err := parse(text)
		if err != nil {
			return err
		}
		out = append(out, v)
		return nil
	})
	return out, err
}

func decodeInts(raw json.RawMessage, bits int) ([]int64, error) {
	return decodeIntegers(raw, func(s string) (int64, error) { return strconv.ParseInt(s, 10, bits) })
}

func decodeUints(raw json.RawMessage, bits int) ([]uint64, error) {
	return decodeIntegers(raw, func(s string) (uint64, error) { return strconv.ParseUint(s, 10, bits) })
}

// MarshalJSON writes the JSON form. Floats are written in the shortest form
// that reads back to the same value at the dtype's width; NaN and infinities
// as strings.
func (t *Tensor) MarshalJSON() ([]byte, error) {
	info, ok := dtypes[t.DType]
	if !ok {
		return nil, fmt.Errorf("%w: unsupported dtype %q", errTensor, t.DType)
	}
	var b bytes.Buffer
	b.WriteString(`{"dtype":`)
	b.WriteString(strconv.Quote(t.DType))
	b.WriteString(`,"shape":[`)
	for i, d := range t.Shape {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(d, 10))
	}
	b.WriteString(`],"values":[`)
	n := t.Len()
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		switch info.kind {
		case kindFloat:
			appendFloat(&b, t.Floats[i], info.bits)
		case kindInt:
			b.WriteString(strconv.FormatInt(t.Ints[i], 10))
		case kindUint:
			b.WriteString(strconv.FormatUint(t.Uints[i], 10))
		case kindBool:
			b.WriteString(strconv.FormatBool(t.Bools[i]))
		case kindString:
			s, err := json.Marshal(t.Strings[i])
			if err != nil {
				return nil, err
			}
			b.Write(s)
		}
	}
	b.WriteString("]}")
	return b.Bytes(), nil
}

func appendFloat(b *bytes.Buffer, v float64, bits int) {
	switch {
	case math.IsNaN(v):
		b.WriteString(`"NaN"`)
	case math.IsInf(v, 1):
		b.WriteString(`"Infinity"`)
	case math.IsInf(v, -1):
		b.WriteString(`"-Infinity"`)
	default:
		b.WriteString(strconv.FormatFloat(v, 'g', -1, bits))
	}
}

// Mismatch is returned by Compare when two tensors differ.
type Mismatch struct {
	Reason string
}

func (m *Mismatch) Error() string { return "serve: outputs differ: " + m.Reason }

// Compare reports whether got equals want: same dtype and shape, integers,
// bools and strings exactly equal, and floats within tol as numpy's
// allclose(got, want, rtol=tol, atol=tol) judges them (|got-want| <=
// tol + tol*|want|; NaN equals NaN, infinities must match). The error is a
// *Mismatch naming the first differing element and how many differ.
func Compare(got, want *Tensor, tol float64) error {
	if got.DType != want.DType {
		return &Mismatch{fmt.Sprintf("dtype %s, want %s", got.DType, want.DType)}
	}
	if !equalShape(got.Shape, want.Shape) {
		return &Mismatch{fmt.Sprintf("shape %v, want %v", got.Shape, want.Shape)}
	}
	if got.Len() != want.Len() {
		return &Mismatch{fmt.Sprintf("%d values, want %d", got.Len(), want.Len())}
	}
	first, count := -1, 0
	for i := 0; i < got.Len(); i++ {
		if !elementEqual(got, want, i, tol) {
			if first < 0 {
				first = i
			}
			count++
		}
	}
	if count == 0 {
		return nil
	}
	return &Mismatch{fmt.Sprintf("%d of %d values differ; first at flat index %d: got %s, want %s (tolerance %g)",
		count, got.Len(), first, elementString(got, first), elementString(want, first), tol)}
}

func equalShape(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func elementEqual(got, want *Tensor, i int, tol float64) bool {
	switch dtypes[got.DType].kind {
	case kindFloat:
		g, w := got.Floats[i], want.Floats[i]
		if math.IsNaN(g) || math.IsNaN(w) {
			return math.IsNaN(g) && math.IsNaN(w)
		}
		if math.IsInf(g, 0) || math.IsInf(w, 0) {
			return g == w
		}
		return math.Abs(g-w) <= tol+tol*math.Abs(w)
	case kindInt:
		return got.Ints[i] == want.Ints[i]
	case kindUint:
		return got.Uints[i] == want.Uints[i]
	case kindBool:
		return got.Bools[i] == want.Bools[i]
	default:
		return got.Strings[i] == want.Strings[i]
	}
}

func elementString(t *Tensor, i int) string {
	switch dtypes[t.DType].kind {
	case kindFloat:
		return strconv.FormatFloat(t.Floats[i], 'g', -1, 64)
	case kindInt:
		return strconv.FormatInt(t.Ints[i], 10)
	case kindUint:
		return strconv.FormatUint(t.Uints[i], 10)
	case kindBool:
		return strconv.FormatBool(t.Bools[i])
	default:
		return strconv.Quote(t.Strings[i])
	}
}
