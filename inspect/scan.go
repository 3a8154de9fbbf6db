package inspect

import (
	"fmt"
	"regexp"
	"strings"

	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"
	typespb "github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
	varpb "github.com/wamuir/graft/tensorflow/core/framework/variable_go_proto"
	tfpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"

	"github.com/unmirror/unmirror/graphdef"
	"github.com/unmirror/unmirror/ops"
	"github.com/unmirror/unmirror/rewrite"
	"github.com/unmirror/unmirror/savedmodel"
)

var (
	reReplicaName = regexp.MustCompile(`(/replica_[1-9]\d*$)|(^|/)tower_[1-9]\d*/`)
	reSlotKey     = regexp.MustCompile(`\.OPTIMIZER_SLOT/|(^|/)optimizer/_variables/\d+/|/(Adam|Adam_1|Momentum|RMSProp|RMSProp_1|Adagrad|Ftrl|Ftrl_1|Adadelta|Adadelta_1|Nadam|Nadam_1)$`)
	reSliceSpec   = regexp.MustCompile(`^\d+( \d+)* (-|\d+,\d+)(:(-|\d+,\d+))*$`)
	rePartKey     = regexp.MustCompile(`(^|/)part_\d+(/|$)`)
)

var variableOps = map[string]bool{"VarHandleOp": true, "VariableV2": true, "Variable": true, "_VarHandlesOp": true}

// collective is one Collective* node and its group size (-1 unknown).
type collective struct {
	where Evidence
	size  int64
}

// scan holds what one walk over a model found.
type scan struct {
	max         int
	arts        map[string]*ArtifactReport
	devices     map[string]*deviceCount
	soft        map[string]bool     // soft-placed functions of the meta graph being scanned
	kinds       map[string][]string // deviceKinds by device string
	collectives []collective
	tpuMain     []Evidence // TPU ops in a main graph
	tpuMainN    int
}

// place is a location in the model, formatted only when it becomes an
// example: most places never do.
type place struct {
	w      rewrite.Where
	suffix string
	text   string // a file or other location outside the graphs
}

func (p place) String() string {
	if p.text != "" {
		return p.text
	}
	return p.w.String() + p.suffix
}

func at(text string) place { return place{text: text} }

func (s *scan) add(art string, where place, detail string) {
	r := s.arts[art]
	if r == nil {
		r = &ArtifactReport{Name: art, Examples: []Evidence{}}
		s.arts[art] = r
	}
	r.Count++
	if len(r.Examples) < s.max {
		r.Examples = append(r.Examples, Evidence{Where: where.String(), Detail: detail})
	}
}

func (s *scan) count(art string) int {
	if r := s.arts[art]; r != nil {
		return r.Count
	}
	return 0
}

func scanModel(m *savedmodel.Model, max int) *scan {
	s := &scan{max: max, arts: map[string]*ArtifactReport{}, devices: map[string]*deviceCount{}, kinds: map[string][]string{}}
	if m.Format == savedmodel.FormatText {
		s.add(ArtifactPBTxt, at(m.File), "protobuf text format")
	}
	for i, mg := range m.Proto.GetMetaGraphs() {
		gd := mg.GetGraphDef()
		s.soft = graphdef.New(gd).SoftPlacedFunctions()
		s.body(i, "", gd.GetNode())
		for _, fn := range gd.GetLibrary().GetFunction() {
			s.body(i, fn.GetSignature().GetName(), fn.GetNodeDef())
		}
		s.objects(i, mg.GetObjectGraphDef())
		for _, a := range mg.GetAssetFileDef() {
			s.add(ArtifactAssets, at(fmt.Sprintf("meta_graph %d, asset_file_def", i)), a.GetFilename()+" <- "+a.GetTensorInfo().GetName())
		}
		if _, ok := mg.GetCollectionDef()["saved_model_assets"]; ok {
			s.add(ArtifactAssets, at(fmt.Sprintf("meta_graph %d, collection", i)), "saved_model_assets")
		}
	}
	for _, a := range m.Assets {
		if strings.HasPrefix(a.Path, savedmodel.AssetsDir+"/") {
			s.add(ArtifactAssets, at(a.Path), fmt.Sprintf("%d bytes", a.Size))
		}
	}
	if m.Keras != nil {
		s.add(ArtifactKerasMetadata, at(savedmodel.KerasMetadataFile), fmt.Sprintf("%d objects", len(m.Keras.Nodes)))
	}
	s.checkpoint(m)
	return s
}

func (s *scan) checkpoint(m *savedmodel.Model) {
	if m.InputCheckpoint == nil {
		return
	}
	if n := m.InputCheckpoint.NumShards(); n > 1 {
		for i := 0; i < n; i++ {
			s.add(ArtifactShardedSaver, at(m.InputCheckpoint.DataFile(i)), fmt.Sprintf("data shard %d of %d, %d bytes", i, n, m.InputCheckpoint.ShardSize(i)))
		}
	}
	for _, v := range m.OutputVariables() {
		where := place{w: rewrite.Key(v.Key)}
		if v.DType == typespb.DataType_DT_STRING && v.Key != savedmodel.ObjectGraphKey {
			s.add(ArtifactStringTensors, where, "string")
		}
		if reSlotKey.MatchString(v.Key) {
			s.add(ArtifactOptimizerSlots, where, dtypeName(v.DType)+Shape(v.Shape).String())
		}
		if rePartKey.MatchString(v.Key) {
			s.add(ArtifactShardedVariable, where, "part key")
		}
	}
}

