// Package progress describes how far a rewrite has come, for callers that
// show it to a person: the phase it is in (reading the model, running a
// pass, writing the output) and, while writing, the checkpoint bytes written
// out of the total.
//
// The library reports; it never prints. unmirror.Options.Progress receives
// every phase; rewrite.Options.Progress and savedmodel.WriteOptions.Progress
// receive the passes and the write alone. The command-line tool draws the
// events as a status line on a terminal (examples/unmirror).
package progress

// Phase is a step of a rewrite.
type Phase int

const (
	// Read: the model's protos and checkpoint index are being read.
	Read Phase = iota + 1
	// Pass: a rewrite pass is about to run.
	Pass
	// Write: the output is being written; Done and Total count checkpoint
	// data bytes.
	Write
)

// String returns "read", "pass" or "write".
func (p Phase) String() string {
	switch p {
	case Read:
		return "read"
	case Pass:
		return "pass"
	case Write:
		return "write"
	}
	return "unknown"
}

// Event says which phase a rewrite is in and how far it has come.
type Event struct {
	Phase Phase
	// Pass is the name of the pass about to run, the Index-th (from 1) of
	// Passes (Phase Pass).
	Pass          string
	Index, Passes int
	// Done and Total count the bytes of checkpoint data (the variables'
	// data shards) written so far and in all (Phase Write). The first
	// Write event has Done 0; the last, Done == Total. Total is 0 for a
	// model without variables.
	Done, Total int64
}

// Func receives events. It is called on the goroutine doing the work, one
// call at a time, so it must return quickly (store the event; draw it
// elsewhere).
type Func func(Event)
