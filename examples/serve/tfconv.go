//go:build tensorflow

package main

import (
	"fmt"
	"reflect"

	tf "github.com/wamuir/graft/tensorflow"
)

// tfTypes maps the JSON dtype names to TensorFlow's.
var tfTypes = map[string]tf.DataType{
	"float32": tf.Float,
	"float64": tf.Double,
	"int8":    tf.Int8,
	"int16":   tf.Int16,
	"int32":   tf.Int32,
	"int64":   tf.Int64,
	"uint8":   tf.Uint8,
	"uint16":  tf.Uint16,
	"uint32":  tf.Uint32,
	"uint64":  tf.Uint64,
	"bool":    tf.Bool,
	"string":  tf.String,
}

// dtypeName is the JSON name of dt, or "DT_<n>" for a type the JSON form
// does not hold (half, bfloat16, complex, resource, variant...).
func dtypeName(dt tf.DataType) string {
	for name, t := range tfTypes {
		if t == dt {
			return name
		}
	}
	return fmt.Sprintf("DT_%d", int(dt))
}

// toTF builds a TensorFlow tensor from t.
func toTF(t *Tensor) (*tf.Tensor, error) {
	var flat any
	switch t.DType {
	case "float32":
		flat = convert[float32](t.Floats)
	case "float64":
		flat = t.Floats
	case "int8":
		flat = convert[int8](t.Ints)
	case "int16":
		flat = convert[int16](t.Ints)
	case "int32":
		flat = convert[int32](t.Ints)
	case "int64":
		flat = t.Ints
	case "uint8":
		flat = convert[uint8](t.Uints)
	case "uint16":
		flat = convert[uint16](t.Uints)
	case "uint32":
		flat = convert[uint32](t.Uints)
	case "uint64":
		flat = t.Uints
	case "bool":
		flat = t.Bools
	case "string":
		flat = t.Strings
	default:
		return nil, fmt.Errorf("%w: unsupported dtype %q", errTensor, t.DType)
	}
	v := reflect.ValueOf(flat)
	if len(t.Shape) == 0 {
		// A scalar: the bindings cannot reshape to rank 0.
		if v.Len() != 1 {
			return nil, fmt.Errorf("%w: scalar with %d values", errTensor, v.Len())
		}
		return tf.NewTensor(v.Index(0).Interface())
	}
	if t.DType == "string" {
		// TensorFlow cannot bitcast (reshape) string tensors: build the
		// nested slices instead.
		return tf.NewTensor(nest(v, t.Shape).Interface())
	}
	tt, err := tf.NewTensor(flat)
	if err != nil {
		return nil, err
	}
	if err := tt.Reshape(append([]int64(nil), t.Shape...)); err != nil {
		return nil, err
	}
	return tt, nil
}

// nest turns the flat slice v into nested slices of the given shape
// (rank >= 1), sharing v's elements.
func nest(v reflect.Value, shape []int64) reflect.Value {
	if len(shape) == 1 {
		return v
	}
	inner := int(1)
	for _, d := range shape[1:] {
		inner *= int(d)
	}
	var elem reflect.Type = v.Type()
	for range shape[2:] {
		elem = reflect.SliceOf(elem)
	}
	out := reflect.MakeSlice(reflect.SliceOf(elem), int(shape[0]), int(shape[0]))
	for i := 0; i < int(shape[0]); i++ {
		out.Index(i).Set(nest(v.Slice(i*inner, (i+1)*inner), shape[1:]))
	}
	return out
}

// number is every element type toTF converts to.
type number interface {
	~float32 | ~float64 | ~int8 | ~int16 | ~int32 | ~int64 | ~uint8 | ~uint16 | ~uint32 | ~uint64
}

func convert[T number, S number](in []S) []T {
	out := make([]T, len(in))
	for i, v := range in {
		out[i] = T(v)
	}
	return out
}

// fromTF reads a TensorFlow tensor into the JSON form.
func fromTF(tt *tf.Tensor) (*Tensor, error) {
	name := dtypeName(tt.DataType())
	if _, ok := tfTypes[name]; !ok {
		return nil, fmt.Errorf("%w: dtype %s cannot be read through the Go bindings", errTensor, name)
	}
	t := &Tensor{DType: name, Shape: append([]int64{}, tt.Shape()...)}
	var leaves []reflect.Value
	flatten(reflect.ValueOf(tt.Value()), &leaves)
	for _, v := range leaves {
		switch v.Kind() {
		case reflect.Float32, reflect.Float64:
			t.Floats = append(t.Floats, v.Float())
		case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			t.Ints = append(t.Ints, v.Int())
		case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			t.Uints = append(t.Uints, v.Uint())
		case reflect.Bool:
			t.Bools = append(t.Bools, v.Bool())
		case reflect.String:
			t.Strings = append(t.Strings, v.String())
		default:
			return nil, fmt.Errorf("%w: element kind %s", errTensor, v.Kind())
		}
	}
	n, err := numElements(t.Shape)
	if err != nil {
		return nil, err
	}
	if int64(t.Len()) != n {
		return nil, fmt.Errorf("%w: shape %v but %d values read", errTensor, t.Shape, t.Len())
	}
	return t, nil
}

// flatten appends the leaves of nested slices in row-major order.
func flatten(v reflect.Value, out *[]reflect.Value) {
	if v.Kind() == reflect.Slice {
		for i := 0; i < v.Len(); i++ {
			flatten(v.Index(i), out)
		}
		return
	}
	*out = append(*out, v)
}
