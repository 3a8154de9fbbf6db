package rewrite

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	tslp "github.com/wamuir/graft/tensorflow/core/framework/tensor_slice_go_proto"
	tfpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
	"google.golang.org/protobuf/proto"

	"github.com/unmirror/unmirror/graphdef"
	"github.com/unmirror/unmirror/savedmodel/bundle"
)

// Shards is the pass that turns every partitioned (sharded) variable into
// one variable.
//
// What TensorFlow 2.18 writes for a ShardedVariable (ParameterServerStrategy
// with a partitioner, or a ShardedVariable built by hand) is, as read from
// real models (sharded_variable.py, _export_to_saved_model_graph and
// _write_object_proto; the testdata/models fixtures sharded_variable,
// ps_strategy and ps_strategy_save_devices):
//
//   - the SavedObjectGraph holds one SavedVariable of the full shape, and
//     every concrete function captures one full-shape handle (the
//     ShardedVariable's _saving_variable);
//   - the main graph holds that full-shape VarHandleOp, which the saver
//     restores, plus one VarHandleOp "<name>/part_<i>" per shard with its
//     "<name>/part_<i>/Read/ReadVariableOp", which nothing reads or
//     restores;
//   - the checkpoint holds, for each sharded variable, a full-tensor entry
//     with dtype, shape and slices but no data, and one entry per shard
//     under the slice key (bundle.SliceKey);
//   - the saver's RestoreV2 and SaveV2 name the full key with the spec of
//     the whole tensor, e.g. "6 4 0,6:0,4", which TF reads by assembling the
//     slices.
//
// The pass makes that one ordinary variable:
//
//   - the checkpoint gets one full entry per sliced tensor, assembled from
//     its slices when the model is written (for shards of a fixed-size
//     dtype along axis 0 the full tensor's bytes are the shards' bytes in
//     slice order: a savedmodel ConcatVariable, whose checksum Write
//     combines from the slices'; along another axis the shards' rows are
//     interleaved chunk by chunk as they stream; slices along several axes
//     (MaxShardSizePolicy cuts a tensor so) are streamed by
//     bundle.Reader.OpenTensor, which reads each slice once with a bounded
//     buffer; DT_STRING tensors, only along axis 0, are re-encoded in
//     memory), and the slice entries are deleted. Slices that do not tile
//     the tensor exactly are an error (bundle.Open finds them); so are
//     string slices along several axes. A tensor stays sliced, with a note,
//     when a saver slot reads a part of it (a TF1 partitioned variable)
//     that TensorFlow reads as stored but could not copy out of one whole
//     entry: its GetSliceValue copies slices only of some dtypes (not
//     string, float16, uint16/32/64; bundle.TensorFlowReadsSlice);
//   - every saver slot (RestoreV2 and SaveV2, through RetargetSaver) that
//     reads or writes the whole tensor by a slice spec gets the empty spec
//     of a full tensor. A slot that reads a true part of the tensor (a TF1
//     partitioned variable restores each part this way) keeps its spec:
//     TensorFlow's BundleReader serves a slice of a full entry
//     (GetSliceValue registers the full slice on demand), so such a model
//     still loads; the pass reports each such slot as a finding, since the
//     part variables stay;
//   - a function traced before the save that read the parts directly is
//     saved with bound_inputs naming the full SavedVariable for every part,
//     while the main graph passes the part handles, which nothing restores:
//     TF 2.18's tf.saved_model.load then reads the wrong rows without an
//     error, and the TF1/C++ loader fails with "Resource .../part_0 does not
//     exist". The pass passes the full handle instead and, inside the
//     function and the functions it calls, reads the part's rows out of it
//     (see rewritePartReads);
//   - every main-graph handle "<name>/part_<i>" that nothing uses but its
//     own unread ReadVariableOps is removed with them.
//
// Old-style SavedObjectGraphs that hold one SavedVariable per part are not
// handled (TF 2.18 never writes them). A model without sliced checkpoint
// entries or partition handles is left untouched.
var Shards = &Pass{
	Name: "shards",
	Doc: "Shards makes every partitioned (sharded) variable one variable: its checkpoint slices become one " +
		"full entry (assembled when written), the saver reads and writes the full tensor, and unused " +
		"partition handles go.",
	Run: runShards,
}

// partName matches the variable op of one shard of a partitioned variable.
var partName = regexp.MustCompile(`^(.+)/part_[0-9]+$`)

