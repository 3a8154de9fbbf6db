package ops

import (
	"testing"
)

// Every op of the table is registered by TensorFlow 2.18, every input index
// in the table names the input TensorFlow's OpDef has there, and every
// op with a group_size input says so.
func TestDistributionMatchesOpDefs(t *testing.T) {
	for _, s := range Distribution {
		def, ok := Op(s.Op)
		if !ok {
			t.Errorf("%s is not registered by TensorFlow 2.18", s.Op)
			continue
		}
		for _, c := range []struct {
			arg  Arg
			want string
		}{{s.GroupSize, "group_size"}, {s.GroupAssignment, "group_assignment"}, {s.GroupKey, "group_key"}, {s.InstanceKey, "instance_key"}} {
			i, ok := c.arg.Index()
			if !ok {
				continue
			}
			if in := def.Inputs; i >= len(in) || in[i].Name != c.want {
				t.Errorf("%s: input %d is not %q in TensorFlow's OpDef", s.Op, i, c.want)
			}
		}
		// An op with a group_size input in TensorFlow must say so here.
		for i, in := range def.Inputs {
			if in.Name == "group_size" {
				if got, ok := s.GroupSize.Index(); !ok || got != i {
					t.Errorf("%s: TensorFlow's group_size is input %d; the table says %v", s.Op, i, s.GroupSize)
				}
			}
		}
	}
}

// The table is consistent with itself: one row per op, every Receive names
// a Send of the same family, and Lookup and FamilyOf agree with it.
func TestDistributionTable(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range Distribution {
		if seen[s.Op] {
			t.Errorf("%s listed twice", s.Op)
		}
		seen[s.Op] = true
		if s.Family == NotDistribution || s.Kind == 0 {
			t.Errorf("%s: no family or kind", s.Op)
		}
		if s.Kind == Receive {
			p, ok := Lookup(s.Peer)
			if !ok || p.Kind != Send || p.Family != s.Family {
				t.Errorf("%s: peer %q is not a Send of its family", s.Op, s.Peer)
			}
		}
		if got, ok := Lookup(s.Op); !ok || got.Op != s.Op {
			t.Errorf("Lookup(%s) = %v, %v", s.Op, got, ok)
		}
		if FamilyOf(s.Op) != s.Family {
			t.Errorf("FamilyOf(%s) = %v, want %v", s.Op, FamilyOf(s.Op), s.Family)
		}
	}
	for op, want := range map[string]Family{
		"HorovodAllreduce": Horovod, "CollectivePermute": Collective, "TPUEmbeddingActivations": TPU,
		"_TPUCompileMlir": TPU, "NcclFoo": NCCL, "MatMul": NotDistribution, "": NotDistribution,
	} {
		if got := FamilyOf(op); got != want {
			t.Errorf("FamilyOf(%q) = %v, want %v", op, got, want)
		}
	}
	if s, ok := Lookup("HorovodAllgather"); !ok || s.Kind != NoSingleDevice {
		t.Errorf("Lookup(HorovodAllgather) = %v, %v", s, ok)
	}
	if _, ok := Lookup("MatMul"); ok {
		t.Error("Lookup(MatMul) found a row")
	}
}
