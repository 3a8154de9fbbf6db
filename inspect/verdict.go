package inspect

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/unmirror/unmirror/device"
	"github.com/unmirror/unmirror/rewrite"
	"github.com/unmirror/unmirror/savedmodel"
)

// deviceBlocks says why TensorFlow's placer cannot place a node pinned to
// dev in a one-device process of target t (without soft placement, as the
// C++ loader runs), or "" when it can.
func deviceBlocks(dev string, t device.Target) string {
	if dev == "" {
		return ""
	}
	s, err := parseDevice(dev)
	if err != nil {
		return "not a device name TensorFlow parses"
	}
	return t.Unplaceable(s)
}

// softDeviceBlocks is deviceBlocks for a node TensorFlow places with soft
// placement (device.Target.SoftUnplaceable).
func softDeviceBlocks(dev string, t device.Target) string {
	s, err := device.Parse(dev)
	if err != nil {
		return "not a device name TensorFlow parses"
	}
	return t.SoftUnplaceable(s)
}

// findingKind maps a verify finding's category (rewrite.FindingDistributionOp)
// to a Reason kind ("distribution_op").
func findingKind(f rewrite.Finding) string {
	if f.Kind == "" {
		return "verify"
	}
	return strings.ReplaceAll(f.Kind, " ", "_")
}

// verdict judges the model for target t (see Model for the rules) and
// returns the verify pass's findings it is partly made of.
func verdict(m *savedmodel.Model, s *scan, t device.Target, max int) (Verdict, []rewrite.Finding) {
	v := Verdict{Target: targetName(t), Reasons: []Reason{}, Notes: []Reason{}}
	reason := func(kind, what string, count int, ex []Evidence) {
		v.Reasons = append(v.Reasons, Reason{Kind: kind, What: what, Count: count, Examples: nonNilEvidence(ex)})
	}
	note := func(kind, what string, count int, ex []Evidence) {
		v.Notes = append(v.Notes, Reason{Kind: kind, What: what, Count: count, Examples: nonNilEvidence(ex)})
	}

	// Devices: every distinct string, judged once. Names that place as
	// they are but that the rewrite would still change become a note.
	var normal, soft []string
	normalCount, softCount := 0, 0
	pol := rewrite.Options{Target: t}.DevicePolicy()
	for _, d := range slices.Sorted(maps.Keys(s.devices)) {
		c := s.devices[d]
		if why, ex := c.blocks(d, t); why != "" {
			reason("device", fmt.Sprintf("%q: %s", d, why), c.nodes+c.objects, ex)
		} else if deviceBlocks(d, t) != "" {
			soft = appendUnique(soft, d)
			softCount += c.nodes + c.objects
		} else if nd, err := pol.Apply(d); err == nil && nd != d {
			normal = appendUnique(normal, d)
			normalCount += c.nodes + c.objects
		}
	}

	// The verify pass: device findings about names the census already
	// reports are left out; every other finding is a reason.
	groups := map[string]*Reason{}
	var order []string
	findings := rewrite.Check(m, rewrite.Options{Target: t})
	for _, f := range findings {
		kind := findingKind(f)
		if f.Kind == rewrite.FindingDevice && f.Device != "" && deviceBlocks(f.Device, t) != "" {
			continue
		}
		g := groups[kind]
		if g == nil {
			g = &Reason{Kind: kind, Examples: []Evidence{}}
			groups[kind] = g
			order = append(order, kind)
		}
		g.Count++
		if g.Count == 1 {
			g.What = f.What
		}
		if len(g.Examples) < max {
			g.Examples = append(g.Examples, Evidence{Where: f.Where.String(), Detail: f.What})
		}
	}
	for _, k := range order {
		g := groups[k]
		if g.Count > 1 {
			g.What = fmt.Sprintf("%d verify findings, first: %s", g.Count, g.What)
		}
		v.Reasons = append(v.Reasons, *g)
	}

	// Artifacts that break loading wherever they are.
	if r := s.arts[ArtifactNCCLOps]; r != nil {
		what := "NCCL ops have no CPU kernel (the TF1 placer places every main-graph node)"
		if t == device.GPU {
			what = "NCCL ops wait for every GPU of their group (num_devices), which one GPU lacks"
		}
		reason(ArtifactNCCLOps, what, r.Count, r.Examples)
	}
	if r := s.arts[ArtifactHorovodOps]; r != nil {
		reason(ArtifactHorovodOps, "Horovod ops are not registered in a TensorFlow without Horovod", r.Count, r.Examples)
	}
	if s.tpuMainN > 0 {
		reason(ArtifactTPUOps, "TPU ops in the main graph have no "+strings.ToUpper(targetName(t))+" kernel", s.tpuMainN, s.tpuMain)
	}
	var multi []Evidence
	multiN := 0
	for _, c := range s.collectives {
		if c.size != 1 {
			multiN++
			if len(multi) < max {
				multi = append(multi, c.where)
			}
		}
	}
	if multiN > 0 {
		reason(ArtifactCollectiveOps, "collective ops with a group size other than 1 (or unknown) wait for peers forever", multiN, multi)
	}

	// Leftovers that load as they are.
	if softCount > 0 {
		note("device", "device names only in function bodies that TensorFlow soft-places (tf.saved_model.load, and Grappler's inlining in a Session): they place on the target as they are; the rewrite still changes them: "+quoteList(soft, 4), softCount, nil)
	}
	if normalCount > 0 {
		note("device", "device names that place as they are but differ from what the rewrite writes: "+quoteList(normal, 4), normalCount, nil)
	}
	for _, a := range []struct{ name, what string }{
		{ArtifactReplicaVariables, "per-replica variables: the rewrite collapses them to the primary copy"},
		{ArtifactDistributedVariableComponents, "distributed variable components in the object graph: the rewrite clears them"},
		{ArtifactSyncOnReadVariables, "sync-on-read variables: load as plain variables holding the aggregated value"},
		{ArtifactOptimizerSlots, "optimizer slots: training state; rewrite --drop-optimizer removes it"},
		{ArtifactShardedSaver, "several checkpoint data shards: TensorFlow reads them as one checkpoint"},
		// TF 2.18 loads both kinds in every runtime: RestoreV2 reads
		// slices (TF1 partitioned variables) and assembles a
		// ShardedVariable's full-shape entry (testdata/models:
		// sharded_variable, ps_strategy, keras_ps_strategy,
		// tf1_towers_partitioned). TF 2.12.1 and 2.15.1 load and run
		// the first three with equal outputs too, so the refusal of
		// tensorflow#60560 (TF 2.8) is not a reason either.
		{ArtifactShardedVariable, "sharded variable (checkpoint slices or part_N keys): TensorFlow restores the slices; readers that do not assemble slices cannot use them"},
	} {
		if r := s.arts[a.name]; r != nil {
			note(a.name, a.what, r.Count, r.Examples)
		}
	}
	v.Portable = len(v.Reasons) == 0
	return v, findings
}

func nonNilEvidence(ex []Evidence) []Evidence {
	if ex == nil {
		return []Evidence{}
	}
	return ex
}

func appendUnique(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

// quoteList quotes up to n strings and says how many more there are.
func quoteList(list []string, n int) string {
	var parts []string
	for i, s := range list {
		if i == n {
			parts = append(parts, fmt.Sprintf("and %d more", len(list)-n))
			break
		}
		parts = append(parts, strconv.Quote(s))
	}
	return strings.Join(parts, ", ")
}
