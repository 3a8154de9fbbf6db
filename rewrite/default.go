package rewrite

import (
	"cmp"
	"slices"
)

// builtin holds the passes of this package with their place in the default
// pipeline; each pass's file registers it from init.
var builtin []ordered

type ordered struct {
	order int
	pass  *Pass
}

// register adds a built-in pass at position order of the default pipeline.
func register(order int, p *Pass) {
	builtin = append(builtin, ordered{order, p})
	slices.SortStableFunc(builtin, func(a, b ordered) int { return cmp.Compare(a.order, b.order) })
}

// Passes returns every built-in pass, in default pipeline order.
func Passes() []*Pass {
	out := make([]*Pass, len(builtin))
	for i, b := range builtin {
		out[i] = b.pass
	}
	return out
}

// Lookup returns the built-in pass with the given name, or nil.
func Lookup(name string) *Pass {
	for _, b := range builtin {
		if b.pass.Name == name {
			return b.pass
		}
	}
	return nil
}

// Default returns the pipeline that makes a model strategy-free: every
// built-in pass, in order. The target is chosen per run, in Options.
func Default() *Pipeline { return NewPipeline(Passes()...) }
