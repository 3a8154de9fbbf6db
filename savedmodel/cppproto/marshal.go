package cppproto

import (
	"cmp"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Marshal serializes m the way TensorFlow's C++ code does with
// SetSerializationDeterministic(true): fields in ascending field-number
// order (oneof members included, unlike protobuf-go, which writes oneof
// fields last), map entries sorted by key with both key and value always
// written, packed encoding for packed repeated scalars, and unknown fields
// appended after the known ones.
//
// For a message parsed from a file written through C++ protobuf with
// deterministic serialization, the result is byte-identical to that file.
// (Python's upb runtime, which TF 2.18's tf.saved_model.save uses, orders
// fields differently; TensorFlow's fingerprint still hashes the C++ order,
// which is this one.) Unmarshalling the result with proto.Unmarshal gives a
// message proto.Equal to m.
func Marshal(m proto.Message) []byte {
	if m == nil {
		return nil
	}
	return AppendMarshal(nil, m)
}

// AppendMarshal appends the encoding of m described at Marshal to b.
func AppendMarshal(b []byte, m proto.Message) []byte {
	return appendMessage(b, m.ProtoReflect())
}

// fastPath enables protobuf-go's encoder for order-safe types; tests turn
// it off to check the reflective encoder against it.
var fastPath = true

var goDeterministic = proto.MarshalOptions{Deterministic: true, AllowPartial: true}

var goSafeCache sync.Map // protoreflect.MessageDescriptor -> bool

// goOrderSafe reports whether protobuf-go's deterministic encoding of any
// message of type md is the C++ order: true when, for md and every message
// type reachable from it, protobuf-go's field order (oneof members last)
// equals field-number order. Both runtimes sort map keys the same way,
// write map keys and values unconditionally, pack the same fields and put
// unknown fields last.
func goOrderSafe(md protoreflect.MessageDescriptor) bool {
	if v, ok := goSafeCache.Load(md); ok {
		return v.(bool)
	}
	seen := map[protoreflect.FullName]bool{}
	safe := true
	var visit func(protoreflect.MessageDescriptor)
	visit = func(d protoreflect.MessageDescriptor) {
		if !safe || seen[d.FullName()] {
			return
		}
		seen[d.FullName()] = true
		if !ownOrderSafe(d) {
			safe = false
			return
		}
		fds := d.Fields()
		for i := 0; i < fds.Len(); i++ {
			if sub := fds.Get(i).Message(); sub != nil {
				visit(sub)
			}
		}
	}
	visit(md)
	goSafeCache.Store(md, safe)
	return safe
}

// ownOrderSafe reports whether no field of md that protobuf-go writes after
// the oneof members has a higher number than one of them, and md has no
// groups or extension ranges (which this check does not model).
func ownOrderSafe(md protoreflect.MessageDescriptor) bool {
	if md.ExtensionRanges().Len() > 0 {
		return false
	}
	fds := md.Fields()
	var maxPlain protoreflect.FieldNumber
	minOneof := protoreflect.FieldNumber(1 << 30)
	var lastOneof protoreflect.OneofDescriptor
	for i := 0; i < fds.Len(); i++ {
		fd := fds.Get(i)
		if fd.Kind() == protoreflect.GroupKind {
			return false
		}
		od := fd.ContainingOneof()
		if od == nil || od.IsSynthetic() {
			maxPlain = max(maxPlain, fd.Number())
			continue
		}
		// Distinct oneofs are ordered by declaration, not number; allow one.
		if lastOneof != nil && lastOneof != od {
			return false
		}
		lastOneof = od
		minOneof = min(minOneof, fd.Number())
	}
	return maxPlain < minOneof
}

var sortedFieldsCache sync.Map // protoreflect.MessageDescriptor -> []protoreflect.FieldDescriptor

// sortedFields returns the fields of md in field-number order.
func sortedFields(md protoreflect.MessageDescriptor) []protoreflect.FieldDescriptor {
	if v, ok := sortedFieldsCache.Load(md); ok {
		return v.([]protoreflect.FieldDescriptor)
	}
	fds := md.Fields()
	out := make([]protoreflect.FieldDescriptor, fds.Len())
	for i := range out {
		out[i] = fds.Get(i)
	}
	slices.SortFunc(out, func(a, b protoreflect.FieldDescriptor) int { return cmp.Compare(a.Number(), b.Number()) })
	sortedFieldsCache.Store(md, out)
	return out
}

func appendMessage(b []byte, m protoreflect.Message) []byte {
	if !m.IsValid() {
		return b
	}
	if fastPath && goOrderSafe(m.Descriptor()) && !hasLongList(m) {
		// protobuf-go's deterministic output is identical here, and much faster.
		out, err := goDeterministic.MarshalAppend(b, m.Interface())
		if err == nil {
			return out
		}
	}
	for _, fd := range sortedFields(m.Descriptor()) {
		switch {
		case fd.IsList():
			if !m.Has(fd) {
				continue
			}
			b = appendList(b, fd, m.Get(fd).List())
		case fd.IsMap():
			if !m.Has(fd) {
				continue
			}
			b = appendMap(b, fd, m.Get(fd).Map())
		default:
			if !m.Has(fd) {
				continue
			}
			b = appendField(b, fd, m.Get(fd))
		}
	}
	return append(b, m.GetUnknown()...)
}

func appendList(b []byte, fd protoreflect.FieldDescriptor, l protoreflect.List) []byte {
	if fd.IsPacked() {
		b = protowire.AppendTag(b, fd.Number(), protowire.BytesType)
		return appendDelimited(b, func(b []byte) []byte {
			for i := 0; i < l.Len(); i++ {
				b = appendScalar(b, fd, l.Get(i))
			}
			return b
		})
	}
	if fd.Kind() == protoreflect.MessageKind && l.Len() >= parallelListLen {
		return appendListParallel(b, fd, l)
	}
	for i := 0; i < l.Len(); i++ {
		b = appendField(b, fd, l.Get(i))
	}
	return b
}

// hasLongList reports whether m has a repeated message field of at least
// parallelListLen elements and there are several CPUs: appendMessage then
// encodes m field by field (for an order-safe type that is protobuf-go's
// order too), so that appendList can spread the long field over the CPUs,
// each element still taking the fast path.
func hasLongList(m protoreflect.Message) bool {
	for _, fd := range sortedFields(m.Descriptor()) {
		if fd.IsList() && fd.Kind() == protoreflect.MessageKind && m.Has(fd) && m.Get(fd).List().Len() >= parallelListLen {
			// Asked only now: GOMAXPROCS takes the scheduler's lock, and
			// this runs for every message encoded.
			return runtime.GOMAXPROCS(0) > 1
		}
	}
	return false
}

// parallelListLen is the length from which a repeated message field (the
// nodes of a big graph, the functions of its library) is encoded on one
// goroutine per CPU.
const parallelListLen = 2048

// appendListParallel appends the elements of l (a repeated message field)
// as appendList does: runs of consecutive elements are encoded into their
// own buffers concurrently (encoding only reads the messages), then
// appended in order, so the bytes are the same.
func appendListParallel(b []byte, fd protoreflect.FieldDescriptor, l protoreflect.List) []byte {
	workers := min(runtime.GOMAXPROCS(0), 8)
	if workers < 2 {
		for i := 0; i < l.Len(); i++ {
			b = appendField(b, fd, l.Get(i))
		}
		return b
	}
	// More runs than workers, taken in turn, so that one run of big
	// messages does not leave the other workers idle.
	runs := workers * 4
	out := make([][]byte, runs)
	var next atomic.Int32
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				r := int(next.Add(1)) - 1
				if r >= runs {
					return
				}
				var buf []byte
				for i := r * l.Len() / runs; i < (r+1)*l.Len()/runs; i++ {
					buf = appendField(buf, fd, l.Get(i))
				}
				out[r] = buf
			}
		}()
	}
	wg.Wait()
	for _, buf := range out {
		b = append(b, buf...)
	}
	return b
}

