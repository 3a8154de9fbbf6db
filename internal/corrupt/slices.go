package corrupt

import (
	"fmt"
	"slices"

	tslp "github.com/wamuir/graft/tensorflow/core/framework/tensor_slice_go_proto"
	tfpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
	"google.golang.org/protobuf/proto"

	"github.com/unmirror/unmirror/savedmodel/bundle"
)

// SlicePrefix starts the names of the cases that damage a sliced tensor
// (only models with one get them).
const SlicePrefix = "slices: "

// sliceEdits breaks the first sliced tensor whose first slice has an
// explicit extent along axis 0: slices that overlap, leave a gap, exceed
// the shape, and a slice entry that points past the end of its shard.
func (m *model) sliceEdits() ([]Case, error) {
	var key string
	for _, k := range m.keys {
		if s := m.entries[k].GetSlices(); len(s) > 1 && s[0].GetExtent()[0].GetHasLength() != nil {
			key = k
			break
		}
	}
	if key == "" {
		return nil, nil
	}
	full := m.entries[key]
	editFull := func(f func(e *tfpb.BundleEntryProto)) func(dir string) (string, error) {
		return m.rewriteIndex(func(_ *tfpb.BundleHeaderProto, es map[string]*tfpb.BundleEntryProto) { f(es[key]) }, nil)
	}
	first := full.GetSlices()[0]
	longer := proto.Clone(first).(*tslp.TensorSliceProto)
	dim0 := full.GetShape().GetDim()[0].GetSize()
	longer.Extent[0].HasLength = &tslp.TensorSliceProto_Extent_Length{Length: dim0 - first.GetExtent()[0].GetStart() + 1}
	sk := bundle.SliceKey(key, full.GetSlices()[len(full.GetSlices())-1])
	se := m.entries[sk]
	if se == nil {
		return nil, fmt.Errorf("corrupt: %s: slice entry of %q missing", m.dir, key)
	}
	shardSize := int64(len(m.shards[se.GetShardId()]))
	mention := []string{indexFile, fmt.Sprintf("key %q", key)}
	return []Case{
		{Name: SlicePrefix + "two slices overlap", Sample: true, Is: bundle.ErrCorrupt, Mention: append(mention, "overlap"),
			Apply: editFull(func(e *tfpb.BundleEntryProto) { e.Slices = append(e.Slices, e.Slices[0]) })},
		{Name: SlicePrefix + "a gap between slices", Sample: true, Is: bundle.ErrCorrupt, Mention: append(mention, "gap"),
			Apply: editFull(func(e *tfpb.BundleEntryProto) { e.Slices = slices.Delete(e.Slices, 0, 1) })},
		{Name: SlicePrefix + "a slice beyond the shape", Sample: true, Is: bundle.ErrCorrupt, Mention: append(mention, "outside dimension 0"),
			Apply: editFull(func(e *tfpb.BundleEntryProto) { e.Slices[0] = longer })},
		{Name: SlicePrefix + "a slice past the end of its shard", Sample: true, Is: bundle.ErrCorrupt,
			Mention: []string{indexFile, fmt.Sprintf("key %q", bundle.DisplayKey(sk)), "beyond the end of shard"},
			Apply: m.rewriteIndex(func(_ *tfpb.BundleHeaderProto, es map[string]*tfpb.BundleEntryProto) {
				es[sk].Offset = shardSize
			}, nil)},
	}, nil
}
