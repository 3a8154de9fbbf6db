package rewrite

import (
	"github.com/unmirror/unmirror/device"
	"github.com/unmirror/unmirror/progress"
)

// Options configure a pipeline run. The zero value rewrites for one CPU,
// keeps optimizer state, and refuses replicas whose values diverge.
type Options struct {
	// Target is the device the rewritten model must load on.
	Target device.Target

	// DryRun asks passes to work as usual on the in-memory model; callers
	// use it to report what would change without writing anything.
	DryRun bool

	// AllowDivergence lets the replicas pass collapse replicas whose
	// checkpoint values differ from the primary's (the primary wins; the
	// report still says by how much they differed).
	AllowDivergence bool

	// DropOptimizer removes training-only state (optimizer slot variables
	// and optimizer hyper-parameters and their checkpoint entries) in the
	// prune pass. Off by default.
	DropOptimizer bool

	// Devices overrides the device remap policy derived from Target.
	// Nil means device.Policy{Target: Target}.
	Devices *device.Policy

	// Progress, if set, receives a progress.Pass event before each pass
	// runs (unmirror.Rewrite also passes it the read and write phases).
	Progress progress.Func
}

// DevicePolicy returns the device policy the options ask for.
func (o Options) DevicePolicy() device.Policy {
	if o.Devices != nil {
		return *o.Devices
	}
	return device.Policy{Target: o.Target}
}
