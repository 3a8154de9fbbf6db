package rewrite

import (
	"maps"
	"slices"
	"strings"

	varpb "github.com/wamuir/graft/tensorflow/core/framework/variable_go_proto"
	"google.golang.org/protobuf/proto"

	"github.com/unmirror/unmirror/graphdef"
)

// dropComponents clears experimental_distributed_variable_components from
// every SavedVariable of meta graph mg, and checks that the bound inputs of
// concrete functions name existing object nodes.
func dropComponents(c *Context, mg int) error {
	og := c.MetaGraphs()[mg].GetObjectGraphDef()
	if og == nil {
		return nil
	}
	for id, obj := range og.GetNodes() {
		v := obj.GetVariable()
		if v == nil || len(v.GetExperimentalDistributedVariableComponents()) == 0 {
			continue
		}
		names := make([]string, 0, len(v.GetExperimentalDistributedVariableComponents()))
		for _, comp := range v.GetExperimentalDistributedVariableComponents() {
			names = append(names, comp.GetName())
		}
		v.ExperimentalDistributedVariableComponents = nil
		c.Changef(Object(mg, id), "dropped the distributed components of variable %s (%s)", v.GetName(), strings.Join(names, ", "))
	}
	for name, fn := range og.GetConcreteFunctions() {
		for _, id := range fn.GetBoundInputs() {
			if id < 0 || int(id) >= len(og.GetNodes()) {
				return c.Errorf(Node(mg, name, ""), "concrete function's bound input names object node %d; the object graph has %d nodes", id, len(og.GetNodes()))
			}
		}
	}
	return nil
}

// dropReplicaMetadata removes what the MetaGraphDef says about the removed
// replica nodes outside the GraphDef: VariableDef entries of TF1 variable
// collections and node_list entries.
func dropReplicaMetadata(c *Context, mg int, reps []replica) error {
	gone := make(map[string]bool, len(reps))
	for _, r := range reps {
		gone[r.node] = true
	}
	meta := c.MetaGraphs()[mg]
	for _, key := range slices.Sorted(maps.Keys(meta.GetCollectionDef())) {
		col := meta.GetCollectionDef()[key]
		switch {
		case col.GetBytesList() != nil:
			bl := col.GetBytesList()
			kept := bl.Value[:0]
			for _, b := range bl.GetValue() {
				if name, ok := variableDefNode(b); ok && gone[name] {
					c.Changef(Node(mg, "", name), "dropped replica %s from collection %q", name, key)
					continue
				}
				kept = append(kept, b)
			}
			bl.Value = kept
		case col.GetNodeList() != nil:
			nl := col.GetNodeList()
			kept := nl.Value[:0]
			for _, v := range nl.GetValue() {
				if name := graphdef.Producer(v); gone[name] {
					c.Changef(Node(mg, "", name), "dropped replica %s from collection %q", name, key)
					continue
				}
				kept = append(kept, v)
			}
			nl.Value = kept
		}
	}
	return nil
}

// variableDefNode decodes b as a VariableDef and returns the node of its
// variable tensor. Collections of other protos fail to decode or name no
// variable.
func variableDefNode(b []byte) (string, bool) {
	var vd varpb.VariableDef
	if err := proto.Unmarshal(b, &vd); err != nil || vd.GetVariableName() == "" {
		return "", false
	}
	return graphdef.Producer(vd.GetVariableName()), true
}