func appendMap(b []byte, fd protoreflect.FieldDescriptor, mp protoreflect.Map) []byte {
	keys := make([]protoreflect.MapKey, 0, mp.Len())
	mp.Range(func(k protoreflect.MapKey, _ protoreflect.Value) bool {
		keys = append(keys, k)
		return true
	})
	slices.SortFunc(keys, compareMapKeys)
	kd, vd := fd.MapKey(), fd.MapValue()
	for _, k := range keys {
		v := mp.Get(k)
		b = protowire.AppendTag(b, fd.Number(), protowire.BytesType)
		b = appendDelimited(b, func(b []byte) []byte {
			b = appendField(b, kd, k.Value())
			return appendField(b, vd, v)
		})
	}
	return b
}

func compareMapKeys(a, b protoreflect.MapKey) int {
	switch x := a.Interface().(type) {
	case string:
		return strings.Compare(x, b.String())
	case bool:
		if x == b.Bool() {
			return 0
		}
		if !x {
			return -1
		}
		return 1
	case int32, int64:
		return cmp.Compare(a.Int(), b.Int())
	default:
		return cmp.Compare(a.Uint(), b.Uint())
	}
}

// appendField appends one tagged, non-repeated value.
func appendField(b []byte, fd protoreflect.FieldDescriptor, v protoreflect.Value) []byte {
	switch fd.Kind() {
	case protoreflect.MessageKind:
		b = protowire.AppendTag(b, fd.Number(), protowire.BytesType)
		return appendDelimited(b, func(b []byte) []byte { return appendMessage(b, v.Message()) })
	case protoreflect.GroupKind:
		b = protowire.AppendTag(b, fd.Number(), protowire.StartGroupType)
		b = appendMessage(b, v.Message())
		return protowire.AppendTag(b, fd.Number(), protowire.EndGroupType)
	}
	b = protowire.AppendTag(b, fd.Number(), wireType(fd.Kind()))
	return appendScalar(b, fd, v)
}

