package rewrite

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"

	"github.com/unmirror/unmirror/graphdef"
	"github.com/unmirror/unmirror/savedmodel"
)

// ErrReplicaDivergence is matched (errors.Is) by a *DivergenceError.
var ErrReplicaDivergence = errors.New("replica diverges from its primary")

// DivergenceError reports a replica variable whose checkpoint value differs
// from its primary's. The replicas pass returns it (wrapped in a *PassError)
// unless Options.AllowDivergence is set.
type DivergenceError struct {
	Variable   string  // primary variable (node name)
	Replica    string  // replica variable (node name)
	PrimaryKey string  // checkpoint key of the primary
	ReplicaKey string  // checkpoint key of the replica
	MaxAbsDiff float64 // largest element-wise |replica - primary|; +Inf when not numeric or NaN against a number
}

func (e *DivergenceError) Error() string {
	return fmt.Sprintf("replica %s (checkpoint key %q) diverges from variable %s (key %q): max abs diff %g",
		e.Replica, e.ReplicaKey, e.Variable, e.PrimaryKey, e.MaxAbsDiff)
}

// Is reports whether target is ErrReplicaDivergence.
func (e *DivergenceError) Is(target error) bool { return target == ErrReplicaDivergence }

// replicaKeys maps the checkpoint keys of the replicas of meta graph mg and
// of their primaries, as the main graph's saver writes them (SaveV2 slots
// reading the variable, directly or through one read), else by node name.
// Only replicas whose own key and primary key are both in the plan are
// returned.
func replicaKeys(c *Context, mg int, reps []replica) (map[string][2]string, error) {
	main := c.Graph(mg).Main()
	saved := map[string]string{} // variable node -> key
	for _, ref := range c.Graph(mg).Ops("SaveV2") {
		if ref.Body != main {
			continue
		}
		names, err := constStrings(main, ref.Node, 1)
		if err != nil {
			continue // not a Const; fall back to names
		}
		for i, key := range names {
			slot := 3 + i
			if slot >= len(ref.Node.GetInput()) {
				break
			}
			src := graphdef.Producer(ref.Node.GetInput()[slot])
			if n := main.Node(src); n != nil && (n.GetOp() == "Identity" || n.GetOp() == "ReadVariableOp") && len(n.GetInput()) > 0 {
				if v := main.Node(graphdef.Producer(n.GetInput()[0])); v != nil && isVariableOp(v.GetOp()) {
					src = v.GetName()
				}
			}
			if _, dup := saved[src]; !dup {
				saved[src] = key
			}
		}
	}
	key := func(node string) string {
		if k, ok := saved[node]; ok {
			return k
		}
		return node
	}
	out := map[string][2]string{}
	for _, r := range reps {
		rk, pk := key(r.node), key(r.primary)
		_, rok := c.Model.OutputEntry(rk)
		_, pok := c.Model.OutputEntry(pk)
		if rok && pok && rk != pk {
			out[r.node] = [2]string{pk, rk}
		}
	}
	return out, nil
}

func isVariableOp(op string) bool {
	for _, v := range variableOps {
		if op == v {
			return true
		}
	}
	return false
}

// checkReplicaValues compares the checkpoint value of every replica with
// its primary's and returns the maximum absolute differences by replica. A
// divergence is an error unless Options.AllowDivergence.
func checkReplicaValues(c *Context, mg int, reps []replica, keys map[string][2]string) (map[string]float64, error) {
	diffs := map[string]float64{}
	for _, r := range reps {
		k, ok := keys[r.node]
		if !ok {
			continue
		}
		if err := c.Ctx.Err(); err != nil {
			return nil, err
		}
		d, err := entryMaxAbsDiff(c.Model, k[0], k[1])
		if err != nil {
			return nil, c.Errorf(Key(k[1]), "comparing replica %s with %s: %w", r.node, r.primary, err)
		}
		diffs[r.node] = d
		if d == 0 {
			continue
		}
		de := &DivergenceError{Variable: r.primary, Replica: r.node, PrimaryKey: k[0], ReplicaKey: k[1], MaxAbsDiff: d}
		if !c.Options.AllowDivergence {
			return nil, c.Errorf(Key(k[1]), "%w (set AllowDivergence to keep the primary's value)", de)
		}
		c.Notef(Key(k[1]), "%v; keeping the primary's value (divergence allowed)", de)
	}
	return diffs, nil
}

