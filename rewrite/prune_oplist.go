package rewrite

import (
	"strings"

	opdefpb "github.com/wamuir/graft/tensorflow/core/framework/op_def_go_proto"
)

// pruneStrippedOps removes from meta graph mg's
// meta_info_def.stripped_op_list the OpDefs of ops that no node of the main
// graph or of a library function uses any more, so that the list says what
// the output uses, as TensorFlow's stripped_op_list_for_graph computes it for
// a graph it saves (the ops of every node, library functions excluded). The
// OpDefs of the ops still used are kept as the writer recorded them; an op
// the rewrite introduced (an Identity replacing a collective) is not added,
// since its OpDef would have to come from another TensorFlow than the
// writer's, and the loaders use the list only to drop attrs the reader does
// not know.
func pruneStrippedOps(c *Context, mg int) {
	meta := c.MetaGraphs()[mg]
	list := meta.GetMetaInfoDef().GetStrippedOpList()
	if len(list.GetOp()) == 0 {
		return
	}
	g := c.Graph(mg)
	used := map[string]bool{}
	for _, op := range g.OpTypes() {
		used[op] = g.Function(op) == nil
	}
	var kept []*opdefpb.OpDef
	var gone []string
	for _, op := range list.GetOp() {
		if used[op.GetName()] {
			kept = append(kept, op)
		} else {
			gone = append(gone, op.GetName())
		}
	}
	if len(gone) == 0 {
		return
	}
	list.Op = kept
	c.Changef(Where{MetaGraph: mg}, "stripped_op_list: removed %d op(s) no node uses any more: %s", len(gone), strings.Join(gone, ", "))
}