func wireType(k protoreflect.Kind) protowire.Type {
	switch k {
	case protoreflect.Fixed32Kind, protoreflect.Sfixed32Kind, protoreflect.FloatKind:
		return protowire.Fixed32Type
	case protoreflect.Fixed64Kind, protoreflect.Sfixed64Kind, protoreflect.DoubleKind:
		return protowire.Fixed64Type
	case protoreflect.StringKind, protoreflect.BytesKind, protoreflect.MessageKind:
		return protowire.BytesType
	case protoreflect.GroupKind:
		return protowire.StartGroupType
	}
	return protowire.VarintType
}

// appendScalar appends an untagged scalar value.
func appendScalar(b []byte, fd protoreflect.FieldDescriptor, v protoreflect.Value) []byte {
	switch fd.Kind() {
	case protoreflect.BoolKind:
		return protowire.AppendVarint(b, protowire.EncodeBool(v.Bool()))
	case protoreflect.EnumKind:
		return protowire.AppendVarint(b, uint64(int64(v.Enum())))
	case protoreflect.Int32Kind, protoreflect.Int64Kind:
		return protowire.AppendVarint(b, uint64(v.Int()))
	case protoreflect.Uint32Kind, protoreflect.Uint64Kind:
		return protowire.AppendVarint(b, v.Uint())
	case protoreflect.Sint32Kind, protoreflect.Sint64Kind:
		return protowire.AppendVarint(b, protowire.EncodeZigZag(v.Int()))
	case protoreflect.Fixed32Kind:
		return protowire.AppendFixed32(b, uint32(v.Uint()))
	case protoreflect.Sfixed32Kind:
		return protowire.AppendFixed32(b, uint32(v.Int()))
	case protoreflect.FloatKind:
		return protowire.AppendFixed32(b, math.Float32bits(float32(v.Float())))
	case protoreflect.Fixed64Kind:
		return protowire.AppendFixed64(b, v.Uint())
	case protoreflect.Sfixed64Kind:
		return protowire.AppendFixed64(b, uint64(v.Int()))
	case protoreflect.DoubleKind:
		return protowire.AppendFixed64(b, math.Float64bits(v.Float()))
	case protoreflect.StringKind:
		return protowire.AppendString(b, v.String())
	case protoreflect.BytesKind:
		return protowire.AppendBytes(b, v.Bytes())
	}
	return b
}

// appendDelimited appends the length-prefixed output of fn. It writes fn's
// output in place after a one-byte length guess and moves it only when the
// length needs more than one varint byte.
func appendDelimited(b []byte, fn func([]byte) []byte) []byte {
	start := len(b)
	b = append(b, 0)
	b = fn(b)
	n := len(b) - start - 1
	k := protowire.SizeVarint(uint64(n))
	if k == 1 {
		b[start] = byte(n)
		return b
	}
	b = append(b, make([]byte, k-1)...)
	copy(b[start+k:], b[start+1:start+1+n])
	protowire.AppendVarint(b[start:start], uint64(n))
	return b
}
