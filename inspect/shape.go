package inspect

import (
	"strconv"
	"strings"
)

// Shape is a tensor shape as inspections report it: the dimension sizes, -1
// for a size that is not known. Its JSON form is an array of numbers ([] for
// a scalar).
type Shape []int64

// String formats s as "[2,3]", a size that is not known as "?" ("[?,3]");
// a scalar is "[]".
func (s Shape) String() string {
	parts := make([]string, len(s))
	for i, d := range s {
		if d < 0 {
			parts[i] = "?"
		} else {
			parts[i] = strconv.FormatInt(d, 10)
		}
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// shapeOf returns dims as a Shape that is never nil, so that a scalar's
// shape is [] in JSON, not null.
func shapeOf(dims []int64) Shape {
	if dims == nil {
		return Shape{}
	}
	return Shape(dims)
}
