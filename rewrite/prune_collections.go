package rewrite

import (
	"maps"
	"slices"

	varpb "github.com/wamuir/graft/tensorflow/core/framework/variable_go_proto"
	tfpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/unmirror/unmirror/graphdef"
)

// variableCollections are TF1 collections of VariableDef protos
// (tensorflow/python/framework/ops.py GraphKeys, registered with
// ops.register_proto_function for VariableDef).
var variableCollections = []string{
	"variables", "trainable_variables", "local_variables", "model_variables",
	"moving_average_variables", "global_step", "metric_variables",
	"trainable_resource_variables", "concatenated_variables",
}

// collectionProtos gives the message type of the bytes_list collections
// whose entries name graph elements (ops.register_proto_function callers:
// saver.py, control_flow_ops.py, queue_runner_impl.py).
var collectionProtos = map[string]func() proto.Message{
	"savers":        func() proto.Message { return new(tfpb.SaverDef) },
	"cond_context":  func() proto.Message { return new(tfpb.CondContextDef) },
	"while_context": func() proto.Message { return new(tfpb.WhileContextDef) },
	"queue_runners": func() proto.Message { return new(tfpb.QueueRunnerDef) },
}

// isVariableCollection reports whether collection key holds VariableDefs:
// a known variable collection, or a bytes_list whose every entry decodes as
// a VariableDef naming a variable.
func isVariableCollection(key string, col *tfpb.CollectionDef) bool {
	bl := col.GetBytesList()
	if bl == nil {
		return false
	}
	if slices.Contains(variableCollections, key) {
		return true
	}
	if _, known := collectionProtos[key]; known || len(bl.GetValue()) == 0 {
		return false
	}
	for _, b := range bl.GetValue() {
		if _, ok := decodeVariableDef(b); !ok {
			return false
		}
	}
	return true
}

// decodeVariableDef decodes a VariableDef naming a variable.
func decodeVariableDef(b []byte) (*varpb.VariableDef, bool) {
	var vd varpb.VariableDef
	if !decodeCollectionEntry(b, &vd) || vd.GetVariableName() == "" {
		return nil, false
	}
	return &vd, true
}

// decodeCollectionEntry decodes one bytes_list entry, refusing bytes that
// leave unknown fields (another message type).
func decodeCollectionEntry(b []byte, m proto.Message) bool {
	if err := proto.Unmarshal(b, m); err != nil {
		return false
	}
	return len(m.ProtoReflect().GetUnknown()) == 0
}

// namesIn calls f with every string field of m (singular, repeated, map
// keys and values), recursively: the names a collection entry holds.
func namesIn(m protoreflect.Message, f func(string)) {
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsMap():
			v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
				if fd.MapKey().Kind() == protoreflect.StringKind {
					f(k.String())
				}
				switch fd.MapValue().Kind() {
				case protoreflect.StringKind:
					f(mv.String())
				case protoreflect.MessageKind:
					namesIn(mv.Message(), f)
				}
				return true
			})
		case fd.IsList():
			l := v.List()
			for i := range l.Len() {
				switch fd.Kind() {
				case protoreflect.StringKind:
					f(l.Get(i).String())
				case protoreflect.MessageKind:
					namesIn(l.Get(i).Message(), f)
				}
			}
		case fd.Kind() == protoreflect.StringKind:
			f(v.String())
		case fd.Kind() == protoreflect.MessageKind:
			namesIn(v.Message(), f)
		}
		return true
	})
}

// entryType returns the message type of the bytes_list entries of
// collection key, or nil when the entries are of a type the pass does not
// know (they are kept).
func entryType(key string, col *tfpb.CollectionDef) func() proto.Message {
	if isVariableCollection(key, col) {
		return func() proto.Message { return new(varpb.VariableDef) }
	}
	return collectionProtos[key]
}

// entryNamesRemoved decodes a bytes_list entry as newMsg and reports
// whether it names a removed node (and which).
func entryNamesRemoved(newMsg func() proto.Message, b []byte, removed map[string]bool) (string, bool) {
	if newMsg == nil {
		return "", false
	}
	msg := newMsg()
	if !decodeCollectionEntry(b, msg) {
		return "", false
	}
	hit := ""
	namesIn(msg.ProtoReflect(), func(s string) {
		if n := graphdef.Producer(s); hit == "" && removed[n] {
			hit = n
		}
	})
	return hit, hit != ""
}

// pruneCollections drops the collection entries of meta graph mg that name
// removed nodes, and collections left empty.
func pruneCollections(c *Context, mg int, removed map[string]bool) {
	meta := c.MetaGraphs()[mg]
	cols := meta.GetCollectionDef()
	for _, key := range slices.Sorted(maps.Keys(cols)) {
		col := cols[key]
		dropped := 0
		switch {
		case col.GetNodeList() != nil:
			nl := col.GetNodeList()
			kept := nl.Value[:0]
			for _, v := range nl.GetValue() {
				if removed[graphdef.Producer(v)] {
					c.Changef(Node(mg, "", graphdef.Producer(v)), "dropped %q from collection %q: the node was removed", v, key)
					dropped++
					continue
				}
				kept = append(kept, v)
			}
			nl.Value = kept
		case col.GetBytesList() != nil:
			bl := col.GetBytesList()
			kept := bl.Value[:0]
			newMsg := entryType(key, col)
			for _, b := range bl.GetValue() {
				if n, ok := entryNamesRemoved(newMsg, b, removed); ok {
					c.Changef(Node(mg, "", n), "dropped an entry of collection %q: it names removed node %s", key, n)
					dropped++
					continue
				}
				kept = append(kept, b)
			}
			bl.Value = kept
		}
		if dropped > 0 && collectionLen(col) == 0 {
			delete(cols, key)
			c.Changef(Node(mg, "", ""), "deleted collection %q: every entry named removed nodes", key)
		}
	}
}

func collectionLen(col *tfpb.CollectionDef) int {
	switch {
	case col.GetNodeList() != nil:
		return len(col.GetNodeList().GetValue())
	case col.GetBytesList() != nil:
		return len(col.GetBytesList().GetValue())
	case col.GetInt64List() != nil:
		return len(col.GetInt64List().GetValue())
	case col.GetFloatList() != nil:
		return len(col.GetFloatList().GetValue())
	case col.GetAnyList() != nil:
		return len(col.GetAnyList().GetValue())
	}
	return 0
}
