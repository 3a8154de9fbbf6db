package rewrite

import (
	"fmt"
	"slices"
)

// This file is where the default pipeline is defined: to add a pass, write
// it in a file of its own as a *Pass value (see Verify for the shape), put
// it in defaultPasses at its place, and add to orders every constraint it
// has on the others, with the reason. Pipeline.Check enforces the
// constraints on every pipeline, the default one and custom ones alike;
// TestDefaultPipelineOrder checks the default one.

// defaultPasses is the default pipeline, in order.
var defaultPasses = []*Pass{
	Replicas,
	Shards,
	Collectives,
	Saver,
	Devices,
	Prune,
	Verify,
}

// AnyPass in Order.Before means every other pass of the pipeline.
const AnyPass = "*"

// An Order is a constraint on the order of two passes: whenever a pipeline
// holds both, pass Before runs before pass After. Why says what breaks
// otherwise.
type Order struct {
	Before, After string
	Why           string
}

// orders are the constraints between the built-in passes, in the manner of
// the Go compiler's passOrder (cmd/compile/internal/ssa/compile.go).
var orders = []Order{
	{"replicas", "saver", "replicas deletes the replica entries from the checkpoint plan, and saver drops the " +
		"saver slots of deleted keys: run the other way round, tf1_towers keeps restore slots for keys " +
		"the checkpoint lacks (TestOrdersAreNeeded)"},
	{"collectives", "prune", "prune removes an object-graph function for the NCCL and collective ops it holds " +
		"only when the collectives pass could not convert them; run first, it would remove functions " +
		"that collectives makes portable"},
	{AnyPass, "verify", "verify checks the final model: what a pass after it does would be written unchecked"},
}

// Orders returns the ordering constraints that [Pipeline.Check] enforces.
func Orders() []Order { return slices.Clone(orders) }

// checkOrder returns an error for the first constraint the pass list
// breaks.
func checkOrder(passes []*Pass) error {
	pos := make(map[string]int, len(passes))
	for i, ps := range passes {
		pos[ps.Name] = i
	}
	for _, o := range orders {
		after, ok := pos[o.After]
		if !ok {
			continue
		}
		if o.Before == AnyPass {
			if after != len(passes)-1 {
				return fmt.Errorf("rewrite: pass %s must run last (%s), but %s follows it: %w", o.After, o.Why, passes[after+1].Name, ErrInvalidPipeline)
			}
			continue
		}
		if before, ok := pos[o.Before]; ok && before > after {
			return fmt.Errorf("rewrite: pass %s must run before pass %s (%s): %w", o.Before, o.After, o.Why, ErrInvalidPipeline)
		}
	}
	return nil
}

// Passes returns every built-in pass, in default pipeline order.
func Passes() []*Pass { return slices.Clone(defaultPasses) }

// Lookup returns the built-in pass with the given name, or nil.
func Lookup(name string) *Pass {
	for _, p := range defaultPasses {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// Default returns the pipeline that makes a model strategy-free: every
// built-in pass, in order. The target is chosen per run, in Options. The
// pipeline is the caller's to change ([Pipeline.InsertBefore],
// [Pipeline.InsertAfter], [Pipeline.Without]).
func Default() *Pipeline { return NewPipeline(Passes()...) }