func runShards(c *Context) error {
	m := c.Model
	var sliced []string
	for _, key := range m.OutputKeys() {
		if e, ok := m.OutputEntry(key); ok && len(e.GetSlices()) > 0 {
			sliced = append(sliced, key)
		}
	}
	for mg, meta := range c.MetaGraphs() {
		if meta.GetGraphDef() == nil {
			continue
		}
		if err := rewritePartReads(c, mg); err != nil {
			return err
		}
	}
	if len(sliced) == 0 {
		return nil
	}
	var assembled []string
	for _, key := range sliced {
		if err := c.Ctx.Err(); err != nil {
			return err
		}
		if keep, err := partsNeedSlices(c, key); err != nil || keep {
			if err != nil {
				return err
			}
			continue
		}
		if err := assembleSliced(c, key); err != nil {
			return err
		}
		assembled = append(assembled, key)
	}
	for _, key := range assembled {
		if err := fullSpecSlots(c, key); err != nil {
			return err
		}
	}
	for mg := range c.MetaGraphs() {
		if c.MetaGraphs()[mg].GetGraphDef() == nil {
			continue
		}
		if err := removeUnusedParts(c, mg); err != nil {
			return err
		}
	}
	return nil
}

// assembleSliced replaces the sliced entry key and its slice entries by one
// full entry.
func assembleSliced(c *Context, key string) error {
	m := c.Model
	full, _ := m.OutputEntry(key)
	full = proto.Clone(full).(*tfpb.BundleEntryProto)
	dims := make([]int64, len(full.GetShape().GetDim()))
	for i, d := range full.GetShape().GetDim() {
		dims[i] = d.GetSize()
	}
	parts := make([]slicePart, 0, len(full.GetSlices()))
	for _, s := range full.GetSlices() {
		sk := bundle.SliceKey(key, s)
		e, ok := m.OutputEntry(sk)
		if !ok {
			return c.Errorf(Key(key), "slice %s of the tensor has no entry %q in the checkpoint", sliceString(s), sk)
		}
		if e.GetDtype() != full.GetDtype() {
			return c.Errorf(Key(sk), "slice has dtype %v, the full tensor %v", e.GetDtype(), full.GetDtype())
		}
		if m.InputCheckpoint == nil {
			return c.Errorf(Key(sk), "slice entry was supplied by an earlier pass; the shards pass assembles only slices of the input checkpoint")
		}
		if in, ok := m.InputCheckpoint.Entry(sk); !ok || !proto.Equal(in, e) {
			return c.Errorf(Key(sk), "slice entry was supplied by an earlier pass; the shards pass assembles only slices of the input checkpoint")
		}
		parts = append(parts, slicePart{key: sk, slice: s, entry: e})
	}
	layout, err := planAssembly(dims, parts)
	if err != nil {
		return c.Errorf(Key(key), "%w", err)
	}
	entry := &tfpb.BundleEntryProto{Dtype: full.GetDtype(), Shape: full.GetShape()}
	if err := setAssembled(m, key, entry, dims, layout); err != nil {
		return c.Errorf(Key(key), "%w", err)
	}
	for _, p := range layout.parts {
		if err := m.DeleteVariable(p.key); err != nil {
			return c.Errorf(Key(p.key), "%w", err)
		}
	}
	along := fmt.Sprintf("axis %d", layout.axis)
	if layout.axis == multiAxis {
		along = "several axes"
	}
	c.Changef(Key(key), "assembled the full %v tensor %v from %d slices along %s; deleted the slice entries", full.GetDtype(), dims, len(layout.parts), along)
	return nil
}

// partsNeedSlices reports whether key must stay sliced: a saver slot reads
// a part of it (a TF1 partitioned variable restores each part so) that
// TensorFlow reads from the stored slices as they are, but could not copy
// out of one whole entry, since its GetSliceValue copies no slices of the
// tensor's dtype (uint16, string, ...). The slices are then kept, with a
// note.
func partsNeedSlices(c *Context, key string) (bool, error) {
	e, _ := c.Model.OutputEntry(key)
	whole := &tfpb.BundleEntryProto{Dtype: e.GetDtype(), Shape: e.GetShape()}
	for mg, meta := range c.MetaGraphs() {
		if meta.GetSaverDef() == nil || meta.GetGraphDef() == nil {
			continue
		}
		ops, err := saverOps(c, mg)
		if err != nil {
			return false, err
		}
		for _, op := range ops {
			for i, name := range op.names {
				if name != key {
					continue
				}
				part := specSlice(op.specs[i])
				if bundle.TensorFlowReadsSlice(e, part) && !bundle.TensorFlowReadsSlice(whole, part) {
					c.Notef(Key(key), "kept as %d slices: slot %d of %s reads part %q, which TensorFlow reads as stored but could not copy out of one whole %v entry (GetSliceValue: \"Dtype %s not supported\")",
						len(e.GetSlices()), i, op.node.GetName(), part, e.GetDtype(), dtypeName(e.GetDtype()))
					return true, nil
				}
			}
		}
	}
	return false, nil
}

