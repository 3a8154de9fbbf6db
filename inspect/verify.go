package inspect

import (
	"context"

	"github.com/unmirror/unmirror/device"
	"github.com/unmirror/unmirror/rewrite"
	"github.com/unmirror/unmirror/savedmodel"
)

// VerifyOptions configure [Verify]. The zero value judges the model for one
// CPU and keeps three examples per reason.
type VerifyOptions struct {
	// Target is the device the model must load on.
	Target device.Target

	// Examples is how many example locations each reason keeps; 0 means 3,
	// a negative value keeps none.
	Examples int
}

// Verification says whether a model loads on one device of a target as it
// is, and why not. Its JSON form (the field tags) is the schema of
// "unmirror verify --json" after its "model" field, documented in
// examples/unmirror/README.md; fields are only ever added to it.
type Verification struct {
	// Target is "cpu" or "gpu".
	Target string `json:"target"`
	// OK is true when nothing keeps the model from loading and computing
	// on the target in a one-device process: Reasons is empty.
	OK bool `json:"ok"`
	// Reasons and Notes are those of the target's [Verdict].
	Reasons []Reason `json:"reasons"`
	Notes   []Reason `json:"notes"`
	// Findings are the verify pass's findings ([rewrite.Check]) as they
	// are, part of what Reasons sums up.
	Findings []rewrite.Finding `json:"findings"`
}

// Verify judges m for one target by the rules of [Model]'s verdicts and
// returns the verdict with the verify pass's findings behind it. It reads no
// tensor data and does not edit m. The error is ctx's, if it is cancelled.
func Verify(ctx context.Context, m *savedmodel.Model, opts VerifyOptions) (*Verification, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	max := examples(opts.Examples)
	v, findings := verdict(m, scanModel(m, max), opts.Target, max)
	if findings == nil {
		findings = []rewrite.Finding{}
	}
	return &Verification{Target: v.Target, OK: v.Portable, Reasons: v.Reasons, Notes: v.Notes, Findings: findings}, nil
}
