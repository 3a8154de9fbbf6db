package bundle

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	tsp "github.com/wamuir/graft/tensorflow/core/framework/tensor_shape_go_proto"
	tslp "github.com/wamuir/graft/tensorflow/core/framework/tensor_slice_go_proto"
	"github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
	tfpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
)

// SliceString writes a slice in TensorFlow's slice notation
// (TensorSlice::DebugString): one extent per dimension, separated by ":",
// each "-" for a full extent or "start,length".
func SliceString(s *tslp.TensorSliceProto) string {
	parts := make([]string, len(s.GetExtent()))
	for i, e := range s.GetExtent() {
		parts[i] = extentString(e)
	}
	return strings.Join(parts, ":")
}

// box is a slice as half-open bounds per dimension.
type box struct {
	lo, hi []int64
	slice  *tslp.TensorSliceProto
}

func (b box) volume() int64 {
	v := int64(1)
	for d := range b.lo {
		v *= b.hi[d] - b.lo[d]
	}
	return v
}

func (b box) overlaps(o box) bool {
	for d := range b.lo {
		if b.lo[d] >= o.hi[d] || o.lo[d] >= b.hi[d] {
			return false
		}
	}
	return true
}

// wholeSlice reports whether a sliced entry lists exactly one slice and it
// is full (every extent full). TensorFlow's GetSliceValue then reads the
// full-tensor entry's own data fields, as for an unsliced entry.
func wholeSlice(e *tfpb.BundleEntryProto) bool {
	if len(e.GetSlices()) != 1 {
		return false
	}
	for _, x := range e.GetSlices()[0].GetExtent() {
		if _, _, full := extentOf(x); !full {
			return false
		}
	}
	return true
}

// checkSliced checks a sliced full-tensor entry (whose slices metaProblem
// found within its shape) against its slice entries, with TensorFlow's
// rules for reading it whole (BundleReader::GetSliceValue with the full
// slice): every slice has an entry under SliceKey, which is an ordinary
// entry of the same dtype whose shape is the slice's shape (TensorFlow
// would copy wrong bytes otherwise); no two slices overlap
// (TensorSliceSet::Register, "Overlapping slices"); and the slices cover the
// tensor (TensorSliceSet::QueryMeta, "Does not have sufficient slices").
func (r *Reader) checkSliced(key string, e *tfpb.BundleEntryProto) error {
	bad := func(format string, args ...any) error {
		return &CorruptError{File: r.IndexFile(), Key: key, Offset: -1, Reason: fmt.Sprintf(format, args...)}
	}
	dims := make([]int64, len(e.GetShape().GetDim()))
	for d, x := range e.GetShape().GetDim() {
		dims[d] = x.GetSize()
	}
	boxes := make([]box, 0, len(e.GetSlices()))
	for _, s := range e.GetSlices() {
		b := box{lo: make([]int64, len(dims)), hi: slices.Clone(dims), slice: s}
		for d, x := range s.GetExtent() {
			if st, l, full := extentOf(x); !full {
				b.lo[d], b.hi[d] = st, st+l
			}
		}
		sk := SliceKey(key, s)
		se, ok := r.entries[sk]
		switch {
		case !ok:
			return bad("slice [%s] has no entry %s", SliceString(s), DisplayKey(sk))
		case len(se.GetSlices()) > 0:
			return bad("the entry of slice [%s] is itself sliced", SliceString(s))
		case se.GetDtype() != e.GetDtype():
			return bad("slice [%s] is stored as %v, the tensor is %v", SliceString(s), se.GetDtype(), e.GetDtype())
		}
		got := se.GetShape().GetDim()
		same := len(got) == len(dims)
		for d := 0; same && d < len(dims); d++ {
			same = got[d].GetSize() == b.hi[d]-b.lo[d]
		}
		if !same {
			return bad("slice [%s] is stored with shape %v, not the slice's shape", SliceString(s), shapeString(se))
		}
		boxes = append(boxes, b)
	}
	if a, b, ok := overlapping(boxes); ok {
		return bad("slices [%s] and [%s] overlap", SliceString(a.slice), SliceString(b.slice))
	}
	total, _ := NumElements(e.GetShape()) // checked by metaProblem
	var covered int64                     // at most total: the boxes lie in the shape and are disjoint
	for _, b := range boxes {
		covered += b.volume()
	}
	if covered != total {
		return bad("%d slices cover %d of the tensor's %d elements (a gap)", len(boxes), covered, total)
	}
	return nil
}