// fullSpecSlots gives every saver slot that names key with a slice spec
// covering the whole tensor the empty spec; partial specs are reported.
func fullSpecSlots(c *Context, key string) error {
	e, _ := c.Model.OutputEntry(key)
	dims := make([]int64, len(e.GetShape().GetDim()))
	for i, d := range e.GetShape().GetDim() {
		dims[i] = d.GetSize()
	}
	full, partial := 0, 0
	for mg, meta := range c.MetaGraphs() {
		if meta.GetSaverDef() == nil || meta.GetGraphDef() == nil {
			continue
		}
		ops, err := saverOps(c, mg)
		if err != nil {
			return err
		}
		for _, op := range ops {
			for i, name := range op.names {
				if name != key || op.specs[i] == "" {
					continue
				}
				if whole, err := wholeSliceSpec(op.specs[i], dims); err != nil {
					return c.Errorf(Node(mg, op.body.Name(), op.node.GetName()), "slot %d (key %q): %w", i, key, err)
				} else if whole {
					full++
				} else {
					partial++
					c.Notef(Node(mg, op.body.Name(), op.node.GetName()), "slot %d reads part %q of key %q; it now reads that part of the full entry, and its partition variable stays", i, op.specs[i], key)
				}
			}
		}
	}
	if full == 0 || partial > 0 {
		return nil
	}
	empty := ""
	_, err := RetargetSaver(c, key, key, &empty)
	return err
}

// wholeSliceSpec parses a shape_and_slices entry ("d0 d1 ... s0:s1:...",
// each s "-" or "start,length"; tensor_slice.cc and
// saved_tensor_slice_util.cc) and reports whether it covers the whole tensor
// of shape dims.
func wholeSliceSpec(spec string, dims []int64) (bool, error) {
	f := strings.Fields(spec)
	if len(f) != len(dims)+1 {
		return false, fmt.Errorf("shape and slice %q does not match the checkpoint's rank-%d shape %v", spec, len(dims), dims)
	}
	for i, d := range dims {
		if f[i] != strconv.FormatInt(d, 10) {
			return false, fmt.Errorf("shape and slice %q does not match the checkpoint's shape %v", spec, dims)
		}
	}
	ext := strings.Split(f[len(dims)], ":")
	if len(ext) != len(dims) {
		return false, fmt.Errorf("shape and slice %q: %d extents for rank %d", spec, len(ext), len(dims))
	}
	for i, x := range ext {
		if x == "-" {
			continue
		}
		start, length, ok := strings.Cut(x, ",")
		s, err1 := strconv.ParseInt(start, 10, 64)
		l, err2 := strconv.ParseInt(length, 10, 64)
		if !ok || err1 != nil || err2 != nil {
			return false, fmt.Errorf("shape and slice %q: bad extent %q", spec, x)
		}
		if s != 0 || l != dims[i] {
			return false, nil
		}
	}
	return true, nil
}

// removeUnusedParts removes the partition handles "<name>/part_<i>" of the
// main graph that nothing uses but their own unread reads.
func removeUnusedParts(c *Context, mg int) error {
	main := c.Graph(mg).Main()
	var gone []string
	for _, n := range main.Nodes() {
		if !isVariableOp(n.GetOp()) || !partName.MatchString(n.GetName()) {
			continue
		}
		reads, ok := onlyUnreadReads(main, n.GetName())
		if !ok {
			continue
		}
		gone = append(gone, n.GetName())
		gone = append(gone, reads...)
	}
	if len(gone) == 0 {
		return nil
	}
	if err := main.Remove(graphdef.DanglingError, gone...); err != nil {
		return c.Errorf(Node(mg, "", gone[0]), "removing partition handles: %w", err)
	}
	for _, name := range gone {
		if n := partName.FindStringSubmatch(name); n != nil {
			c.Changef(Node(mg, "", name), "removed partition handle of %s: nothing reads it, the full variable holds its values", n[1])
		} else {
			c.Changef(Node(mg, "", name), "removed: unread read of a removed partition handle")
		}
	}
	return nil
}

// onlyUnreadReads reports whether every consumer of the variable op name is
// a ReadVariableOp (or Identity of a ref variable) that nothing consumes,
// and returns those reads.
func onlyUnreadReads(b *graphdef.Body, name string) ([]string, bool) {
	var reads []string
	for _, u := range b.Consumers(name) {
		op := u.Node.GetOp()
		if u.Input.Control || (op != "ReadVariableOp" && op != "Identity") || b.HasConsumers(u.Node.GetName()) {
			return nil, false
		}
		if len(graphdef.DataInputs(u.Node)) != 1 {
			return nil, false
		}
		reads = append(reads, u.Node.GetName())
	}
	if len(b.Colocated(name)) > 0 {
		for _, n := range b.Colocated(name) {
			if !slices.Contains(reads, n.GetName()) {
				return nil, false
			}
		}
	}
	return reads, true
}

// sliceString formats a slice as TF's TensorSlice::DebugString does.
func sliceString(s *tslp.TensorSliceProto) string {
	parts := make([]string, len(s.GetExtent()))
	for i, e := range s.GetExtent() {
		if e.GetHasLength() == nil {
			parts[i] = "-"
		} else {
			parts[i] = fmt.Sprintf("%d,%d", e.GetStart(), e.GetLength())
		}
	}
	return strings.Join(parts, ":")
}
