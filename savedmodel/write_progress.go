package savedmodel

import (
	"io"

	"github.com/unmirror/unmirror/progress"
)

// counter counts the checkpoint data bytes a Write has written and reports
// them to WriteOptions.Progress. A nil counter counts nothing.
type counter struct {
	f           progress.Func
	done, total int64
}

// add counts n more bytes and reports the new total.
func (c *counter) add(n int64) {
	if c == nil {
		return
	}
	c.done += n
	c.f(progress.Event{Phase: progress.Write, Done: c.done, Total: c.total})
}

// countingWriter counts what it passes to w in c.
type countingWriter struct {
	w io.Writer
	c *counter
}

func (cw countingWriter) Write(p []byte) (int, error) {
	n, err := cw.w.Write(p)
	cw.c.add(int64(n))
	return n, err
}

// dataBytesToWrite is the Total of Write's progress events: the input's
// data shard sizes when the checkpoint is copied, the planned entries'
// sizes when it is rebuilt.
func (m *Model) dataBytesToWrite() int64 {
	var n int64
	if m.plan == nil {
		if m.InputCheckpoint == nil {
			return 0
		}
		for i := 0; i < m.InputCheckpoint.NumShards(); i++ {
			n += m.InputCheckpoint.ShardSize(i)
		}
		return n
	}
	for _, key := range m.writeOrder() {
		if e, ok := m.OutputEntry(key); ok && len(e.GetSlices()) == 0 {
			n += e.GetSize()
		}
	}
	return n
}