// dropReplicaEntries deletes the checkpoint entries of replicas, whose keys
// were found before the graph was rewired, from the plan and from the
// checkpoint's object graph.
func dropReplicaEntries(c *Context, mg int, reps []replica, keys map[string][2]string, diffs map[string]float64) error {
	gone := map[string]bool{}
	for _, r := range reps {
		k, ok := keys[r.node]
		if !ok {
			continue
		}
		if err := c.Model.DeleteVariable(k[1]); err != nil {
			return c.Errorf(Key(k[1]), "deleting the entry of replica %s: %w", r.node, err)
		}
		gone[k[1]] = true
		c.Changef(Key(k[1]), "deleted the entry of replica %s of %s (max abs diff from %q: %g)", r.node, r.primary, k[0], diffs[r.node])
	}
	if len(gone) == 0 {
		return nil
	}
	og, err := c.Model.OutputObjectGraph()
	if err != nil || og == nil {
		return err
	}
	changed := false
	for _, obj := range og.GetNodes() {
		kept := obj.Attributes[:0]
		for _, a := range obj.GetAttributes() {
			if gone[a.GetCheckpointKey()] {
				changed = true
				continue
			}
			kept = append(kept, a)
		}
		obj.Attributes = kept
	}
	if !changed {
		return nil
	}
	if err := c.Model.SetOutputObjectGraph(og); err != nil {
		return c.Errorf(Key(savedmodel.ObjectGraphKey), "%w", err)
	}
	c.Changef(Key(savedmodel.ObjectGraphKey), "dropped the replica entries from the checkpoint's object graph")
	return nil
}

// entryMaxAbsDiff returns the largest absolute element-wise difference of
// two planned checkpoint entries of the same dtype and shape: 0 when their
// bytes are equal (compared as streams), else computed in float64.
func entryMaxAbsDiff(m *savedmodel.Model, a, b string) (float64, error) {
	ea, _ := m.OutputEntry(a)
	eb, _ := m.OutputEntry(b)
	if ea.GetDtype() != eb.GetDtype() {
		return 0, fmt.Errorf("dtype %v differs from %v", eb.GetDtype(), ea.GetDtype())
	}
	if sa, sb := shapeDims(ea.GetShape().GetDim()), shapeDims(eb.GetShape().GetDim()); !slices.Equal(sa, sb) {
		return 0, fmt.Errorf("shape %v differs from %v", sb, sa)
	}
	if len(ea.GetSlices())+len(eb.GetSlices()) > 0 {
		return 0, errors.New("sliced entries are not compared")
	}
	same, err := sameStreams(m, a, b)
	if err != nil || same {
		return 0, err
	}
	if m.InputCheckpoint == nil {
		return math.Inf(1), nil
	}
	va, err := m.InputCheckpoint.ReadFloat64s(a)
	if err != nil {
		return math.Inf(1), nil // not a numeric dtype: the bytes differ
	}
	vb, err := m.InputCheckpoint.ReadFloat64s(b)
	if err != nil {
		return 0, err
	}
	if len(va) != len(vb) {
		return 0, fmt.Errorf("%d elements differ from %d", len(vb), len(va))
	}
	d := 0.0
	for i := range va {
		x, y := va[i], vb[i]
		switch {
		case math.IsNaN(x) && math.IsNaN(y):
		case math.IsNaN(x) || math.IsNaN(y):
			return math.Inf(1), nil
		default:
			d = max(d, math.Abs(x-y))
		}
	}
	return d, nil
}

// sameStreams reports whether two planned entries hold the same bytes,
// reading both in step without holding either in memory.
func sameStreams(m *savedmodel.Model, a, b string) (bool, error) {
	ra, err := m.OpenOutputEntry(a)
	if err != nil {
		return false, err
	}
	defer ra.Close()
	rb, err := m.OpenOutputEntry(b)
	if err != nil {
		return false, err
	}
	defer rb.Close()
	const chunk = 1 << 16
	ba, bb := make([]byte, chunk), make([]byte, chunk)
	for {
		na, ea := io.ReadFull(ra, ba)
		nb, eb := io.ReadFull(rb, bb)
		if !bytes.Equal(ba[:na], bb[:nb]) {
			return false, nil
		}
		aEnd, bEnd := isEnd(ea), isEnd(eb)
		if !aEnd && ea != nil {
			return false, ea
		}
		if !bEnd && eb != nil {
			return false, eb
		}
		if aEnd || bEnd {
			return aEnd == bEnd, nil
		}
	}
}

func isEnd(err error) bool { return err == io.EOF || err == io.ErrUnexpectedEOF }