// overlapping returns two boxes that share an element, if any. It sweeps
// along the dimension with the most distinct starts, so that a tiling along
// any axis (or a grid) compares each box with few others.
func overlapping(boxes []box) (box, box, bool) {
	var nonEmpty []box
	for _, b := range boxes {
		if b.volume() > 0 {
			nonEmpty = append(nonEmpty, b)
		}
	}
	if len(nonEmpty) < 2 {
		return box{}, box{}, false
	}
	axis, most := 0, 0
	for d := range nonEmpty[0].lo {
		starts := map[int64]bool{}
		for _, b := range nonEmpty {
			starts[b.lo[d]] = true
		}
		if len(starts) > most {
			axis, most = d, len(starts)
		}
	}
	slices.SortFunc(nonEmpty, func(a, b box) int { return cmp.Compare(a.lo[axis], b.lo[axis]) })
	var active []box
	for _, b := range nonEmpty {
		active = slices.DeleteFunc(active, func(o box) bool { return o.hi[axis] <= b.lo[axis] })
		for _, o := range active {
			if o.overlaps(b) {
				return o, b, true
			}
		}
		active = append(active, b)
	}
	return box{}, box{}, false
}

func shapeString(e *tfpb.BundleEntryProto) string {
	dims := make([]int64, len(e.GetShape().GetDim()))
	for d, x := range e.GetShape().GetDim() {
		dims[d] = x.GetSize()
	}
	return fmt.Sprint(dims)
}

// sliceCopyable is TensorFlow's list of dtypes whose slices
// BundleReader::GetSliceValue copies into a tensor (its HANDLE_COPY cases in
// tensor_bundle.cc); for any other dtype it fails with "Dtype ... not
// supported" unless the read slice is exactly one stored slice.
var sliceCopyable = map[types_go_proto.DataType]bool{
	types_go_proto.DataType_DT_FLOAT: true, types_go_proto.DataType_DT_DOUBLE: true,
	types_go_proto.DataType_DT_INT32: true, types_go_proto.DataType_DT_UINT8: true,
	types_go_proto.DataType_DT_INT16: true, types_go_proto.DataType_DT_INT8: true,
	types_go_proto.DataType_DT_COMPLEX64: true, types_go_proto.DataType_DT_COMPLEX128: true,
	types_go_proto.DataType_DT_INT64: true, types_go_proto.DataType_DT_BOOL: true,
	types_go_proto.DataType_DT_QINT32: true, types_go_proto.DataType_DT_QUINT8: true,
	types_go_proto.DataType_DT_QINT8: true, types_go_proto.DataType_DT_BFLOAT16: true,
	types_go_proto.DataType_DT_INT4: true, types_go_proto.DataType_DT_UINT4: true,
}

// TensorFlowReadsSlice reports whether TensorFlow's reader (RestoreV2,
// load_checkpoint) can read the part slice (in TensorFlow's notation, as
// SliceString writes it; "" for the whole tensor) of entry e. Its
// GetSliceValue reads a slice without copying only when it is exactly one
// stored slice, or when both the stored slice and the part cover the whole
// tensor (an unsliced entry read whole); any other read copies slices, which
// it does only for the dtypes in its HANDLE_COPY list (not float16, uint16,
// uint32, uint64, string, variant, ...: "Dtype ... not supported").
func TensorFlowReadsSlice(e *tfpb.BundleEntryProto, part string) bool {
	if sliceCopyable[e.GetDtype()] {
		return true
	}
	dims := e.GetShape().GetDim()
	if len(e.GetSlices()) == 0 {
		return part == "" || coversWhole(part, dims)
	}
	if part == "" {
		part = strings.TrimSuffix(strings.Repeat("-:", len(dims)), ":")
	}
	for _, s := range e.GetSlices() {
		if SliceString(s) == part {
			return true
		}
	}
	return false
}

// coversWhole reports whether a slice in TensorFlow's notation covers every
// element of a tensor with dims (IsFullSlice: each extent "-" or 0 to the
// dimension's size).
func coversWhole(part string, dims []*tsp.TensorShapeProto_Dim) bool {
	ext := strings.Split(part, ":")
	if len(ext) != len(dims) {
		return false
	}
	for d, x := range ext {
		if x != "-" && x != fmt.Sprintf("0,%d", dims[d].GetSize()) {
			return false
		}
	}
	return true
}