func (s *scan) objects(mg int, og *tfpb.SavedObjectGraph) {
	for id, n := range og.GetNodes() {
		where := place{w: rewrite.Object(mg, id)}
		if v := n.GetVariable(); v != nil {
			s.device(v.GetDevice(), where, true, false)
			if comps := v.GetExperimentalDistributedVariableComponents(); len(comps) > 0 {
				detail := fmt.Sprintf("variable %s: %d components", v.GetName(), len(comps))
				s.add(ArtifactDistributedVariableComponents, where, detail)
				s.add(ArtifactReplicaVariables, where, detail)
				for _, c := range comps {
					s.device(c.GetDevice(), place{w: where.w, suffix: ", component " + c.GetName()}, true, false)
				}
			}
			if v.GetSynchronization() == varpb.VariableSynchronization_VARIABLE_SYNCHRONIZATION_ON_READ {
				s.add(ArtifactSyncOnReadVariables, where, "variable "+v.GetName()+" ("+strings.ToLower(strings.TrimPrefix(v.GetAggregation().String(), "VARIABLE_AGGREGATION_"))+")")
			}
		}
		if r := n.GetResource(); r != nil {
			s.device(r.GetDevice(), where, true, false)
		}
	}
}

// body scans the nodes of one main graph (fn == "") or function body.
func (s *scan) body(mg int, fn string, nodes []*nodepb.NodeDef) {
	var byName map[string]*nodepb.NodeDef
	lookup := func(ref string) *nodepb.NodeDef {
		if byName == nil {
			byName = make(map[string]*nodepb.NodeDef, len(nodes))
			for _, n := range nodes {
				byName[n.GetName()] = n
			}
		}
		return byName[graphdef.Producer(ref)]
	}
	// resolve is an ops.Resolver over this body: the node data input i of
	// n reads.
	resolve := func(n *nodepb.NodeDef, i int) *nodepb.NodeDef {
		if in := graphdef.DataInputs(n); i < len(in) {
			return lookup(in[i])
		}
		return nil
	}
	for _, n := range nodes {
		where := place{w: rewrite.Node(mg, fn, n.GetName())}
		s.device(n.GetDevice(), where, false, fn != "" && s.soft[fn])
		op := n.GetOp()
		attr := n.GetAttr()
		family := ops.FamilyOf(op)
		switch family {
		case ops.NCCL:
			detail := op
			if nd, ok := attr["num_devices"]; ok {
				detail += fmt.Sprintf(" (num_devices %d)", nd.GetI())
			}
			s.add(ArtifactNCCLOps, where, detail)
		case ops.Collective:
			size, ok := ops.GroupSize(n, resolve)
			if !ok {
				size = -1
			}
			detail := op
			if size >= 0 {
				detail += fmt.Sprintf(" (group_size %d)", size)
			}
			s.add(ArtifactCollectiveOps, where, detail)
			s.collectives = append(s.collectives, collective{where: Evidence{Where: where.String(), Detail: detail}, size: size})
		case ops.Horovod:
			s.add(ArtifactHorovodOps, where, op)
		}
		_, tpuAttr := attr["_tpu_replicate"]
		if family == ops.TPU || tpuAttr {
			s.add(ArtifactTPUOps, where, op)
			if fn == "" {
				s.tpuMainN++
				if len(s.tpuMain) < s.max {
					s.tpuMain = append(s.tpuMain, Evidence{Where: where.String(), Detail: op})
				}
			}
		}
		if variableOps[op] {
			name := attr["shared_name"].GetS()
			if len(name) == 0 {
				name = []byte(n.GetName())
			}
			if reReplicaName.Match(name) || reReplicaName.MatchString(n.GetName()) {
				s.add(ArtifactReplicaVariables, where, op+" "+string(name))
			}
		}
		for _, c := range attr["_class"].GetList().GetS() {
			if strings.HasPrefix(string(c), "loc:@") {
				s.add(ArtifactColocation, where, string(c))
				break
			}
		}
		switch op {
		case "SaveV2", "RestoreV2", "SaveSlices", "RestoreSlice":
			src := resolve(n, 2) // shape_and_slices (shapes_and_slices)
			if src == nil || src.GetOp() != "Const" {
				break
			}
			for _, spec := range src.GetAttr()["value"].GetTensor().GetStringVal() {
				if len(spec) > 0 && reSliceSpec.Match(spec) {
					s.add(ArtifactShardedVariable, where, fmt.Sprintf("%s slice spec %q", op, spec))
					break
				}
			}
		}
	}
}

// reports returns the artifacts found, in vocabulary order.
func (s *scan) reports() []ArtifactReport {
	out := []ArtifactReport{}
	for _, a := range Artifacts {
		if r := s.arts[a]; r != nil {
			out = append(out, *r)
		}
	}
	return out
}
